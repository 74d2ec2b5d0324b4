"""Attachments: images, videos and sounds dropped into discussion comments (`upload_attachment`).

Files are kept under `<data>/uploads/<sha256[:2]>/<sha256>.<ext>`, named by their content, so the
same file uploaded twice is stored once and a URL can never point at other bytes later. Only the
formats the client offers are accepted, and the bytes must start like that format: the type
they are served with is the one their content has, so an upload can never be served as a page.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from hubstead.domain.errors import BadRequest, Forbidden, NotFound, PayloadTooLarge, Unauthorized
from hubstead.services.principal import Principal

IMAGE_LIMIT = 10 * 1024 * 1024
VIDEO_LIMIT = 50 * 1024 * 1024

# content type → (extension, size limit)
FORMATS = {
    "image/png": ("png", IMAGE_LIMIT),
    "image/jpeg": ("jpg", IMAGE_LIMIT),
    "image/gif": ("gif", IMAGE_LIMIT),
    "image/webp": ("webp", IMAGE_LIMIT),
    "video/mp4": ("mp4", VIDEO_LIMIT),
    "video/quicktime": ("mov", VIDEO_LIMIT),
    "video/webm": ("webm", VIDEO_LIMIT),
    "audio/mpeg": ("mp3", IMAGE_LIMIT),
    "audio/wav": ("wav", IMAGE_LIMIT),
}
CONTENT_TYPES = {ext: content_type for content_type, (ext, _) in FORMATS.items()}
NAME_RE = re.compile(r"^(?P<sha>[0-9a-f]{64})\.(?P<ext>[a-z0-9]{2,4})\Z")


def looks_like(content_type: str, data: bytes) -> bool:
    """Whether `data` starts with the signature of `content_type`."""
    head = data[:16]
    if content_type == "image/png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if content_type == "image/jpeg":
        return head.startswith(b"\xff\xd8\xff")
    if content_type == "image/gif":
        return head.startswith((b"GIF87a", b"GIF89a"))
    if content_type == "image/webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if content_type == "audio/wav":
        return head[:4] == b"RIFF" and head[8:12] == b"WAVE"
    if content_type == "audio/mpeg":
        return head.startswith(b"ID3") or (
            len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
        )
    if content_type == "video/webm":
        return head.startswith(b"\x1a\x45\xdf\xa3")
    if content_type in ("video/mp4", "video/quicktime"):
        return head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip")
    return False


class AttachmentService:
    def __init__(self, root: Path):
        self.root = root

    @staticmethod
    def check_uploader(principal: Principal | None) -> None:
        """Only a signed-in caller with a write token may upload (checked before the body)."""
        if principal is None:
            raise Unauthorized("You must be signed in to upload an attachment")
        if not principal.can_write:
            raise Forbidden(
                "This token has read access only: a write token is needed to upload an attachment"
            )

    def store(self, principal: Principal | None, content_type: str, data: bytes) -> str:
        """Keep the file; returns its name (`<sha256>.<ext>`)."""
        self.check_uploader(principal)
        content_type = content_type.split(";", 1)[0].strip().lower()
        if content_type not in FORMATS:
            raise BadRequest(
                f"Unsupported attachment type {content_type or 'none'!r}: "
                f"use one of {', '.join(FORMATS)}"
            )
        ext, limit = FORMATS[content_type]
        if len(data) > limit:
            raise PayloadTooLarge(
                f"Attachments of type {content_type} must be smaller than {limit // (1024 * 1024)} MB"
            )
        if not data or not looks_like(content_type, data):
            raise BadRequest(f"The content of the file is not {content_type}")
        sha = hashlib.sha256(data).hexdigest()
        name = f"{sha}.{ext}"
        path = self._path(sha, ext)
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return name

    def open(self, name: str) -> tuple[Path, str]:
        """The stored file called `name` and the type to serve it with."""
        match = NAME_RE.match(name)
        if match is None or match["ext"] not in CONTENT_TYPES:
            raise NotFound("Attachment not found")
        path = self._path(match["sha"], match["ext"])
        if not path.is_file():
            raise NotFound("Attachment not found")
        return path, CONTENT_TYPES[match["ext"]]

    def _path(self, sha: str, ext: str) -> Path:
        return self.root / sha[:2] / f"{sha}.{ext}"
