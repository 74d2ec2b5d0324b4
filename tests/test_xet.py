"""Xet storage with the default huggingface_hub install (hf_xet present, Xet enabled).

Every hf_xet scenario runs in a subprocess (tests/clients/xet_scenario.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi

from helpers import run_xet_scenario as run_scenario
from helpers import stored_sizes
from hubstead.xet import hashing
from hubstead.xet.xorb import CompressionScheme, serialize_chunk

MB = 1024 * 1024


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def pseudo_random(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def xorb_bytes(hub) -> int:
    return sum(stored_sizes(hub, "xorbs").values())


@pytest.fixture(scope="module")
def client_home(tmp_path_factory) -> Path:
    """One client home for the uploads of this module: its Xet cache is what deduplicates."""
    return tmp_path_factory.mktemp("xet-client")


@pytest.fixture(scope="module")
def model(hub, api: HfApi, tmp_path_factory, client_home: Path) -> dict:
    """A model uploaded with upload_folder through Xet: a ~200 MB safetensors file + small files."""
    folder = tmp_path_factory.mktemp("model")
    (folder / "model.safetensors").write_bytes(pseudo_random(200 * MB, seed=1))
    (folder / "config.json").write_text('{"model_type": "bert"}\n')
    (folder / "tokenizer.json").write_text('{"version": "1.0"}\n')
    (folder / "extra").mkdir()
    (folder / "extra" / "head.bin").write_bytes(pseudo_random(3 * MB, seed=2))
    repo_id = api.create_repo("xet-model").repo_id
    stored_before = xorb_bytes(hub)
    result = run_scenario(
        hub,
        "upload_folder",
        client_home,
        folder=str(folder),
        repo=repo_id,
        message="Upload through Xet",
    )
    return {
        "repo": repo_id,
        "folder": folder,
        "oid": result["oid"],
        "stored": xorb_bytes(hub) - stored_before,
        "written": result["written"],
    }


def test_upload_folder_goes_through_xet(hub, api: HfApi, model: dict):
    repo_id, folder = model["repo"], model["folder"]
    assert api.model_info(repo_id).sha == model["oid"]
    entries = {e.path: e for e in api.list_repo_tree(repo_id, recursive=True) if hasattr(e, "lfs")}
    weights = entries["model.safetensors"]
    assert weights.lfs.sha256 == sha256_file(folder / "model.safetensors")
    assert weights.xet_hash and len(weights.xet_hash) == 64
    assert entries["extra/head.bin"].xet_hash
    assert entries["config.json"].lfs is None and entries["config.json"].xet_hash is None
    assert weights.lfs.sha256 not in stored_sizes(hub, "sha256"), (
        "Xet uploads do not go through the LFS blob store"
    )
    assert model["stored"] >= 200 * MB * 0.99  # random data: no compression to expect
    head = httpx.head(f"{hub.endpoint}/{repo_id}/resolve/main/model.safetensors")
    assert head.headers["x-xet-hash"] == weights.xet_hash
    assert 'rel="xet-auth"' in head.headers["link"] and "/xet-read-token/" in head.headers["link"]
    assert head.headers["x-linked-size"] == str(200 * MB)


def test_hf_hub_download_and_snapshot_through_xet(hub, model: dict, tmp_path: Path):
    folder = model["folder"]
    single = run_scenario(
        hub,
        "download",
        tmp_path / "home1",
        repo=model["repo"],
        filename="model.safetensors",
        cache=str(tmp_path / "c1"),
    )
    assert single["sha256"] == sha256_file(folder / "model.safetensors")
    snapshot = run_scenario(
        hub, "snapshot", tmp_path / "home2", repo=model["repo"], cache=str(tmp_path / "c2")
    )
    expected = {
        str(p.relative_to(folder)): sha256_file(p) for p in folder.rglob("*") if p.is_file()
    }
    assert {k: v for k, v in snapshot["files"].items() if k != ".gitattributes"} == expected


def test_ranged_reads_of_a_xet_file(hub, model: dict, tmp_path: Path):
    data = (model["folder"] / "model.safetensors").read_bytes()
    ranges = [(0, 100), (65_000, 200_000), (123_456_789, 1_000_000), (len(data) - 10, 10)]
    result = run_scenario(
        hub,
        "fs_ranges",
        tmp_path / "home",
        repo=model["repo"],
        filename="model.safetensors",
        ranges=ranges,
    )
    assert result["reads"] == [hashlib.sha256(data[s : s + n]).hexdigest() for s, n in ranges]
    url = f"{hub.endpoint}/{model['repo']}/resolve/main/model.safetensors"
    part = httpx.get(url, headers={"Range": "bytes=100000000-100000999"})
    assert part.status_code == 206 and part.content == data[100_000_000:100_001_000]
    assert part.headers["content-range"] == f"bytes 100000000-100000999/{len(data)}"
    beyond = httpx.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416
    small = httpx.get(f"{hub.endpoint}/{model['repo']}/resolve/main/extra/head.bin")
    assert (
        small.status_code == 200
        and small.content == (model["folder"] / "extra" / "head.bin").read_bytes()
    )


def test_create_pr_through_xet(hub, api: HfApi, model: dict, tmp_path: Path):
    path = tmp_path / "proposal.bin"
    path.write_bytes(pseudo_random(2 * MB, seed=3))
    result = run_scenario(
        hub,
        "upload_file",
        tmp_path / "bob-home",
        token_user="bob",
        path=str(path),
        path_in_repo="proposal.bin",
        repo=model["repo"],
        create_pr=True,
    )
    assert result["pr_url"].endswith("/discussions/1")
    files = api.list_repo_files(model["repo"], revision="refs/pr/1")
    assert "proposal.bin" in files and "proposal.bin" not in api.list_repo_files(model["repo"])
    download = run_scenario(
        hub,
        "download",
        tmp_path / "dl",
        repo=model["repo"],
        filename="proposal.bin",
        revision="refs/pr/1",
        cache=str(tmp_path / "c"),
    )
    assert download["sha256"] == sha256_file(path)


def test_deduplication_of_an_edited_file(
    hub, api: HfApi, model: dict, client_home: Path, tmp_path: Path
):
    """Rewriting a contiguous 1 % of the file: the new version costs well under 10 % of its size."""
    data = bytearray((model["folder"] / "model.safetensors").read_bytes())
    start = len(data) // 3
    data[start : start + len(data) // 100] = pseudo_random(len(data) // 100, seed=4)
    edited = tmp_path / "model.safetensors"
    edited.write_bytes(data)
    before = xorb_bytes(hub)
    result = run_scenario(
        hub,
        "upload_file",
        client_home,
        path=str(edited),
        path_in_repo="model.safetensors",
        repo=model["repo"],
    )
    stored = xorb_bytes(hub) - before
    assert stored < 0.10 * len(data), f"stored {stored} new bytes"
    assert result["written"] < 0.10 * len(data), f"the client wrote {result['written']} bytes"
    info = api.get_paths_info(model["repo"], ["model.safetensors"])[0]
    assert info.lfs.sha256 == hashlib.sha256(data).hexdigest()
    got = run_scenario(
        hub,
        "download",
        tmp_path / "dl",
        repo=model["repo"],
        filename="model.safetensors",
        cache=str(tmp_path / "c"),
    )
    assert got["sha256"] == info.lfs.sha256


def test_same_weights_in_a_second_repository_store_almost_nothing(
    hub, api: HfApi, model: dict, client_home: Path, tmp_path: Path
):
    repo_id = api.create_repo("xet-model-copy").repo_id
    before = xorb_bytes(hub)
    result = run_scenario(
        hub,
        "upload_file",
        client_home,
        path=str(model["folder"] / "model.safetensors"),
        path_in_repo="model.safetensors",
        repo=repo_id,
    )
    stored = xorb_bytes(hub) - before
    assert stored < 0.01 * 200 * MB and result["written"] < 0.05 * 200 * MB
    got = run_scenario(
        hub,
        "download",
        tmp_path / "dl",
        repo=repo_id,
        filename="model.safetensors",
        cache=str(tmp_path / "c"),
    )
    assert got["sha256"] == sha256_file(model["folder"] / "model.safetensors")


def test_global_deduplication_for_a_client_with_an_empty_cache(
    hub, api: HfApi, model: dict, tmp_path: Path
):
    """Another machine (no local cache) uploading an edited copy: the hub tells it which chunks it
    already has, so most of the file is neither sent nor stored again."""
    data = bytearray((model["folder"] / "model.safetensors").read_bytes())
    start = len(data) // 2
    data[start : start + len(data) // 100] = pseudo_random(len(data) // 100, seed=6)
    edited = tmp_path / "model.safetensors"
    edited.write_bytes(data)
    repo_id = api.create_repo("xet-fork").repo_id
    before = xorb_bytes(hub)
    result = run_scenario(
        hub,
        "upload_file",
        tmp_path / "fresh-home",
        path=str(edited),
        path_in_repo="model.safetensors",
        repo=repo_id,
    )
    stored = xorb_bytes(hub) - before
    assert stored < 0.10 * len(data), f"stored {stored} new bytes"
    assert result["written"] < 0.20 * len(data), f"the client wrote {result['written']} bytes"
    got = run_scenario(
        hub,
        "download",
        tmp_path / "dl",
        repo=repo_id,
        filename="model.safetensors",
        cache=str(tmp_path / "c"),
    )
    assert got["sha256"] == hashlib.sha256(data).hexdigest()


def test_files_uploaded_through_lfs_stay_downloadable(hub, api: HfApi, tmp_path: Path):
    repo_id = api.create_repo("lfs-then-xet").repo_id
    data = pseudo_random(1 * MB, seed=5)
    api.upload_file(
        path_or_fileobj=data, path_in_repo="old.bin", repo_id=repo_id
    )  # this process: LFS
    got = run_scenario(
        hub,
        "download",
        tmp_path / "dl",
        repo=repo_id,
        filename="old.bin",
        cache=str(tmp_path / "c"),
    )
    assert got["sha256"] == hashlib.sha256(data).hexdigest()


# -- the CAS API refuses bad input -------------------------------------------------------------


def xet_token(hub, repo_id: str, scope: str, user: str = "alice") -> dict:
    response = httpx.get(
        f"{hub.endpoint}/api/models/{repo_id}/xet-{scope}-token/main",
        headers={"Authorization": f"Bearer {hub.tokens[user]}"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert response.headers["x-xet-access-token"] == body["accessToken"]
    assert response.headers["x-xet-cas-url"] == body["casUrl"] == f"{hub.endpoint}/cas"
    assert int(response.headers["x-xet-token-expiration"]) == body["exp"]
    return body


def make_xorb(chunks: list[bytes]) -> tuple[str, bytes]:
    body = b"".join(serialize_chunk(c, CompressionScheme.LZ4) for c in chunks)
    name = hashing.hash_to_hex(hashing.xorb_hash([(hashing.chunk_hash(c), len(c)) for c in chunks]))
    return name, body


def test_token_routes_follow_repository_access(hub, api: HfApi, model: dict):
    xet_token(hub, model["repo"], "read", "bob")
    denied = httpx.get(
        f"{hub.endpoint}/api/models/{model['repo']}/xet-write-token/main",
        headers={"Authorization": f"Bearer {hub.tokens['bob']}"},
    )
    assert denied.status_code == 403
    private = api.create_repo("xet-private", private=True).repo_id
    hidden = httpx.get(f"{hub.endpoint}/api/models/{private}/xet-read-token/main")
    assert hidden.status_code == 401 and hidden.headers["x-error-code"] == "RepoNotFound"


def test_cas_refuses_bad_xorbs_and_shards(hub, model: dict):
    write = xet_token(hub, model["repo"], "write")
    read = xet_token(hub, model["repo"], "read")
    cas = write["casUrl"]
    auth = {"Authorization": f"Bearer {write['accessToken']}"}
    name, body = make_xorb([pseudo_random(70_000, seed=10), pseudo_random(50_000, seed=11)])
    tampered = bytearray(body)
    tampered[-10] ^= 0xFF
    response = httpx.post(f"{cas}/v1/xorbs/default/{name}", content=bytes(tampered), headers=auth)
    assert response.status_code == 400
    other_name, _ = make_xorb([b"something else" * 1000])
    assert (
        httpx.post(f"{cas}/v1/xorbs/default/{other_name}", content=body, headers=auth).status_code
        == 400
    )
    read_auth = {"Authorization": f"Bearer {read['accessToken']}"}
    assert (
        httpx.post(f"{cas}/v1/xorbs/default/{name}", content=body, headers=read_auth).status_code
        == 403
    )
    assert httpx.post(f"{cas}/v1/xorbs/default/{name}", content=body).status_code == 401
    forged = {"Authorization": f"Bearer {write['accessToken'][:-2]}00"}
    assert (
        httpx.post(f"{cas}/v1/xorbs/default/{name}", content=body, headers=forged).status_code
        == 401
    )
    assert httpx.post(f"{cas}/v1/xorbs/default/{name}", content=body, headers=auth).json() == {
        "was_inserted": True
    }
    assert httpx.post(f"{cas}/v1/xorbs/default/{name}", content=body, headers=auth).json() == {
        "was_inserted": False
    }
    # shards: one naming a xorb never uploaded, one with a wrong verification hash
    from hubstead.xet.shard import FileEntry, FileTerm, serialize_shard

    chunks = [pseudo_random(70_000, seed=10), pseudo_random(50_000, seed=11)]
    hashed = [(hashing.chunk_hash(c), len(c)) for c in chunks]
    term = FileTerm(hashing.hex_to_hash(name), 120_000, 0, 2)
    good = FileEntry(
        hashing.file_hash(hashed),
        (term,),
        (hashing.term_verification_hash(h for h, _ in hashed),),
        hashing.hex_to_hash(hashlib.sha256(b"".join(chunks)).hexdigest()),
    )
    missing = FileEntry(
        good.file_hash,
        (FileTerm(hashing.hex_to_hash("ab" * 32), 120_000, 0, 2),),
        good.verification_hashes,
        good.sha256,
    )
    wrong_verification = FileEntry(good.file_hash, (term,), (bytes(32),), good.sha256)
    wrong_sha = FileEntry(
        good.file_hash, (term,), good.verification_hashes, hashing.hex_to_hash("cd" * 32)
    )
    for bad in (missing, wrong_verification):
        response = httpx.post(f"{cas}/v1/shards", content=serialize_shard([bad]), headers=auth)
        assert response.status_code == 400, response.text
    assert httpx.post(f"{cas}/v1/shards", content=b"garbage" * 10, headers=auth).status_code == 400
    assert (
        httpx.post(
            f"{cas}/v1/shards", content=serialize_shard([good]), headers=read_auth
        ).status_code
        == 403
    )
    assert httpx.post(f"{cas}/v1/shards", content=serialize_shard([good]), headers=auth).json() == {
        "result": 1
    }
    # the same bytes under another SHA-256: a contradiction, checked from the bytes and refused
    response = httpx.post(f"{cas}/v1/shards", content=serialize_shard([wrong_sha]), headers=auth)
    assert response.status_code == 400 and "SHA-256" in response.json()["error"], response.text
    # optional routes answer 404 (never 500), telemetry is accepted
    assert (
        httpx.post(f"{cas}/v1/xorb-grants/default/{name}", headers=auth, json={}).status_code == 404
    )
    assert httpx.post(f"{cas}/v2/shards", headers=auth, content=b"").status_code == 404
    assert httpx.get(f"{cas}/v1/chunks/default/{name}", headers=auth).status_code == 404
    assert httpx.get(f"{cas}/v2/reconstructions/{name}", headers=auth).status_code == 404
    assert httpx.post(f"{cas}/v1/telemetry", headers=auth, json={"event": "x"}).status_code == 200


def test_reconstruction_and_fetch_urls(hub, api: HfApi, model: dict):
    read = xet_token(hub, model["repo"], "read")
    info = api.get_paths_info(model["repo"], ["extra/head.bin"])[0]
    auth = {"Authorization": f"Bearer {read['accessToken']}"}
    url = f"{read['casUrl']}/v1/reconstructions/{info.xet_hash}"
    whole = httpx.get(url, headers=auth).json()
    assert whole["offset_into_first_range"] == 0
    assert sum(t["unpacked_length"] for t in whole["terms"]) == info.size
    part = httpx.get(url, headers={**auth, "Range": "bytes=100000-199999"}).json()
    assert 0 < part["offset_into_first_range"] < 128 * 1024
    assert httpx.get(url, headers={**auth, "Range": f"bytes={info.size}-"}).status_code == 416
    other = api.create_repo("xet-other").repo_id
    stranger = {"Authorization": f"Bearer {xet_token(hub, other, 'read')['accessToken']}"}
    assert httpx.get(url, headers=stranger).status_code == 404, (
        "a token only reaches its repository's files"
    )
    fetch = next(iter(whole["fetch_info"].values()))[0]
    byte_range = f"bytes={fetch['url_range']['start']}-{fetch['url_range']['end']}"
    served = httpx.get(fetch["url"], headers={"Range": byte_range})
    assert (
        served.status_code == 206
        and len(served.content) == fetch["url_range"]["end"] - fetch["url_range"]["start"] + 1
    )
    if hub.bucket is not None:
        # A presigned URL of the bucket, whose signature covers the Range header: it grants
        # that range only. moto does not check signatures, so the test reads the URL; the
        # hub's own fetch URLs (local storage) are checked below. tests/test_s3_storage.py
        # recomputes the signature for another range.
        assert "X-Amz-SignedHeaders=host%3Brange" in fetch["url"]
        return
    base, _, query = fetch["url"].partition("?")
    params = dict(p.split("=") for p in query.split("&"))
    forged = f"{base}?r={params['r']}&exp={params['exp']}&sig={'0' * 64}"
    assert httpx.get(forged, headers={"Range": byte_range}).status_code == 403
    expired = f"{base}?r={params['r']}&exp=1000&sig={params['sig']}"
    assert httpx.get(expired, headers={"Range": byte_range}).status_code == 403
    widened = f"{base}?r=0-{fetch['url_range']['end'] + 10}&exp={params['exp']}&sig={params['sig']}"
    assert httpx.get(widened, headers={"Range": byte_range}).status_code == 403
    beyond = f"bytes={fetch['url_range']['start']}-{fetch['url_range']['end'] + 1}"
    assert httpx.get(fetch["url"], headers={"Range": beyond}).status_code == 403, (
        "only the granted bytes"
    )
    assert httpx.get(fetch["url"]).status_code == 403


def test_commit_naming_an_unknown_sha256_is_refused(hub, api: HfApi, model: dict):
    head = api.model_info(model["repo"]).sha
    body = (
        json.dumps({"key": "header", "value": {"summary": "ghost"}})
        + "\n"
        + json.dumps(
            {
                "key": "lfsFile",
                "value": {"path": "ghost.bin", "algo": "sha256", "oid": "ef" * 32, "size": 5},
            }
        )
        + "\n"
    )
    response = httpx.post(
        f"{hub.endpoint}/api/models/{model['repo']}/commit/main",
        content=body,
        headers={
            "Authorization": f"Bearer {hub.tokens['alice']}",
            "Content-Type": "application/x-ndjson",
        },
    )
    assert response.status_code == 400 and "was not uploaded" in response.json()["error"]
    assert api.model_info(model["repo"]).sha == head


def test_garbage_collection_after_deleting_a_repository(hub, api: HfApi, tmp_path: Path):
    """Deleting a repository frees the xorbs and objects no other repository references."""
    shared = tmp_path / "shared.bin"
    shared.write_bytes(pseudo_random(3 * MB, seed=20))
    only_doomed = tmp_path / "only.bin"
    only_doomed.write_bytes(pseudo_random(3 * MB, seed=21))
    keeper = api.create_repo("gc-keeper").repo_id
    doomed = api.create_repo("gc-doomed").repo_id
    home = tmp_path / "home"
    run_scenario(hub, "upload_file", home, path=str(shared), path_in_repo="shared.bin", repo=keeper)
    run_scenario(hub, "upload_file", home, path=str(shared), path_in_repo="shared.bin", repo=doomed)
    run_scenario(
        hub, "upload_file", home, path=str(only_doomed), path_in_repo="only.bin", repo=doomed
    )
    api.upload_file(
        path_or_fileobj=pseudo_random(MB, seed=22), path_in_repo="lfs.bin", repo_id=doomed
    )  # LFS
    lfs_before = sum(stored_sizes(hub, "sha256").values())
    before = xorb_bytes(hub)
    api.delete_repo(doomed)
    env = {**os.environ, **{k: v for k, v in hub.server_env().items() if k.startswith("HUBSTEAD_")}}
    kept = subprocess.run(
        [sys.executable, "-m", "hubstead", "gc"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "freed 0 bytes" in kept.stdout, "nothing is collected inside the grace period"
    result = subprocess.run(
        [sys.executable, "-m", "hubstead", "gc", "--grace-seconds", "0"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    freed_xorbs = before - xorb_bytes(hub)
    assert 3 * MB * 0.99 <= freed_xorbs < 3 * MB * 1.1, result.stdout
    lfs_after = sum(stored_sizes(hub, "sha256").values())
    assert lfs_before - lfs_after == MB
    got = run_scenario(
        hub,
        "download",
        tmp_path / "dl",
        repo=keeper,
        filename="shared.bin",
        cache=str(tmp_path / "c"),
    )
    assert got["sha256"] == sha256_file(shared)


def test_git_lfs_clone_of_xet_stored_files(hub, model: dict, tmp_path: Path):
    """git-lfs fetches Xet-stored files through the LFS batch API; the server rebuilds the bytes."""
    home = tmp_path / "git-home"
    home.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_LFS_SKIP_SMUDGE": "0",
    }
    subprocess.run(
        ["git", "lfs", "install", "--skip-repo"], env=env, check=True, capture_output=True
    )
    target = tmp_path / "clone"
    url = f"{hub.endpoint}/{model['repo']}"
    clone = subprocess.run(
        ["git", "clone", url, str(target)], env=env, capture_output=True, text=True, timeout=600
    )
    assert clone.returncode == 0, clone.stderr
    assert sha256_file(target / "extra" / "head.bin") == sha256_file(
        model["folder"] / "extra" / "head.bin"
    )
    assert (
        hashlib.sha256((target / "model.safetensors").read_bytes()).hexdigest()
        == HfApi(endpoint=hub.endpoint)
        .get_paths_info(model["repo"], ["model.safetensors"])[0]
        .lfs.sha256
    )
