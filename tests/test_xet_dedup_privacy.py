"""The CAS tells no one that a private file exists (issue 14, side channel).

Before: anyone could mint a Xet read token for a public repository, ask the global-dedup route
about a chunk hash of a *private* file, and get a shard naming its xorb; a xorb upload answered
`was_inserted: false` for bytes someone else had stored, and a shard could cite any stored xorb.
Now the CAS answers a token only from the xorbs of repositories its user may read
(services/xet/reach.py), and re-uploading to one's own repositories still deduplicates.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi

from helpers import run_xet_scenario
from hubstead.services.accounts import AccountService
from hubstead.storage.database import Database
from hubstead.xet import hashing
from hubstead.xet.shard import FileEntry, FileTerm, parse_shard, serialize_shard
from hubstead.xet.xorb import (
    CHUNK_HEADER_LEN,
    CompressionScheme,
    decompress_chunk,
    parse_chunk_header,
    serialize_chunk,
)

MB = 1024 * 1024


def pseudo_random(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def xet_token(hub, repo_id: str, scope: str, user: str | None) -> str:
    headers = {"Authorization": f"Bearer {hub.tokens[user]}"} if user else {}
    answer = httpx.get(
        f"{hub.endpoint}/api/models/{repo_id}/xet-{scope}-token/main", headers=headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["accessToken"]


def cas(hub, method: str, path: str, token: str, **kwargs) -> httpx.Response:
    return httpx.request(
        method,
        f"{hub.endpoint}/cas/v1/{path}",
        headers={"Authorization": f"Bearer {token}"},
        **kwargs,
    )


def first_chunk_hash(hub, api: HfApi, repo_id: str, path: str, user: str) -> str:
    """The hash of a Xet file's first chunk, read back by its owner (reconstruction, fetch)."""
    xet_hash = api.get_paths_info(repo_id, [path])[0].xet_hash
    token = xet_token(hub, repo_id, "read", user)
    plan = cas(hub, "GET", f"reconstructions/{xet_hash}", token).json()
    fetch = plan["fetch_info"][plan["terms"][0]["hash"]][0]
    assert fetch["range"]["start"] == 0, "a single upload: the file starts its xorb"
    span = fetch["url_range"]
    raw = httpx.get(fetch["url"], headers={"Range": f"bytes={span['start']}-{span['end']}"}).content
    header = parse_chunk_header(raw, 0)
    data = decompress_chunk(
        header, raw[CHUNK_HEADER_LEN : CHUNK_HEADER_LEN + header.compressed_size]
    )
    return hashing.hash_to_hex(hashing.chunk_hash(data))


@pytest.fixture(scope="module")
def secret(hub, api: HfApi, tmp_path_factory) -> dict:
    """A private model of alice's, its 2 MB file uploaded through Xet, and acme's private model
    (alice administers acme; bob is a read member)."""
    folder = tmp_path_factory.mktemp("secret")
    weights = folder / "weights.bin"
    weights.write_bytes(pseudo_random(2 * MB, seed=41))
    org_weights = folder / "org.bin"
    org_weights.write_bytes(pseudo_random(2 * MB, seed=42))
    repo_id = api.create_repo("secret-weights", private=True).repo_id
    org_repo = api.create_repo("acme/org-weights", private=True).repo_id
    home = tmp_path_factory.mktemp("alice-home")
    for path, repo in ((weights, repo_id), (org_weights, org_repo)):
        run_xet_scenario(
            hub, "upload_file", home, path=str(path), path_in_repo=path.name, repo=repo
        )
    return {
        "repo": repo_id,
        "path": weights,
        "chunk": first_chunk_hash(hub, api, repo_id, "weights.bin", "alice"),
        "org_repo": org_repo,
        "org_chunk": first_chunk_hash(hub, api, org_repo, "org.bin", "alice"),
    }


@pytest.fixture(scope="module", autouse=True)
def carol(hub) -> None:
    """A user in no organization (the seeded users are all in acme)."""
    db = Database(hub.database_url)
    try:
        accounts = AccountService(db)
        accounts.create_user("carol", email="carol@example.com", password="carol-password")
        hub.tokens["carol"] = accounts.create_token("carol", "write", "carol-write")
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def public_repo(api: HfApi) -> str:
    return api.create_repo("public-model").repo_id


def own_repo(hub, user: str, name: str) -> str:
    HfApi(endpoint=hub.endpoint, token=hub.tokens[user]).create_repo(name, exist_ok=True)
    return f"{user}/{name}"


def test_others_learn_nothing_about_a_private_chunk(hub, secret: dict, public_repo: str):
    chunk = secret["chunk"]
    strangers = {
        "anonymous, read token of a public repository": xet_token(hub, public_repo, "read", None),
        "bob, read token of a public repository": xet_token(hub, public_repo, "read", "bob"),
        "carol, write token of her own repository": xet_token(
            hub, own_repo(hub, "carol", "mine"), "write", "carol"
        ),
    }
    unknown = hashing.hash_to_hex(hashlib.sha256(b"never stored").digest())
    for who, token in strangers.items():
        answer = cas(hub, "GET", f"chunks/default/{chunk}", token)
        missing = cas(hub, "GET", f"chunks/default/{unknown}", token)
        assert answer.status_code == 404, who
        assert (answer.status_code, answer.content) == (missing.status_code, missing.content), (
            f"{who}: a private chunk answers exactly like one never stored"
        )


def test_the_owner_still_deduplicates_across_their_repositories(hub, api: HfApi, secret: dict):
    other = api.create_repo("secret-copy", private=True).repo_id
    answer = cas(
        hub, "GET", f"chunks/default/{secret['chunk']}", xet_token(hub, other, "write", "alice")
    )
    assert answer.status_code == 200
    shard = parse_shard(answer.content)
    key = shard.footer.chunk_hash_hmac_key
    keyed = hashing.dedup_keyed_chunk_hash(key, hashing.hex_to_hash(secret["chunk"]))
    assert any(c.chunk_hash == keyed for x in shard.xorbs for c in x.chunks)


def test_org_members_deduplicate_against_the_orgs_private_files(hub, secret: dict):
    chunk = secret["org_chunk"]
    bob = xet_token(hub, own_repo(hub, "bob", "bobs-model"), "write", "bob")
    carol = xet_token(hub, own_repo(hub, "carol", "carols-model"), "write", "carol")
    assert cas(hub, "GET", f"chunks/default/{chunk}", bob).status_code == 200, "a member"
    assert cas(hub, "GET", f"chunks/default/{chunk}", carol).status_code == 404, "not a member"


def test_the_real_client_of_a_stranger_uploads_everything(hub, secret: dict, tmp_path: Path):
    """bob uploading the very same bytes from a fresh machine is told nothing: hf_xet sends the
    whole file (before, the hub's answer let it skip almost all of it). His copy then works."""
    repo_id = own_repo(hub, "bob", "same-bytes")
    size = secret["path"].stat().st_size
    result = run_xet_scenario(
        hub,
        "upload_file",
        tmp_path / "bob-home",
        token_user="bob",
        path=str(secret["path"]),
        path_in_repo="weights.bin",
        repo=repo_id,
    )
    assert result["written"] >= size, f"bob's client wrote {result['written']} bytes of {size}"
    got = run_xet_scenario(
        hub,
        "download",
        tmp_path / "dl",
        token_user="bob",
        repo=repo_id,
        filename="weights.bin",
        cache=str(tmp_path / "c"),
    )
    assert got["sha256"] == hashlib.sha256(secret["path"].read_bytes()).hexdigest()


def test_the_real_client_of_the_owner_deduplicates(hub, api: HfApi, secret: dict, tmp_path: Path):
    repo_id = api.create_repo("secret-again", private=True).repo_id
    size = secret["path"].stat().st_size
    result = run_xet_scenario(
        hub,
        "upload_file",
        tmp_path / "alice-fresh-home",
        path=str(secret["path"]),
        path_in_repo="weights.bin",
        repo=repo_id,
    )
    assert result["written"] < 0.5 * size, f"alice's client wrote {result['written']} bytes"


# -- shards and xorb uploads ----------------------------------------------------------------------


def xorb_of(chunks: list[bytes]) -> tuple[str, bytes]:
    body = b"".join(serialize_chunk(c, CompressionScheme.LZ4) for c in chunks)
    name = hashing.xorb_hash([(hashing.chunk_hash(c), len(c)) for c in chunks])
    return hashing.hash_to_hex(name), body


def file_of(xorb: str, chunks: list[bytes], start: int, end: int) -> bytes:
    """A shard registering the file made of chunks [start, end) of a xorb."""
    used = chunks[start:end]
    hashed = [(hashing.chunk_hash(c), len(c)) for c in used]
    entry = FileEntry(
        hashing.file_hash(hashed),
        (FileTerm(hashing.hex_to_hash(xorb), sum(map(len, used)), start, end),),
        (hashing.term_verification_hash(h for h, _ in hashed),),
        hashing.hex_to_hash(hashlib.sha256(b"".join(used)).hexdigest()),
    )
    return serialize_shard([entry])


def test_shards_and_xorb_uploads_tell_nothing_either(hub, api: HfApi):
    private = api.create_repo("private-shard", private=True).repo_id
    chunks = [pseudo_random(20_000, seed=51), pseudo_random(30_000, seed=52)]
    xorb, body = xorb_of(chunks)
    alice = xet_token(hub, private, "write", "alice")
    assert cas(hub, "POST", f"xorbs/default/{xorb}", alice, content=body).json() == {
        "was_inserted": True
    }
    assert cas(hub, "POST", f"xorbs/default/{xorb}", alice, content=body).json() == {
        "was_inserted": False
    }, "the same repository uploading again: it knows"
    assert cas(hub, "POST", "shards", alice, content=file_of(xorb, chunks, 0, 2)).status_code == 200

    carol = xet_token(hub, own_repo(hub, "carol", "probe"), "write", "carol")
    unknown, _ = xorb_of([pseudo_random(20_000, seed=53)])
    cited = cas(hub, "POST", "shards", carol, content=file_of(xorb, chunks, 0, 2))
    never = cas(hub, "POST", "shards", carol, content=file_of(unknown, chunks, 0, 2))
    assert cited.status_code == never.status_code == 400
    assert cited.json()["error"] == never.json()["error"].replace(unknown, xorb), (
        "citing alice's private xorb reads like citing one that does not exist"
    )
    # carol holding the bytes uploads them like anything new, and may then use them
    assert cas(hub, "POST", f"xorbs/default/{xorb}", carol, content=body).json() == {
        "was_inserted": True
    }
    assert cas(hub, "POST", "shards", carol, content=file_of(xorb, chunks, 0, 2)).status_code == 200
    assert (
        cas(hub, "POST", f"xorbs/default/{xorb}", carol, content=b"not the bytes").status_code
        == 400
    )


def test_a_shared_xorb_shows_only_the_readable_files_chunks(hub, api: HfApi, public_repo: str):
    """One xorb holding a public file's chunk and a private file's: a stranger's answer lists the
    public chunk under its hash and the private one under a random one."""
    private = api.create_repo("private-neighbour", private=True).repo_id
    chunks = [pseudo_random(20_000, seed=61), pseudo_random(30_000, seed=62)]
    xorb, body = xorb_of(chunks)
    public_token = xet_token(hub, public_repo, "write", "alice")
    private_token = xet_token(hub, private, "write", "alice")
    assert cas(hub, "POST", f"xorbs/default/{xorb}", public_token, content=body).status_code == 200
    for token, start in ((public_token, 0), (private_token, 1)):
        shard = file_of(xorb, chunks, start, start + 1)
        assert cas(hub, "POST", "shards", token, content=shard).status_code == 200
    public_chunk, private_chunk = (hashing.chunk_hash(c) for c in chunks)
    stranger = xet_token(hub, own_repo(hub, "carol", "neighbour"), "write", "carol")
    assert (
        cas(
            hub, "GET", f"chunks/default/{hashing.hash_to_hex(private_chunk)}", stranger
        ).status_code
        == 404
    )
    answer = cas(hub, "GET", f"chunks/default/{hashing.hash_to_hex(public_chunk)}", stranger)
    assert answer.status_code == 200
    shard = parse_shard(answer.content)
    key = shard.footer.chunk_hash_hmac_key
    (entry,) = [x for x in shard.xorbs if x.xorb_hash_hex == xorb]
    listed = [c.chunk_hash for c in entry.chunks]
    assert listed[0] == hashing.dedup_keyed_chunk_hash(key, public_chunk)
    assert hashing.dedup_keyed_chunk_hash(key, private_chunk) not in listed
    assert [c.unpacked_length for c in entry.chunks] == [len(c) for c in chunks], (
        "sizes stay, so the chunk indexes a client cites still match the xorb"
    )
    # the owner, whose namespace holds both files, sees both
    owner = parse_shard(
        cas(
            hub, "GET", f"chunks/default/{hashing.hash_to_hex(public_chunk)}", private_token
        ).content
    )
    (mine,) = [x for x in owner.xorbs if x.xorb_hash_hex == xorb]
    owner_key = owner.footer.chunk_hash_hmac_key
    # the answer lists the chunks of the file that matched (the public one): the other is hidden
    # even from the owner unless their query hits the private file itself
    private_answer = parse_shard(
        cas(
            hub, "GET", f"chunks/default/{hashing.hash_to_hex(private_chunk)}", private_token
        ).content
    )
    (theirs,) = [x for x in private_answer.xorbs if x.xorb_hash_hex == xorb]
    assert theirs.chunks[1].chunk_hash == hashing.dedup_keyed_chunk_hash(
        private_answer.footer.chunk_hash_hmac_key, private_chunk
    )
    assert mine.chunks[0].chunk_hash == hashing.dedup_keyed_chunk_hash(owner_key, public_chunk)
