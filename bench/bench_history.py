"""Commit history pages (`GET /api/models/{id}/commits/main?p=N`) on a 2,000-commit repository.

In-process (the ASGI application called directly), so the numbers are the hub's own work. The
first request for a head commit walks its history once (the order is topological); later pages,
and the same pages for other clients, read only their own commits from the cached walk.

    .venv/bin/python bench/bench_history.py [commits]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import pygit2

from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.testing import InProcessHub


def build_history(hub: InProcessHub, commits: int) -> str:
    """`commits` commits on main, written straight into git (the API would take minutes)."""
    handle = hub.hub.repos.create(
        hub.principal("alice"), RepoType.MODEL, RepoId("alice", "long"), False
    )
    repo = pygit2.Repository(str(handle.git.path))
    parent = repo.references["refs/heads/main"].target
    for number in range(commits):
        index = pygit2.Index()
        index.read_tree(repo[parent].peel(pygit2.Tree))
        index.add(
            pygit2.IndexEntry(
                f"file-{number % 50}.txt",
                repo.create_blob(b"%d\n" % number),
                pygit2.GIT_FILEMODE_BLOB,
            )
        )
        author = pygit2.Signature("alice", "alice@example.com", 1_700_000_000 + number, 0)
        parent = repo.create_commit(
            None, author, author, f"commit {number}\n", index.write_tree(repo), [parent]
        )
    repo.references["refs/heads/main"].set_target(parent)
    hub.hub.repos.record_ref(handle.row.id, "refs/heads/main", str(parent))
    return str(parent)


def timed(client, url: str, runs: int) -> tuple[float, str]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.text
    return statistics.median(samples), response.headers["x-total-count"]


def previous_handler_ms(hub: InProcessHub, head: str, page: int, runs: int = 5) -> float:
    """What each page cost before: the whole log walked and described, the page kept."""
    git = hub.hub.repos.get(RepoType.MODEL, RepoId("alice", "long"), None).git
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        items, total = [], 0
        for index, info in enumerate(git.log(head)):
            total += 1
            if page * 50 <= index < page * 50 + 50:
                items.append(info)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main(commits: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        hub = InProcessHub(Path(folder))
        head = build_history(hub, commits)
        with hub.client("alice") as client:
            url = "/api/models/alice/long/commits/main"
            cold, total = timed(client, url, 1)
            print(f"{commits} commits (X-Total-Count {total})")
            print(f"  first page, history not walked yet: {cold:7.2f} ms")
            for page in (0, commits // 100, commits // 50 - 1):
                median, _ = timed(client, f"{url}?p={page}", 20)
                print(f"  page {page:3d} (50 commits), walked:     {median:7.2f} ms")
            hub.hub.git.histories._entries.clear()
            hub.hub.git.histories._size = 0
            median, _ = timed(client, f"{url}?p={commits // 50 - 1}", 1)
            print(f"  last page, cache emptied:          {median:7.2f} ms")
        print(
            f"  before (log walked per page, git layer only): {previous_handler_ms(hub, head, 20):7.2f} ms"
        )
        hub.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
