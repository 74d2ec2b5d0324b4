"""Uploads, downloads and listings with the real huggingface_hub client against a live hub."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationCopy,
    CommitOperationDelete,
    HfApi,
    hf_hub_download,
    snapshot_download,
)
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, RevisionNotFoundError

# A low multipart threshold so the 50 MB upload exercises the multipart LFS transfer.
HUB_ENV = {
    "HUBSTEAD_LFS_MULTIPART_THRESHOLD": str(20 * 1024 * 1024),
    "HUBSTEAD_LFS_MULTIPART_CHUNK_SIZE": str(16 * 1024 * 1024),
}


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.fixture(scope="module")
def big_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("big") / "weights.bin"
    path.write_bytes(os.urandom(50 * 1024 * 1024))
    return path


@pytest.fixture(scope="module")
def model_repo(api: HfApi, tmp_path_factory, big_file: Path) -> str:
    """alice/files-model with text files, a nested folder, a small binary and the 50 MB file."""
    repo_id = api.create_repo("files-model").repo_id
    folder = tmp_path_factory.mktemp("upload")
    (folder / "config.json").write_text('{"model_type": "bert"}\n')
    (folder / "README.md").write_text("---\nlicense: mit\n---\n# Files model\n")
    (folder / "docs").mkdir()
    (folder / "docs" / "notes.txt").write_text("some notes\n")
    (folder / "small.bin").write_bytes(os.urandom(5000))
    os.link(big_file, folder / "weights.bin")
    api.upload_folder(folder_path=folder, repo_id=repo_id, commit_message="Add model files")
    return repo_id


def test_create_repo_exist_ok(api: HfApi, endpoint: str):
    url = api.create_repo("exists-twice")
    assert url == f"{endpoint}/alice/exists-twice"
    assert url.repo_id == "alice/exists-twice"
    again = api.create_repo("exists-twice", exist_ok=True)
    assert again.repo_id == "alice/exists-twice"
    with pytest.raises(HfHubHTTPError) as info:
        api.create_repo("exists-twice")
    assert info.value.response.status_code == 409


def test_initial_commit_and_gitattributes(api: HfApi):
    repo_id = api.create_repo("fresh").repo_id
    commits = api.list_repo_commits(repo_id)
    assert [c.title for c in commits] == ["initial commit"]
    assert commits[0].authors == ["alice"]
    assert api.list_repo_files(repo_id) == [".gitattributes"]


def test_upload_folder_lists_every_file(api: HfApi, model_repo: str, big_file: Path):
    files = api.list_repo_files(model_repo)
    assert sorted(files) == sorted(
        [".gitattributes", "README.md", "config.json", "docs/notes.txt", "small.bin", "weights.bin"]
    )
    entries = {e.path: e for e in api.list_repo_tree(model_repo, recursive=True)}
    assert entries["docs"].__class__.__name__ == "RepoFolder"
    weights = entries["weights.bin"]
    assert weights.size == big_file.stat().st_size
    assert weights.lfs is not None and weights.lfs.sha256 == sha256_file(big_file)
    assert entries["config.json"].lfs is None
    assert entries["small.bin"].lfs is not None  # binary content goes to LFS


def test_hf_hub_download_is_byte_identical(
    model_repo: str, endpoint: str, hf_home: Path, big_file: Path
):
    path = hf_hub_download(model_repo, "weights.bin", endpoint=endpoint, cache_dir=hf_home)
    assert sha256_file(path) == sha256_file(big_file)
    text = hf_hub_download(model_repo, "docs/notes.txt", endpoint=endpoint, cache_dir=hf_home)
    assert Path(text).read_text() == "some notes\n"


def test_snapshot_download_is_byte_identical(
    model_repo: str, endpoint: str, hf_home: Path, big_file: Path, api: HfApi
):
    folder = Path(snapshot_download(model_repo, endpoint=endpoint, cache_dir=hf_home))
    assert sha256_file(folder / "weights.bin") == sha256_file(big_file)
    assert (folder / "config.json").read_text() == '{"model_type": "bert"}\n'
    assert (folder / "docs" / "notes.txt").read_text() == "some notes\n"
    assert folder.name == api.model_info(model_repo).sha


def test_get_paths_info(api: HfApi, model_repo: str, big_file: Path):
    infos = api.get_paths_info(
        model_repo, ["config.json", "weights.bin", "docs", "missing.txt"], expand=True
    )
    by_path = {i.path: i for i in infos}
    assert set(by_path) == {"config.json", "weights.bin", "docs"}
    assert by_path["weights.bin"].lfs.sha256 == sha256_file(big_file)
    assert by_path["config.json"].last_commit.title == "Add model files"


def test_list_repo_tree_of_subfolder_and_missing_folder(api: HfApi, model_repo: str):
    assert [e.path for e in api.list_repo_tree(model_repo, path_in_repo="docs")] == [
        "docs/notes.txt"
    ]
    with pytest.raises(EntryNotFoundError):
        list(api.list_repo_tree(model_repo, path_in_repo="nope"))


def test_create_commit_add_delete_copy(api: HfApi, model_repo: str, big_file: Path):
    repo_id = api.create_repo("ops").repo_id
    api.upload_file(path_or_fileobj=b"hello", path_in_repo="a/hello.txt", repo_id=repo_id)
    api.upload_file(path_or_fileobj=b"\x00" * 3000, path_in_repo="blob.bin", repo_id=repo_id)
    info = api.create_commit(
        repo_id,
        operations=[
            CommitOperationAdd("b.txt", b"bee"),
            CommitOperationDelete("a/"),
            CommitOperationCopy("blob.bin", "copy/blob.bin"),
        ],
        commit_message="mixed operations",
    )
    assert info.oid == api.model_info(repo_id).sha
    files = set(api.list_repo_files(repo_id))
    assert files == {".gitattributes", "b.txt", "blob.bin", "copy/blob.bin"}
    infos = {i.path: i for i in api.get_paths_info(repo_id, ["blob.bin", "copy/blob.bin"])}
    assert infos["blob.bin"].lfs.sha256 == infos["copy/blob.bin"].lfs.sha256
    api.delete_file("b.txt", repo_id)
    assert "b.txt" not in api.list_repo_files(repo_id)


def test_stale_parent_commit_is_rejected(api: HfApi):
    repo_id = api.create_repo("stale").repo_id
    first = api.upload_file(path_or_fileobj=b"1", path_in_repo="one.txt", repo_id=repo_id).oid
    api.upload_file(path_or_fileobj=b"2", path_in_repo="two.txt", repo_id=repo_id)
    head = api.model_info(repo_id).sha
    with pytest.raises(HfHubHTTPError) as info:
        api.create_commit(
            repo_id,
            [CommitOperationAdd("three.txt", b"3")],
            commit_message="late",
            parent_commit=first,
        )
    assert info.value.response.status_code == 412
    assert "The branch was updated since you opened this page" in str(info.value)
    assert api.model_info(repo_id).sha == head
    ok = api.create_commit(
        repo_id, [CommitOperationAdd("three.txt", b"3")], commit_message="fresh", parent_commit=head
    )
    assert api.model_info(repo_id).sha == ok.oid


def test_branches_tags_and_revisions(api: HfApi, endpoint: str, hf_home: Path):
    repo_id = api.create_repo("revisions").repo_id
    v1 = api.upload_file(path_or_fileobj=b"version 1", path_in_repo="file.txt", repo_id=repo_id).oid
    api.create_tag(repo_id, tag="v1.0", tag_message="first release")
    api.create_tag(repo_id, tag="light")
    api.create_branch(repo_id, branch="dev")
    api.upload_file(
        path_or_fileobj=b"version 2", path_in_repo="file.txt", repo_id=repo_id, revision="dev"
    )
    api.upload_file(path_or_fileobj=b"version 3", path_in_repo="file.txt", repo_id=repo_id)

    def read(revision: str) -> str:
        return Path(
            hf_hub_download(
                repo_id, "file.txt", revision=revision, endpoint=endpoint, cache_dir=hf_home
            )
        ).read_text()

    assert read("main") == "version 3"
    assert read("dev") == "version 2"
    assert read("v1.0") == "version 1"
    assert read("light") == "version 1"
    assert read(v1) == "version 1"
    refs = api.list_repo_refs(repo_id)
    assert {b.name for b in refs.branches} == {"main", "dev"}
    assert {t.name: t.target_commit for t in refs.tags} == {"v1.0": v1, "light": v1}
    with pytest.raises(HfHubHTTPError) as info:
        api.create_branch(repo_id, branch="dev")
    assert info.value.response.status_code == 409
    api.create_branch(repo_id, branch="dev", exist_ok=True)
    with pytest.raises(RevisionNotFoundError):
        read("no-such-branch")
    api.delete_branch(repo_id, branch="dev")
    api.delete_tag(repo_id, tag="light")
    refs = api.list_repo_refs(repo_id)
    assert [b.name for b in refs.branches] == ["main"]
    assert [t.name for t in refs.tags] == ["v1.0"]


def test_list_repo_commits_paginates(api: HfApi):
    repo_id = api.create_repo("history").repo_id
    for i in range(60):
        api.create_commit(
            repo_id,
            [CommitOperationAdd(f"f{i}.txt", str(i).encode())],
            commit_message=f"commit {i}",
        )
    commits = api.list_repo_commits(repo_id)
    assert len(commits) == 61
    assert commits[0].title == "commit 59" and commits[-1].title == "initial commit"
    assert all(c.authors == ["alice"] for c in commits)
    formatted = api.list_repo_commits(repo_id, formatted=True)
    assert formatted[0].formatted_title == "commit 59"


def test_tree_pagination_over_many_files(api: HfApi):
    repo_id = api.create_repo("many-files").repo_id
    operations = [CommitOperationAdd(f"data/{i:04d}.txt", f"{i}".encode()) for i in range(1200)]
    api.create_commit(repo_id, operations, commit_message="1200 files")
    files = api.list_repo_files(repo_id)
    assert len(files) == 1201
    expanded = list(api.list_repo_tree(repo_id, path_in_repo="data", expand=True))
    assert len(expanded) == 1200 and expanded[0].last_commit is not None


def test_create_pr_and_download_from_pr_ref(api: HfApi, hub, endpoint: str, hf_home: Path):
    repo_id = api.create_repo("pr-target").repo_id
    bob = HfApi(endpoint=endpoint, token=hub.tokens["bob"])
    commit = bob.create_commit(
        repo_id,
        [CommitOperationAdd("proposal.txt", b"please merge")],
        commit_message="Proposal",
        create_pr=True,
    )
    assert commit.pr_url == f"{endpoint}/{repo_id}/discussions/1"
    assert commit.pr_revision == "refs/pr/1"
    path = hf_hub_download(
        repo_id, "proposal.txt", revision="refs/pr/1", endpoint=endpoint, cache_dir=hf_home
    )
    assert Path(path).read_text() == "please merge"
    assert "proposal.txt" not in api.list_repo_files(repo_id)
    assert "proposal.txt" in api.list_repo_files(repo_id, revision="refs/pr/1")
    refs = api.list_repo_refs(repo_id, include_pull_requests=True)
    assert [p.ref for p in refs.pull_requests] == ["refs/pr/1"]
    details = api.get_discussion_details(repo_id, 1)
    assert details.is_pull_request and details.title == "Proposal" and details.author == "bob"
    api.merge_pull_request(repo_id, 1)
    assert "proposal.txt" in api.list_repo_files(repo_id)
    assert api.get_discussion_details(repo_id, 1).status == "merged"


def test_hf_file_system_ls_and_ranged_reads(model_repo: str, endpoint: str, hub, big_file: Path):
    from huggingface_hub import HfFileSystem

    fs = HfFileSystem(endpoint=endpoint, token=hub.tokens["alice"], skip_instance_cache=True)
    names = {Path(p["name"]).name for p in fs.ls(model_repo, detail=True)}
    assert {"config.json", "weights.bin", "docs"} <= names
    assert fs.info(f"{model_repo}/weights.bin")["size"] == big_file.stat().st_size
    with open(big_file, "rb") as handle:
        handle.seek(1_000_000)
        expected = handle.read(1234)
    with fs.open(f"{model_repo}/weights.bin", "rb", block_size=4096) as remote:
        remote.seek(1_000_000)
        assert remote.read(1234) == expected
    with fs.open(f"{model_repo}/docs/notes.txt", "rb") as remote:
        remote.seek(5)
        assert remote.read(5) == b"notes"
    assert fs.cat(f"{model_repo}/config.json") == b'{"model_type": "bert"}\n'


def test_multipart_lfs_transfer_on_the_wire(api: HfApi, hub, endpoint: str):
    """Above the threshold the batch answer carries part URLs; parts and completion need no auth."""
    import httpx

    repo_id = api.create_repo("multipart-wire").repo_id
    chunk = 16 * 1024 * 1024
    data = os.urandom(chunk * 2 + 12345)
    oid = hashlib.sha256(data).hexdigest()
    auth = {"Authorization": f"Bearer {hub.tokens['alice']}"}
    batch = httpx.post(
        f"{endpoint}/{repo_id}.git/info/lfs/objects/batch",
        json={
            "operation": "upload",
            "transfers": ["basic", "multipart"],
            "objects": [{"oid": oid, "size": len(data)}],
        },
        headers=auth,
    ).json()
    upload = batch["objects"][0]["actions"]["upload"]
    header = upload["header"]
    assert header["chunk_size"] == str(chunk)
    assert sorted(k for k in header if k != "chunk_size") == ["1", "2", "3"]
    if hub.bucket is None:  # a part of the wrong length is refused (a bucket takes any part:
        # the completion then refuses the object, tests/test_s3_storage.py)
        assert httpx.put(header["1"], content=data[:100]).status_code == 400
    etags = []
    for number in (1, 2, 3):
        response = httpx.put(
            header[str(number)], content=data[(number - 1) * chunk : number * chunk]
        )
        assert response.status_code == 200
        etags.append({"partNumber": number, "etag": response.headers["etag"]})
    incomplete = httpx.post(upload["href"], json={"oid": oid, "parts": etags[:2]})
    assert incomplete.status_code == 400
    done = httpx.post(upload["href"], json={"oid": oid, "parts": etags})
    assert done.status_code == 200, done.text
    verify = batch["objects"][0]["actions"]["verify"]["href"]
    assert httpx.post(verify, json={"oid": oid, "size": len(data)}, headers=auth).status_code == 200
    again = httpx.post(
        f"{endpoint}/{repo_id}.git/info/lfs/objects/batch",
        json={"operation": "upload", "objects": [{"oid": oid, "size": len(data)}]},
        headers=auth,
    ).json()
    assert "actions" not in again["objects"][0], "a stored object is not uploaded twice"
    download = httpx.post(
        f"{endpoint}/{repo_id}.git/info/lfs/objects/batch",
        json={"operation": "download", "objects": [{"oid": oid, "size": len(data)}]},
        headers=auth,
    ).json()["objects"][0]["actions"]["download"]["href"]
    fetched = httpx.get(download)
    assert fetched.status_code == 200 and hashlib.sha256(fetched.content).hexdigest() == oid
