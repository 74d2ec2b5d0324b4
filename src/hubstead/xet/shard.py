"""Parse, verify and serialize Xet shards (spec: shard.md, "MDB shard" format).

A shard is what the client uploads to ``POST /v1/shards`` (or ``/v2/shards``)
after its xorbs: one *file info* block per uploaded file (the chunk ranges of
xorbs that rebuild it, one verification hash per range, and the file's sha256)
and one *CAS info* block per new xorb (its chunk hashes and sizes).  The same
format, with a footer and no file info, answers global-dedup queries
(``GET /v1/chunks/{prefix}/{hash}``).

Layout: a 48-byte header, then records of 48 bytes each — file info blocks
closed by a bookend record, CAS info blocks closed by a bookend — then, only in
stored or dedup shards, lookup tables and a 200-byte footer.  All integers are
little-endian.  Hashes are raw 32-byte values (see :mod:`hubstead.xet.hashing`
for their wire spelling).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from hubstead.xet import hashing

RECORD_LEN = 48
HEADER_LEN = 48
FOOTER_LEN = 200
HEADER_VERSION = 2
FOOTER_VERSION = 1
# 32-byte magic opening every shard (absent from shard.md; it is xet-core's
# MDB_SHARD_HEADER_TAG and what hf_xet 1.8.0 sends).
HEADER_TAG = b"HFRepoMetaData" + bytes(
    [0, 85, 105, 103, 69, 106, 123, 129, 87, 131, 165, 189, 217, 92, 205, 209, 74, 169]
)
BOOKEND = b"\xff" * 32 + bytes(16)

FILE_FLAG_WITH_VERIFICATION = 1 << 31
FILE_FLAG_WITH_METADATA_EXT = 1 << 30
# Chunk flag the server sets on chunks a client may query for global dedup.
CHUNK_FLAG_GLOBAL_DEDUP = 1 << 31
# Stored shards use this expiry for "never expires".
NO_EXPIRY = 2**64 - 1
MAX_SHARD_BYTES = 64 * 1024 * 1024


class ShardError(ValueError):
    """Base class: the shard cannot be accepted."""


class ShardFormatError(ShardError):
    """The bytes do not follow the shard format."""


class ShardVerificationError(ShardError):
    """The shard parses but its claims do not match the server's xorbs."""


@dataclass(frozen=True)
class FileTerm:
    """Chunks ``[chunk_start, chunk_end)`` of one xorb, a slice of a file."""

    xorb_hash: bytes
    unpacked_length: int
    chunk_start: int
    chunk_end: int
    cas_flags: int = 0


@dataclass(frozen=True)
class FileEntry:
    """How to rebuild one file.

    ``sha256`` is kept exactly as stored, i.e. in the hash word order: the
    client stores the SHA-256 digest reversed in 8-byte groups, so the usual
    hex digest is :attr:`sha256_hex`, not ``sha256.hex()``.
    """

    file_hash: bytes
    terms: tuple[FileTerm, ...]
    verification_hashes: tuple[bytes, ...] | None = None
    sha256: bytes | None = None
    extra_flags: int = 0  # flag bits other than the two section flags

    @property
    def file_hash_hex(self) -> str:
        return hashing.hash_to_hex(self.file_hash)

    @property
    def sha256_hex(self) -> str | None:
        """The file's SHA-256 as git-lfs and the commit API spell it."""
        return None if self.sha256 is None else hashing.hash_to_hex(self.sha256)

    @property
    def size(self) -> int:
        return sum(term.unpacked_length for term in self.terms)

    @property
    def flags(self) -> int:
        flags = self.extra_flags
        if self.verification_hashes is not None:
            flags |= FILE_FLAG_WITH_VERIFICATION
        if self.sha256 is not None:
            flags |= FILE_FLAG_WITH_METADATA_EXT
        return flags


class CasChunk(NamedTuple):
    """One chunk of a xorb as a shard lists it (offsets are *uncompressed* bytes). A named
    tuple, not a dataclass: a 1 GiB file's shard lists 16,000 of them, read in one
    `struct.iter_unpack`."""

    chunk_hash: bytes
    unpacked_offset: int
    unpacked_length: int
    flags: int = 0


@dataclass(frozen=True)
class CasEntry:
    """A xorb's chunk list.  hf_xet sends ``num_bytes_on_disk`` = 0: do not trust it."""

    xorb_hash: bytes
    chunks: tuple[CasChunk, ...]
    num_bytes_in_xorb: int
    num_bytes_on_disk: int = 0
    flags: int = 0

    @property
    def xorb_hash_hex(self) -> str:
        return hashing.hash_to_hex(self.xorb_hash)


@dataclass(frozen=True)
class ShardFooter:
    """The 200-byte trailer of stored and dedup shards (never in uploads)."""

    file_info_offset: int
    cas_info_offset: int
    file_lookup_offset: int
    file_lookup_count: int
    xorb_lookup_offset: int
    xorb_lookup_count: int
    chunk_lookup_offset: int
    chunk_lookup_count: int
    chunk_hash_hmac_key: bytes
    created_at: int
    key_expiry: int
    stored_bytes_on_disk: int
    materialized_bytes: int
    stored_bytes: int
    footer_offset: int


@dataclass(frozen=True)
class Shard:
    files: tuple[FileEntry, ...]
    xorbs: tuple[CasEntry, ...]
    footer: ShardFooter | None = None

    def referenced_xorbs(self) -> set[bytes]:
        """Xorbs the files point at: all must exist before the shard is accepted."""
        return {term.xorb_hash for entry in self.files for term in entry.terms}


# --------------------------------------------------------------------------- parsing


@dataclass
class _Cursor:
    data: bytes
    pos: int = 0
    limit: int = field(default=-1)

    def __post_init__(self) -> None:
        if self.limit < 0:
            self.limit = len(self.data)

    def record(self) -> bytes:
        return self.records(1)

    def records(self, count: int) -> bytes:
        """The next `count` records, as one block."""
        end = self.pos + count * RECORD_LEN
        if end > self.limit:
            raise ShardFormatError(f"shard truncated at byte {self.pos}")
        out = self.data[self.pos : end]
        self.pos = end
        return out


# a CAS info chunk record: hash, offset, length, flags, 4 reserved bytes
_CAS_CHUNK = struct.Struct("<32s3I4x")


def _u32(raw: bytes, at: int) -> int:
    return int.from_bytes(raw[at : at + 4], "little")


def _u64(raw: bytes, at: int) -> int:
    return int.from_bytes(raw[at : at + 8], "little")


def _is_bookend(record: bytes) -> bool:
    return record[:32] == BOOKEND[:32]


def _parse_header(data: bytes) -> int:
    """Check magic and version; return the announced footer size."""
    if len(data) < HEADER_LEN:
        raise ShardFormatError("shard shorter than its header")
    if data[:32] != HEADER_TAG:
        raise ShardFormatError("not a shard (wrong magic tag)")
    version = _u64(data, 32)
    if version != HEADER_VERSION:
        raise ShardFormatError(f"unsupported shard header version {version}")
    footer_size = _u64(data, 40)
    if footer_size not in (0, FOOTER_LEN):
        raise ShardFormatError(f"unsupported shard footer size {footer_size}")
    return footer_size


def _parse_file_entry(header: bytes, cursor: _Cursor) -> FileEntry:
    flags = _u32(header, 32)
    count = _u32(header, 36)
    terms = []
    for _ in range(count):
        rec = cursor.record()
        terms.append(FileTerm(rec[:32], _u32(rec, 36), _u32(rec, 40), _u32(rec, 44), _u32(rec, 32)))
    verification = None
    if flags & FILE_FLAG_WITH_VERIFICATION:
        verification = tuple(cursor.record()[:32] for _ in range(count))
    sha256 = cursor.record()[:32] if flags & FILE_FLAG_WITH_METADATA_EXT else None
    section_flags = FILE_FLAG_WITH_VERIFICATION | FILE_FLAG_WITH_METADATA_EXT
    return FileEntry(header[:32], tuple(terms), verification, sha256, flags & ~section_flags)


def _parse_cas_entry(header: bytes, cursor: _Cursor) -> CasEntry:
    count = _u32(header, 36)
    block = cursor.records(count)
    chunks = tuple(map(CasChunk._make, _CAS_CHUNK.iter_unpack(block)))
    return CasEntry(header[:32], chunks, _u32(header, 40), _u32(header, 44), _u32(header, 32))


def _parse_footer(data: bytes) -> ShardFooter:
    raw = data[-FOOTER_LEN:]
    version = _u64(raw, 0)
    if version != FOOTER_VERSION:
        raise ShardFormatError(f"unsupported shard footer version {version}")
    (
        file_info_offset,
        cas_info_offset,
        file_lookup_offset,
        file_lookup_count,
        xorb_lookup_offset,
        xorb_lookup_count,
        chunk_lookup_offset,
        chunk_lookup_count,
    ) = (_u64(raw, at) for at in range(8, 72, 8))
    return ShardFooter(
        file_info_offset=file_info_offset,
        cas_info_offset=cas_info_offset,
        file_lookup_offset=file_lookup_offset,
        file_lookup_count=file_lookup_count,
        xorb_lookup_offset=xorb_lookup_offset,
        xorb_lookup_count=xorb_lookup_count,
        chunk_lookup_offset=chunk_lookup_offset,
        chunk_lookup_count=chunk_lookup_count,
        chunk_hash_hmac_key=raw[72:104],
        created_at=_u64(raw, 104),
        key_expiry=_u64(raw, 112),
        stored_bytes_on_disk=_u64(raw, 168),
        materialized_bytes=_u64(raw, 176),
        stored_bytes=_u64(raw, 184),
        footer_offset=_u64(raw, 192),
    )


def _check_footer(footer: ShardFooter, cas_offset: int, cas_end: int, total: int) -> None:
    """Offsets must agree with the sections actually read: clients seek with them."""
    footer_start = total - FOOTER_LEN
    tables = (
        (footer.file_lookup_offset, footer.file_lookup_count, 12),
        (footer.xorb_lookup_offset, footer.xorb_lookup_count, 12),
        (footer.chunk_lookup_offset, footer.chunk_lookup_count, 16),
    )
    tables_ok = all(cas_end <= off and off + n * size <= footer_start for off, n, size in tables)
    if not (
        footer.file_info_offset == HEADER_LEN
        and footer.cas_info_offset == cas_offset
        and footer.footer_offset == footer_start
        and tables_ok
    ):
        raise ShardFormatError("shard footer offsets do not match its sections")


def parse_shard(data: bytes, max_bytes: int = MAX_SHARD_BYTES) -> Shard:
    """Decode a shard with or without footer; raise :class:`ShardFormatError` if malformed."""
    if len(data) > max_bytes:
        raise ShardFormatError(f"shard is {len(data)} bytes, limit is {max_bytes}")
    footer_size = _parse_header(data)
    try:
        return _parse_sections(data, footer_size)
    except ShardFormatError as error:
        # hf_xet 1.2 (and older) announces a footer in the header of the shards it uploads but
        # sends none: the body ends right after the CAS info section.
        if not footer_size:
            raise
        try:
            return _parse_sections(data, 0)
        except ShardFormatError:
            raise error from None


def _parse_sections(data: bytes, footer_size: int) -> Shard:
    if len(data) < HEADER_LEN + footer_size:
        raise ShardFormatError("shard truncated before its footer")
    cursor = _Cursor(data, HEADER_LEN, len(data) - footer_size)
    files = []
    while not _is_bookend(header := cursor.record()):
        files.append(_parse_file_entry(header, cursor))
    cas_offset = cursor.pos
    xorbs = []
    while not _is_bookend(header := cursor.record()):
        xorbs.append(_parse_cas_entry(header, cursor))
    footer = None
    if footer_size:
        footer = _parse_footer(data)
        _check_footer(footer, cas_offset, cursor.pos, len(data))
    elif cursor.pos != len(data):
        raise ShardFormatError(f"{len(data) - cursor.pos} stray bytes after the CAS info section")
    return Shard(tuple(files), tuple(xorbs), footer)


# ---------------------------------------------------------------------- verification


def verify_file_entry(
    entry: FileEntry,
    xorb_chunks: Mapping[bytes, Sequence[hashing.HashedSize]],
    require_verification: bool = True,
) -> None:
    """Check one file's claims against chunk lists the server trusts.

    ``xorb_chunks`` maps a raw xorb hash to its ``(chunk hash, size)`` list,
    taken from xorbs the server parsed itself.  The verification hashes prove
    the uploader knew the chunks it references (the spec makes them mandatory
    on upload); the file hash check stops a client registering a wrong id.
    """
    if require_verification and entry.verification_hashes is None:
        raise ShardVerificationError(f"file {entry.file_hash_hex} lacks verification entries")
    all_chunks: list[hashing.HashedSize] = []
    for index, term in enumerate(entry.terms):
        chunks = _term_chunks(entry, term, xorb_chunks)
        if entry.verification_hashes is not None:
            expected = hashing.term_verification_hash(h for h, _ in chunks)
            if entry.verification_hashes[index] != expected:
                raise ShardVerificationError(
                    f"file {entry.file_hash_hex}: wrong verification hash for term {index}"
                )
        all_chunks.extend(chunks)
    if hashing.file_hash(all_chunks) != entry.file_hash:
        raise ShardVerificationError(f"file {entry.file_hash_hex}: hash does not match its chunks")


def _term_chunks(
    entry: FileEntry, term: FileTerm, xorb_chunks: Mapping[bytes, Sequence[hashing.HashedSize]]
) -> Sequence[hashing.HashedSize]:
    """The chunks a term names, after checking the range and the claimed length."""
    name = hashing.hash_to_hex(term.xorb_hash)
    known = xorb_chunks.get(term.xorb_hash)
    if known is None:
        raise ShardVerificationError(f"file {entry.file_hash_hex} uses unknown xorb {name}")
    if not 0 <= term.chunk_start < term.chunk_end <= len(known):
        raise ShardVerificationError(
            f"file {entry.file_hash_hex}: chunk range [{term.chunk_start}, {term.chunk_end}) "
            f"outside xorb {name} of {len(known)} chunks"
        )
    chunks = known[term.chunk_start : term.chunk_end]
    if sum(size for _, size in chunks) != term.unpacked_length:
        raise ShardVerificationError(
            f"file {entry.file_hash_hex}: term length {term.unpacked_length} "
            f"differs from the chunks of xorb {name}"
        )
    return chunks


def verify_cas_entry(
    entry: CasEntry, chunks: Sequence[hashing.HashedSize], check_hash: bool = True
) -> None:
    """Check a CAS info block against the chunks of the xorb the server parsed.

    The server should index its own parse of the xorb anyway; this only
    catches a client whose shard disagrees with what it uploaded.  A caller
    whose chunk list is the one it verified against the xorb's name when the
    xorb was uploaded may skip re-hashing the merkle tree (``check_hash``).
    """
    offset = 0
    expected = []
    for chunk_hash, size in chunks:
        expected.append((chunk_hash, offset, size))
        offset += size
    listed = [(c.chunk_hash, c.unpacked_offset, c.unpacked_length) for c in entry.chunks]
    if listed != expected or entry.num_bytes_in_xorb != offset:
        raise ShardVerificationError(f"CAS info for xorb {entry.xorb_hash_hex} does not match it")
    if check_hash and hashing.xorb_hash(chunks) != entry.xorb_hash:
        raise ShardVerificationError(f"CAS info chunks do not hash to xorb {entry.xorb_hash_hex}")


def verify_upload_shard(
    parsed: Shard, xorb_chunks: Mapping[bytes, Sequence[hashing.HashedSize]]
) -> None:
    """All checks the spec asks of an uploaded shard, against the server's own xorbs.

    Uploads carry no footer; every file must carry verification entries and
    match its chunks; every xorb in the CAS info must already be stored (the
    client uploads xorbs first) and be described truthfully.
    """
    if parsed.footer is not None:
        raise ShardVerificationError("an uploaded shard must not carry a footer")
    for entry in parsed.files:
        verify_file_entry(entry, xorb_chunks, require_verification=True)
    for cas in parsed.xorbs:
        chunks = xorb_chunks.get(cas.xorb_hash)
        if chunks is None:
            raise ShardVerificationError(f"CAS info names xorb {cas.xorb_hash_hex}, not uploaded")
        verify_cas_entry(cas, chunks)


# --------------------------------------------------------------------- serialization


def _record(head: bytes, *words: int) -> bytes:
    """A 48-byte record: a 32-byte hash then u32 fields, zero-padded."""
    body = head + b"".join(w.to_bytes(4, "little") for w in words)
    return body + bytes(RECORD_LEN - len(body))


def _serialize_file(entry: FileEntry) -> bytes:
    parts = [_record(entry.file_hash, entry.flags, len(entry.terms))]
    for term in entry.terms:
        parts.append(
            _record(
                term.xorb_hash,
                term.cas_flags,
                term.unpacked_length,
                term.chunk_start,
                term.chunk_end,
            )
        )
    if entry.verification_hashes is not None:
        if len(entry.verification_hashes) != len(entry.terms):
            raise ValueError("one verification hash per term is required")
        parts.extend(_record(h) for h in entry.verification_hashes)
    if entry.sha256 is not None:
        parts.append(_record(entry.sha256))
    return b"".join(parts)


def _serialize_cas(entry: CasEntry) -> bytes:
    parts = [
        _record(
            entry.xorb_hash,
            entry.flags,
            len(entry.chunks),
            entry.num_bytes_in_xorb,
            entry.num_bytes_on_disk,
        )
    ]
    for chunk in entry.chunks:
        parts.append(
            _record(chunk.chunk_hash, chunk.unpacked_offset, chunk.unpacked_length, chunk.flags)
        )
    return b"".join(parts)


def _serialize_footer(
    files: Sequence[FileEntry],
    xorbs: Sequence[CasEntry],
    cas_offset: int,
    footer_offset: int,
    hmac_key: bytes,
    created_at: int,
    key_expiry: int,
) -> bytes:
    """Footer with empty lookup tables placed at the footer itself.

    Empty tables are valid, but their offsets must still point past the CAS
    section: zeros there make hf_xet 1.8.0 abort (research notes, finding 7).
    """
    words = [
        FOOTER_VERSION,
        HEADER_LEN,
        cas_offset,
        footer_offset,
        0,
        footer_offset,
        0,
        footer_offset,
        0,
    ]
    stats = [
        sum(x.num_bytes_on_disk for x in xorbs),
        sum(f.size for f in files),
        sum(x.num_bytes_in_xorb for x in xorbs),
        footer_offset,
    ]
    out = b"".join(w.to_bytes(8, "little") for w in words) + hmac_key
    out += created_at.to_bytes(8, "little") + key_expiry.to_bytes(8, "little") + bytes(48)
    return out + b"".join(w.to_bytes(8, "little") for w in stats)


def serialize_shard(
    files: Sequence[FileEntry] = (),
    xorbs: Sequence[CasEntry] = (),
    *,
    with_footer: bool = False,
    hmac_key: bytes = hashing.ZERO_HASH,
    created_at: int = 0,
    key_expiry: int = NO_EXPIRY,
) -> bytes:
    """Serialize a shard.  Upload bodies have no footer; stored/dedup shards need one.

    Hashes are written as given: to key chunk hashes for a dedup answer use
    :func:`dedup_response_shard`.
    """
    body = b"".join(_serialize_file(f) for f in files) + BOOKEND
    cas_offset = HEADER_LEN + len(body)
    body += b"".join(_serialize_cas(x) for x in xorbs) + BOOKEND
    header = HEADER_TAG + HEADER_VERSION.to_bytes(8, "little")
    header += (FOOTER_LEN if with_footer else 0).to_bytes(8, "little")
    if not with_footer:
        return header + body
    footer = _serialize_footer(
        files, xorbs, cas_offset, HEADER_LEN + len(body), hmac_key, created_at, key_expiry
    )
    return header + body + footer


def dedup_response_shard(
    xorbs: Sequence[CasEntry], hmac_key: bytes, created_at: int, key_expiry: int
) -> bytes:
    """The body of a global-dedup answer: CAS info only, chunk hashes keyed with ``hmac_key``.

    Keying means a client learns which xorb holds a chunk only if it already
    knows the chunk's hash; the key travels in the footer so it can match.
    """
    keyed = [
        CasEntry(
            x.xorb_hash,
            tuple(
                CasChunk(
                    hashing.dedup_keyed_chunk_hash(hmac_key, c.chunk_hash),
                    c.unpacked_offset,
                    c.unpacked_length,
                    c.flags,
                )
                for c in x.chunks
            ),
            x.num_bytes_in_xorb,
            x.num_bytes_on_disk,
            x.flags,
        )
        for x in xorbs
    ]
    return serialize_shard(
        (), keyed, with_footer=True, hmac_key=hmac_key, created_at=created_at, key_expiry=key_expiry
    )
