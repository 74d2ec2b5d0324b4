"""What the Xet services share: the chunk table of a stored xorb, decoding its chunks, and the
strict checks of CAS inputs (hashes in hex, Range headers)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, select

from hubstead.domain.byte_ranges import parse_range
from hubstead.domain.errors import BadRequest
from hubstead.storage.blobstore import BlobStore
from hubstead.storage.models import LfsObject, RepoLfsObject, XetChunk, XetFile, XetFileTerm
from hubstead.xet.xorb import CHUNK_HEADER_LEN, decompress_chunk, parse_chunk_header

CHUNKS = XetChunk.__table__
TERMS = XetFileTerm.__table__
FILES = XetFile.__table__
LFS = LfsObject.__table__
LINKS = RepoLfsObject.__table__
_CHUNK_COLUMNS = (
    CHUNKS.c.chunk_hash,
    CHUNKS.c.unpacked_size,
    CHUNKS.c.serialized_start,
    CHUNKS.c.serialized_end,
)
CHUNKS_OF_XORB = (
    select(*_CHUNK_COLUMNS).where(CHUNKS.c.xorb_hash == bindparam("xorb")).order_by(CHUNKS.c.index)
)
TERMS_OF_FILE = select(TERMS).where(TERMS.c.file_hash == bindparam("file")).order_by(TERMS.c.seq)


class ChunkInfo(NamedTuple):
    """One row of a xorb's chunk table (a named tuple: a 1 GiB file has 16,000 of them, built
    straight from the database's rows)."""

    hash: str
    size: int
    start: int  # serialized offset of the chunk header in the xorb
    end: int  # serialized offset just past the chunk's payload


def chunks_of(connection: Connection, xorb: str) -> list[ChunkInfo]:
    """The chunk table of a stored xorb, in order (empty when the xorb is unknown)."""
    return list(map(ChunkInfo._make, connection.execute(CHUNKS_OF_XORB, {"xorb": xorb}).all()))


def decode_chunks(blobs: BlobStore, xorb: str, chunks: list[ChunkInfo]) -> Iterator[bytes]:
    """Decompressed contents of consecutive chunks of a stored xorb (one ranged read)."""
    if not chunks:
        return
    base = chunks[0].start
    raw = blobs.read_xorb_range(xorb, base, chunks[-1].end)
    for chunk in chunks:
        header = parse_chunk_header(raw, chunk.start - base)
        payload = raw[chunk.start - base + CHUNK_HEADER_LEN : chunk.end - base]
        yield bytes(decompress_chunk(header, payload))  # bytes already: no copy


def parse_byte_range(header: str | None, size: int) -> tuple[int, int]:
    """The CAS is strict where resolve is lenient: a Range it cannot read is a 400, not the
    whole file (hf_xet always sends one well-formed range)."""
    if not header:
        return 0, size
    parsed = parse_range(header, size)
    if parsed is None:
        raise BadRequest(f"Unsupported Range header: {header}")
    return parsed


def check_hex(value: str, what: str) -> None:
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise BadRequest(f"Invalid {what}: {value!r}")
