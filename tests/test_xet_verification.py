"""The Xet upload verification path (issue 15): one streaming pass per xorb, several at once, and
the SHA-256 a shard claims for a file taken on trust only where a false one misleads no one else.

Xorbs and shards are built here and posted to the CAS with plain HTTP, as hf_xet would; the files
they make are committed and read back with the real clients (hf_xet, and huggingface_hub over
LFS in this process).
"""

from __future__ import annotations

import hashlib
import json
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi

from helpers import run_xet_scenario, stored_bytes
from hubstead.xet import hashing
from hubstead.xet.shard import FileEntry, FileTerm, serialize_shard
from hubstead.xet.xorb import PARALLEL_MIN_BYTES, CompressionScheme, serialize_chunk

CHUNK = 64 * 1024


def compressible(size: int, seed: int) -> bytes:
    """Hex text: LZ4 frames that really decode (random bytes would be stored uncompressed)."""
    return random.Random(seed).randbytes(size // 2).hex().encode()


def chunked(data: bytes) -> list[bytes]:
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


def xorb_of(chunks: list[bytes], scheme=CompressionScheme.LZ4) -> tuple[str, bytes]:
    body = b"".join(serialize_chunk(c, scheme) for c in chunks)
    name = hashing.xorb_hash([(hashing.chunk_hash(c), len(c)) for c in chunks])
    return hashing.hash_to_hex(name), body


def file_entry(xorbs: list[tuple[str, list[bytes]]], sha256: str) -> FileEntry:
    """A file made of whole xorbs, with the SHA-256 `sha256` claimed for it."""
    terms, verification, hashed = [], [], []
    for name, chunks in xorbs:
        chunk_hashes = [(hashing.chunk_hash(c), len(c)) for c in chunks]
        terms.append(
            FileTerm(hashing.hex_to_hash(name), sum(len(c) for c in chunks), 0, len(chunks))
        )
        verification.append(hashing.term_verification_hash(h for h, _ in chunk_hashes))
        hashed.extend(chunk_hashes)
    return FileEntry(
        hashing.file_hash(hashed), tuple(terms), tuple(verification), hashing.hex_to_hash(sha256)
    )


def write_token(hub, repo_id: str, user: str = "alice") -> str:
    answer = httpx.get(
        f"{hub.endpoint}/api/models/{repo_id}/xet-write-token/main",
        headers={"Authorization": f"Bearer {hub.tokens[user]}"},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["accessToken"]


def post(hub, path: str, token: str, body: bytes) -> httpx.Response:
    return httpx.post(
        f"{hub.endpoint}/cas/v1/{path}",
        content=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )


def commit_lfs_file(hub, repo_id: str, path: str, oid: str, size: int, user: str = "alice"):
    lines = [
        {"key": "header", "value": {"summary": f"add {path}"}},
        {"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": oid, "size": size}},
    ]
    return httpx.post(
        f"{hub.endpoint}/api/models/{repo_id}/commit/main",
        content="".join(json.dumps(line) + "\n" for line in lines),
        headers={
            "Authorization": f"Bearer {hub.tokens[user]}",
            "Content-Type": "application/x-ndjson",
        },
        timeout=120,
    )


def download(hub, repo_id: str, filename: str, tmp_path: Path, xet: bool = True) -> str:
    """The SHA-256 of the file as the real client downloads it (hf_xet, or plain LFS)."""
    result = run_xet_scenario(
        hub,
        "download",
        tmp_path / f"home-{xet}",
        xet=xet,
        repo=repo_id,
        filename=filename,
        cache=str(tmp_path / f"cache-{xet}"),
    )
    return result["sha256"]


def assert_hub_error(response: httpx.Response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert words in response.json()["error"], response.text
    assert words in response.headers["x-error-message"]


# -- xorbs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_a_xorb_with_one_corrupt_chunk_is_refused_and_nothing_is_stored(hub, api: HfApi, where):
    """Large enough to be hashed in parallel runs: a flipped byte in any run fails the xorb."""
    repo_id = api.create_repo(f"corrupt-bytes-{where}").repo_id
    token = write_token(hub, repo_id)
    chunks = chunked(compressible(3 * PARALLEL_MIN_BYTES, seed=len(where)))
    name, body = xorb_of(chunks)
    index = {"first": 0, "middle": len(chunks) // 2, "last": len(chunks) - 1}[where]
    offset = sum(len(serialize_chunk(c, CompressionScheme.LZ4)) for c in chunks[:index])
    corrupt = bytearray(body)
    corrupt[offset + 8 + 200] ^= 0x01  # one byte inside that chunk's LZ4 payload
    answer = post(hub, f"xorbs/default/{name}", token, bytes(corrupt))
    assert_hub_error(answer, 400, f"Invalid xorb {name}")
    assert stored_bytes(hub, "xorbs", name) is None
    assert list(hub.data_dir.rglob("xorb-*")) == []  # the body's scratch file is gone too
    # and nothing was recorded: a shard citing it is told it was never uploaded
    entry = file_entry([(name, chunks)], hashlib.sha256(b"".join(chunks)).hexdigest())
    assert_hub_error(post(hub, "shards", token, serialize_shard([entry])), 400, "was not uploaded")
    # the intact bytes are accepted under the same name
    assert post(hub, f"xorbs/default/{name}", token, body).json() == {"was_inserted": True}
    assert stored_bytes(hub, "xorbs", name) == body


def test_a_xorb_announced_with_one_wrong_chunk_hash_is_refused(hub, api: HfApi):
    repo_id = api.create_repo("corrupt-hash").repo_id
    token = write_token(hub, repo_id)
    chunks = chunked(compressible(2 * 1024 * 1024, seed=7))
    _, body = xorb_of(chunks)
    hashed = [(hashing.chunk_hash(c), len(c)) for c in chunks]
    hashed[5] = (bytes(32), hashed[5][1])
    claimed = hashing.hash_to_hex(hashing.xorb_hash(hashed))
    assert_hub_error(post(hub, f"xorbs/default/{claimed}", token, body), 400, "hashes to")
    assert stored_bytes(hub, "xorbs", claimed) is None


def test_xorbs_uploaded_at_once_are_each_verified(hub, api: HfApi, tmp_path: Path):
    """Six xorbs posted concurrently (the client uploads several at a time), one of them with a
    corrupt chunk in its last run: exactly that one is refused, the others make a file that
    hf_xet downloads intact."""
    repo_id = api.create_repo("concurrent-xorbs").repo_id
    token = write_token(hub, repo_id)
    parts = [chunked(compressible(PARALLEL_MIN_BYTES * 3, seed=s)) for s in range(6)]
    xorbs = [
        xorb_of(chunks, CompressionScheme.BG4_LZ4 if i % 2 else CompressionScheme.LZ4)
        for i, chunks in enumerate(parts)
    ]
    bodies = [body for _, body in xorbs]
    bad = bytearray(bodies[3])
    bad[-100] ^= 0x01
    bodies[3] = bytes(bad)
    with ThreadPoolExecutor(6) as pool:
        answers = list(
            pool.map(
                lambda i: post(hub, f"xorbs/default/{xorbs[i][0]}", token, bodies[i]), range(6)
            )
        )
    assert [a.status_code for a in answers] == [200, 200, 200, 400, 200, 200]
    assert all(answers[i].json() == {"was_inserted": True} for i in (0, 1, 2, 4, 5))
    good = [i for i in range(6) if i != 3]
    content = b"".join(b"".join(parts[i]) for i in good)
    sha256 = hashlib.sha256(content).hexdigest()
    entry = file_entry([(xorbs[i][0], parts[i]) for i in good], sha256)
    assert post(hub, "shards", token, serialize_shard([entry])).status_code == 200
    assert commit_lfs_file(hub, repo_id, "weights.bin", sha256, len(content)).status_code == 200
    assert download(hub, repo_id, "weights.bin", tmp_path) == sha256


# -- the SHA-256 of a file -----------------------------------------------------------------------


def claim(hub, repo_id: str, user: str, content: bytes, sha256: str) -> httpx.Response:
    """Upload `content` as one xorb and register it as a file with the SHA-256 `sha256`."""
    token = write_token(hub, repo_id, user)
    chunks = chunked(content)
    name, body = xorb_of(chunks)
    assert post(hub, f"xorbs/default/{name}", token, body).status_code == 200
    return post(hub, "shards", token, serialize_shard([file_entry([(name, chunks)], sha256)]))


def test_a_false_sha256_cannot_take_an_oid_from_its_real_content(hub, api: HfApi, tmp_path: Path):
    """Bob registers his bytes under the SHA-256 of Alice's file before she uploads it. Taken on
    trust (it is new), it misleads only Bob's repository; when Alice uploads the real file
    through hf_xet, the server checks the contradiction from the bytes and her file wins, and
    Bob's second try is refused."""
    genuine = random.Random(30).randbytes(3 * 1024 * 1024)
    oid = hashlib.sha256(genuine).hexdigest()
    source = tmp_path / "genuine.bin"
    source.write_bytes(genuine)
    bob_repo = HfApi(endpoint=hub.endpoint, token=hub.tokens["bob"]).create_repo("squat").repo_id
    impostor = compressible(len(genuine), seed=31)
    assert claim(hub, bob_repo, "bob", impostor, oid).status_code == 200
    alice_repo = api.create_repo("genuine").repo_id
    run_xet_scenario(
        hub,
        "upload_file",
        tmp_path / "alice",
        path=str(source),
        path_in_repo="w.bin",
        repo=alice_repo,
    )
    assert download(hub, alice_repo, "w.bin", tmp_path / "a") == oid
    assert_hub_error(claim(hub, bob_repo, "bob", impostor, oid), 400, "SHA-256")


def test_an_lfs_upload_takes_an_oid_back_from_a_false_claim(hub, api: HfApi, tmp_path: Path):
    genuine = random.Random(40).randbytes(2 * 1024 * 1024)
    oid = hashlib.sha256(genuine).hexdigest()
    bob_repo = HfApi(endpoint=hub.endpoint, token=hub.tokens["bob"]).create_repo("squat-lfs")
    assert (
        claim(hub, bob_repo.repo_id, "bob", compressible(len(genuine), 41), oid).status_code == 200
    )
    alice_repo = api.create_repo("genuine-lfs").repo_id
    api.upload_file(path_or_fileobj=genuine, path_in_repo="w.bin", repo_id=alice_repo)  # LFS
    assert download(hub, alice_repo, "w.bin", tmp_path) == oid
    assert download(hub, alice_repo, "w.bin", tmp_path / "lfs", xet=False) == oid


def test_claims_that_contradict_known_bytes_are_refused(hub, api: HfApi):
    repo_id = api.create_repo("contradictions").repo_id
    lfs_bytes = random.Random(50).randbytes(1024 * 1024)
    lfs_oid = hashlib.sha256(lfs_bytes).hexdigest()
    api.upload_file(path_or_fileobj=lfs_bytes, path_in_repo="lfs.bin", repo_id=repo_id)
    other = compressible(len(lfs_bytes), seed=51)
    # an oid stored through LFS, claimed for other bytes of the same size: checked, refused
    assert_hub_error(claim(hub, repo_id, "alice", other, lfs_oid), 400, "SHA-256")
    # an oid known with another size: refused without reading anything
    assert_hub_error(claim(hub, repo_id, "alice", other[:-CHUNK], lfs_oid), 400, "size")
    # the same bytes as LFS uploaded them, through Xet: checked and accepted
    assert claim(hub, repo_id, "alice", lfs_bytes, lfs_oid).status_code == 200
    # bytes registered under their true SHA-256, then claimed under another one: refused
    mine = compressible(1024 * 1024, seed=52)
    assert claim(hub, repo_id, "alice", mine, hashlib.sha256(mine).hexdigest()).status_code == 200
    assert_hub_error(claim(hub, repo_id, "alice", mine, "ab" * 32), 400, "SHA-256")


# -- downloads -----------------------------------------------------------------------------------


def test_fetches_of_whole_xorbs_and_of_parts_return_the_stored_bytes(hub, api: HfApi):
    """A whole-xorb range goes out by pathsend, a part by blocks: both are the bytes on disk."""
    repo_id = api.create_repo("fetches").repo_id
    token = write_token(hub, repo_id)
    chunks = chunked(compressible(6 * 1024 * 1024 + 1000, seed=60))
    name, body = xorb_of(chunks)
    assert post(hub, f"xorbs/default/{name}", token, body).status_code == 200
    content = b"".join(chunks)
    sha256 = hashlib.sha256(content).hexdigest()
    file = file_entry([(name, chunks)], sha256)
    assert post(hub, "shards", token, serialize_shard([file])).status_code == 200
    assert commit_lfs_file(hub, repo_id, "f.bin", sha256, len(content)).status_code == 200
    read = httpx.get(
        f"{hub.endpoint}/api/models/{repo_id}/xet-read-token/main",
        headers={"Authorization": f"Bearer {hub.tokens['alice']}"},
    ).json()
    auth = {"Authorization": f"Bearer {read['accessToken']}"}
    url = f"{hub.endpoint}/cas/v1/reconstructions/{file.file_hash_hex}"
    for asked in (None, "bytes=100000-5000000"):
        plan = httpx.get(url, headers={**auth, **({"Range": asked} if asked else {})}).json()
        (fetch,) = plan["fetch_info"][name]
        first, last = fetch["url_range"]["start"], fetch["url_range"]["end"]
        if asked is None:
            assert (first, last) == (0, len(body) - 1)
        else:
            assert 0 < first and last < len(body) - 1
        served = httpx.get(fetch["url"], headers={"Range": f"bytes={first}-{last}"})
        assert served.status_code == 206
        assert served.headers["content-range"] == f"bytes {first}-{last}/{len(body)}"
        assert served.content == body[first : last + 1]
