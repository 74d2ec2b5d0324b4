"""Content-addressed storage of large-file bytes, keyed by SHA-256.

Writes are idempotent and verified: bytes are streamed to a temporary file while hashed, and only
moved into place when their SHA-256 and size match what the client announced. A failed or
interrupted upload therefore never leaves a partial object behind under its final name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import AsyncIterator, Protocol

from hubstead.domain.errors import BadRequest


class ObjectMismatch(BadRequest):
    """The uploaded bytes do not hash to, or do not have the size of, the announced object."""


class BlobStore(Protocol):
    def exists(self, oid: str) -> bool: ...
    def size(self, oid: str) -> int | None: ...
    def local_path(self, oid: str) -> Path | None: ...
    async def put_stream(self, oid: str, size: int, chunks: AsyncIterator[bytes]) -> None: ...
    def put_local_file(self, oid: str, size: int, source: Path) -> None: ...
    def delete(self, oid: str) -> None: ...


class LocalBlobStore:
    """Blobs under `<root>/sha256/ab/cd/<oid>`; the default for the embedded setup."""

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

    def temp_file(self) -> tuple[int, Path]:
        fd, name = tempfile.mkstemp(dir=self.tmp_dir, prefix="upload-")
        return fd, Path(name)

    async def put_stream(self, oid: str, size: int, chunks: AsyncIterator[bytes]) -> None:
        """Stream an upload to disk, verifying hash and size before it becomes visible."""
        fd, tmp = self.temp_file()
        digest = hashlib.sha256()
        written = 0
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in chunks:
                    written += len(chunk)
                    if written > size:
                        raise ObjectMismatch(f"Object {oid}: received more than the announced {size} bytes")
                    digest.update(chunk)
                    out.write(chunk)
            self._commit(oid, size, tmp, digest.hexdigest(), written)
        finally:
            tmp.unlink(missing_ok=True)

    def put_local_file(self, oid: str, size: int, source: Path) -> None:
        """Verify a complete file already on this disk (an assembled multipart upload) and move
        it into place without copying it."""
        digest = hashlib.sha256()
        written = 0
        with open(source, "rb") as handle:
            while chunk := handle.read(8 * 1024 * 1024):
                digest.update(chunk)
                written += len(chunk)
        self._commit(oid, size, source, digest.hexdigest(), written)

    def _commit(self, oid: str, size: int, tmp: Path, actual_oid: str, written: int) -> None:
        if written != size:
            raise ObjectMismatch(f"Object {oid}: received {written} bytes, expected {size}")
        if actual_oid != oid:
            raise ObjectMismatch(f"Object {oid}: the uploaded bytes hash to {actual_oid}")
        final = self._path(oid)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)

    def delete(self, oid: str) -> None:
        self._path(oid).unlink(missing_ok=True)

    # -- Xet xorbs: keyed by their Xet hash, verified by the caller before they are written ---

    def xorb_path(self, xorb_hash: str) -> Path:
        return self.root / "xorbs" / xorb_hash[:2] / xorb_hash[2:4] / xorb_hash

    def put_xorb(self, xorb_hash: str, data: bytes) -> None:
        """Write a verified xorb atomically (temporary file, then rename)."""
        final = self.xorb_path(xorb_hash)
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = self.temp_file()
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)

    def read_xorb_range(self, xorb_hash: str, start: int, end: int) -> bytes:
        """Serialized bytes [start, end) of a stored xorb."""
        with open(self.xorb_path(xorb_hash), "rb") as handle:
            handle.seek(start)
            return handle.read(end - start)
