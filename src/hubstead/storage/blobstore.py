"""Content-addressed storage of large-file bytes: LFS objects keyed by SHA-256, Xet xorbs by hash.

Services depend on the `BlobStore` protocol; the composition root (`hubstead.hub`, and the git
hook through its settings) picks the implementation from `Settings.blob_store` with
`open_blob_store`: `LocalBlobStore` (the data folder, the default) or `S3BlobStore`
(storage/s3.py, `HUBSTEAD_STORAGE_URL=s3://bucket/prefix`). Both offer existence, size,
verified writes, deletes and ranged reads. Some capabilities are optional and answer None where
a backend has no such thing: `local_path` (a file on this machine, which the server sends
zero-copy), `presigned_url` (a URL the backend itself signs; without one the hub serves the
bytes through its own signed URLs) and `direct_uploads` (presigned uploads to a staging area,
verified by the hub before they count). `remote` says whether an existence check is a network
round-trip: callers then trust the database's record of what was stored.

Writes are idempotent and verified: bytes are streamed to a temporary file while hashed, and only
moved into place when their SHA-256 and size match what the client announced. A failed or
interrupted upload therefore never leaves a partial object behind under its final name.
Xorbs are verified by the caller (services.xet.ingest) before they are written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import Protocol

from hubstead.domain.errors import BadRequest

READ_CHUNK = 1024 * 1024
HASH_CHUNK = 8 * 1024 * 1024  # what verification reads at a time


class ObjectMismatch(BadRequest):
    """The uploaded bytes do not hash to, or do not have the size of, the announced object."""


class BlobMissing(LookupError):
    """The blob or xorb asked for is not in the store."""


class DirectUploads(Protocol):
    """Uploads that go from the client straight to the store, under a staging `name`, and count
    only once `promote` has verified them (see storage/s3.py)."""

    # the smallest part but the last the store accepts in a multipart upload (S3: 5 MiB)
    min_part_size: int

    def upload_url(self, name: str, expires: int) -> str: ...
    def start_multipart(self, name: str) -> str: ...
    def part_url(self, name: str, upload_id: str, number: int, expires: int) -> str: ...
    def finish_multipart(self, name: str, upload_id: str, parts: list[tuple[int, str]]) -> None: ...
    def promote(self, name: str, oid: str, size: int, on_verified: Callable[[], None]) -> bool: ...
    def sweep(self, cutoff: dt.datetime) -> int: ...


def check_object(oid: str, size: int, actual_oid: str, written: int) -> None:
    """Refuse bytes that are not the announced object: another size or another SHA-256."""
    if written != size:
        raise ObjectMismatch(f"Object {oid}: received {written} bytes, expected {size}")
    if actual_oid != oid:
        raise ObjectMismatch(f"Object {oid}: the uploaded bytes hash to {actual_oid}")


async def spool_verified(fd: int, oid: str, size: int, chunks: AsyncIterator[bytes]) -> None:
    """Write an upload's chunks to the open temporary file `fd` while hashing them (constant
    memory), then check them: every store verifies an upload this way before it counts."""
    digest = hashlib.sha256()
    written = 0
    with os.fdopen(fd, "wb") as out:
        async for chunk in chunks:
            written += len(chunk)
            if written > size:
                raise ObjectMismatch(f"Object {oid}: received more than the announced {size} bytes")
            digest.update(chunk)
            out.write(chunk)
    check_object(oid, size, digest.hexdigest(), written)


def hash_chunks(chunks: Iterable[bytes]) -> tuple[str, int]:
    """(SHA-256 hex, bytes) of a stream of chunks."""
    digest = hashlib.sha256()
    written = 0
    for chunk in chunks:
        digest.update(chunk)
        written += len(chunk)
    return digest.hexdigest(), written


def hash_file(source: Path) -> tuple[str, int]:
    """(SHA-256 hex, bytes) of a file, read in 8 MiB pieces."""
    with open(source, "rb") as handle:
        return hash_chunks(iter(lambda: handle.read(HASH_CHUNK), b""))


class BlobStore(Protocol):
    """What the services need from the store of large-file bytes.

    Byte ranges are half-open, `(start, end)` covers bytes start … end - 1, and are clamped to
    the object's size. Reads of something the store does not hold raise BlobMissing.
    """

    # Local scratch space of this node for uploads being assembled (multipart parts).
    tmp_dir: Path
    remote: bool
    direct_uploads: DirectUploads | None
    # The origin (scheme://host[:port]) of the URLs the store signs for browsers, which the web
    # UI's content policy must allow; None where the hub serves the bytes itself.
    browser_origin: str | None

    # -- LFS objects, by SHA-256 --------------------------------------------------------------
    def exists(self, oid: str) -> bool: ...
    def size(self, oid: str) -> int | None: ...
    async def put_stream(self, oid: str, size: int, chunks: AsyncIterator[bytes]) -> None: ...
    def put_local_file(self, oid: str, size: int, source: Path) -> None: ...
    def delete(self, oid: str) -> None: ...
    def read_range(self, oid: str, start: int, end: int) -> bytes: ...
    def iter_range(self, oid: str, start: int, end: int) -> Iterator[bytes]: ...

    # -- Xet xorbs, by Xet hash (the serialized chunk bytes, verified by the caller) -----------
    def xorb_exists(self, xorb_hash: str) -> bool: ...
    def put_xorb_file(self, xorb_hash: str, verified: Path) -> None:
        """Store the file `verified` (in `tmp_dir`) as the xorb, consuming it: moved or uploaded
        (the caller removes whatever is left)."""
        ...

    def delete_xorb(self, xorb_hash: str) -> None: ...
    def read_xorb_range(self, xorb_hash: str, start: int, end: int) -> bytes: ...
    def iter_xorb_range(self, xorb_hash: str, start: int, end: int) -> Iterator[bytes]: ...

    # -- optional capabilities: None where the backend has none --------------------------------
    def local_path(self, oid: str) -> Path | None:
        """The object as a file on this machine (for zero-copy responses), else None."""
        ...

    def xorb_local_path(self, xorb_hash: str) -> Path | None: ...

    def presigned_url(
        self,
        oid: str,
        byte_range: tuple[int, int] | None,
        expires: int,
        filename: str | None = None,
    ) -> str | None:
        """A URL the backend signs, valid until `expires` (Unix time), that grants the object
        (or only `byte_range` of it), else None: the hub then hands out its own signed URL.
        The answer behind it must be an attachment of type application/octet-stream (named
        `filename` when given): a repository's bytes are anyone's, and an .html opened from
        the bucket must not render as a page."""
        ...

    def presigned_xorb_url(
        self, xorb_hash: str, byte_range: tuple[int, int], expires: int
    ) -> str | None:
        """Like presigned_url, for a range of a xorb; it must grant that range only (a xorb can
        hold chunks of other files and other repositories)."""
        ...


def open_blob_store(
    storage_url: str,
    root: Path,
    *,
    endpoint_url: str | None = None,
    delivery: str = "redirect",
) -> BlobStore:
    """The blob store `storage_url` names: "local" (or empty) is `root`, the data folder's
    blobs; `s3://bucket/prefix` a bucket. While `root` still holds objects (a migration to the
    bucket in progress) the S3 store reads them from there until they are moved."""
    if storage_url in ("", "local"):
        return LocalBlobStore(root)
    if storage_url.startswith("s3://"):
        from hubstead.storage.s3 import S3BlobStore, parse_storage_url

        bucket, prefix = parse_storage_url(storage_url)
        local = LocalBlobStore(root) if has_objects(root) else None
        return S3BlobStore(
            bucket,
            prefix,
            tmp_dir=root / "tmp",
            endpoint_url=endpoint_url,
            delivery=delivery,
            local=local,
        )
    raise ValueError(f"Unknown blob store {storage_url!r}")


def has_objects(root: Path) -> bool:
    """Whether a local blobs folder holds any LFS object or xorb."""
    for kind in ("sha256", "xorbs"):
        folder = root / kind
        if folder.is_dir() and any(p.is_file() for p in folder.rglob("*")):
            return True
    return False


class LocalBlobStore:
    """Blobs under `<root>/sha256/ab/cd/<oid>`, xorbs under `<root>/xorbs/ab/cd/<hash>`; the
    default for the embedded setup."""

    remote = False
    direct_uploads: DirectUploads | None = None
    browser_origin: str | None = None

    def __init__(self, root: Path):
        self.root = root
        self.tmp_dir = root / "tmp"
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    def _path(self, oid: str) -> Path:
        return self.root / "sha256" / oid[:2] / oid[2:4] / oid

    def exists(self, oid: str) -> bool:
        return self._path(oid).is_file()

    def size(self, oid: str) -> int | None:
        try:
            return self._path(oid).stat().st_size
        except FileNotFoundError:
            return None

    def local_path(self, oid: str) -> Path | None:
        path = self._path(oid)
        return path if path.is_file() else None

    def presigned_url(
        self,
        oid: str,
        byte_range: tuple[int, int] | None,
        expires: int,
        filename: str | None = None,
    ) -> str | None:
        return None  # served by the hub itself, zero-copy from local_path

    def read_range(self, oid: str, start: int, end: int) -> bytes:
        return _read(self._path(oid), start, end)

    def iter_range(self, oid: str, start: int, end: int) -> Iterator[bytes]:
        return _iter(self._path(oid), start, end)

    def temp_file(self) -> tuple[int, Path]:
        fd, name = tempfile.mkstemp(dir=self.tmp_dir, prefix="upload-")
        return fd, Path(name)

    async def put_stream(self, oid: str, size: int, chunks: AsyncIterator[bytes]) -> None:
        """Stream an upload to disk, verifying hash and size before it becomes visible."""
        fd, tmp = self.temp_file()
        try:
            await spool_verified(fd, oid, size, chunks)
            self._move_into_place(oid, tmp)
        finally:
            tmp.unlink(missing_ok=True)

    def put_local_file(self, oid: str, size: int, source: Path) -> None:
        """Verify a complete file already on this disk (an assembled multipart upload) and move
        it into place without copying it."""
        check_object(oid, size, *hash_file(source))
        self._move_into_place(oid, source)

    def _move_into_place(self, oid: str, verified: Path) -> None:
        final = self._path(oid)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(verified, final)

    def delete(self, oid: str) -> None:
        self._path(oid).unlink(missing_ok=True)

    # -- Xet xorbs: keyed by their Xet hash, verified by the caller before they are written ---

    def _xorb_path(self, xorb_hash: str) -> Path:
        return self.root / "xorbs" / xorb_hash[:2] / xorb_hash[2:4] / xorb_hash

    def xorb_exists(self, xorb_hash: str) -> bool:
        return self._xorb_path(xorb_hash).is_file()

    def xorb_local_path(self, xorb_hash: str) -> Path | None:
        path = self._xorb_path(xorb_hash)
        return path if path.is_file() else None

    def presigned_xorb_url(
        self, xorb_hash: str, byte_range: tuple[int, int], expires: int
    ) -> str | None:
        return None

    def put_xorb_file(self, xorb_hash: str, verified: Path) -> None:
        """Move the verified file into place (a rename on the same disk: no copy)."""
        final = self._xorb_path(xorb_hash)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(verified, final)

    def delete_xorb(self, xorb_hash: str) -> None:
        self._xorb_path(xorb_hash).unlink(missing_ok=True)

    def read_xorb_range(self, xorb_hash: str, start: int, end: int) -> bytes:
        """Serialized bytes [start, end) of a stored xorb."""
        return _read(self._xorb_path(xorb_hash), start, end)

    def iter_xorb_range(self, xorb_hash: str, start: int, end: int) -> Iterator[bytes]:
        return _iter(self._xorb_path(xorb_hash), start, end)


def _iter(path: Path, start: int, end: int) -> Iterator[bytes]:
    """Opened before this returns: a missing file raises BlobMissing here."""
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        raise BlobMissing(path.name) from None

    def chunks() -> Iterator[bytes]:
        with handle:
            handle.seek(start)
            remaining = end - start
            while remaining > 0 and (chunk := handle.read(min(READ_CHUNK, remaining))):
                remaining -= len(chunk)
                yield chunk

    return chunks()


def _read(path: Path, start: int, end: int) -> bytes:
    try:
        with open(path, "rb") as handle:
            handle.seek(start)
            return handle.read(max(0, end - start))
    except FileNotFoundError:
        raise BlobMissing(path.name) from None
