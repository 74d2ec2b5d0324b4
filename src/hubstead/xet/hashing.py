"""The hashes of the Xet protocol, as plain functions over bytes.

Every Xet hash is a 32-byte keyed BLAKE3 digest; the key says what was hashed
(chunk data, a merkle node, a verification range), so that a hash of one kind
can never be passed off as another.  Functions here take and return *raw*
32-byte hashes.  Only :func:`hash_to_hex` / :func:`hex_to_hash` deal with the
textual form, because that form has a byte-order trap (see :func:`hash_to_hex`).
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterable, Sequence

import blake3

HASH_LEN = 32

# Keys from the Xet specification (hashing.md).  Distinct keys give each kind of
# hash its own domain.  Kept as the spec's decimal lists so they can be compared.
# fmt: off
DATA_KEY = bytes(
    [102, 151, 245, 119, 91, 149, 80, 222, 49, 53, 203, 172, 165, 151, 24, 28,
     157, 228, 33, 16, 155, 235, 43, 88, 180, 208, 176, 75, 147, 173, 242, 41]
)
INTERNAL_NODE_KEY = bytes(
    [1, 126, 197, 199, 165, 71, 41, 150, 253, 148, 102, 102, 180, 138, 2, 230,
     93, 221, 83, 111, 55, 199, 109, 210, 248, 99, 82, 230, 74, 83, 113, 63]
)
VERIFICATION_KEY = bytes(
    [127, 24, 87, 214, 206, 86, 237, 102, 18, 127, 249, 19, 231, 165, 195, 243,
     164, 205, 38, 213, 181, 219, 73, 230, 65, 36, 152, 127, 40, 251, 148, 195]
)
# fmt: on
# A file hash is the merkle root re-hashed with this "salt" as the key.
FILE_HASH_SALT = bytes(HASH_LEN)
ZERO_HASH = bytes(HASH_LEN)

# The merkle tree has a mean branching factor of 4; a node never has more than
# 2 * 4 + 1 children.  These numbers are part of the hash definition.
_MEAN_BRANCHING = 4
_MAX_CHILDREN = 2 * _MEAN_BRANCHING + 1
# A chunk is a candidate for global dedup when this divides its hash's last u64.
GLOBAL_DEDUP_MODULUS = 1024

_WORDS_LE = struct.Struct("<4Q")
_WORDS_BE = struct.Struct(">4Q")

# (raw hash, number of uncompressed bytes under it): a merkle leaf or node.
HashedSize = tuple[bytes, int]


def keyed_hash(key: bytes, data: bytes | memoryview) -> bytes:
    """BLAKE3 in keyed mode; xet-core calls the result an "hmac" in places."""
    return blake3.blake3(data, key=key).digest()


def hash_to_hex(raw: bytes) -> str:
    """Spell a raw hash the way the wire does (URLs, JSON, X-Xet-Hash, ...).

    xet-core stores a hash as four little-endian u64 words and prints each word
    as 16 hex digits.  So the text is NOT ``raw.hex()``: every 8-byte group is
    reversed first.  Getting this wrong gives hashes that look fine but never
    match what the client sends.  (One struct repack: shards carry thousands.)
    """
    _check_len(raw)
    return _WORDS_BE.pack(*_WORDS_LE.unpack(raw)).hex()


def hashes_to_hex(raws: Sequence[bytes]) -> list[str]:
    """:func:`hash_to_hex` of many hashes in one pass: every 8-byte word of their
    concatenation reversed at once (array's byteswap, in C), then one hex encoding.
    Shards and merkle trees carry thousands of hashes; one call each cost most of
    a shard's verification."""
    joined = b"".join(raws)
    if len(joined) != HASH_LEN * len(raws):
        raise ValueError(f"xet hashes are {HASH_LEN} bytes each")
    words = array("Q", joined)
    words.byteswap()
    text = words.tobytes().hex()
    width = 2 * HASH_LEN
    return [text[i : i + width] for i in range(0, len(text), width)]


def hex_to_hashes(texts: Sequence[str]) -> list[bytes]:
    """:func:`hex_to_hash` of many wire spellings in one pass (the inverse of
    :func:`hashes_to_hex`); rejects anything but 64 hex digits each."""
    width = 2 * HASH_LEN
    if any(len(text) != width for text in texts):
        raise ValueError(f"a xet hash is {width} hex digits")
    joined = "".join(texts)
    try:
        words = array("Q", bytes.fromhex(joined))
    except ValueError as err:
        raise ValueError("not hex xet hashes") from err
    if len(words) * 8 != HASH_LEN * len(texts):  # fromhex skips whitespace
        raise ValueError("not hex xet hashes")
    words.byteswap()
    raw = words.tobytes()
    return [raw[i : i + HASH_LEN] for i in range(0, len(raw), HASH_LEN)]


def hex_to_hash(text: str) -> bytes:
    """Inverse of :func:`hash_to_hex`; rejects anything but 64 hex digits."""
    if len(text) != 2 * HASH_LEN:
        raise ValueError(f"a xet hash is 64 hex digits, got {len(text)} characters")
    try:
        words = bytes.fromhex(text)
    except ValueError as err:
        raise ValueError(f"not a hex xet hash: {text!r}") from err
    if len(words) != HASH_LEN:  # fromhex skips whitespace
        raise ValueError(f"not a hex xet hash: {text!r}")
    return _WORDS_LE.pack(*_WORDS_BE.unpack(words))


def last_word(raw: bytes) -> int:
    """The hash's fourth u64; the tree-cut and dedup rules test it with ``%``."""
    return int.from_bytes(raw[24:32], "little")


def chunk_hash(data: bytes | memoryview) -> bytes:
    """Hash of one chunk's uncompressed bytes: a merkle leaf."""
    return keyed_hash(DATA_KEY, data)


def internal_node_hash(children: Sequence[HashedSize]) -> bytes:
    """Hash of a merkle node: keyed hash of ``"<hex> : <size>\\n"`` per child.

    The text uses the wire hex spelling, so a node hash depends on
    :func:`hash_to_hex` being right.
    """
    return _node_hash(hashes_to_hex([h for h, _ in children]), [size for _, size in children])


def _node_hash(hexes: Sequence[str], sizes: Sequence[int]) -> bytes:
    text = "".join([f"{h} : {size}\n" for h, size in zip(hexes, sizes)])
    return keyed_hash(INTERNAL_NODE_KEY, text.encode("ascii"))


def _group_length(nodes: Sequence[HashedSize], start: int) -> int:
    """How many nodes from ``start`` go under one parent.

    Content-defined, so that inserting a chunk only disturbs nearby parents:
    the group ends after the first node at position >= 2 whose hash's last word
    is divisible by 4, or after 9 nodes; 1 or 2 leftover nodes form a group.
    (The last word is little-endian from byte 24: its remainder by 4 is that of
    byte 24.)
    """
    remaining = len(nodes) - start
    if remaining <= 2:
        return remaining
    limit = min(_MAX_CHILDREN, remaining)
    for pos in range(2, limit):
        if nodes[start + pos][0][24] % _MEAN_BRANCHING == 0:
            return pos + 1
    return limit


def _collapse_level(nodes: Sequence[HashedSize]) -> list[HashedSize]:
    """Replace each group of sibling nodes by its parent (the level's hashes spelled in
    hex in one pass)."""
    hexes = hashes_to_hex([h for h, _ in nodes])
    sizes = [size for _, size in nodes]
    parents: list[HashedSize] = []
    start = 0
    while start < len(nodes):
        end = start + _group_length(nodes, start)
        group_sizes = sizes[start:end]
        parents.append((_node_hash(hexes[start:end], group_sizes), sum(group_sizes)))
        start = end
    return parents


def merkle_root(leaves: Sequence[HashedSize]) -> bytes:
    """Root of the Xet "aggregated hash" tree over (chunk hash, chunk size) leaves.

    A single leaf is its own root; no leaves gives the all-zero hash.
    """
    nodes = list(leaves)
    if not nodes:
        return ZERO_HASH
    while len(nodes) > 1:
        nodes = _collapse_level(nodes)
    return nodes[0][0]


def xorb_hash(chunks: Sequence[HashedSize]) -> bytes:
    """A xorb's name: the merkle root over its chunks in xorb order."""
    return merkle_root(chunks)


def file_hash(chunks: Sequence[HashedSize], salt: bytes = FILE_HASH_SALT) -> bytes:
    """A file's xet id: the merkle root over all its chunks, keyed-hashed with ``salt``.

    The extra keyed hash keeps a one-xorb file's id different from the xorb's
    name.  An empty file's id is the all-zero hash (no re-hash), as in the client.
    """
    if not chunks:
        return ZERO_HASH
    return keyed_hash(salt, merkle_root(chunks))


def term_verification_hash(chunk_hashes: Iterable[bytes]) -> bytes:
    """Proof that a shard's author knew the chunk hashes of one file term.

    Keyed hash of the raw chunk hashes of ``xorb[start:end]`` concatenated; the
    server recomputes it from the chunks it already stores.
    """
    return keyed_hash(VERIFICATION_KEY, b"".join(chunk_hashes))


def dedup_keyed_chunk_hash(hmac_key: bytes, raw_chunk_hash: bytes) -> bytes:
    """Chunk hash as shown in a global-dedup answer keyed with ``hmac_key``.

    The server hides real chunk hashes from clients that do not have the data;
    an all-zero key means the hashes are shown unchanged.
    """
    if hmac_key == ZERO_HASH:
        return raw_chunk_hash
    return keyed_hash(hmac_key, raw_chunk_hash)


def is_global_dedup_candidate(raw_chunk_hash: bytes) -> bool:
    """Whether the client may ask the global-dedup route about this chunk.

    (The first chunk of every file is queried as well; callers handle that.)
    """
    return last_word(raw_chunk_hash) % GLOBAL_DEDUP_MODULUS == 0


def _check_len(raw: bytes) -> None:
    if len(raw) != HASH_LEN:
        raise ValueError(f"a xet hash is {HASH_LEN} bytes, got {len(raw)}")
