"""The commit payload of the Hub API (NDJSON) turned into typed operations.

The client sends one JSON object per line: a `header` first, then `file` (inline base64 content),
`lfsFile` (a reference to an uploaded LFS object), `deletedFile` and `deletedFolder`. Parsing is
strict so that a malformed payload is refused before anything is written.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hubstead.domain.errors import BadRequest
from hubstead.domain.hashing import is_sha256
from hubstead.domain.paths import validate_folder, validate_path

_PARENT_RE = re.compile(r"^[0-9a-fA-F]{5,40}\Z")


@dataclass(frozen=True, slots=True)
class CommitHeader:
    summary: str
    description: str = ""
    parent_commit: str | None = None

    @property
    def message(self) -> str:
        return (
            f"{self.summary}\n\n{self.description}".rstrip() + "\n"
            if self.description
            else self.summary + "\n"
        )


@dataclass(frozen=True, slots=True)
class AddFile:
    path: str
    content: bytes


@dataclass(frozen=True, slots=True)
class AddLfsFile:
    path: str
    oid: str
    size: int | None  # None for a copy of an object already in the repository


@dataclass(frozen=True, slots=True)
class DeleteFile:
    path: str


@dataclass(frozen=True, slots=True)
class DeleteFolder:
    path: str


Operation = AddFile | AddLfsFile | DeleteFile | DeleteFolder


@dataclass(frozen=True, slots=True)
class CommitRequest:
    header: CommitHeader
    operations: list[Operation]


def parse_ndjson_commit(body: bytes | Iterable[bytes]) -> CommitRequest:
    """Parse the NDJSON body of `POST /api/{type}s/{id}/commit/{rev}`: the bytes, or its lines.

    Each line becomes its operation as it is read, so a body read line by line from a file never
    has its base64 text and the decoded content in memory at once, only the content."""
    lines = body.split(b"\n") if isinstance(body, bytes) else body
    header: CommitHeader | None = None
    operations: list[Operation] = []
    number = 0
    for line in lines:
        if not line.strip():
            continue
        number += 1
        item = _ndjson_item(line, number)
        if header is None:
            if item["key"] != "header":
                raise BadRequest("Malformed commit payload: the first line must be the header")
            header = _parse_header(item["value"])
        else:
            operations.append(_parse_operation(item["key"], item["value"]))
    if header is None:
        raise BadRequest("Empty commit payload")
    return CommitRequest(header=header, operations=operations)


def _ndjson_item(line: bytes, number: int) -> dict[str, Any]:
    try:
        item = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(
            f"Malformed commit payload: line {number} is not valid JSON ({exc.msg if hasattr(exc, 'msg') else exc})"
        ) from None
    if not isinstance(item, dict) or "key" not in item or not isinstance(item.get("value"), dict):
        raise BadRequest(
            f"Malformed commit payload: line {number} must be an object with 'key' and 'value'"
        )
    return item


def parse_json_commit(payload: object) -> CommitRequest:
    """Parse the older JSON form: {"summary", "description", "files", "lfsFiles", "deletedFiles"}."""
    if not isinstance(payload, dict):
        raise BadRequest("Malformed commit payload: expected a JSON object")
    items: list[dict[str, Any]] = [
        {
            "key": "header",
            "value": {
                k: payload.get(k)
                for k in ("summary", "description", "parentCommit")
                if k in payload
            },
        }
    ]
    for key, kind in (
        ("files", "file"),
        ("lfsFiles", "lfsFile"),
        ("deletedFiles", "deletedFile"),
        ("deletedFolders", "deletedFolder"),
    ):
        for value in payload.get(key) or []:
            items.append({"key": kind, "value": value})
    return parse_commit_items(items)


def parse_commit_items(items: list[dict[str, Any]]) -> CommitRequest:
    if items[0]["key"] != "header":
        raise BadRequest("Malformed commit payload: the first line must be the header")
    header = _parse_header(items[0]["value"])
    operations = [_parse_operation(item["key"], item["value"]) for item in items[1:]]
    return CommitRequest(header=header, operations=operations)


def _parse_header(value: dict[str, Any]) -> CommitHeader:
    summary = value.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        raise BadRequest("Malformed commit payload: the header needs a non-empty 'summary'")
    description = value.get("description") or ""
    if not isinstance(description, str):
        raise BadRequest("Malformed commit payload: 'description' must be a string")
    parent = value.get("parentCommit")
    if parent is not None and (not isinstance(parent, str) or not _PARENT_RE.match(parent)):
        raise BadRequest("Malformed commit payload: 'parentCommit' must be a commit id")
    return CommitHeader(
        summary=summary.strip(),
        description=description,
        parent_commit=parent.lower() if parent else None,
    )


def _parse_operation(key: str, value: dict[str, Any]) -> Operation:
    path = value.get("path")
    if not isinstance(path, str):
        raise BadRequest(f"Malformed commit payload: '{key}' needs a 'path'")
    if key == "file":
        return AddFile(path=validate_path(path), content=_decode_content(value))
    if key == "lfsFile":
        oid = value.get("oid")
        if (
            value.get("algo", "sha256") != "sha256"
            or not isinstance(oid, str)
            or not is_sha256(oid)
        ):
            raise BadRequest(f"Malformed commit payload: 'lfsFile' {path!r} needs a sha256 'oid'")
        size = value.get("size")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
            raise BadRequest(f"Malformed commit payload: 'lfsFile' {path!r} has an invalid 'size'")
        return AddLfsFile(path=validate_path(path), oid=oid, size=size)
    if key == "deletedFile":
        return DeleteFile(path=validate_path(path))
    if key == "deletedFolder":
        return DeleteFolder(path=validate_folder(path))
    raise BadRequest(f"Malformed commit payload: unknown key {key!r}")


def _decode_content(value: dict[str, Any]) -> bytes:
    content = value.get("content", "")
    encoding = value.get("encoding", "utf-8")
    if not isinstance(content, str):
        raise BadRequest("Malformed commit payload: 'content' must be a string")
    if encoding == "base64":
        try:
            return base64.b64decode(content, validate=True)
        except binascii.Error:
            raise BadRequest(
                f"Malformed commit payload: invalid base64 content for {value.get('path')!r}"
            ) from None
    if encoding in ("utf-8", "utf8"):
        return content.encode("utf-8")
    raise BadRequest(f"Malformed commit payload: unknown encoding {encoding!r}")
