"""The resolve cache (services/resolve_cache.py) never answers with what changed: every test
warms the server's cache with HEAD/GET of /resolve first, changes the repository, and reads
again at once. Changes are made through the server (commits, branches, tags, settings) and, as
another `hubstead serve` process on the same database and git folder would, from this process
(the service layer on the same database, git on the same bare repository)."""

from __future__ import annotations

import subprocess

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi

from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.hub import Hub
from hubstead.settings import Settings


@pytest.fixture(scope="module")
def alice(hub) -> HfApi:
    return HfApi(endpoint=hub.endpoint, token=hub.tokens["alice"])


@pytest.fixture(scope="module")
def other_process(hub):
    """What a second server process is to the first: its own hub objects, the same database
    and the same git folder."""
    other = Hub(Settings(data_dir=hub.data_dir, database_url=hub.database_url, secret_key="other"))
    yield other
    other.db.dispose()


def head(hub, repo: str, path: str, rev: str = "main", who: str | None = "alice"):
    headers = {"Authorization": f"Bearer {hub.tokens[who]}"} if who else {}
    return httpx.head(f"{hub.endpoint}/{repo}/resolve/{rev}/{path}", headers=headers)


def get(hub, repo: str, path: str, rev: str = "main") -> httpx.Response:
    headers = {"Authorization": f"Bearer {hub.tokens['alice']}"}
    # an LFS file on a bucket (the S3 pass) is a redirect to it; httpx drops the token there
    return httpx.get(
        f"{hub.endpoint}/{repo}/resolve/{rev}/{path}", headers=headers, follow_redirects=True
    )


def warm(hub, repo: str, path: str, rev: str = "main", times: int = 3) -> httpx.Response:
    for _ in range(times):
        answer = head(hub, repo, path, rev)
        # 302: an LFS file on a bucket (the S3 pass), its headers on the redirect
        on_bucket = hub.bucket is not None and "x-linked-size" in answer.headers
        assert answer.status_code == (302 if on_bucket else 200)
    return answer


def commit_file(api: HfApi, repo: str, path: str, data: bytes, branch: str = "main") -> str:
    info = api.create_commit(
        repo, [CommitOperationAdd(path, data)], commit_message=f"{path}", revision=branch
    )
    return info.oid


def test_a_commit_is_answered_at_once(hub, alice):
    repo = alice.create_repo("cache-commit").repo_id
    first = commit_file(alice, repo, "config.json", b'{"v": 1}')
    before = warm(hub, repo, "config.json")
    assert before.headers["x-repo-commit"] == first
    assert get(hub, repo, "config.json").content == b'{"v": 1}'
    second = commit_file(alice, repo, "config.json", b'{"v": 2, "more": true}')
    after = head(hub, repo, "config.json")
    assert after.headers["x-repo-commit"] == second
    assert after.headers["etag"] != before.headers["etag"]
    assert after.headers["content-length"] == str(len(b'{"v": 2, "more": true}'))
    assert get(hub, repo, "config.json").content == b'{"v": 2, "more": true}'


def test_an_lfs_file_changed_by_a_commit(hub, alice):
    repo = alice.create_repo("cache-lfs").repo_id
    commit_file(alice, repo, "weights.bin", b"\x00" * 300_000)
    before = warm(hub, repo, "weights.bin")
    commit_file(alice, repo, "weights.bin", b"\x01" * 400_000)
    after = head(hub, repo, "weights.bin")
    assert after.headers["x-linked-size"] == "400000"
    assert after.headers["x-linked-etag"] != before.headers["x-linked-etag"]
    assert get(hub, repo, "weights.bin").content == b"\x01" * 400_000


def test_a_branch_deleted_and_made_again(hub, alice):
    repo = alice.create_repo("cache-branch").repo_id
    commit_file(alice, repo, "a.txt", b"one")
    alice.create_branch(repo, branch="dev")
    on_dev = commit_file(alice, repo, "a.txt", b"two on dev", branch="dev")
    assert warm(hub, repo, "a.txt", "dev").headers["x-repo-commit"] == on_dev
    alice.delete_branch(repo, branch="dev")
    assert head(hub, repo, "a.txt", "dev").status_code == 404
    alice.create_branch(repo, branch="dev")  # from main again
    again = head(hub, repo, "a.txt", "dev")
    assert again.status_code == 200
    assert again.headers["x-repo-commit"] == alice.repo_info(repo).sha
    assert get(hub, repo, "a.txt", "dev").content == b"one"


def test_a_moved_tag(hub, alice):
    repo = alice.create_repo("cache-tag").repo_id
    first = commit_file(alice, repo, "a.txt", b"first")
    alice.create_tag(repo, tag="v1")
    assert warm(hub, repo, "a.txt", "v1").headers["x-repo-commit"] == first
    second = commit_file(alice, repo, "a.txt", b"second")
    alice.delete_tag(repo, tag="v1")
    alice.create_tag(repo, tag="v1", revision=second)
    assert head(hub, repo, "a.txt", "v1").headers["x-repo-commit"] == second
    assert get(hub, repo, "a.txt", "v1").content == b"second"


def test_a_repository_made_private_is_not_served_from_the_cache(hub, alice):
    repo = alice.create_repo("cache-private").repo_id
    commit_file(alice, repo, "a.txt", b"public for now")
    for who in (None, "bob", "alice"):  # cached for everyone
        assert head(hub, repo, "a.txt", who=who).status_code == 200
    alice.update_repo_settings(repo, private=True)
    assert head(hub, repo, "a.txt", who=None).status_code == 401
    missing = head(hub, repo, "a.txt", who="bob")
    assert missing.status_code == 404
    assert missing.headers["x-error-code"] == "RepoNotFound"
    assert head(hub, repo, "a.txt", who="alice").status_code == 200


def test_a_private_repositorys_cached_entry_is_not_served_to_others(hub, alice):
    repo = alice.create_repo("cache-secret", private=True).repo_id
    commit_file(alice, repo, "a.txt", b"secret")
    warm(hub, repo, "a.txt")
    nowhere = head(hub, "alice/no-such-repo", "a.txt", who="bob")
    refused = head(hub, repo, "a.txt", who="bob")
    assert refused.status_code == nowhere.status_code == 404
    assert refused.headers["x-error-code"] == nowhere.headers["x-error-code"]
    assert "x-repo-commit" not in refused.headers
    assert head(hub, repo, "a.txt", who=None).status_code == 401


def test_a_renamed_repository(hub, alice):
    repo = alice.create_repo("cache-old-name").repo_id
    commit_file(alice, repo, "a.txt", b"x")
    warm(hub, repo, "a.txt")
    alice.move_repo(repo, "alice/cache-new-name")
    moved = head(hub, repo, "a.txt")
    assert moved.status_code == 307
    assert head(hub, "alice/cache-new-name", "a.txt").status_code == 200


def test_a_ref_moved_by_another_process(hub, alice):
    """git itself (a push through another process, or its receive-pack) moves the ref: the
    server resolves refs on every request, so it answers the new commit at once."""
    repo = alice.create_repo("cache-oob-ref").repo_id
    first = commit_file(alice, repo, "a.txt", b"first")
    second = commit_file(alice, repo, "a.txt", b"second, longer")
    assert warm(hub, repo, "a.txt").headers["x-repo-commit"] == second
    row = _row(hub, repo)
    git_dir = hub.data_dir / "repos" / row[:2] / f"{row}.git"
    subprocess.run(
        ["git", "--git-dir", str(git_dir), "update-ref", "refs/heads/main", first, second],
        check=True,
    )
    after = head(hub, repo, "a.txt")
    assert after.headers["x-repo-commit"] == first
    assert after.headers["content-length"] == str(len(b"first"))
    assert get(hub, repo, "a.txt").content == b"first"


def test_visibility_changed_by_another_process(hub, alice, other_process):
    repo = alice.create_repo("cache-oob-private").repo_id
    commit_file(alice, repo, "a.txt", b"public for now")
    assert head(hub, repo, "a.txt", who="bob").status_code == 200
    assert head(hub, repo, "a.txt", who="bob").status_code == 200
    admin = other_process.accounts.authenticate(hub.tokens["alice"])
    handle = other_process.repos.get(RepoType.MODEL, RepoId.parse(repo), admin, "admin")
    other_process.repos.update_settings(handle, True, None, by=admin)
    assert head(hub, repo, "a.txt", who="bob").status_code == 404
    assert head(hub, repo, "a.txt", who=None).status_code == 401
    other_process.repos.update_settings(handle, False, "manual", by=admin)
    gated = head(hub, repo, "a.txt", who="bob")
    assert gated.status_code == 403
    assert gated.headers["x-error-code"] == "GatedRepo"


def test_a_repository_deleted_by_another_process(hub, alice, other_process):
    repo = alice.create_repo("cache-oob-delete").repo_id
    commit_file(alice, repo, "a.txt", b"soon gone")
    warm(hub, repo, "a.txt")
    admin = other_process.accounts.authenticate(hub.tokens["alice"])
    other_process.repos.delete(admin, RepoType.MODEL, RepoId.parse(repo))
    assert head(hub, repo, "a.txt").status_code == 404


def _row(hub, repo: str) -> str:
    """The repository's storage key (its git folder's name), read from the shared database."""
    other = Hub(Settings(data_dir=hub.data_dir, database_url=hub.database_url, secret_key="x"))
    try:
        principal = other.accounts.authenticate(hub.tokens["alice"])
        return other.repos.get(RepoType.MODEL, RepoId.parse(repo), principal).row.storage_key
    finally:
        other.db.dispose()
