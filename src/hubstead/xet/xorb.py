"""Parse and verify a serialized xorb, the body of ``POST /v1/xorbs/{prefix}/{hash}``.

A xorb is a run of chunks, each an 8-byte header followed by its payload::

    version u8 (=0) | compressed_size u24 LE | scheme u8 | uncompressed_size u24 LE

The client uploads the chunks only.  The specification also defines a metadata
footer (``XorbObjectInfo``: xorb hash, chunk hashes, chunk boundaries, then a
u32 length as the last 4 bytes) that a store may append; hf_xet 1.8.0 does not
send it, but :func:`parse_xorb` accepts and cross-checks one if present.

The server cannot trust the hash in the URL: :func:`verify_xorb` decompresses
every chunk, recomputes the chunk hashes and the xorb hash, and returns what the
server needs later — above all each chunk's serialized byte offsets, because
reconstruction answers point clients at byte ranges of the stored xorb.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cached_property

import lz4.frame

from hubstead.xet import hashing

CHUNK_HEADER_LEN = 8
CHUNK_FORMAT_VERSION = 0
# The client cuts chunks at 128 KiB at the latest; a larger one is not a xet chunk
# and refusing it bounds the memory a malicious upload can make us allocate.
MAX_CHUNK_BYTES = 128 * 1024
# Upload limit of the specification (serialized size).
MAX_XORB_BYTES = 64 * 1024 * 1024

FOOTER_IDENT = b"XETBLOB"
FOOTER_HASHES_IDENT = b"XBLBHSH"
FOOTER_BOUNDARIES_IDENT = b"XBLBBND"
_IDENT_LEN = 7
# num_chunks, hashes_section_offset_from_end, boundary_section_offset_from_end
# (u32 each), then a 16-byte buffer whose first 4 bytes are a nonce.
_FOOTER_TAIL_LEN = 4 + 4 + 4 + 16
_NONCE_LEN = 4


class XorbError(ValueError):
    """Base class: the bytes are not an acceptable xorb."""


class XorbFormatError(XorbError):
    """The bytes do not follow the xorb format (truncated, bad header, bad compression)."""


class XorbHashMismatchError(XorbError):
    """The xorb parses but its content does not hash to the announced name."""


class CompressionScheme(enum.IntEnum):
    """Per-chunk compression; a xorb may mix schemes."""

    NONE = 0
    LZ4 = 1  # LZ4 *frame* format, not raw blocks
    BG4_LZ4 = 2  # bytes regrouped by position modulo 4, then LZ4 frame


@dataclass(frozen=True)
class ChunkHeader:
    version: int
    compressed_size: int
    scheme: CompressionScheme
    uncompressed_size: int


@dataclass(frozen=True)
class XorbChunk:
    """One chunk as stored: its content, its hash and where its bytes sit in the xorb."""

    index: int
    hash: bytes
    data: bytes
    scheme: CompressionScheme
    offset: int  # serialized offset of the chunk header
    end: int  # serialized offset just past the payload

    @property
    def size(self) -> int:
        """Uncompressed length, the size the merkle tree and shards use."""
        return len(self.data)


@dataclass(frozen=True)
class XorbFooter:
    """The optional ``XorbObjectInfo`` metadata block at the end of a stored xorb."""

    xorb_hash: bytes
    chunk_hashes: tuple[bytes, ...]
    serialized_ends: tuple[int, ...]  # end offset of each chunk (header included)
    unpacked_ends: tuple[int, ...]  # cumulative uncompressed end of each chunk
    nonce: bytes


@dataclass(frozen=True)
class ParsedXorb:
    """A decoded xorb; ``chunk_bytes_len`` is where the chunks stop (footer excluded)."""

    chunks: tuple[XorbChunk, ...]
    chunk_bytes_len: int
    footer: XorbFooter | None

    @cached_property
    def hash(self) -> bytes:
        """The xorb hash recomputed from the decompressed chunks (computed once)."""
        return hashing.xorb_hash([(c.hash, c.size) for c in self.chunks])

    @property
    def hash_hex(self) -> str:
        return hashing.hash_to_hex(self.hash)

    @property
    def chunk_hashes(self) -> list[bytes]:
        return [c.hash for c in self.chunks]

    @property
    def boundaries(self) -> list[int]:
        """Serialized offsets: chunk i spans ``boundaries[i]:boundaries[i+1]``."""
        return [0] + [c.end for c in self.chunks]

    @property
    def unpacked_length(self) -> int:
        return sum(c.size for c in self.chunks)

    def content(self, start: int = 0, end: int | None = None) -> bytes:
        """Uncompressed bytes of chunks ``[start, end)``, as a file term uses them."""
        return b"".join(c.data for c in self.chunks[start:end])

    def byte_range(self, start: int, end: int) -> tuple[int, int]:
        """Serialized half-open byte range holding chunks ``[start, end)``.

        This is what a reconstruction's fetch ranges point at (the wire spells
        the end inclusive, i.e. ``end - 1``).
        """
        if not 0 <= start < end <= len(self.chunks):
            raise IndexError(f"chunk range [{start}, {end}) outside 0..{len(self.chunks)}")
        return self.chunks[start].offset, self.chunks[end - 1].end


def parse_chunk_header(data: bytes, offset: int) -> ChunkHeader:
    """Decode the 8-byte header at ``offset``; raise on anything the client never writes."""
    raw = data[offset : offset + CHUNK_HEADER_LEN]
    if len(raw) < CHUNK_HEADER_LEN:
        raise XorbFormatError(f"truncated chunk header at byte {offset}")
    if raw[0] != CHUNK_FORMAT_VERSION:
        raise XorbFormatError(f"unknown chunk header version {raw[0]} at byte {offset}")
    try:
        scheme = CompressionScheme(raw[4])
    except ValueError:
        raise XorbFormatError(f"unknown compression scheme {raw[4]} at byte {offset}") from None
    header = ChunkHeader(
        version=raw[0],
        compressed_size=int.from_bytes(raw[1:4], "little"),
        scheme=scheme,
        uncompressed_size=int.from_bytes(raw[5:8], "little"),
    )
    if header.uncompressed_size > MAX_CHUNK_BYTES:
        raise XorbFormatError(
            f"chunk at byte {offset} claims {header.uncompressed_size} bytes, "
            f"more than the {MAX_CHUNK_BYTES} a chunk can hold"
        )
    return header


def bg4_split(data: bytes) -> bytes:
    """Byte grouping: all bytes at position 0 mod 4, then 1 mod 4, and so on."""
    return b"".join(data[group::4] for group in range(4))


def bg4_join(grouped: bytes) -> bytes:
    """Undo :func:`bg4_split`; the first ``len % 4`` groups are one byte longer."""
    total = len(grouped)
    out = bytearray(total)
    pos = 0
    for group in range(4):
        group_len = total // 4 + (1 if group < total % 4 else 0)
        out[group::4] = grouped[pos : pos + group_len]
        pos += group_len
    return bytes(out)


def _lz4_frame_decompress(payload: bytes, expected_len: int) -> bytes:
    """Decompress exactly one LZ4 frame that must yield ``expected_len`` bytes.

    ``max_length`` stops a decompression bomb before it allocates more than
    one byte beyond what the header promised.
    """
    decompressor = lz4.frame.LZ4FrameDecompressor()
    try:
        out: bytes = decompressor.decompress(payload, max_length=expected_len + 1)
    except RuntimeError as err:  # python-lz4 reports corrupt frames as RuntimeError
        raise XorbFormatError(f"corrupt LZ4 frame: {err}") from err
    if len(out) != expected_len:
        raise XorbFormatError(f"LZ4 frame holds more than the announced {expected_len} bytes")
    if not decompressor.eof or decompressor.unused_data:
        raise XorbFormatError("LZ4 frame is truncated or followed by stray bytes")
    return out


def decompress_chunk(header: ChunkHeader, payload: bytes) -> bytes:
    """Return the chunk's uncompressed bytes, checked against the header's size."""
    if header.scheme is CompressionScheme.NONE:
        data = payload
    elif header.scheme is CompressionScheme.LZ4:
        data = _lz4_frame_decompress(payload, header.uncompressed_size)
    else:
        data = bg4_join(_lz4_frame_decompress(payload, header.uncompressed_size))
    if len(data) != header.uncompressed_size:
        raise XorbFormatError(
            f"chunk decodes to {len(data)} bytes, header says {header.uncompressed_size}"
        )
    return data


def serialize_chunk(data: bytes, scheme: CompressionScheme) -> bytes:
    """Header + payload for ``data``; used to build xorbs in tests and tools."""
    if scheme is CompressionScheme.NONE:
        payload = data
    elif scheme is CompressionScheme.LZ4:
        payload = lz4.frame.compress(data)
    else:
        payload = lz4.frame.compress(bg4_split(data))
    header = (
        bytes([CHUNK_FORMAT_VERSION])
        + len(payload).to_bytes(3, "little")
        + bytes([scheme])
        + len(data).to_bytes(3, "little")
    )
    return header + payload


def _read_chunk(data: bytes, offset: int, index: int) -> XorbChunk:
    header = parse_chunk_header(data, offset)
    payload_start = offset + CHUNK_HEADER_LEN
    end = payload_start + header.compressed_size
    if end > len(data):
        raise XorbFormatError(f"chunk {index} payload runs past the end of the xorb")
    content = decompress_chunk(header, data[payload_start:end])
    return XorbChunk(index, hashing.chunk_hash(content), content, header.scheme, offset, end)


def parse_xorb(data: bytes, max_bytes: int = MAX_XORB_BYTES) -> ParsedXorb:
    """Decode every chunk (and the footer if one is appended); check nothing about the name.

    A chunk header starts with version 0 and the footer with ``"XETBLOB"``, so
    the first byte tells which one comes next.
    """
    if len(data) > max_bytes:
        raise XorbFormatError(f"xorb is {len(data)} bytes, limit is {max_bytes}")
    if not data:
        raise XorbFormatError("empty xorb")
    chunks: list[XorbChunk] = []
    offset = 0
    while offset < len(data) and not data.startswith(FOOTER_IDENT, offset):
        chunk = _read_chunk(data, offset, len(chunks))
        chunks.append(chunk)
        offset = chunk.end
    if not chunks:
        raise XorbFormatError("xorb holds no chunk")
    footer = _parse_footer(data, offset) if offset < len(data) else None
    parsed = ParsedXorb(tuple(chunks), offset, footer)
    if footer is not None:
        _check_footer(parsed, footer)
    return parsed


def verify_xorb(
    data: bytes, announced_hash: bytes | str, max_bytes: int = MAX_XORB_BYTES
) -> ParsedXorb:
    """Parse ``data`` and require that it hashes to ``announced_hash`` (raw or wire hex)."""
    expected = (
        hashing.hex_to_hash(announced_hash) if isinstance(announced_hash, str) else announced_hash
    )
    parsed = parse_xorb(data, max_bytes)
    actual = parsed.hash
    if actual != expected:
        raise XorbHashMismatchError(
            f"xorb content hashes to {hashing.hash_to_hex(actual)}, "
            f"not {hashing.hash_to_hex(expected)}"
        )
    return parsed


class _Reader:
    """Bounds-checked little-endian reads over the footer bytes."""

    def __init__(self, data: bytes, offset: int) -> None:
        self.data = data
        self.pos = offset

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise XorbFormatError("xorb footer is truncated")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "little")

    def u32s(self, count: int) -> tuple[int, ...]:
        raw = self.take(4 * count)
        return tuple(int.from_bytes(raw[i : i + 4], "little") for i in range(0, len(raw), 4))

    def expect_ident(self, ident: bytes) -> None:
        if self.take(_IDENT_LEN) != ident:
            raise XorbFormatError(f"xorb footer: expected section {ident.decode()}")
        self.take(1)  # section version; readers are told to accept any


def _parse_footer(data: bytes, offset: int) -> XorbFooter:
    """Decode ``XorbObjectInfo`` from ``offset`` to the end (layout in spec xorb.md)."""
    reader = _Reader(data, offset)
    reader.expect_ident(FOOTER_IDENT)
    xorb_hash = reader.take(hashing.HASH_LEN)
    reader.expect_ident(FOOTER_HASHES_IDENT)
    count = reader.u32()
    hashes = tuple(reader.take(hashing.HASH_LEN) for _ in range(count))
    reader.expect_ident(FOOTER_BOUNDARIES_IDENT)
    if reader.u32() != count:
        raise XorbFormatError("xorb footer: chunk counts disagree between sections")
    serialized_ends = reader.u32s(count)
    unpacked_ends = reader.u32s(count)
    if reader.u32() != count:
        raise XorbFormatError("xorb footer: chunk count in the tail disagrees")
    reader.take(8)  # section offsets from the end; redundant with the layout
    nonce = reader.take(16)[:_NONCE_LEN]
    info_len = reader.u32()
    if reader.pos != len(data) or info_len != len(data) - offset - 4:
        raise XorbFormatError("xorb footer: length field does not match its position")
    return XorbFooter(xorb_hash, hashes, serialized_ends, unpacked_ends, nonce)


def _check_footer(parsed: ParsedXorb, footer: XorbFooter) -> None:
    """A footer that disagrees with the chunks would mislead every later reader."""
    unpacked_ends: list[int] = []
    total = 0
    for chunk in parsed.chunks:
        total += chunk.size
        unpacked_ends.append(total)
    consistent = (
        footer.chunk_hashes == tuple(parsed.chunk_hashes)
        and footer.serialized_ends == tuple(parsed.boundaries[1:])
        and footer.unpacked_ends == tuple(unpacked_ends)
        and footer.xorb_hash == parsed.hash
    )
    if not consistent:
        raise XorbFormatError("xorb footer does not describe the chunks before it")
