"""History and storage operations through the real client: super-squash, LFS files (listing,
permanent deletion, cross-repository duplication), copies, PRs and tags on exact revisions, and
folder deletions named without their trailing slash."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationCopy,
    CommitOperationDelete,
    HfApi,
    hf_hub_download,
)
from huggingface_hub.errors import (
    BadRequestError,
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from helpers import run_xet_scenario, stored_sizes
from hubstead.domain.hashing import sha256_hex


@pytest.fixture(scope="module")
def bob(hub) -> HfApi:
    return HfApi(endpoint=hub.endpoint, token=hub.tokens["bob"])


@pytest.fixture(scope="module")
def alice_read(hub) -> HfApi:
    return HfApi(endpoint=hub.endpoint, token=hub.tokens["alice_read"])


def read(api: HfApi, repo_id: str, filename: str, home: Path, revision: str | None = None) -> bytes:
    return Path(
        hf_hub_download(
            repo_id,
            filename,
            revision=revision,
            cache_dir=home / "cache",
            token=api.token,
            endpoint=api.endpoint,
        )
    ).read_bytes()


def snapshot(api: HfApi, repo_id: str, home: Path, revision: str | None = None) -> dict[str, bytes]:
    return {
        path: read(api, repo_id, path, home, revision)
        for path in api.list_repo_files(repo_id, revision=revision)
    }


def status_of(error: pytest.ExceptionInfo) -> int:
    return error.value.response.status_code


def is_stored(hub, oid: str) -> bool:
    """Whether the blob store (the data folder, or the bucket on the S3 pass) holds `oid`."""
    return oid in stored_sizes(hub, "sha256")


def run_gc(hub) -> str:
    env = {**os.environ, **{k: v for k, v in hub.server_env().items() if k.startswith("HUBSTEAD_")}}
    result = subprocess.run(
        [sys.executable, "-m", "hubstead", "gc", "--grace-seconds", "0"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


# -- super-squash -----------------------------------------------------------------------------


def test_super_squash_main_then_branch_keeps_every_file(api: HfApi, hf_home: Path):
    repo_id = api.create_repo("squash-branches").repo_id
    api.upload_file(repo_id=repo_id, path_in_repo="file.txt", path_or_fileobj=b"content")
    api.upload_file(repo_id=repo_id, path_in_repo="lfs.bin", path_or_fileobj=b"content")
    api.upload_file(repo_id=repo_id, path_in_repo="file.txt", path_or_fileobj=b"another_content")
    api.create_branch(repo_id=repo_id, branch="v0.1")
    api.upload_file(
        repo_id=repo_id, path_in_repo="file.txt", path_or_fileobj=b"foo", revision="v0.1"
    )
    before = snapshot(api, repo_id, hf_home)
    tree_before = {
        e.path: e.blob_id
        for e in api.list_repo_tree(repo_id, recursive=True)
        if hasattr(e, "blob_id")
    }

    api.super_squash_history(repo_id=repo_id)

    main = api.list_repo_commits(repo_id, revision="main")
    assert [c.title for c in main] == ["Super-squash branch 'main' using huggingface_hub"]
    assert main[0].authors == ["alice"]
    assert (
        snapshot(api, repo_id, hf_home / "after")
        == before
        == {
            ".gitattributes": before[".gitattributes"],
            "file.txt": b"another_content",
            "lfs.bin": b"content",
        }
    )
    tree_after = {
        e.path: e.blob_id
        for e in api.list_repo_tree(repo_id, recursive=True)
        if hasattr(e, "blob_id")
    }
    assert tree_after == tree_before  # the same tree: same blobs, same LFS pointers
    branch = api.list_repo_commits(repo_id, revision="v0.1")
    assert len(branch) == 5 and branch[-1].title == "initial commit"

    api.super_squash_history(repo_id=repo_id, branch="v0.1", commit_message="Fresh start")
    squashed = api.list_repo_commits(repo_id, revision="v0.1")
    assert [c.title for c in squashed] == ["Fresh start"]
    assert read(api, repo_id, "file.txt", hf_home / "branch", revision="v0.1") == b"foo"
    refs = api.list_repo_refs(repo_id)
    assert {b.name: b.target_commit for b in refs.branches} == {
        "main": main[0].commit_id,
        "v0.1": squashed[0].commit_id,
    }


def test_super_squash_a_pull_request_ref(api: HfApi, hf_home: Path):
    repo_id = api.create_repo("squash-pr").repo_id
    pr = api.create_pull_request(repo_id=repo_id, title="Squash me")
    for path, content in (
        ("file.txt", b"content"),
        ("lfs.bin", b"content"),
        ("file.txt", b"another_content"),
    ):
        api.upload_file(
            repo_id=repo_id, path_in_repo=path, path_or_fileobj=content, revision=pr.git_reference
        )
    api.super_squash_history(repo_id=repo_id, branch=pr.git_reference)
    commits = api.list_repo_commits(repo_id, revision=pr.git_reference)
    assert [c.title for c in commits] == [
        f"Super-squash branch '{pr.git_reference}' using huggingface_hub"
    ]
    assert read(api, repo_id, "file.txt", hf_home, revision=pr.git_reference) == b"another_content"
    assert len(api.list_repo_commits(repo_id)) == 1  # main untouched


def test_super_squash_errors(api: HfApi, bob: HfApi, alice_read: HfApi):
    repo_id = api.create_repo("squash-errors").repo_id
    api.create_tag(repo_id, tag="v1")
    with pytest.raises(RevisionNotFoundError):
        api.super_squash_history(repo_id=repo_id, branch="missing")
    with pytest.raises(BadRequestError):
        api.super_squash_history(repo_id=repo_id, branch="v1")  # a tag, not a branch
    with pytest.raises(BadRequestError):
        api.super_squash_history(repo_id=repo_id, branch="refs/tags/v1")
    with pytest.raises(HfHubHTTPError) as error:
        alice_read.super_squash_history(repo_id=repo_id)
    assert status_of(error) == 403
    with pytest.raises(HfHubHTTPError) as error:
        bob.super_squash_history(repo_id=repo_id)  # public repo of someone else
    assert status_of(error) == 403
    org_repo = api.create_repo("acme/squash-org").repo_id
    with pytest.raises(HfHubHTTPError) as error:
        bob.super_squash_history(repo_id=org_repo)  # read-only member
    assert status_of(error) == 403
    private = api.create_repo("squash-private", private=True).repo_id
    with pytest.raises(RepositoryNotFoundError):
        bob.super_squash_history(repo_id=private)
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=api.endpoint, token=False).super_squash_history(repo_id=private)
    assert [c.title for c in api.list_repo_commits(repo_id)] == ["initial commit"]


def race_commits(api: HfApi, repo_id: str, commits: int, other, at: int) -> None:
    """Upload `commits` files f{n}.txt from as many threads while `other` (a history rewrite)
    runs in one more thread, started after the first `at` of them; every call must succeed."""
    errors: list[BaseException] = []

    def guarded(call, *args) -> None:
        try:
            call(*args)
        except BaseException as exc:  # reported below
            errors.append(exc)

    def commit(number: int) -> None:
        api.upload_file(
            repo_id=repo_id, path_in_repo=f"f{number}.txt", path_or_fileobj=f"n{number}".encode()
        )

    threads = [threading.Thread(target=guarded, args=(commit, n)) for n in range(commits)]
    threads.insert(at, threading.Thread(target=guarded, args=(other,)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_super_squash_never_loses_a_concurrent_commit(api: HfApi, hf_home: Path):
    """Commits racing squashes all keep their files: a squash that loses the compare-and-swap
    squashes the new head instead, and commits rebuild on the squashed head."""
    repo_id = api.create_repo("squash-race").repo_id

    def squash() -> None:
        for _ in range(4):
            api.super_squash_history(repo_id=repo_id)

    race_commits(api, repo_id, 12, squash, at=12)
    files = snapshot(api, repo_id, hf_home)
    assert {path: content for path, content in files.items() if path != ".gitattributes"} == {
        f"f{n}.txt": f"n{n}".encode() for n in range(12)
    }


# -- LFS files --------------------------------------------------------------------------------


def test_list_and_permanently_delete_lfs_files(hub, api: HfApi, hf_home: Path):
    """As the Hub's own test: objects listed with their file and ref; deleting those of main
    rewrites history without their pointers, the branch's object stays."""
    repo_id = api.create_repo("lfs-files").repo_id
    contents = {"lfs_file.bin": b"LFS content", "lfs_file_2.bin": b"LFS content 2"}
    for path, content in [*contents.items(), ("txt_file.txt", b"TXT content")]:
        api.upload_file(path_or_fileobj=content, path_in_repo=path, repo_id=repo_id)
    api.create_branch(repo_id=repo_id, branch="my-branch")
    api.upload_file(
        path_or_fileobj=b"LFS content branch",
        path_in_repo="lfs_file_branch.bin",
        repo_id=repo_id,
        revision="my-branch",
    )
    commits_before = len(api.list_repo_commits(repo_id))

    files = list(api.list_lfs_files(repo_id))
    assert {(f.filename, f.ref, f.size, f.file_oid) for f in files} == {
        ("lfs_file.bin", "refs/heads/main", 11, sha256_hex(b"LFS content")),
        ("lfs_file_2.bin", "refs/heads/main", 13, sha256_hex(b"LFS content 2")),
        ("lfs_file_branch.bin", "refs/heads/my-branch", 18, sha256_hex(b"LFS content branch")),
    }
    assert all(f.oid == f.file_oid and f.pushed_at.tzinfo is not None for f in files)

    on_main = [f for f in files if f.ref in ("main", "refs/heads/main")]
    api.permanently_delete_lfs_files(repo_id=repo_id, lfs_files=on_main)

    assert [f.filename for f in api.list_lfs_files(repo_id)] == ["lfs_file_branch.bin"]
    assert set(api.list_repo_files(repo_id)) == {".gitattributes", "txt_file.txt"}
    with pytest.raises(EntryNotFoundError):
        api.hf_hub_download(repo_id=repo_id, filename="lfs_file.bin", cache_dir=hf_home)
    # every ref was rewritten (the branch held them too), commits and messages kept
    assert set(api.list_repo_files(repo_id, revision="my-branch")) == {
        ".gitattributes",
        "txt_file.txt",
        "lfs_file_branch.bin",
    }
    assert (
        read(api, repo_id, "lfs_file_branch.bin", hf_home, revision="my-branch")
        == b"LFS content branch"
    )
    assert len(api.list_repo_commits(repo_id)) == commits_before
    assert api.list_repo_commits(repo_id)[-2].title == "Upload lfs_file.bin with huggingface_hub"
    # the bytes are freed by gc once no repository links them
    doomed = [f.file_oid for f in on_main]
    assert all(is_stored(hub, oid) for oid in doomed)
    run_gc(hub)
    assert not any(is_stored(hub, oid) for oid in doomed)
    assert is_stored(hub, sha256_hex(b"LFS content branch"))


def git_dir_with_ref(hub, ref: str) -> Path:
    """The bare repository holding `ref` (a name unique to one test)."""
    for path in (hub.data_dir / "repos").glob("*/*.git"):
        if (
            subprocess.run(
                ["git", "--git-dir", str(path), "rev-parse", "--verify", "-q", ref],
                capture_output=True,
            ).returncode
            == 0
        ):
            return path
    raise AssertionError(f"no repository has {ref}")


def test_rewriting_history_keeps_tags_and_drops_emptied_folders(hub, api: HfApi, hf_home: Path):
    repo_id = api.create_repo("lfs-rewrite-tags").repo_id
    api.create_commit(
        repo_id,
        [
            CommitOperationAdd("ckpt/step1.bin", b"checkpoint 1"),
            CommitOperationAdd("keep.bin", b"keep me"),
            CommitOperationAdd("README.md", b"---\nlicense: mit\n---\n# card\n"),
        ],
        commit_message="files",
    )
    api.create_tag(repo_id, tag="scrub-annotated", tag_message="Release one\n\nwith notes")
    api.create_tag(repo_id, tag="scrub-light")
    api.upload_file(path_or_fileobj=b"checkpoint 2", path_in_repo="ckpt/step2.bin", repo_id=repo_id)
    doomed = [f for f in api.list_lfs_files(repo_id) if f.filename.startswith("ckpt/")]
    assert len(doomed) == 2

    api.permanently_delete_lfs_files(repo_id, doomed)

    expected = {".gitattributes", "README.md", "keep.bin"}
    for revision in ("main", "scrub-annotated", "scrub-light"):
        assert set(api.list_repo_files(repo_id, revision=revision)) == expected
        assert "ckpt" not in {e.path for e in api.list_repo_tree(repo_id, revision=revision)}
    assert read(api, repo_id, "keep.bin", hf_home, revision="scrub-annotated") == b"keep me"
    git_dir = git_dir_with_ref(hub, "refs/tags/scrub-annotated")
    tag = subprocess.run(
        ["git", "--git-dir", str(git_dir), "cat-file", "-p", "refs/tags/scrub-annotated"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "tag scrub-annotated\ntagger alice" in tag and tag.endswith(
        "Release one\n\nwith notes\n"
    )
    fsck = subprocess.run(
        ["git", "--git-dir", str(git_dir), "fsck", "--no-dangling"], capture_output=True, text=True
    )
    assert fsck.returncode == 0, fsck.stderr
    titles = [c.title for c in api.list_repo_commits(repo_id)]
    assert titles == ["Upload ckpt/step2.bin with huggingface_hub", "files", "initial commit"]


def test_rewriting_history_keeps_concurrent_commits(api: HfApi, hf_home: Path):
    repo_id = api.create_repo("lfs-rewrite-race").repo_id
    api.upload_file(path_or_fileobj=b"to be deleted", path_in_repo="doomed.bin", repo_id=repo_id)
    doomed = list(api.list_lfs_files(repo_id))
    race_commits(api, repo_id, 10, lambda: api.permanently_delete_lfs_files(repo_id, doomed), at=5)
    files = snapshot(api, repo_id, hf_home)
    assert {path: content for path, content in files.items() if path != ".gitattributes"} == {
        f"f{n}.txt": f"n{n}".encode() for n in range(10)
    }
    assert len(api.list_repo_commits(repo_id)) == 12


def test_a_pointer_never_reaches_another_repositorys_object(
    hub, api: HfApi, bob: HfApi, hf_home: Path
):
    """A pointer committed as a regular file, naming an object of someone else's private repo,
    does not make its bytes downloadable."""
    secret = api.create_repo("pointer-secret", private=True).repo_id
    api.upload_file(
        path_or_fileobj=b"alice's private weights", path_in_repo="w.bin", repo_id=secret
    )
    oid = sha256_hex(b"alice's private weights")
    theirs = bob.create_repo("pointer-thief").repo_id
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize 23\n".encode()
    bob.create_commit(
        theirs, [CommitOperationAdd("stolen.txt", pointer)], commit_message="a pointer as a file"
    )
    with pytest.raises(EntryNotFoundError):
        bob.hf_hub_download(theirs, "stolen.txt", cache_dir=hf_home)


def test_delete_without_rewriting_history(hub, api: HfApi, hf_home: Path, tmp_path: Path):
    """The pointer stays in the tree and its download fails cleanly; the object cannot be
    committed again without uploading its bytes, and uploading them makes it whole again."""
    repo_id = api.create_repo("lfs-no-rewrite").repo_id
    api.upload_file(path_or_fileobj=b"weights v1", path_in_repo="weights.bin", repo_id=repo_id)
    head = api.list_repo_commits(repo_id)[0].commit_id
    [item] = api.list_lfs_files(repo_id)
    api.permanently_delete_lfs_files(repo_id, [item], rewrite_history=False)

    assert list(api.list_lfs_files(repo_id)) == []
    assert api.list_repo_commits(repo_id)[0].commit_id == head
    assert "weights.bin" in api.list_repo_files(repo_id)
    with pytest.raises(EntryNotFoundError):
        api.hf_hub_download(repo_id, "weights.bin", cache_dir=hf_home)
    with pytest.raises(EntryNotFoundError):
        api.hf_hub_download(repo_id, "weights.bin", revision=head, cache_dir=hf_home)
    with pytest.raises(BadRequestError, match="was not uploaded to this repository"):
        api.create_commit(
            repo_id, [CommitOperationCopy("weights.bin", "copy.bin")], commit_message="copy"
        )
    api.upload_file(path_or_fileobj=b"weights v1", path_in_repo="again.bin", repo_id=repo_id)
    assert read(api, repo_id, "weights.bin", tmp_path) == b"weights v1"


def test_an_object_deleted_from_one_repository_stays_in_another(
    hub, api: HfApi, bob: HfApi, hf_home: Path
):
    mine = api.create_repo("lfs-shared-a").repo_id
    theirs = bob.create_repo("lfs-shared-b").repo_id
    api.upload_file(path_or_fileobj=b"shared bytes", path_in_repo="shared.bin", repo_id=mine)
    bob.upload_file(path_or_fileobj=b"shared bytes", path_in_repo="shared.bin", repo_id=theirs)
    api.permanently_delete_lfs_files(mine, list(api.list_lfs_files(mine)))
    run_gc(hub)
    assert is_stored(hub, sha256_hex(b"shared bytes"))
    assert read(bob, theirs, "shared.bin", hf_home) == b"shared bytes"
    assert [f.filename for f in bob.list_lfs_files(theirs)] == ["shared.bin"]


def test_lfs_files_pages_and_unreachable_objects(hub, api: HfApi):
    """Pages follow `Link`; an object no ref reaches any more (squashed away) has no ref."""
    repo_id = api.create_repo("lfs-pages").repo_id
    for number in range(3):
        api.upload_file(
            path_or_fileobj=f"version {number}".encode(), path_in_repo="model.bin", repo_id=repo_id
        )
    api.super_squash_history(repo_id=repo_id)
    headers = {"Authorization": f"Bearer {hub.tokens['alice']}"}
    url, seen = f"{hub.endpoint}/api/models/{repo_id}/lfs-files?limit=2", []
    while url:
        response = httpx.get(url, headers=headers)
        response.raise_for_status()
        seen.append(response.json())
        url = response.links.get("next", {}).get("url")
    assert [len(page) for page in seen] == [2, 1]
    items = {item["oid"]: item for page in seen for item in page}
    assert items[sha256_hex(b"version 2")]["filename"] == "model.bin"
    assert items[sha256_hex(b"version 2")]["ref"] == "refs/heads/main"
    assert {
        (
            items[sha256_hex(f"version {n}".encode())]["filename"],
            items[sha256_hex(f"version {n}".encode())]["ref"],
        )
        for n in (0, 1)
    } == {("", None)}
    assert len(list(api.list_lfs_files(repo_id))) == 3
    bad = httpx.get(f"{hub.endpoint}/api/models/{repo_id}/lfs-files?cursor=nope", headers=headers)
    assert bad.status_code == 400


def test_lfs_files_access(hub, api: HfApi, bob: HfApi, alice_read: HfApi):
    repo_id = api.create_repo("lfs-access").repo_id
    api.upload_file(path_or_fileobj=b"secret weights", path_in_repo="w.bin", repo_id=repo_id)
    files = list(api.list_lfs_files(repo_id))
    for caller in (alice_read, bob):
        with pytest.raises(HfHubHTTPError) as error:
            list(caller.list_lfs_files(repo_id))
        assert status_of(error) == 403
        with pytest.raises(HfHubHTTPError) as error:
            caller.permanently_delete_lfs_files(repo_id, files)
        assert status_of(error) == 403
    org_repo = api.create_repo("acme/lfs-org").repo_id
    with pytest.raises(HfHubHTTPError) as error:
        list(bob.list_lfs_files(org_repo))
    assert status_of(error) == 403
    private = api.create_repo("lfs-private", private=True).repo_id
    with pytest.raises(RepositoryNotFoundError):
        list(bob.list_lfs_files(private))
    with pytest.raises(RepositoryNotFoundError):
        bob.permanently_delete_lfs_files(private, files)
    assert [f.filename for f in api.list_lfs_files(repo_id)] == ["w.bin"]
    headers = {"Authorization": f"Bearer {hub.tokens['alice']}"}
    url = f"{hub.endpoint}/api/models/{repo_id}/lfs-files/batch"
    for body in (
        {},
        {"deletions": {"sha": ["nope"]}},
        {"deletions": {"sha": [], "rewriteHistory": "yes"}},
    ):
        assert httpx.post(url, json=body, headers=headers).status_code == 400


# -- copies -----------------------------------------------------------------------------------


def test_copy_from_an_earlier_revision(api: HfApi, hf_home: Path):
    """`src_revision`: the client reads paths-info at that revision and copies the LFS object
    (lfsFile without size) or downloads and re-sends the regular file."""
    repo_id = api.create_repo("copy-revision").repo_id
    first = api.create_commit(
        repo_id,
        [CommitOperationAdd("model.bin", b"weights v1"), CommitOperationAdd("notes.txt", b"v1")],
        commit_message="v1",
    )
    api.create_commit(
        repo_id,
        [CommitOperationAdd("model.bin", b"weights v2"), CommitOperationAdd("notes.txt", b"v2")],
        commit_message="v2",
    )
    api.create_commit(
        repo_id,
        [
            CommitOperationCopy("model.bin", "old/model.bin", src_revision=first.oid),
            CommitOperationCopy("notes.txt", "old/notes.txt", src_revision=first.oid),
        ],
        commit_message="restore v1 beside v2",
    )
    files = snapshot(api, repo_id, hf_home)
    assert files["old/model.bin"] == b"weights v1" and files["model.bin"] == b"weights v2"
    assert files["old/notes.txt"] == b"v1" and files["notes.txt"] == b"v2"
    infos = {i.path: i for i in api.get_paths_info(repo_id, ["old/model.bin", "old/notes.txt"])}
    assert infos["old/model.bin"].lfs.sha256 == sha256_hex(b"weights v1")
    assert infos["old/notes.txt"].lfs is None


def test_copy_across_repositories(hub, api: HfApi, bob: HfApi, hf_home: Path):
    """Regular files are downloaded and re-sent by the client (read access to the source is all
    it takes); an LFS file uploaded through LFS has no Xet hash, which the client requires."""
    source = bob.create_repo("copy-source").repo_id
    bob.create_commit(
        source,
        [
            CommitOperationAdd("config.json", b'{"a": 1}'),
            CommitOperationAdd("w.bin", b"bob's weights"),
        ],
        commit_message="files",
    )
    target = api.create_repo("copy-target").repo_id
    api.create_commit(
        target,
        [
            CommitOperationCopy(
                "config.json", "config.json", src_repo_id=source, src_repo_type="model"
            )
        ],
        commit_message="copy config",
    )
    assert read(api, target, "config.json", hf_home) == b'{"a": 1}'
    with pytest.raises(ValueError, match="no xet hash"):
        api.create_commit(
            target,
            [CommitOperationCopy("w.bin", "w.bin", src_repo_id=source, src_repo_type="model")],
            commit_message="copy weights",
        )
    private = bob.create_repo("copy-private", private=True).repo_id
    with pytest.raises(RepositoryNotFoundError):
        api.create_commit(
            target,
            [CommitOperationCopy("x", "x", src_repo_id=private, src_repo_type="model")],
            commit_message="copy from a private repo",
        )


def test_cross_repository_copy_of_a_xet_file(hub, api: HfApi, tmp_path: Path):
    """A source file stored through Xet has a Xet hash: the client asks the source to duplicate
    the object into the target (`lfs-files/duplicate`), then commits its pointer there."""
    source = api.create_repo("xet-copy-source").repo_id
    target = api.create_repo("acme/xet-copy-target").repo_id
    data = os.urandom(300_000)
    (tmp_path / "w.bin").write_bytes(data)
    run_xet_scenario(
        hub,
        "upload_file",
        tmp_path / "home",
        timeout=300,
        path=str(tmp_path / "w.bin"),
        path_in_repo="w.bin",
        repo=source,
    )
    [info] = api.get_paths_info(source, ["w.bin"])
    assert info.xet_hash is not None

    api.create_commit(
        target,
        [CommitOperationCopy("w.bin", "copied.bin", src_repo_id=source, src_repo_type="model")],
        commit_message="copy from another repository",
    )
    assert read(api, target, "copied.bin", tmp_path) == data
    assert [(f.filename, f.size) for f in api.list_lfs_files(target)] == [("copied.bin", len(data))]


def test_duplicate_needs_the_source_and_an_uploadable_target(hub, api: HfApi, bob: HfApi):
    """Linking an object to another repository needs read access to a source that holds it and
    an upload right on the target: a known hash alone never reaches someone else's bytes."""
    secret = api.create_repo("dup-secret", private=True).repo_id
    api.upload_file(path_or_fileobj=b"alice's secret weights", path_in_repo="s.bin", repo_id=secret)
    oid = sha256_hex(b"alice's secret weights")
    public = api.create_repo("dup-public").repo_id
    mine = bob.create_repo("dup-bobs").repo_id

    def duplicate(token: str, source: str, target: str) -> httpx.Response:
        return httpx.post(
            f"{hub.endpoint}/api/models/{source}/lfs-files/duplicate",
            headers={"Authorization": f"Bearer {hub.tokens[token]}"},
            json={
                "target": {"type": "model", "name": target},
                "files": [{"sha256": oid, "xetHash": None, "filename": "s.bin"}],
            },
        )

    assert duplicate("bob", secret, mine).status_code == 404  # cannot read the source
    answer = duplicate("bob", public, mine)  # a readable source that does not hold the object
    assert answer.status_code == 200 and [f["sha256"] for f in answer.json()["failed"]] == [oid]
    assert (
        _commit_lfs_pointer(hub, "bob", mine, oid).status_code == 400
    )  # still not his to reference
    assert duplicate("alice", secret, "acme/does-not-exist").status_code == 404
    assert duplicate("bob", public, secret).status_code == 404  # a target he cannot see
    assert duplicate("alice_read", secret, public).status_code == 403  # a read token cannot upload
    ok = duplicate("alice", secret, public)
    assert ok.status_code == 200 and ok.json() == {"failed": []}
    assert [f.file_oid for f in api.list_lfs_files(public)] == [oid]


def _commit_lfs_pointer(hub, token: str, repo_id: str, oid: str) -> httpx.Response:
    """Commit an `lfsFile` line naming `oid`, exactly as a copy does (no size)."""
    lines = [
        {"key": "header", "value": {"summary": "point at it", "description": ""}},
        {"key": "lfsFile", "value": {"path": "s.bin", "algo": "sha256", "oid": oid}},
    ]
    return httpx.post(
        f"{hub.endpoint}/api/models/{repo_id}/commit/main",
        content="\n".join(json.dumps(line) for line in lines),
        headers={
            "Authorization": f"Bearer {hub.tokens[token]}",
            "Content-Type": "application/x-ndjson",
        },
    )


# -- pull requests and tags on exact revisions ------------------------------------------------


def test_pull_request_needs_an_existing_branch(api: HfApi):
    repo_id = api.create_repo("pr-base").repo_id
    api.create_branch(repo_id, branch="test_branch")
    head = api.list_repo_refs(repo_id).branches[0].target_commit

    def ops() -> list[CommitOperationAdd]:
        return [CommitOperationAdd("file.txt", b"content"), CommitOperationAdd("w.bin", b"weights")]

    pr = api.create_commit(
        repo_id, ops(), commit_message="PR against a branch", revision="test_branch", create_pr=True
    )
    assert pr.pr_revision == "refs/pr/1"
    for revision in ("missing_branch", head):
        with pytest.raises(RevisionNotFoundError):
            api.create_commit(
                repo_id,
                ops(),
                commit_message=f"PR against {revision}",
                revision=revision,
                create_pr=True,
            )
    assert [d.num for d in api.get_repo_discussions(repo_id)] == [1]


def test_create_tag_on_commit_ids(api: HfApi):
    repo_id = api.create_repo("tags-on-commits", repo_type="dataset").repo_id
    first = api.create_commit(
        repo_id, [CommitOperationAdd("readme.md", b"a")], commit_message="one", repo_type="dataset"
    )
    second = api.create_commit(
        repo_id,
        [CommitOperationAdd("config.json", b"{}")],
        commit_message="two",
        repo_type="dataset",
    )
    api.create_tag(repo_id, tag="commit_1", revision=first.oid, repo_type="dataset")
    api.create_tag(
        repo_id,
        tag="commit_2",
        revision=second.oid[:7],
        repo_type="dataset",
        tag_message="short id",
    )
    assert api.dataset_info(repo_id, revision="commit_1").sha == first.oid
    assert api.dataset_info(repo_id, revision="commit_2").sha == second.oid
    with pytest.raises(RevisionNotFoundError):
        api.create_tag(
            repo_id, tag="invalid tag", revision="foobar", repo_type="dataset"
        )  # 404 before the name
    with pytest.raises(RevisionNotFoundError):
        api.create_tag(repo_id, tag="t", revision="0" * 40, repo_type="dataset")
    with pytest.raises(RevisionNotFoundError):
        api.create_tag(repo_id, tag="t", revision="deadbee", repo_type="dataset")
    with pytest.raises(HfHubHTTPError) as error:
        api.create_tag(repo_id, tag="invalid tag", repo_type="dataset")
    assert status_of(error) == 400
    with pytest.raises(HfHubHTTPError) as error:
        api.create_tag(repo_id, tag="commit_1", revision=second.oid, repo_type="dataset")
    assert status_of(error) == 409


# -- deleting folders -------------------------------------------------------------------------


def test_delete_a_folder_named_without_its_slash(api: HfApi):
    repo_id = api.create_repo("delete-folder").repo_id
    api.create_commit(
        repo_id,
        [
            CommitOperationAdd("1/file_1.md", b"data"),
            CommitOperationAdd("1/2/file.md", b"data"),
            CommitOperationAdd("2/file_3.md", b"data"),
            CommitOperationAdd("10.md", b"data"),
        ],
        commit_message="Init",
    )
    api.create_commit(
        repo_id, [CommitOperationDelete(path_in_repo="1")], commit_message="delete folder 1"
    )
    assert set(api.list_repo_files(repo_id)) == {".gitattributes", "2/file_3.md", "10.md"}
    api.create_commit(
        repo_id,
        [CommitOperationDelete(path_in_repo="2", is_folder=False)],
        commit_message="delete folder 2",
    )
    assert set(api.list_repo_files(repo_id)) == {".gitattributes", "10.md"}
    with pytest.raises(EntryNotFoundError, match="A file with this name doesn't exist"):
        api.create_commit(
            repo_id, [CommitOperationDelete(path_in_repo="missing.md")], commit_message="nothing"
        )
    with pytest.raises(EntryNotFoundError, match="A folder with this name doesn't exist"):
        api.create_commit(
            repo_id, [CommitOperationDelete(path_in_repo="missing/")], commit_message="nothing"
        )
    with pytest.raises(EntryNotFoundError):
        api.create_commit(
            repo_id,
            [CommitOperationDelete(path_in_repo="10.md/")],
            commit_message="a file as a folder",
        )
    assert len(api.list_repo_commits(repo_id)) == 4
