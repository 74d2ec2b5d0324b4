"""Git LFS objects: the batch API, verified uploads (basic and multipart) and downloads.

Objects are stored once in the blob store and linked to each repository that received them.
A commit may reference only objects linked to its own repository; an object already in the
store but uploaded elsewhere must be sent again (its bytes are checked), so that knowing a
hash never grants access to someone else's file.

What one batch hands out is bounded: an object larger than `max_object_bytes` (the Hub's 50 GB)
is refused in the batch answer (422, as the batch API reports an object it will not take), and
a multipart upload has at most `max_parts` parts: past that the part size grows, as on the Hub,
and the client reads it from the `chunk_size` header. Every step of a multipart upload derives
the part size from the object's size alone (`part_size`), so they all agree.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from hubstead.domain.errors import BadRequest, NotFound, PayloadTooLarge
from hubstead.domain.hashing import is_sha256
from hubstead.services.repos import RepoHandle
from hubstead.services.signing import UrlSigner
from hubstead.services.urls import Links
from hubstead.storage.blobstore import BlobStore
from hubstead.storage.database import Database
from hubstead.storage.models import LfsObject, RepoLfsObject

MAX_BATCH_OBJECTS = 1000
MiB = 1024 * 1024


@dataclass(frozen=True)
class StoredObject:
    oid: str
    size: int
    xet_hash: str | None = None  # its bytes are a Xet file (else a blob in the store)


def available_objects(
    db: Database, blobs: BlobStore, repo_row_id: int, oids: list[str]
) -> dict[str, StoredObject]:
    """Those of `oids` this repository may reference: uploaded to it, with bytes still stored
    (as a blob, or as a Xet file). A remote store (a bucket) is not asked object by object: an
    object row is written only once its bytes are stored and verified."""
    found: dict[str, StoredObject] = {}
    if not oids:
        return found
    with db.session() as session:
        for start in range(0, len(oids), 500):
            rows = session.execute(
                select(LfsObject)
                .join(RepoLfsObject, RepoLfsObject.oid == LfsObject.oid)
                .where(
                    RepoLfsObject.repo_id == repo_row_id,
                    LfsObject.oid.in_(oids[start : start + 500]),
                )
            ).scalars()
            for row in rows:
                if row.xet_hash is not None or blobs.remote or blobs.exists(row.oid):
                    found[row.oid] = StoredObject(row.oid, row.size, row.xet_hash)
    return found


class LfsService:
    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        signer: UrlSigner,
        multipart_threshold: int,
        chunk_size: int,
        *,
        max_object_bytes: int,
        max_parts: int,
    ):
        self.db = db
        self.blobs = blobs
        self.signer = signer
        self.multipart_threshold = multipart_threshold
        self.chunk_size = chunk_size
        self.max_object_bytes = max_object_bytes
        self.max_parts = max_parts

    def part_size(self, size: int) -> int:
        """The part size of a multipart upload of `size` bytes: the configured one (at least
        the store's smallest part, for uploads straight to a bucket), grown (to whole MiB) when
        the object would otherwise need more than `max_parts` parts."""
        direct = self.blobs.direct_uploads
        chunk = max(self.chunk_size, direct.min_part_size if direct is not None else 1)
        if math.ceil(size / chunk) <= self.max_parts:
            return chunk
        return math.ceil(math.ceil(size / self.max_parts) / MiB) * MiB

    def part_count(self, size: int) -> int:
        return max(1, math.ceil(size / self.part_size(size)))

    def _too_large(self, size: int) -> str | None:
        if size <= self.max_object_bytes:
            return None
        return (
            f"Object of {size:,} bytes is larger than the {self.max_object_bytes:,} bytes "
            "this hub accepts"
        )

    def check_size(self, size: int) -> None:
        """A transfer of an object over the cap (signed before the cap was lowered) is refused."""
        message = self._too_large(size)
        if message is not None:
            raise PayloadTooLarge(message)

    # -- lookups ------------------------------------------------------------------------------

    def repo_object(self, repo_row_id: int, oid: str) -> StoredObject | None:
        """The object if it was uploaded to this repository and its bytes are in the store."""
        return self.repo_objects(repo_row_id, [oid]).get(oid)

    def repo_objects(self, repo_row_id: int, oids: list[str]) -> dict[str, StoredObject]:
        """Those of `oids` uploaded to this repository with their bytes in the store (one lookup)."""
        return available_objects(self.db, self.blobs, repo_row_id, oids)

    def link(self, repo_row_id: int, oid: str, size: int) -> None:
        """Record that `repo_row_id` holds object `oid` (idempotent, safe under races)."""
        for model, key, values in (
            (LfsObject, oid, {"oid": oid, "size": size}),
            (RepoLfsObject, (repo_row_id, oid), {"repo_id": repo_row_id, "oid": oid}),
        ):
            try:
                with self.db.session() as session:
                    if session.get(model, key) is None:
                        session.add(model(**values))
            except IntegrityError:
                pass  # inserted concurrently by another request: same content, nothing to do
        if self.blobs.exists(oid):
            # A blob is stored only once its SHA-256 is checked; a Xet file mapped to the same oid
            # may carry the SHA-256 its uploader claimed (services/xet/ingest.py): the checked
            # bytes win, and the oid is served from the blob from now on.
            with self.db.session() as session:
                session.execute(
                    update(LfsObject)
                    .where(LfsObject.oid == oid, LfsObject.xet_hash.is_not(None))
                    .values(xet_hash=None)
                )

    # -- batch API ----------------------------------------------------------------------------

    def batch(
        self,
        handle: RepoHandle,
        operation: str,
        objects: list,
        links: Links,
        xet_upload: dict | None = None,
    ) -> dict:
        """The batch answer. `xet_upload`, given when the client offered the "xet" transfer for an
        upload, is the upload action (token refresh route and X-Xet-* headers) that objects to send
        get under transfer "xet": huggingface_hub then uploads through the CAS (it reads only
        "transfer"), the git-xet transfer agent reads the action."""
        if operation not in ("upload", "download"):
            raise BadRequest(f"Unknown LFS operation {operation!r}")
        if not isinstance(objects, list) or len(objects) > MAX_BATCH_OBJECTS:
            raise BadRequest(f"'objects' must be a list of at most {MAX_BATCH_OBJECTS} objects")
        answers = []
        fields = [_object_fields(item) for item in objects]
        uploaded = self.repo_objects(
            handle.row.id, list(dict.fromkeys(oid for oid, _ in fields if oid is not None))
        )
        for item, (oid, size) in zip(objects, fields):
            if oid is None:
                answers.append(
                    {
                        "oid": str(item.get("oid") if isinstance(item, dict) else ""),
                        "size": 0,
                        "error": {
                            "code": 422,
                            "message": "Invalid object: a sha256 'oid' and an integer 'size' are required",
                        },
                    }
                )
                continue
            stored = uploaded.get(oid)
            too_large = self._too_large(size) if operation == "upload" else None
            if too_large is not None:
                answers.append(
                    {"oid": oid, "size": size, "error": {"code": 422, "message": too_large}}
                )
            elif operation == "upload" and xet_upload is not None:
                needed = stored is None or stored.size != size
                answers.append(
                    {
                        "oid": oid,
                        "size": size,
                        **(
                            {"authenticated": True, "actions": {"upload": xet_upload}}
                            if needed
                            else {}
                        ),
                    }
                )
            elif operation == "upload":
                answers.append(self._upload_answer(handle, oid, size, stored, links))
            elif stored is None:
                answers.append(
                    {
                        "oid": oid,
                        "size": size,
                        "error": {"code": 404, "message": "Object does not exist"},
                    }
                )
            else:
                answers.append(self._download_answer(handle, stored, links))
        transfer = (
            "multipart"
            if any(
                "chunk_size" in a.get("actions", {}).get("upload", {}).get("header", {})
                for a in answers
            )
            else "basic"
        )
        if operation == "upload" and xet_upload is not None:
            transfer = "xet"
        return {"transfer": transfer, "objects": answers, "hash_algo": "sha256"}

    def _upload_answer(
        self, handle: RepoHandle, oid: str, size: int, stored: StoredObject | None, links: Links
    ) -> dict:
        if stored is not None and stored.size == size:
            return {"oid": oid, "size": size}
        repo = handle.row.id
        direct = self.blobs.direct_uploads
        exp, sig = self.signer.sign("upload", repo, oid, size)
        upload_url = (
            direct.upload_url(staging_name(repo, oid, size), exp)
            if direct is not None
            else links.url_for(
                "lfs.upload", {"size": size, "exp": exp, "sig": sig}, repo=repo, oid=oid
            )
        )
        actions: dict = {
            "upload": {"href": upload_url, "expires_in": self.signer.ttl},
            "verify": {"href": links.url_for("lfs.verify", repo=handle)},
        }
        if size > self.multipart_threshold:
            parts = self.part_count(size)
            header = {"chunk_size": str(self.part_size(size))}
            name = staging_name(repo, oid, size)
            upload_id = direct.start_multipart(name) if direct is not None else ""
            for number in range(1, parts + 1):
                if direct is not None:
                    header[str(number)] = direct.part_url(name, upload_id, number, exp)
                    continue
                exp_p, sig_p = self.signer.sign("part", repo, oid, size, number)
                header[str(number)] = links.url_for(
                    "lfs.part",
                    {"size": size, "exp": exp_p, "sig": sig_p},
                    repo=repo,
                    oid=oid,
                    number=number,
                )
            exp_c, sig_c = self.signer.sign("complete", repo, oid, size, upload_id)
            query: dict = {"size": size, "exp": exp_c, "sig": sig_c}
            if upload_id:
                query["upload"] = upload_id
            actions["upload"] = {
                "href": links.url_for("lfs.complete", query, repo=repo, oid=oid),
                "header": header,
                "expires_in": self.signer.ttl,
            }
        return {"oid": oid, "size": size, "authenticated": True, "actions": actions}

    def _download_answer(self, handle: RepoHandle, stored: StoredObject, links: Links) -> dict:
        repo = handle.row.id
        exp, sig = self.signer.sign("download", repo, stored.oid)
        # a backend that signs its own URLs (an object store) serves the bytes itself
        presigned = (
            self.blobs.presigned_url(stored.oid, None, exp) if stored.xet_hash is None else None
        )
        href = presigned or links.url_for(
            "lfs.download", {"exp": exp, "sig": sig}, repo=repo, oid=stored.oid
        )
        return {
            "oid": stored.oid,
            "size": stored.size,
            "authenticated": True,
            "actions": {"download": {"href": href, "expires_in": self.signer.ttl}},
        }

    # -- transfers (authorised by signature) --------------------------------------------------

    async def upload(
        self, repo_row_id: int, oid: str, size: int, chunks: AsyncIterator[bytes]
    ) -> None:
        self.check_size(size)
        if not self.blobs.exists(oid) or self.blobs.size(oid) != size:
            await self.blobs.put_stream(oid, size, chunks)
        else:
            async for _ in chunks:  # already stored: drain the body, nothing to write
                pass
        self.link(repo_row_id, oid, size)

    def _parts_dir(self, repo_row_id: int, oid: str, size: int) -> Path:
        return self.blobs.tmp_dir / "multipart" / f"{repo_row_id}-{oid}-{size}"

    async def upload_part(
        self, repo_row_id: int, oid: str, size: int, number: int, chunks: AsyncIterator[bytes]
    ) -> str:
        """Write one part of a multipart upload in place, at its offset in the object's file.

        Parts may come in any order or in parallel; each is written with pwrite at its own offset
        and marked done only once complete, so the completion step hashes the file in one pass
        without copying it. Returns the part's ETag (the client echoes it back).
        """
        self.check_size(size)
        expected = self._part_length(size, number)
        folder = self._parts_dir(repo_row_id, oid, size)
        folder.mkdir(parents=True, exist_ok=True)
        data = folder / "data"
        fd = os.open(data, os.O_WRONLY | os.O_CREAT, 0o600)
        offset = (number - 1) * self.part_size(size)
        written = 0
        try:
            async for chunk in chunks:
                if written + len(chunk) > expected:
                    written += len(chunk)
                    break
                os.pwrite(fd, chunk, offset + written)
                written += len(chunk)
        finally:
            os.close(fd)
        if written != expected:
            raise BadRequest(
                f"Part {number} of {oid}: expected {expected} bytes, received {written}"
            )
        (folder / f"{number}.done").touch()
        return f"{oid[:16]}-{number}-{expected}"

    def _part_length(self, size: int, number: int) -> int:
        if not 1 <= number <= self.part_count(size):
            raise BadRequest(f"Invalid part number {number}")
        part = self.part_size(size)
        return min(part, size - part * (number - 1))

    def complete_multipart(
        self, repo_row_id: int, oid: str, size: int, parts: list, upload_id: str = ""
    ) -> None:
        """Verify the assembled object (hash and size) and move it into the store. With
        `upload_id`, the parts went straight to the store: it assembles them in staging, and
        the staged object is verified and promoted."""
        self.check_size(size)
        folder = self._parts_dir(repo_row_id, oid, size)
        count = self.part_count(size)
        numbers = sorted(int(p.get("partNumber", 0)) for p in parts if isinstance(p, dict))
        if numbers != list(range(1, count + 1)):
            raise BadRequest(f"Multipart completion for {oid} must list parts 1 to {count}")
        direct = self.blobs.direct_uploads
        if upload_id:
            if direct is None:
                raise BadRequest("This hub takes multipart uploads through its own routes")
            name = staging_name(repo_row_id, oid, size)
            etags = sorted((int(p["partNumber"]), str(p.get("etag") or "")) for p in parts)
            direct.finish_multipart(name, upload_id, etags)
            if not direct.promote(name, oid, size, lambda: self.link(repo_row_id, oid, size)):
                raise BadRequest(f"Multipart upload of {oid}: nothing was uploaded")
            return
        missing = [n for n in numbers if not (folder / f"{n}.done").is_file()]
        if missing:
            raise BadRequest(f"Multipart upload of {oid}: parts {missing} were not uploaded")
        try:
            self.blobs.put_local_file(oid, size, folder / "data")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        self.link(repo_row_id, oid, size)

    def verify(self, handle: RepoHandle, payload: object) -> None:
        oid, size = _object_fields(payload)
        if oid is None:
            raise BadRequest("Verify needs a sha256 'oid' and an integer 'size'")
        stored = self.repo_object(handle.row.id, oid)
        direct = self.blobs.direct_uploads
        if stored is None and direct is not None:
            # uploaded straight to the store: it counts once its bytes are verified; the same
            # bytes sent twice at once (two files, one content) are promoted by one request,
            # which records them before it removes the staged copy the other one looked for
            repo = handle.row.id
            if direct.promote(
                staging_name(repo, oid, size), oid, size, lambda: self.link(repo, oid, size)
            ):
                return
            stored = self.repo_object(repo, oid)
        if stored is None:
            raise NotFound(f"Object {oid} was not uploaded to this repository")
        if stored.size != size:
            raise BadRequest(f"Object {oid} has size {stored.size}, not {size}")


def staging_name(repo_row_id: int, oid: str, size: int) -> str:
    """Where a direct upload of `oid` to this repository waits for its verification."""
    return f"{repo_row_id}-{oid}-{size}"


def _object_fields(item: object) -> tuple[str | None, int]:
    if not isinstance(item, dict):
        return None, 0
    oid, size = item.get("oid"), item.get("size")
    if (
        not isinstance(oid, str)
        or not is_sha256(oid)
        or not isinstance(size, int)
        or isinstance(size, bool)
        or size < 0
    ):
        return None, 0
    return oid, size
