"""The locks that serialize ref changes across processes (`storage/locks.py`, issue 15), on the
backend of the run: advisory locks on PostgreSQL, flocks on SQLite. One holder at a time across
processes and threads, re-entrant in one thread, other keys free, and a holder killed with
SIGKILL leaves nothing held."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from hubstead.storage.locks import REPO_REFS, open_locks
from hubstead.testing import PostgresDatabase

BACKEND = os.environ.get("HUBSTEAD_TEST_BACKEND", "sqlite")
HOLDER = """
import sys
from pathlib import Path
from hubstead.storage.locks import open_locks
locks = open_locks(sys.argv[1], sys.argv[1].startswith("sqlite"), Path(sys.argv[2]))
with locks.hold(int(sys.argv[3]), int(sys.argv[4])):
    print("held", flush=True)
    sys.stdin.read()  # until the test closes it, or kills us
"""


@pytest.fixture
def where(tmp_path):
    """(database URL, data folder) of a fresh database of the run's backend."""
    if BACKEND == "postgresql":
        database = PostgresDatabase()
        yield database.url.replace("postgresql://", "postgresql+psycopg://", 1), tmp_path
        database.close()
    else:
        yield f"sqlite:///{tmp_path / 'hubstead.db'}", tmp_path


def _holder(where, key: int) -> subprocess.Popen:
    url, data_dir = where
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, str(data_dir), str(REPO_REFS), str(key)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "held"
    return process


def _taken_within(locks, key: int, seconds: float) -> threading.Event:
    """Start a thread that takes `key`; the event is set once it has it."""
    got = threading.Event()

    def take() -> None:
        with locks.hold(REPO_REFS, key):
            got.set()

    threading.Thread(target=take, daemon=True).start()
    got.wait(seconds)
    return got


def _locks(where):
    url, data_dir = where
    return open_locks(url, url.startswith("sqlite"), Path(data_dir))


def test_a_lock_held_by_another_process_waits_until_it_is_released(where):
    locks = _locks(where)
    holder = _holder(where, 7)
    try:
        waiting = _taken_within(locks, 7, 1.0)
        assert not waiting.is_set()  # another process holds it
        assert _taken_within(locks, 8, 10).is_set()  # another repository is free
        holder.stdin.close()
        assert waiting.wait(10)
    finally:
        holder.wait(10)
        locks.dispose()


def test_a_holder_killed_with_sigkill_leaves_the_lock_free(where):
    locks = _locks(where)
    holder = _holder(where, 9)
    try:
        waiting = _taken_within(locks, 9, 0.5)
        assert not waiting.is_set()
        os.kill(holder.pid, signal.SIGKILL)
        assert waiting.wait(10)
    finally:
        holder.wait(10)
        locks.dispose()


def test_threads_take_turns_and_one_thread_may_take_its_own_lock_again(where):
    locks = _locks(where)
    inside, overlaps = [0], []
    guard = threading.Lock()

    def work() -> None:
        for _ in range(5):
            with locks.hold(REPO_REFS, 1):
                with locks.hold(REPO_REFS, 1):  # re-entrant: no wait for itself
                    with guard:
                        inside[0] += 1
                        overlaps.append(inside[0])
                    time.sleep(0.01)
                    with guard:
                        inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    locks.dispose()
    assert len(overlaps) == 20 and max(overlaps) == 1


# -- git's lock files left by a killed git, while the other servers run on -----------------------


@pytest.fixture
def in_process(tmp_path):
    from hubstead.testing import InProcessHub

    hub = InProcessHub(tmp_path / "hub")
    yield hub
    hub.close()


def _commit(api_client, repo: str, path: str):
    import base64
    import json

    lines = [
        {"key": "header", "value": {"summary": f"add {path}", "description": ""}},
        {
            "key": "file",
            "value": {
                "path": path,
                "encoding": "base64",
                "content": base64.b64encode(b"x").decode(),
            },
        },
    ]
    return api_client.post(
        f"/api/models/{repo}/commit/main",
        content="\n".join(json.dumps(line) for line in lines),
        headers={"Content-Type": "application/x-ndjson"},
    )


def test_a_ref_lock_file_is_waited_out_then_removed_once_old(in_process):
    """A lock file in the way of a commit: a live git's goes within milliseconds and the commit
    lands after it; a killed git's never goes, and is removed once STALE_LOCK_SECONDS old, so
    the commit lands then (it used to be a 409 for two minutes after every crash)."""
    from hubstead.domain.repo_ids import RepoId, RepoType
    from hubstead.storage.gitrepo import STALE_LOCK_SECONDS

    hub = in_process.hub
    handle = hub.repos.create(
        in_process.principal("alice"), RepoType.MODEL, RepoId("alice", "locked"), False
    )
    lock = handle.git.path / "refs" / "heads" / "main.lock"
    lock.write_text(handle.git.ref_target("refs/heads/main") + "\n")
    live_git = threading.Timer(0.5, lock.unlink)  # a live git lets go
    live_git.start()
    with in_process.client("alice") as client:
        after_live = _commit(client, "alice/locked", "a.txt")
        live_git.join()
        assert after_live.status_code == 200, after_live.text
        lock.write_text(handle.git.ref_target("refs/heads/main") + "\n")  # a killed git's
        almost = time.time() - STALE_LOCK_SECONDS + 1  # stale in a second
        os.utime(lock, (almost, almost))
        landed = _commit(client, "alice/locked", "b.txt")
    assert landed.status_code == 200, landed.text
    assert not lock.exists()
    assert landed.json()["commitOid"] == handle.git.ref_target("refs/heads/main")
    paths = {entry.path for entry in handle.git.list_tree(landed.json()["commitOid"])}
    assert {"a.txt", "b.txt"} <= paths
