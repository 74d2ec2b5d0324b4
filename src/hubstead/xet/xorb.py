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

Verification is one pass over the body: the chunk headers are walked first (a few
bytes each), then every chunk is decompressed and hashed and its content dropped
at once, unless the caller asks to keep it.  Payloads are memoryview slices of the
body, never copies, and the heavy work is native code that releases the GIL
(python-lz4 for the LZ4 frames, the ``blake3`` package for the keyed chunk
hashes), so a large xorb is split into contiguous runs of chunks hashed on a
shared thread pool: the cores work in parallel on one xorb, and on the several
xorbs a client uploads at once, with a bounded number of threads.  Only the bg4
regrouping (a strided copy) and the small merkle tree stay in Python.
"""

from __future__ import annotations

import enum
import os
import struct
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import lz4.block
import lz4.frame

from hubstead.xet import hashing

CHUNK_HEADER_LEN = 8
CHUNK_FORMAT_VERSION = 0
# The client cuts chunks at 128 KiB at the latest; a larger one is not a xet chunk
# and refusing it bounds the memory a malicious upload can make us allocate.
MAX_CHUNK_BYTES = 128 * 1024
# Upload limit of the specification (serialized size).
MAX_XORB_BYTES = 64 * 1024 * 1024
# A xorb at least this large is hashed on the thread pool, in runs of at least this many bytes:
# below it, handing work to threads costs more than it saves.
PARALLEL_MIN_BYTES = 4 * 1024 * 1024

FOOTER_IDENT = b"XETBLOB"
FOOTER_HASHES_IDENT = b"XBLBHSH"
FOOTER_BOUNDARIES_IDENT = b"XBLBBND"
_IDENT_LEN = 7
_FOOTER_FIRST = FOOTER_IDENT[0]
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


class ChunkHeader(NamedTuple):
    version: int
    compressed_size: int
    scheme: CompressionScheme
    uncompressed_size: int


_SCHEMES = {int(s): s for s in CompressionScheme}


class XorbChunk(NamedTuple):
    """One chunk as stored: its hash, its uncompressed size (the size the merkle tree and
    shards use), where its bytes sit in the xorb and, when the parse kept it, its content.
    Named tuples, not dataclasses, for the per-chunk records: a 64 MiB xorb has about a
    thousand chunks, and a frozen dataclass costs several times a tuple to build."""

    number: int  # its place in the xorb, from 0 (a tuple's `index` is a method)
    hash: bytes
    size: int
    scheme: CompressionScheme
    offset: int  # serialized offset of the chunk header
    end: int  # serialized offset just past the payload
    data: bytes | None = None


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
        """Uncompressed bytes of chunks ``[start, end)``, as a file term uses them (only when
        the xorb was parsed with ``keep_data``)."""
        parts = []
        for chunk in self.chunks[start:end]:
            if chunk.data is None:
                raise ValueError("this xorb was verified without keeping its content")
            parts.append(chunk.data)
        return b"".join(parts)

    def byte_range(self, start: int, end: int) -> tuple[int, int]:
        """Serialized half-open byte range holding chunks ``[start, end)``.

        This is what a reconstruction's fetch ranges point at (the wire spells
        the end inclusive, i.e. ``end - 1``).
        """
        if not 0 <= start < end <= len(self.chunks):
            raise IndexError(f"chunk range [{start}, {end}) outside 0..{len(self.chunks)}")
        return self.chunks[start].offset, self.chunks[end - 1].end


_HEADER_WORDS = struct.Struct("<II")


def parse_chunk_header(data: bytes | memoryview, offset: int) -> ChunkHeader:
    """Decode the 8-byte header at ``offset``; raise on anything the client never writes."""
    if offset + CHUNK_HEADER_LEN > len(data):
        raise XorbFormatError(f"truncated chunk header at byte {offset}")
    # version u8 | compressed u24, then scheme u8 | uncompressed u24: two little-endian words
    first, second = _HEADER_WORDS.unpack_from(data, offset)
    version, scheme_byte = first & 0xFF, second & 0xFF
    if version != CHUNK_FORMAT_VERSION:
        raise XorbFormatError(f"unknown chunk header version {version} at byte {offset}")
    scheme = _SCHEMES.get(scheme_byte)
    if scheme is None:
        raise XorbFormatError(f"unknown compression scheme {scheme_byte} at byte {offset}")
    uncompressed = second >> 8
    if uncompressed > MAX_CHUNK_BYTES:
        raise XorbFormatError(
            f"chunk at byte {offset} claims {uncompressed} bytes, "
            f"more than the {MAX_CHUNK_BYTES} a chunk can hold"
        )
    return ChunkHeader(version, first >> 8, scheme, uncompressed)


def bg4_split(data: bytes) -> bytes:
    """Byte grouping: all bytes at position 0 mod 4, then 1 mod 4, and so on."""
    return b"".join(data[group::4] for group in range(4))


def bg4_join(grouped: bytes | memoryview) -> bytes:
    """Undo :func:`bg4_split`; the first ``len % 4`` groups are one byte longer."""
    total = len(grouped)
    out = bytearray(total)
    pos = 0
    for group in range(4):
        group_len = total // 4 + (1 if group < total % 4 else 0)
        out[group::4] = grouped[pos : pos + group_len]
        pos += group_len
    return bytes(out)


_FRAME_MAGIC = b"\x04\x22\x4d\x18"
_BLOCK_SIZES = {
    lz4.frame.BLOCKSIZE_MAX64KB: 64 * 1024,
    lz4.frame.BLOCKSIZE_MAX256KB: 256 * 1024,
    lz4.frame.BLOCKSIZE_MAX1MB: 1024 * 1024,
    lz4.frame.BLOCKSIZE_MAX4MB: 4 * 1024 * 1024,
}


def _plain_frame_headers() -> dict[bytes, int]:
    """The frame headers of the one layout hf_xet writes (independent blocks, no checksums, no
    content size), each with its checksum byte as python-lz4's own encoder writes it, mapped to
    the block size they announce."""
    headers = {}
    for option, size in _BLOCK_SIZES.items():
        encoder = lz4.frame.LZ4FrameCompressor(
            block_size=option, block_linked=False, content_checksum=False, block_checksum=False
        )
        headers[bytes(encoder.begin())] = size
    return headers


_PLAIN_FRAMES = _plain_frame_headers()
_HEADER_LEN = 7  # magic, FLG, BD, header checksum


def _lz4_frame_decompress(payload: bytes | memoryview, expected_len: int) -> bytes:
    """Decompress exactly one LZ4 frame that must yield ``expected_len`` bytes.

    The layout hf_xet writes is decoded block by block with python-lz4's block decoder: the
    frame decoder costs about twice as much on the same bytes (measured on 64 KiB chunks of
    text), and the chunk hash checked afterwards proves the content anyway. Any other layout
    (linked blocks, checksums, a content size) goes to the frame decoder.
    """
    block_size = _PLAIN_FRAMES.get(bytes(payload[:_HEADER_LEN]))
    if block_size is not None:
        return _plain_frame_decompress(payload, block_size, expected_len)
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


def _plain_frame_decompress(
    payload: bytes | memoryview, block_size: int, expected_len: int
) -> bytes:
    """Independent blocks up to the end mark; no block may decode past ``expected_len`` (the
    block decoder is given no more room), and nothing may follow the end mark."""
    view = memoryview(payload)
    parts: list[bytes] = []
    pos, produced = _HEADER_LEN, 0
    while True:
        if pos + 4 > len(view):
            raise XorbFormatError("LZ4 frame is truncated")
        word = int.from_bytes(view[pos : pos + 4], "little")
        pos += 4
        if word == 0:
            break
        length = word & 0x7FFFFFFF
        room = min(block_size, expected_len - produced)
        if pos + length > len(view) or room <= 0:
            raise XorbFormatError(f"LZ4 frame holds more than the announced {expected_len} bytes")
        block = view[pos : pos + length]
        pos += length
        if word & 0x80000000:  # stored uncompressed
            if length > room:
                raise XorbFormatError("LZ4 frame holds more than the announced size")
            parts.append(bytes(block))
        else:
            try:
                parts.append(lz4.block.decompress(block, uncompressed_size=room))
            except lz4.block.LZ4BlockError as err:
                raise XorbFormatError(f"corrupt LZ4 block: {err}") from err
        produced += len(parts[-1])
    if pos != len(view):
        raise XorbFormatError("LZ4 frame is truncated or followed by stray bytes")
    out = parts[0] if len(parts) == 1 else b"".join(parts)
    if len(out) != expected_len:
        raise XorbFormatError(f"LZ4 frame decodes to {len(out)} bytes, header says {expected_len}")
    return out


def decompress_chunk(header: ChunkHeader, payload: bytes | memoryview) -> bytes | memoryview:
    """Return the chunk's uncompressed bytes, checked against the header's size (an
    uncompressed chunk comes back as the payload itself: a memoryview stays one)."""
    data: bytes | memoryview
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


class _Span(NamedTuple):
    """A chunk located by the header walk, not yet decoded."""

    number: int
    header: ChunkHeader
    offset: int
    end: int


def _walk_headers(view: memoryview) -> tuple[list[_Span], int]:
    """Every chunk's header and extent, and where the chunks stop (the footer, if any)."""
    spans: list[_Span] = []
    offset, total = 0, len(view)
    while offset < total and view[offset] != _FOOTER_FIRST:  # version 0, or the footer's X
        header = parse_chunk_header(view, offset)
        end = offset + CHUNK_HEADER_LEN + header.compressed_size
        if end > total:
            raise XorbFormatError(f"chunk {len(spans)} payload runs past the end of the xorb")
        spans.append(_Span(len(spans), header, offset, end))
        offset = end
    return spans, offset


def _decode_run(view: memoryview, spans: Sequence[_Span], keep_data: bool) -> list[XorbChunk]:
    """Decompress and hash a run of chunks; the content is dropped unless asked for."""
    chunks = []
    for span in spans:
        content = decompress_chunk(span.header, view[span.offset + CHUNK_HEADER_LEN : span.end])
        chunks.append(
            XorbChunk(
                span.number,
                hashing.chunk_hash(content),
                span.header.uncompressed_size,
                span.header.scheme,
                span.offset,
                span.end,
                bytes(content) if keep_data else None,
            )
        )
    return chunks


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _thread_pool() -> ThreadPoolExecutor:
    """One pool per process for every xorb being verified, sized to the CPUs (not per request:
    64 concurrent uploads must not start 64 × N threads)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=max(1, os.cpu_count() or 1), thread_name_prefix="xorb-verify"
            )
        return _pool


def _forget_pool() -> None:
    """A forked child has none of its parent's threads: it starts a pool of its own."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


def _runs(spans: list[_Span], parts: int) -> list[list[_Span]]:
    """Split the chunks into at most `parts` contiguous runs of roughly equal bytes."""
    total = spans[-1].end - spans[0].offset
    target = max(PARALLEL_MIN_BYTES, total // parts + 1)
    runs: list[list[_Span]] = [[]]
    start = spans[0].offset
    for span in spans:
        if runs[-1] and span.offset - start >= target:
            runs.append([])
            start = span.offset
        runs[-1].append(span)
    return runs


def _decode_all(view: memoryview, spans: list[_Span], keep_data: bool) -> list[XorbChunk]:
    workers = os.cpu_count() or 1
    if workers < 2 or len(view) < PARALLEL_MIN_BYTES * 2:
        return _decode_run(view, spans, keep_data)
    runs = _runs(spans, workers)
    futures = [_thread_pool().submit(_decode_run, view, run, keep_data) for run in runs]
    return [chunk for future in futures for chunk in future.result()]


def parse_xorb(
    data: bytes | memoryview, max_bytes: int = MAX_XORB_BYTES, keep_data: bool = True
) -> ParsedXorb:
    """Decode every chunk (and the footer if one is appended); check nothing about the name.

    A chunk header starts with version 0 and the footer with ``"XETBLOB"``, so
    the first byte tells which one comes next.  With ``keep_data`` false the chunks
    carry their hash and size only (what the server stores), and a corrupt chunk
    anywhere still fails the whole xorb.
    """
    if len(data) > max_bytes:
        raise XorbFormatError(f"xorb is {len(data)} bytes, limit is {max_bytes}")
    if not data:
        raise XorbFormatError("empty xorb")
    view = memoryview(data)
    spans, offset = _walk_headers(view)
    if not spans:
        raise XorbFormatError("xorb holds no chunk")
    chunks = _decode_all(view, spans, keep_data)
    footer = _parse_footer(bytes(view[offset:]), 0) if offset < len(view) else None
    parsed = ParsedXorb(tuple(chunks), offset, footer)
    if footer is not None:
        _check_footer(parsed, footer)
    return parsed


def verify_xorb(
    data: bytes | memoryview,
    announced_hash: bytes | str,
    max_bytes: int = MAX_XORB_BYTES,
    keep_data: bool = True,
) -> ParsedXorb:
    """Parse ``data`` and require that it hashes to ``announced_hash`` (raw or wire hex)."""
    expected = (
        hashing.hex_to_hash(announced_hash) if isinstance(announced_hash, str) else announced_hash
    )
    parsed = parse_xorb(data, max_bytes, keep_data)
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
