"""git and git-lfs against a live hub: clone, push, private repositories and the push policy."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from huggingface_hub import HfApi, hf_hub_download

if shutil.which("git-lfs") is None:  # never a silent skip: scripts/test installs git-lfs
    raise RuntimeError("git-lfs is required for these tests (scripts/test installs it)")


def git(
    env: dict[str, str], *args: str, cwd: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    result = subprocess.run(
        ["git", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )
    if check:
        assert result.returncode == 0, (
            f"git {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        )
    return result


def url(hub, repo_id: str, user: str | None = None) -> str:
    host = hub.endpoint.removeprefix("http://")
    if user is None:
        return f"http://{host}/{repo_id}"
    return f"http://{user}:{hub.tokens[user]}@{host}/{repo_id}"


@pytest.fixture(scope="module")
def published(api: HfApi) -> tuple[str, bytes]:
    repo_id = api.create_repo("cloneable").repo_id
    weights = os.urandom(300_000)
    api.upload_file(path_or_fileobj=b"# Cloneable\n", path_in_repo="README.md", repo_id=repo_id)
    api.upload_file(path_or_fileobj=weights, path_in_repo="model.safetensors", repo_id=repo_id)
    return repo_id, weights


def test_anonymous_clone_with_lfs_files(hub, published, git_env, tmp_path: Path):
    repo_id, weights = published
    target = tmp_path / "clone"
    git(git_env, "clone", url(hub, repo_id), str(target))
    assert (target / "README.md").read_text() == "# Cloneable\n"
    assert (target / "model.safetensors").read_bytes() == weights
    log = git(git_env, "log", "--format=%an %s", cwd=target).stdout.splitlines()
    assert log[-1] == "alice initial commit"


def test_push_commits_and_lfs_objects(hub, api: HfApi, git_env, tmp_path: Path):
    repo_id = api.create_repo("pushed").repo_id
    work = tmp_path / "work"
    git(git_env, "clone", url(hub, repo_id, "alice"), str(work))
    data = os.urandom(250_000)
    (work / "weights.bin").write_bytes(data)
    (work / "notes.md").write_text("pushed with git\n")
    git(git_env, "add", ".", cwd=work)
    git(git_env, "commit", "-m", "Push with git", cwd=work)
    git(git_env, "push", "origin", "main", cwd=work)
    head = git(git_env, "rev-parse", "HEAD", cwd=work).stdout.strip()
    info = api.model_info(repo_id)
    assert info.sha == head
    assert api.list_repo_commits(repo_id)[0].title == "Push with git"
    entry = api.get_paths_info(repo_id, ["weights.bin"])[0]
    assert entry.lfs is not None and entry.lfs.sha256 == hashlib.sha256(data).hexdigest()
    path = hf_hub_download(
        repo_id, "weights.bin", endpoint=hub.endpoint, cache_dir=tmp_path / "cache"
    )
    assert Path(path).read_bytes() == data
    # branches and tags can be pushed too, and show up in the API
    git(git_env, "tag", "v1", cwd=work)
    git(git_env, "push", "origin", "v1", "main:feature", cwd=work)
    refs = api.list_repo_refs(repo_id)
    assert {b.name for b in refs.branches} == {"main", "feature"} and [
        t.name for t in refs.tags
    ] == ["v1"]


def test_push_policy(hub, api: HfApi, git_env, tmp_path: Path):
    repo_id = api.create_repo("guarded-push").repo_id
    work = tmp_path / "work"
    git(git_env, "clone", url(hub, repo_id, "alice"), str(work))
    head = api.model_info(repo_id).sha
    refused = git(git_env, "push", "origin", "HEAD:refs/pr/7", cwd=work, check=False)
    assert refused.returncode != 0 and "no open pull request #7" in refused.stderr
    refused = git(git_env, "push", "origin", "HEAD:refs/notes/x", cwd=work, check=False)
    assert refused.returncode != 0 and "only branches, tags and pull requests" in refused.stderr
    refused = git(git_env, "push", "origin", ":main", cwd=work, check=False)
    assert refused.returncode != 0 and "default branch" in refused.stderr
    assert api.model_info(repo_id).sha == head
    assert api.list_repo_refs(repo_id, include_pull_requests=True).pull_requests == []


def test_a_pull_request_author_pushes_to_its_ref(hub, api: HfApi, git_env, tmp_path: Path):
    """As on the Hub: the author of a pull request (who may only read the repository) pushes
    commits to its refs/pr/N with git; branches stay closed to them; a merged one is closed."""
    repo_id = api.create_repo("pr-by-git").repo_id
    api.upload_file(path_or_fileobj=b"one\n", path_in_repo="notes.txt", repo_id=repo_id)
    bob = HfApi(endpoint=hub.endpoint, token=hub.tokens["bob"])
    pr = bob.create_pull_request(repo_id, title="Better notes")
    other = api.create_discussion(repo_id, title="Not bob's", pull_request=True)
    head = api.model_info(repo_id).sha
    work = tmp_path / "work"
    git(git_env, "clone", url(hub, repo_id, "bob"), str(work))
    (work / "notes.txt").write_text("one\ntwo\n")
    git(git_env, "commit", "-am", "Add a second line", cwd=work)
    refused = git(git_env, "push", "origin", "HEAD:main", cwd=work, check=False)
    assert refused.returncode != 0 and "you may not write to this repository" in refused.stderr
    refused = git(git_env, "push", "origin", f"HEAD:refs/pr/{other.num}", cwd=work, check=False)
    assert refused.returncode != 0 and f"no open pull request #{other.num}" in refused.stderr
    git(git_env, "push", "origin", f"HEAD:refs/pr/{pr.num}", cwd=work)
    assert api.model_info(repo_id).sha == head  # main untouched
    details = api.get_discussion_details(repo_id, pr.num)
    assert [event.summary for event in details.events if event.type == "commit"] == [
        "Add a second line"
    ]
    pushed = hf_hub_download(
        repo_id,
        "notes.txt",
        revision=pr.git_reference,
        endpoint=hub.endpoint,
        cache_dir=tmp_path / "cache",
    )
    assert Path(pushed).read_text() == "one\ntwo\n"
    api.merge_pull_request(repo_id, pr.num)
    merged = hf_hub_download(
        repo_id, "notes.txt", endpoint=hub.endpoint, cache_dir=tmp_path / "cache2"
    )
    assert Path(merged).read_text() == "one\ntwo\n"
    (work / "notes.txt").write_text("late\n")
    git(git_env, "commit", "-am", "Too late", cwd=work)
    refused = git(git_env, "push", "origin", f"HEAD:refs/pr/{pr.num}", cwd=work, check=False)
    assert refused.returncode != 0 and f"no open pull request #{pr.num}" in refused.stderr


def test_push_needs_write_access(hub, api: HfApi, git_env, tmp_path: Path):
    repo_id = api.create_repo("no-push").repo_id
    head = api.model_info(repo_id).sha
    work = tmp_path / "work"
    git(git_env, "clone", url(hub, repo_id), str(work))
    (work / "x.txt").write_text("x")
    git(git_env, "add", ".", cwd=work)
    git(git_env, "commit", "-m", "not allowed", cwd=work)
    for who in (None, "bob", "alice_read"):
        remote = url(hub, repo_id) if who is None else url(hub, repo_id, who)
        result = git(git_env, "push", remote, "main", cwd=work, check=False)
        assert result.returncode != 0, who
    assert api.model_info(repo_id).sha == head


def test_private_repositories_over_git(hub, api: HfApi, git_env, tmp_path: Path):
    repo_id = api.create_repo("private-git", private=True).repo_id
    api.upload_file(path_or_fileobj=b"secret", path_in_repo="secret.txt", repo_id=repo_id)
    for who in (None, "bob"):
        remote = url(hub, repo_id) if who is None else url(hub, repo_id, who)
        hidden = git(git_env, "clone", remote, str(tmp_path / f"hidden-{who}"), check=False)
        missing = git(
            git_env,
            "clone",
            remote.replace("private-git", "no-such-repo"),
            str(tmp_path / f"missing-{who}"),
            check=False,
        )
        assert hidden.returncode != 0 and missing.returncode != 0
        assert hidden.stderr.splitlines()[-1].replace(
            "private-git", "X"
        ) == missing.stderr.splitlines()[-1].replace("no-such-repo", "X")
    target = tmp_path / "mine"
    git(git_env, "clone", url(hub, repo_id, "alice"), str(target))
    assert (target / "secret.txt").read_text() == "secret"


def test_push_refuses_lfs_pointers_without_their_objects(
    hub, api: HfApi, published, git_env, tmp_path: Path
):
    """A pointer must name an object uploaded to this repository, with the size it says; else the
    push is refused and the repository stays as it was."""
    repo_id = api.create_repo("pointer-check").repo_id
    head = api.model_info(repo_id).sha
    work = tmp_path / "work"
    git(git_env, "clone", url(hub, repo_id, "alice"), str(work))
    _, weights = published  # uploaded to another repository: knowing its hash grants nothing here
    foreign = hashlib.sha256(weights).hexdigest()
    cases = {
        "never-uploaded": (hashlib.sha256(b"nobody sent this").hexdigest(), 16),
        "someone-elses": (foreign, len(weights)),
    }
    for label, (oid, size) in cases.items():
        (work / f"{label}.bin").write_text(
            f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n"
        )
        git(git_env, "add", f"{label}.bin", cwd=work)
        git(git_env, "commit", "-m", label, cwd=work)
        # --no-verify: skip git-lfs's own pre-push upload, so the hub sees what a careless client sends
        refused = git(git_env, "push", "--no-verify", "origin", "main", cwd=work, check=False)
        assert (
            refused.returncode != 0
            and f"{label}.bin: LFS object {oid} was not uploaded" in refused.stderr
        )
        assert api.model_info(repo_id).sha == head
        git(git_env, "reset", "--hard", "HEAD~1", cwd=work)
    # once uploaded here (through the API), the same pointer with a wrong size is refused, the right one lands
    api.upload_file(path_or_fileobj=weights, path_in_repo="weights.safetensors", repo_id=repo_id)
    git(git_env, "pull", "--rebase", "origin", "main", cwd=work)
    head = api.model_info(repo_id).sha
    (work / "copy.bin").write_text(
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{foreign}\nsize 12\n"
    )
    git(git_env, "add", "copy.bin", cwd=work)
    git(git_env, "commit", "-m", "wrong size", cwd=work)
    refused = git(git_env, "push", "--no-verify", "origin", "main", cwd=work, check=False)
    assert refused.returncode != 0 and f"but object {foreign} has {len(weights)}" in refused.stderr
    assert api.model_info(repo_id).sha == head
    (work / "copy.bin").write_text(
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{foreign}\nsize {len(weights)}\n"
    )
    git(git_env, "commit", "-a", "--amend", "-m", "right size", cwd=work)
    git(git_env, "push", "--no-verify", "origin", "main", cwd=work)
    assert api.model_info(repo_id).sha != head
