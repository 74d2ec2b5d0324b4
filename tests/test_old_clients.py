"""Older huggingface_hub releases keep working against the hub, and keep deduplicating through Xet.

Each client runs tests/clients/xet_scenario.py in a subprocess with its own interpreter: the
main .venv's (the newest client) and the plain virtualenvs of tests/clients/old-clients.txt,
which scripts/test makes in .venv-clients/. Releases 0.3x to 1.19 offer "xet" in the LFS batch
call and upload through Xet only when the hub answers `"transfer": "xet"`; 1.20 and later use
Xet whenever hf_xet is installed. hf_xet 1.2, paired with 0.36, speaks an older CAS dialect.
"""

from __future__ import annotations

import hashlib
import os
import random
import sys
from pathlib import Path

import httpx
import huggingface_hub
import pytest

from helpers import run_xet_scenario, stored_sizes

ROOT = Path(__file__).resolve().parents[1]
CLIENTS_LIST = Path(__file__).parent / "clients" / "old-clients.txt"
MB = 1024 * 1024
SIZE = 4 * MB


def _clients() -> list:
    params = [pytest.param(Path(sys.executable), id=f"hh-{huggingface_hub.__version__}")]
    for line in CLIENTS_LIST.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name = line.split()[0]
            params.append(pytest.param(ROOT / ".venv-clients" / name / "bin" / "python", id=name))
    return params


@pytest.fixture(scope="module", params=_clients())
def client(request) -> Path:
    python = request.param
    if not python.exists():
        message = f"{python} is missing: scripts/test makes the client virtualenvs (scripts/lib/clients.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return python


def pseudo_random(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def xorb_bytes(hub) -> int:
    return sum(stored_sizes(hub, "xorbs").values())


def in_blob_store(hub, oid: str) -> bool:
    return oid in stored_sizes(hub, "sha256")


def paths_info(hub, repo_id: str, path: str) -> dict:
    response = httpx.post(
        f"{hub.endpoint}/api/models/{repo_id}/paths-info/main",
        data={"paths": [path]},
        headers={"Authorization": f"Bearer {hub.tokens['alice']}"},
    )
    assert response.status_code == 200, response.text
    return response.json()[0]


@pytest.fixture(scope="module")
def uploaded(hub, api, client: Path, tmp_path_factory) -> dict:
    """A model uploaded by this client with upload_folder: a few-MB weights file and a config."""
    name = client.parent.parent.name
    folder = tmp_path_factory.mktemp("model")
    # Bytes of this client's own: the same bytes from another client would be deduplicated
    (folder / "weights.bin").write_bytes(pseudo_random(SIZE, seed=name))
    (folder / "config.json").write_text('{"model_type": "bert"}\n')
    home = tmp_path_factory.mktemp("client-home")  # kept for the module: its Xet cache deduplicates
    repo_id = api.create_repo(f"old-client-{name}").repo_id
    before = xorb_bytes(hub)
    result = run_scenario(hub, client, "upload_folder", home, folder=str(folder), repo=repo_id)
    return {
        "repo": repo_id,
        "folder": folder,
        "home": home,
        "oid": result["oid"],
        "stored": xorb_bytes(hub) - before,
        "versions": (result["client"], result["hf_xet"]),
    }


def test_the_listed_versions_ran(client: Path, uploaded: dict):
    listed = {
        line.split()[0]: line.split()[1:]
        for line in CLIENTS_LIST.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    hub_version, xet_version = uploaded["versions"]
    requirements = listed.get(client.parent.parent.name)
    if requirements is None:  # the main .venv's client
        assert hub_version == huggingface_hub.__version__
    else:
        assert (
            f"huggingface_hub=={hub_version}" in requirements
            and f"hf_xet=={xet_version}" in requirements
        )


def test_upload_folder_goes_through_xet(hub, api, uploaded: dict):
    repo_id, data = uploaded["repo"], (uploaded["folder"] / "weights.bin").read_bytes()
    oid = hashlib.sha256(data).hexdigest()
    assert api.model_info(repo_id).sha == uploaded["oid"]
    entry = paths_info(hub, repo_id, "weights.bin")
    assert entry["lfs"]["oid"] == oid and entry["size"] == SIZE
    assert len(entry.get("xetHash", "")) == 64, entry
    assert not in_blob_store(hub, oid), "a Xet upload does not go through the LFS blob store"
    assert uploaded["stored"] >= 0.99 * SIZE  # random bytes: the xorbs hold all of them
    head = httpx.head(f"{hub.endpoint}/{repo_id}/resolve/main/weights.bin")
    assert head.headers["x-xet-hash"] == entry["xetHash"]
    assert "lfs" not in paths_info(hub, repo_id, "config.json")


def test_hf_hub_download_and_snapshot(hub, client: Path, uploaded: dict, tmp_path: Path):
    folder = uploaded["folder"]
    single = run_scenario(
        hub,
        client,
        "download",
        tmp_path / "home1",
        repo=uploaded["repo"],
        filename="weights.bin",
        cache=str(tmp_path / "c1"),
    )
    assert single["sha256"] == hashlib.sha256((folder / "weights.bin").read_bytes()).hexdigest()
    snapshot = run_scenario(
        hub,
        client,
        "snapshot",
        tmp_path / "home2",
        repo=uploaded["repo"],
        cache=str(tmp_path / "c2"),
    )
    expected = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    assert {k: v for k, v in snapshot["files"].items() if k != ".gitattributes"} == expected


def test_listing_and_info_parse(hub, client: Path, uploaded: dict, tmp_path: Path):
    result = run_scenario(hub, client, "api", tmp_path / "home", repo=uploaded["repo"])
    assert result["sha"] == uploaded["oid"]
    assert {"config.json", "weights.bin"} <= set(result["files"]) == set(result["siblings"])
    assert uploaded["repo"] in result["models"]


def test_edited_file_is_deduplicated(hub, client: Path, uploaded: dict, tmp_path: Path):
    """Rewriting 64 KiB in the middle: the second upload sends and stores a small part of the file."""
    data = bytearray((uploaded["folder"] / "weights.bin").read_bytes())
    start = len(data) // 2
    data[start : start + 64 * 1024] = pseudo_random(64 * 1024, seed=2)
    edited = tmp_path / "weights.bin"
    edited.write_bytes(data)
    before = xorb_bytes(hub)
    result = run_scenario(
        hub,
        client,
        "upload_file",
        uploaded["home"],
        path=str(edited),
        path_in_repo="weights.bin",
        repo=uploaded["repo"],
    )
    stored = xorb_bytes(hub) - before
    assert 0 < stored < 0.15 * len(data), f"stored {stored} new bytes of {len(data)}"
    assert result["written"] < 0.25 * len(data), f"the client wrote {result['written']} bytes"
    oid = hashlib.sha256(data).hexdigest()
    entry = paths_info(hub, uploaded["repo"], "weights.bin")
    assert entry["lfs"]["oid"] == oid and entry.get("xetHash") and not in_blob_store(hub, oid)
    got = run_scenario(
        hub,
        client,
        "download",
        tmp_path / "dl",
        repo=uploaded["repo"],
        filename="weights.bin",
        cache=str(tmp_path / "c"),
    )
    assert got["sha256"] == oid


def test_xet_disabled_uploads_through_lfs(hub, api, client: Path, uploaded: dict, tmp_path: Path):
    """HF_HUB_DISABLE_XET=1: the client offers no "xet", the hub answers basic, bytes land in LFS."""
    data = pseudo_random(1 * MB, seed=f"{client.parent.parent.name}-plain")
    path = tmp_path / "plain.bin"
    path.write_bytes(data)
    before = xorb_bytes(hub)
    run_scenario(
        hub,
        client,
        "upload_file",
        tmp_path / "home",
        xet=False,
        path=str(path),
        path_in_repo="plain.bin",
        repo=uploaded["repo"],
    )
    oid = hashlib.sha256(data).hexdigest()
    entry = paths_info(hub, uploaded["repo"], "plain.bin")
    assert entry["lfs"]["oid"] == oid and "xetHash" not in entry
    assert in_blob_store(hub, oid) and xorb_bytes(hub) == before
    got = run_scenario(
        hub,
        client,
        "download",
        tmp_path / "dl",
        repo=uploaded["repo"],
        filename="plain.bin",
        cache=str(tmp_path / "c"),
    )
    assert got["sha256"] == oid


# -- the negotiation itself ----------------------------------------------------------------------


def lfs_transfer_url(hub, href: str) -> bool:
    """A plain LFS transfer URL: the hub's own, or on the S3 pass a presigned URL of its bucket."""
    if hub.bucket is not None:
        return href.startswith(f"{hub.bucket.endpoint}/{hub.bucket.name}/")
    return "/-/lfs/" in href


def batch(hub, repo_id: str, body: dict) -> dict:
    response = httpx.post(
        f"{hub.endpoint}/{repo_id}.git/info/lfs/objects/batch",
        json=body,
        headers={
            "Authorization": f"Bearer {hub.tokens['alice']}",
            "Accept": "application/vnd.git-lfs+json",
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_batch_answers_xet_only_when_offered(hub, api):
    repo_id = api.create_repo("negotiation").repo_id
    stored = pseudo_random(1000, seed=4)
    api.upload_file(
        path_or_fileobj=stored, path_in_repo="stored.bin", repo_id=repo_id
    )  # this process: LFS
    new = {"oid": "ab" * 32, "size": 123}
    old = {"oid": hashlib.sha256(stored).hexdigest(), "size": len(stored)}
    # huggingface_hub 0.3x-1.19 with hf_xet
    answer = batch(
        hub,
        repo_id,
        {
            "operation": "upload",
            "transfers": ["basic", "multipart", "xet"],
            "objects": [new, old],
            "hash_algo": "sha256",
            "ref": {"name": "main"},
        },
    )
    assert answer["transfer"] == "xet"
    first, second = answer["objects"]
    assert (first["oid"], first["size"]) == (new["oid"], new["size"]) and "error" not in first
    assert second == old  # already in the repository: nothing to do, as with basic
    action = first["actions"]["upload"]  # what the git-xet transfer agent reads
    assert action["href"] == f"{hub.endpoint}/api/models/{repo_id}/xet-write-token/main?create_pr=1"
    header = action["header"]
    assert (
        header["X-Xet-Cas-Url"] == f"{hub.endpoint}/cas"
        and int(header["X-Xet-Token-Expiration"]) > 0
    )
    refreshed = httpx.get(
        action["href"], headers={"Authorization": f"Bearer {hub.tokens['alice']}"}
    )
    assert refreshed.status_code == 200 and refreshed.json()["casUrl"] == header["X-Xet-Cas-Url"]
    cas = httpx.get(
        f"{hub.endpoint}/cas/v1/chunks/default/{'00' * 32}",
        headers={"Authorization": f"Bearer {header['X-Xet-Access-Token']}"},
    )
    assert (
        cas.status_code == 404
    )  # the token is accepted (a bad one gets 401); the chunk is unknown
    # git-lfs (never "xet"), clients with HF_HUB_DISABLE_XET=1, and downloads: plain LFS
    for body in (
        {"operation": "upload", "transfers": ["basic"], "ref": {"name": "refs/heads/main"}},
        {"operation": "upload"},
        {"operation": "upload", "transfers": ["basic", "multipart"]},
    ):
        answer = batch(hub, repo_id, {**body, "objects": [new]})
        assert answer["transfer"] == "basic" and lfs_transfer_url(
            hub, answer["objects"][0]["actions"]["upload"]["href"]
        )
    answer = batch(
        hub, repo_id, {"operation": "download", "transfers": ["basic", "xet"], "objects": [old]}
    )
    assert answer["transfer"] == "basic" and lfs_transfer_url(
        hub, answer["objects"][0]["actions"]["download"]["href"]
    )


def run_scenario(hub, python: Path, name: str, home: Path, xet: bool = True, **args) -> dict:
    """A scenario run by one client release's interpreter."""
    return run_xet_scenario(hub, name, home, python=python, xet=xet, timeout=300, **args)
