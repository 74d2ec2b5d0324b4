"""Xet formats and hashes, checked against bytes the real hf_xet 1.8.0 client uploaded.

The fixtures in tests/data/xet/ were captured from `HfApi.upload_folder` /
`upload_file` runs against a throwaway local server (see the README there).
Their inputs are regenerated here from fixed seeds, so the tests can check the
whole chain: input bytes -> chunks decoded from the xorbs -> hashes the client
announced in URLs, shards and the commit's sha256.
"""

from __future__ import annotations

import hashlib
import json
import random
import struct
from functools import cache
from pathlib import Path

import lz4.frame
import pytest

from hubstead.xet import hashing, shard, xorb
from hubstead.xet.hashing import hash_to_hex, hex_to_hash
from hubstead.xet.xorb import CompressionScheme

DATA = Path(__file__).parent / "data" / "xet"


# ------------------------------------------------------------- fixture inputs
# Must stay byte-identical to what was uploaded; manifest.json holds their sha256.


def _mixed() -> bytes:
    rng = random.Random(20261123)
    noise = rng.randbytes(64_000)
    words = [b"alpha", b"beta", b"gamma", b"delta", b"xet", b"hub", b"chunk", b"shard"]
    text = b" ".join(rng.choice(words) for _ in range(60_000))[:112_000]
    return noise + text + noise


def _floats() -> bytes:
    # Exact binary fractions, so every platform packs the same float32 bytes (BG4 food).
    rng = random.Random(7)
    vals = [((i * 37) % 1000) / 64.0 + rng.randrange(16) / 1024.0 for i in range(24_000)]
    return struct.pack(f"<{len(vals)}f", *vals)


def _small() -> bytes:
    return random.Random(3).randbytes(5000)


def _mixed_edited() -> bytes:
    base = bytearray(_mixed())
    base[100_000 : 100_000 + 3000] = random.Random(11).randbytes(3000)
    return bytes(base) + b"appended tail " * 1000


def _mixed_second_edit() -> bytes:
    base = bytearray(_mixed())
    base[180_000 : 180_000 + 2000] = random.Random(12).randbytes(2000)
    return bytes(base)


GENERATORS = {
    "floats": _floats,
    "mixed": _mixed,
    "mixed_edited": _mixed_edited,
    "small": _small,
    "mixed_second_edit": _mixed_second_edit,
}


@cache
def manifest() -> dict:
    return json.loads((DATA / "manifest.json").read_text())


@cache
def input_bytes(name: str) -> bytes:
    return GENERATORS[manifest()["inputs"][name]["generator"]]()


@cache
def xorb_bytes(name_hex: str) -> bytes:
    return (DATA / f"{name_hex}.xorb").read_bytes()


@cache
def parsed_xorbs() -> dict[bytes, xorb.ParsedXorb]:
    """Every captured xorb, verified against the name in the URL the client POSTed to."""
    out = {}
    for commit in manifest()["commits"]:
        for name_hex in commit["xorb_uploads"]:
            parsed = xorb.verify_xorb(xorb_bytes(name_hex), name_hex)
            out[parsed.hash] = parsed
    return out


def chunk_lists() -> dict[bytes, list[hashing.HashedSize]]:
    return {h: [(c.hash, c.size) for c in x.chunks] for h, x in parsed_xorbs().items()}


def shard_bytes(name: str) -> bytes:
    return (DATA / name).read_bytes()


def commit_shards() -> list[tuple[dict, shard.Shard]]:
    return [(c, shard.parse_shard(shard_bytes(c["shard"]))) for c in manifest()["commits"]]


def reassemble(entry: shard.FileEntry) -> bytes:
    xorbs = parsed_xorbs()
    return b"".join(xorbs[t.xorb_hash].content(t.chunk_start, t.chunk_end) for t in entry.terms)


def files_by_sha256() -> dict[str, tuple[str, shard.FileEntry]]:
    """path and shard entry of every captured file, keyed by the sha256 the commit used."""
    out = {}
    for commit, parsed in commit_shards():
        by_sha = {e.sha256_hex: e for e in parsed.files}
        for path, info in commit["files"].items():
            out[info["sha256"]] = (path, by_sha[info["sha256"]])
    return out


# ------------------------------------------------------------------- hashing


def test_hex_spelling_reverses_each_8_byte_word() -> None:
    raw = bytes(range(32))
    expected = "07060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918"
    assert hash_to_hex(raw) == expected
    assert hex_to_hash(expected) == raw
    assert hash_to_hex(raw) != raw.hex()


@pytest.mark.parametrize("bad", ["", "00" * 31, "zz" * 32, "00" * 33])
def test_hex_to_hash_rejects_malformed_text(bad: str) -> None:
    with pytest.raises(ValueError):
        hex_to_hash(bad)
    with pytest.raises(ValueError):
        hashing.hex_to_hashes(["00" * 32, bad])


def test_many_hashes_are_spelled_as_one_at_a_time() -> None:
    """The batch spellings (shards and merkle levels carry thousands of hashes) agree with
    hash_to_hex / hex_to_hash on every hash, in order."""
    raws = [hashlib.sha256(i.to_bytes(2, "little")).digest() for i in range(300)]
    texts = hashing.hashes_to_hex(raws)
    assert texts == [hash_to_hex(raw) for raw in raws]
    assert hashing.hex_to_hashes(texts) == raws
    assert hashing.hashes_to_hex([]) == [] and hashing.hex_to_hashes([]) == []
    with pytest.raises(ValueError):
        hashing.hashes_to_hex([raws[0], raws[1][:31]])


def test_internal_node_hashes_hex_lines() -> None:
    a, b = hashing.chunk_hash(b"a"), hashing.chunk_hash(b"bb")
    text = f"{hash_to_hex(a)} : 1\n{hash_to_hex(b)} : 2\n".encode()
    assert hashing.internal_node_hash([(a, 1), (b, 2)]) == hashing.keyed_hash(
        hashing.INTERNAL_NODE_KEY, text
    )


def _leaf(last_word_mod4_zero: bool, seed: int) -> bytes:
    """A fake leaf hash whose last u64 is (or is not) divisible by 4."""
    raw = bytearray(random.Random(seed).randbytes(32))
    word = int.from_bytes(raw[24:], "little")
    word = (word & ~3) | (0 if last_word_mod4_zero else 1)
    raw[24:] = word.to_bytes(8, "little")
    return bytes(raw)


def test_merkle_groups_end_at_first_cut_from_third_node() -> None:
    # Node 1 is "cut-like" but a group always takes at least 3 nodes; node 2 cuts.
    leaves = [(_leaf(i in (1, 2), i), 10 * (i + 1)) for i in range(5)]
    node = hashing.internal_node_hash
    left = (node(leaves[:3]), 60)
    right = (node(leaves[3:]), 90)
    assert hashing.merkle_root(leaves) == node([left, right])


def test_merkle_groups_cap_at_nine_children() -> None:
    leaves = [(_leaf(False, i), 1) for i in range(20)]
    node = hashing.internal_node_hash
    groups = [leaves[0:9], leaves[9:18], leaves[18:20]]
    parents = [(node(g), len(g)) for g in groups]
    assert hashing.merkle_root(leaves) == node(parents)


def test_merkle_edge_cases() -> None:
    only = (hashing.chunk_hash(b"x"), 1)
    assert hashing.merkle_root([]) == hashing.ZERO_HASH
    assert hashing.merkle_root([only]) == only[0]
    assert hashing.file_hash([]) == hashing.ZERO_HASH
    assert hashing.file_hash([only]) == hashing.keyed_hash(bytes(32), only[0])


def test_dedup_rules() -> None:
    assert hashing.is_global_dedup_candidate(bytes(32))
    assert not hashing.is_global_dedup_candidate(bytes(24) + (1).to_bytes(8, "little"))
    h = hashing.chunk_hash(b"c")
    assert hashing.dedup_keyed_chunk_hash(bytes(32), h) == h
    assert hashing.dedup_keyed_chunk_hash(b"k" * 32, h) == hashing.keyed_hash(b"k" * 32, h)


def test_file_hashes_match_hf_xet_hash_files(tmp_path: Path) -> None:
    """The installed client computes file ids locally; ours must agree, empty file included."""
    hf_xet = pytest.importorskip("hf_xet")
    by_sha = files_by_sha256()
    paths = []
    for name in manifest()["inputs"]:
        path = tmp_path / name
        path.write_bytes(input_bytes(name))
        paths.append(path)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    results = hf_xet.hash_files([str(p) for p in [*paths, empty]])
    for path, result in zip(paths, results, strict=False):
        _, entry = by_sha[hashlib.sha256(path.read_bytes()).hexdigest()]
        assert result.hash == entry.file_hash_hex
    assert results[-1].hash == hash_to_hex(hashing.file_hash([]))


# ------------------------------------------------------------ real xorbs


def test_inputs_regenerate_to_the_uploaded_bytes() -> None:
    for name, info in manifest()["inputs"].items():
        data = input_bytes(name)
        assert (len(data), hashlib.sha256(data).hexdigest()) == (info["size"], info["sha256"])


def test_captured_xorbs_verify_against_their_upload_names() -> None:
    xorbs = parsed_xorbs()
    assert len(xorbs) == 2
    schemes = {c.scheme for x in xorbs.values() for c in x.chunks}
    assert schemes == set(CompressionScheme), "fixtures should exercise every scheme"
    for parsed in xorbs.values():
        assert parsed.footer is None  # hf_xet 1.8.0 uploads chunks only


def test_chunk_offsets_tile_the_xorb_and_slice_into_valid_ranges() -> None:
    for name_hex in (n for c in manifest()["commits"] for n in c["xorb_uploads"]):
        data = xorb_bytes(name_hex)
        parsed = xorb.parse_xorb(data)
        assert parsed.boundaries[0] == 0 and parsed.boundaries[-1] == len(data)
        for chunk, start, end in zip(parsed.chunks, parsed.boundaries, parsed.boundaries[1:]):
            assert (chunk.offset, chunk.end) == (start, end)
        # A served byte range must decode on its own into exactly those chunks.
        last = len(parsed.chunks)
        first = min(1, last - 1)
        lo, hi = parsed.byte_range(first, last)
        piece = xorb.parse_xorb(data[lo:hi])
        assert piece.chunk_hashes == parsed.chunk_hashes[first:last]


def test_decoded_chunks_rebuild_every_uploaded_file() -> None:
    seen = set()
    for sha, (path, entry) in files_by_sha256().items():
        rebuilt = reassemble(entry)
        assert rebuilt == input_bytes(path), path
        assert hashlib.sha256(rebuilt).hexdigest() == sha
        seen.add(path)
    assert seen == set(manifest()["inputs"])


# ----------------------------------------------------------- real shards


def test_upload_shards_parse_without_footer() -> None:
    for commit, parsed in commit_shards():
        assert parsed.footer is None
        assert {e.sha256_hex for e in parsed.files} == {
            f["sha256"] for f in commit["files"].values()
        }


def test_upload_shard_that_announces_a_footer_it_does_not_carry() -> None:
    """hf_xet 1.2 (and older) writes footer_size 200 into the header of the shards it uploads and
    sends no footer: such a shard parses as the same shard; a cut one is still refused."""
    for commit, parsed in commit_shards():
        data = bytearray(shard_bytes(commit["shard"]))
        data[40:48] = (200).to_bytes(8, "little")
        assert shard.parse_shard(bytes(data)) == parsed
        with pytest.raises(shard.ShardFormatError):
            shard.parse_shard(bytes(data[:-48]))
        assert [x.xorb_hash_hex for x in parsed.xorbs] == commit["xorb_uploads"]
        for entry in parsed.files:
            assert (
                entry.flags == shard.FILE_FLAG_WITH_VERIFICATION | shard.FILE_FLAG_WITH_METADATA_EXT
            )
            size = next(
                f["size"] for f in commit["files"].values() if f["sha256"] == entry.sha256_hex
            )
            assert entry.size == size


def test_shard_file_entries_verify_against_the_xorbs() -> None:
    known = chunk_lists()
    for _, parsed in commit_shards():
        for entry in parsed.files:
            shard.verify_file_entry(entry, known)


def test_whole_upload_shards_pass_and_missing_xorbs_fail() -> None:
    known = chunk_lists()
    for _, parsed in commit_shards():
        shard.verify_upload_shard(parsed, known)
    _, (_, second) = commit_shards()
    only_new = {x.xorb_hash: known[x.xorb_hash] for x in second.xorbs}
    with pytest.raises(shard.ShardVerificationError):  # file terms use the older xorb
        shard.verify_upload_shard(second, only_new)
    with pytest.raises(shard.ShardVerificationError):  # CAS info of a xorb never uploaded
        shard.verify_upload_shard(second, {})
    answer = shard.parse_shard(shard_bytes("dedup_answer.shard"))
    with pytest.raises(shard.ShardVerificationError):  # footers are for stored shards only
        shard.verify_upload_shard(answer, known)


def test_second_commit_reuses_first_xorb_through_global_dedup() -> None:
    (_, first), (_, second) = commit_shards()
    old_xorb = first.xorbs[0].xorb_hash
    entry = second.files[0]
    assert len(entry.terms) > 1
    assert old_xorb in second.referenced_xorbs()
    assert old_xorb not in {x.xorb_hash for x in second.xorbs}


def test_cas_info_matches_the_uploaded_xorbs() -> None:
    known = chunk_lists()
    for _, parsed in commit_shards():
        for entry in parsed.xorbs:
            shard.verify_cas_entry(entry, known[entry.xorb_hash])
            assert entry.num_bytes_on_disk == 0  # the client leaves it to the server
            assert all(c.flags == 0 for c in entry.chunks)


def test_upload_shards_reserialize_byte_for_byte() -> None:
    for commit, parsed in commit_shards():
        assert shard.serialize_shard(parsed.files, parsed.xorbs) == shard_bytes(commit["shard"])


def test_dedup_answer_the_client_accepted_is_reproducible() -> None:
    """dedup_answer.shard came from dedup_response_shard(); hf_xet used it to dedup commit 2."""
    raw = shard_bytes(manifest()["commits"][1]["dedup_answer"])
    answer = shard.parse_shard(raw)
    footer = answer.footer
    assert footer is not None and answer.files == ()
    assert footer.chunk_hash_hmac_key != hashing.ZERO_HASH
    (listed,) = answer.xorbs
    real = parsed_xorbs()[listed.xorb_hash]
    keyed = [
        hashing.dedup_keyed_chunk_hash(footer.chunk_hash_hmac_key, h) for h in real.chunk_hashes
    ]
    assert [c.chunk_hash for c in listed.chunks] == keyed
    unkeyed = shard.CasEntry(
        listed.xorb_hash,
        tuple(
            shard.CasChunk(h, c.unpacked_offset, c.unpacked_length, c.flags)
            for h, c in zip(real.chunk_hashes, listed.chunks, strict=True)
        ),
        listed.num_bytes_in_xorb,
        listed.num_bytes_on_disk,
    )
    rebuilt = shard.dedup_response_shard(
        [unkeyed], footer.chunk_hash_hmac_key, footer.created_at, footer.key_expiry
    )
    assert rebuilt == raw


# ------------------------------------------------------------ bad xorbs


def _first_xorb() -> tuple[str, bytes, xorb.ParsedXorb]:
    name_hex = manifest()["commits"][0]["xorb_uploads"][0]
    data = xorb_bytes(name_hex)
    return name_hex, data, xorb.parse_xorb(data)


def _flip(data: bytes, pos: int) -> bytes:
    return data[:pos] + bytes([data[pos] ^ 0x40]) + data[pos + 1 :]


@pytest.mark.parametrize("scheme", list(CompressionScheme))
def test_flipped_payload_byte_is_detected(scheme: CompressionScheme) -> None:
    name_hex, data, parsed = _first_xorb()
    chunk = next(c for c in parsed.chunks if c.scheme is scheme)
    pos = (chunk.offset + xorb.CHUNK_HEADER_LEN + chunk.end) // 2
    with pytest.raises(xorb.XorbError):
        xorb.verify_xorb(_flip(data, pos), name_hex)


def test_wrong_announced_name_is_a_hash_mismatch() -> None:
    _, data, _ = _first_xorb()
    with pytest.raises(xorb.XorbHashMismatchError):
        xorb.verify_xorb(data, "00" * 32)


@pytest.mark.parametrize("cut", [1, 5, 8, 100, -1])
def test_truncated_xorb_is_a_format_error(cut: int) -> None:
    _, data, _ = _first_xorb()
    end = cut if cut > 0 else len(data) + cut
    with pytest.raises(xorb.XorbFormatError):
        xorb.parse_xorb(data[:end])


def test_bad_chunk_headers_are_format_errors() -> None:
    _, data, parsed = _first_xorb()
    bad_version = b"\x01" + data[1:]
    bad_scheme = data[:4] + b"\x07" + data[5:]
    chunk = next(c for c in parsed.chunks if c.scheme is CompressionScheme.LZ4)
    at = chunk.offset + 5
    wrong_size = data[:at] + (chunk.size - 1).to_bytes(3, "little") + data[at + 3 :]
    huge = b"\x00\x01\x00\x00\x00" + (xorb.MAX_CHUNK_BYTES + 1).to_bytes(3, "little") + b"x"
    for bad in (b"", bad_version, bad_scheme, wrong_size, huge):
        with pytest.raises(xorb.XorbFormatError):
            xorb.parse_xorb(bad)


def test_lz4_frame_bigger_than_its_header_is_refused() -> None:
    payload = lz4.frame.compress(b"\x00" * 5000)
    header = b"\x00" + len(payload).to_bytes(3, "little") + b"\x01" + (100).to_bytes(3, "little")
    with pytest.raises(xorb.XorbFormatError):
        xorb.parse_xorb(header + payload)


def test_oversized_xorb_is_refused_before_parsing() -> None:
    with pytest.raises(xorb.XorbFormatError):
        xorb.parse_xorb(b"\x00" * 100, max_bytes=99)


@pytest.mark.parametrize("length", range(10))
def test_bg4_join_inverts_split(length: int) -> None:
    data = bytes(range(100, 100 + length))
    assert xorb.bg4_join(xorb.bg4_split(data)) == data


def test_bg4_split_groups_by_position() -> None:
    assert xorb.bg4_split(bytes([1, 2, 3, 4, 5, 6, 7, 8, 9])) == bytes([1, 5, 9, 2, 6, 3, 7, 4, 8])


def test_serialized_chunks_round_trip_through_the_parser() -> None:
    data = _floats()[:20_000]
    body = b"".join(xorb.serialize_chunk(data, s) for s in CompressionScheme)
    parsed = xorb.parse_xorb(body)
    assert [c.data for c in parsed.chunks] == [data] * 3


# ----------------------------------------------- xorb footer (spec only)


def u32(value: int) -> bytes:
    return value.to_bytes(4, "little")


def _spec_footer(parsed: xorb.ParsedXorb, nonce: bytes = b"\x00" * 4) -> bytes:
    """XorbObjectInfo laid out as spec xorb.md describes it (not produced by hf_xet uploads)."""
    n = len(parsed.chunks)
    unpacked, total = [], 0
    for c in parsed.chunks:
        total += c.size
        unpacked.append(total)
    main = b"XETBLOB\x01" + parsed.hash
    hashes = b"XBLBHSH\x00" + u32(n) + b"".join(parsed.chunk_hashes)
    bounds = (
        b"XBLBBND\x01"
        + u32(n)
        + b"".join(map(u32, parsed.boundaries[1:]))
        + b"".join(map(u32, unpacked))
    )
    tail_len = 12 + 16 + 4
    tail = u32(n) + u32(len(hashes) + len(bounds) + tail_len) + u32(len(bounds) + tail_len)
    info = main + hashes + bounds + tail + nonce + bytes(12)
    return info + u32(len(info))


def test_xorb_with_spec_footer_parses_and_is_cross_checked() -> None:
    name_hex, data, parsed = _first_xorb()
    with_footer = data + _spec_footer(parsed, nonce=b"\x01\x02\x03\x04")
    again = xorb.verify_xorb(with_footer, name_hex)
    assert again.footer is not None and again.footer.nonce == b"\x01\x02\x03\x04"
    assert again.chunk_bytes_len == len(data)
    assert again.chunk_hashes == parsed.chunk_hashes


def test_xorb_footer_that_lies_is_refused() -> None:
    _, data, parsed = _first_xorb()
    footer = bytearray(_spec_footer(parsed))
    footer[8] ^= 1  # first byte of the recorded xorb hash
    with pytest.raises(xorb.XorbFormatError):
        xorb.parse_xorb(data + bytes(footer))
    with pytest.raises(xorb.XorbFormatError):
        xorb.parse_xorb(data + _spec_footer(parsed)[:-1])


# ------------------------------------------------------------ bad shards


@pytest.mark.parametrize("cut", [0, 20, 47, 48, 100, -48, -1])
def test_truncated_shard_is_a_format_error(cut: int) -> None:
    raw = shard_bytes("commit1.shard")
    end = cut if cut >= 0 else len(raw) + cut
    with pytest.raises(shard.ShardFormatError):
        shard.parse_shard(raw[:end])


def test_bad_shard_headers_and_trailers_are_format_errors() -> None:
    raw = shard_bytes("commit1.shard")
    wrong_tag = b"X" + raw[1:]
    wrong_version = raw[:32] + (3).to_bytes(8, "little") + raw[40:]
    odd_footer = raw[:40] + (7).to_bytes(8, "little") + raw[48:]
    stray = raw + b"\x00"
    for bad in (wrong_tag, wrong_version, odd_footer, stray):
        with pytest.raises(shard.ShardFormatError):
            shard.parse_shard(bad)


def test_footer_with_bad_offsets_is_refused() -> None:
    raw = bytearray(shard_bytes("dedup_answer.shard"))
    lookup_offset_at = len(raw) - shard.FOOTER_LEN + 24
    raw[lookup_offset_at : lookup_offset_at + 8] = bytes(8)  # the value that crashes hf_xet
    with pytest.raises(shard.ShardFormatError):
        shard.parse_shard(bytes(raw))


def _multi_term_entry() -> shard.FileEntry:
    """The second commit's file: four terms over two xorbs."""
    _, (_, parsed) = commit_shards()
    return parsed.files[0]


def _with_term(entry: shard.FileEntry, **changes: int) -> shard.FileEntry:
    term = entry.terms[0]
    fields = {
        "xorb_hash": term.xorb_hash,
        "unpacked_length": term.unpacked_length,
        "chunk_start": term.chunk_start,
        "chunk_end": term.chunk_end,
    }
    fields.update(changes)
    return shard.FileEntry(
        entry.file_hash,
        (shard.FileTerm(**fields), *entry.terms[1:]),
        entry.verification_hashes,
        entry.sha256,
    )


def test_file_entry_lies_are_rejected() -> None:
    entry = _multi_term_entry()
    known = chunk_lists()
    term = entry.terms[0]
    assert entry.verification_hashes is not None
    bad_verification = shard.FileEntry(
        entry.file_hash, entry.terms, (bytes(32), *entry.verification_hashes[1:]), entry.sha256
    )
    lies = [
        bad_verification,
        shard.FileEntry(entry.file_hash, entry.terms, None, entry.sha256),
        shard.FileEntry(bytes(32), entry.terms, entry.verification_hashes, entry.sha256),
        _with_term(entry, unpacked_length=term.unpacked_length + 1),
        _with_term(entry, chunk_end=len(known[term.xorb_hash]) + 1),
        _with_term(entry, chunk_start=term.chunk_end),
        _with_term(entry, xorb_hash=b"\x01" * 32),
    ]
    for lie in lies:
        with pytest.raises(shard.ShardVerificationError):
            shard.verify_file_entry(lie, known)


def test_cas_entry_lies_are_rejected() -> None:
    (_, parsed), _ = commit_shards()
    entry = parsed.xorbs[0]
    known = chunk_lists()[entry.xorb_hash]
    shifted = shard.CasEntry(entry.xorb_hash, entry.chunks[1:], entry.num_bytes_in_xorb)
    with pytest.raises(shard.ShardVerificationError):
        shard.verify_cas_entry(shifted, known)
    renamed = shard.CasEntry(b"\x02" * 32, entry.chunks, entry.num_bytes_in_xorb)
    with pytest.raises(shard.ShardVerificationError):
        shard.verify_cas_entry(renamed, known)


# ------------------------------------- LZ4 frames decoded block by block


def _plain_frame(data: bytes, block_size=lz4.frame.BLOCKSIZE_DEFAULT) -> bytes:
    """The frame layout hf_xet writes: independent blocks, no checksums, no content size."""
    return lz4.frame.compress(
        data, block_size=block_size, block_linked=False, store_size=False, content_checksum=False
    )


def _lz4_chunk(payload: bytes, size: int) -> bytes:
    return b"\x00" + len(payload).to_bytes(3, "little") + b"\x01" + size.to_bytes(3, "little")


@pytest.mark.parametrize("size", [1, 1000, 65536, 65537, 128 * 1024])
@pytest.mark.parametrize("kind", ["text", "random", "zeros"])
def test_plain_lz4_frames_decode_as_the_frame_decoder_does(size: int, kind: str) -> None:
    """Blocks stored compressed and uncompressed, one block or several (64 KiB blocks)."""
    rng = random.Random(size)
    data = {
        "text": rng.randbytes(size).hex().encode()[:size],
        "random": rng.randbytes(size),
        "zeros": bytes(size),
    }[kind]
    frame = _plain_frame(data, lz4.frame.BLOCKSIZE_MAX64KB)
    assert frame[:7] in xorb._PLAIN_FRAMES
    parsed = xorb.parse_xorb(_lz4_chunk(frame, size) + frame)
    assert parsed.chunks[0].data == data == lz4.frame.decompress(frame)


@pytest.mark.parametrize("damage", ["flip", "truncate", "stray", "drop-end-mark", "bigger"])
def test_damaged_plain_lz4_frames_are_format_errors(damage: str) -> None:
    data = random.Random(3).randbytes(40_000).hex().encode()[:100_000]
    frame = bytearray(_plain_frame(data, lz4.frame.BLOCKSIZE_MAX64KB))
    size = len(data)
    if damage == "flip":
        frame[20] ^= 0xFF  # inside the first block: a bad token or offset, or other content
    elif damage == "truncate":
        del frame[-10:]
    elif damage == "stray":
        frame += b"\x00"
    elif damage == "drop-end-mark":
        del frame[-4:]
    else:
        size -= 1  # the header announces one byte less than the frame holds
    body = _lz4_chunk(bytes(frame), size) + bytes(frame)
    try:
        parsed = xorb.parse_xorb(body)
    except xorb.XorbFormatError:
        return
    # only a flipped byte may still decode, and then to other content: the hash tells
    assert damage == "flip" and parsed.chunks[0].hash != hashing.chunk_hash(data)
