"""Git LFS pointer files: what git stores in place of a large file."""

from __future__ import annotations

from dataclasses import dataclass

from hubstead.domain.hashing import is_sha256

_VERSION_LINE = "version https://git-lfs.github.com/spec/v1"
MAX_POINTER_SIZE = 1024


@dataclass(frozen=True, slots=True)
class LfsPointer:
    oid: str
    size: int

    def encode(self) -> bytes:
        return f"{_VERSION_LINE}\noid sha256:{self.oid}\nsize {self.size}\n".encode()


def parse_pointer(data: bytes) -> LfsPointer | None:
    """Return the pointer if `data` is a valid LFS pointer file, else None."""
    if len(data) > MAX_POINTER_SIZE or not data.startswith(b"version "):
        return None
    try:
        lines = data.decode("ascii").strip().split("\n")
    except UnicodeDecodeError:
        return None
    fields = dict(line.split(" ", 1) for line in lines if " " in line)
    if fields.get("version") != _VERSION_LINE.split(" ", 1)[1]:
        return None
    oid = fields.get("oid", "")
    size = fields.get("size", "")
    if not oid.startswith("sha256:") or not is_sha256(oid[7:]) or not _size_text(size):
        return None
    return LfsPointer(oid=oid[7:], size=int(size))


def _size_text(value: str) -> bool:
    """ASCII digits of a size a database holds (`"²".isdigit()` is true; `int("²")` fails)."""
    return value.isascii() and value.isdigit() and len(value) <= 18
