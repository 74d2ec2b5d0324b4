"""Faults: the hub after a crash, on a full disk, and while its database is away.

- Reconciliation at start (in-process, then live): git is the authority; refs the database got
  wrong, cards derived from another commit than main's and stale git lock files are repaired.
- One server per data folder and port; the data folder and the database are private.
- kill -9 of every server process during commits from several clients: every acknowledged
  commit is in the history, the database matches git after the restart, `git fsck --strict`.
- A full disk (a small tmpfs holding the data folder): 507 in the Hub's format, nothing
  half-written, and uploads work again once there is room.
- The database going away (PostgreSQL behind a TCP proxy the test stops and starts, in both
  suite runs; SQLite's file made unreachable in-process): 503 with Retry-After, then recovery
  without a restart.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import random
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError
from sqlalchemy import delete, make_url, select, update

from helpers import admin_cli, process_tree
from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.services.reconcile import reconcile_refs
from hubstead.storage.database import Database
from hubstead.storage.gitrepo import BlobChange, GitRepo, signature
from hubstead.storage.models import RepoCard, RepoRef, Repository
from hubstead.testing import POSTGRES_ADMIN_URL, InProcessHub, LiveHub, PostgresDatabase, free_port

BACKEND = os.environ.get("HUBSTEAD_TEST_BACKEND", "sqlite")
HUB_ENV = {"HUBSTEAD_INFERENCE": "0"}
CARD = b"---\nlicense: mit\ntags:\n- crash-test\n---\n# A model\n"
ROUNDS = 5  # kill -9 while committing, then restart


# -- helpers -----------------------------------------------------------------------------------


def _ndjson_commit(client, repo: str, files: dict[str, bytes]) -> httpx.Response:
    lines = [{"key": "header", "value": {"summary": "Files"}}] + [
        {
            "key": "file",
            "value": {
                "path": path,
                "encoding": "base64",
                "content": base64.b64encode(data).decode(),
            },
        }
        for path, data in files.items()
    ]
    return client.post(
        f"/api/models/{repo}/commit/main",
        content="\n".join(json.dumps(line) for line in lines),
        headers={"Content-Type": "application/x-ndjson"},
    )


def _recorded_refs(db: Database, repo_row_id: int) -> dict[str, str]:
    with db.session() as session:
        rows = session.execute(
            select(RepoRef.ref, RepoRef.target).where(RepoRef.repo_id == repo_row_id)
        )
        return {ref: target for ref, target in rows}


def _git_refs(git_dir: Path) -> dict[str, str]:
    return {f"refs/{name}": target for name, target in GitRepo(git_dir).refs("refs/").items()}


def _repository_row(db: Database, repo: str) -> Repository:
    namespace, name = repo.split("/")
    with db.session() as session:
        return session.scalars(
            select(Repository).where(Repository.namespace == namespace, Repository.name == name)
        ).one()


def _git_dir(data_dir: Path, storage_key: str) -> Path:
    return data_dir / "repos" / storage_key[:2] / f"{storage_key}.git"


def _fsck(git_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "--git-dir", str(git_dir), "fsck", "--strict", "--no-dangling"],
        capture_output=True,
        text=True,
    )


def _git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _error_response(error: BaseException) -> httpx.Response | None:
    """The HTTP answer behind a client error (LFS uploads wrap theirs in a RuntimeError)."""
    while error is not None:
        response = getattr(error, "response", None)
        if response is not None:
            return response
        error = error.__cause__ or error.__context__
    return None


def _assert_hub_error_format(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers.get("x-error-message"), dict(response.headers)
    if response.request.method != "HEAD":
        assert response.json()["error"] == response.headers["x-error-message"]


# -- reconciliation, in-process ------------------------------------------------------------------


@pytest.fixture
def in_process(tmp_path) -> InProcessHub:
    live = InProcessHub(tmp_path / "hub")
    yield live
    live.close()


def test_reconciliation_repairs_what_a_crash_between_git_and_the_database_leaves(in_process):
    """The states a kill -9 can leave: git moved a ref the database does not know (main, a new
    branch), the database keeps a ref git deleted, a card derived from an older main, and a
    `.lock` file of a killed `git update-ref` that refuses every later commit."""
    hub = in_process.hub
    repo = "alice/crashed"
    hub.repos.create(in_process.principal("alice"), RepoType.MODEL, RepoId.parse(repo), False)
    with in_process.client("alice") as client:
        assert _ndjson_commit(client, repo, {"README.md": CARD}).status_code == 200
    row = _repository_row(hub.db, repo)
    git_dir = _git_dir(hub.settings.data_dir, row.storage_key)
    git = GitRepo(git_dir)
    before = git.ref_target("refs/heads/main")
    # git moves main and creates a branch, and the process dies before recording either
    moved = git.build_commit(
        before, [BlobChange("weights.txt", b"landed in git only")], signature("a", "a@b"), "x\n"
    )
    assert git.update_ref("refs/heads/main", moved, before)
    assert git.update_ref("refs/heads/side", before, None)
    with hub.db.session() as session:  # a ref git no longer has
        session.add(RepoRef(repo_id=row.id, ref="refs/heads/gone", target=before))
    lock = git_dir / "refs" / "heads" / "main.lock"
    lock.write_text(moved + "\n")
    assert _recorded_refs(hub.db, row.id) != _git_refs(git_dir)  # the bug, reproduced

    result = reconcile_refs(hub.db, hub.git, hub.repos, hub.cards)

    assert {(fix.ref, fix.recorded, fix.actual) for fix in result.ref_fixes} == {
        ("refs/heads/main", before, moved),
        ("refs/heads/side", None, before),
        ("refs/heads/gone", before, None),
    }
    assert result.locks_removed == [lock] and not lock.exists()
    assert _recorded_refs(hub.db, row.id) == _git_refs(git_dir)
    assert _repository_row(hub.db, repo).head_sha == moved
    assert hub.cards.stored(row.id).commit == moved
    with in_process.client("alice") as client:  # the lock no longer refuses commits
        after = _ndjson_commit(client, repo, {"later.txt": b"after the crash"})
    assert after.status_code == 200, after.text
    assert after.json()["commitOid"] == git.ref_target("refs/heads/main")
    again = reconcile_refs(hub.db, hub.git, hub.repos, hub.cards)
    assert not again.changed and again.repositories == 1


def test_reconciliation_rederives_a_card_stored_for_another_commit(in_process):
    hub = in_process.hub
    repo = "alice/stale-card"
    hub.repos.create(in_process.principal("alice"), RepoType.MODEL, RepoId.parse(repo), False)
    with in_process.client("alice") as client:
        assert _ndjson_commit(client, repo, {"README.md": CARD}).status_code == 200
    row = _repository_row(hub.db, repo)
    with hub.db.session() as session:  # the process died after recording main, before the card
        session.execute(update(RepoCard).where(RepoCard.repo_id == row.id).values(commit="0" * 40))

    result = reconcile_refs(hub.db, hub.git, hub.repos, hub.cards)

    assert result.cards_rederived == [f"model {repo}"] and not result.ref_fixes
    assert hub.cards.stored(row.id).commit == row.head_sha
    assert "crash-test" in hub.cards.stored(row.id).tags


def test_a_repository_without_git_data_is_reported_and_the_others_still_checked(in_process):
    hub = in_process.hub
    for name in ("lost", "kept"):
        hub.repos.create(
            in_process.principal("alice"), RepoType.MODEL, RepoId("alice", name), False
        )
    lost = _repository_row(hub.db, "alice/lost")
    kept = _repository_row(hub.db, "alice/kept")
    hub.git.delete(lost.storage_key)
    with hub.db.session() as session:
        session.execute(delete(RepoRef).where(RepoRef.repo_id == kept.id))

    result = reconcile_refs(hub.db, hub.git, hub.repos, hub.cards)

    assert [failure.split(":")[0] for failure in result.failures] == ["model alice/lost"]
    assert [(fix.repo, fix.ref) for fix in result.ref_fixes] == [
        ("model alice/kept", "refs/heads/main")
    ]
    assert _recorded_refs(hub.db, kept.id) == _git_refs(
        _git_dir(hub.settings.data_dir, kept.storage_key)
    )


class _Folder:
    """What `admin_cli` needs of a hub: the environment naming its data folder and database."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir

    def server_env(self) -> dict[str, str]:
        return {
            "HUBSTEAD_DATA_DIR": str(self.data_dir),
            "HUBSTEAD_DATABASE_URL": f"sqlite:///{self.data_dir / 'hubstead.db'}",
        }


def test_hubstead_reconcile_repairs_on_demand(in_process):
    hub = in_process.hub
    hub.repos.create(in_process.principal("alice"), RepoType.MODEL, RepoId("alice", "m"), False)
    row = _repository_row(hub.db, "alice/m")
    with hub.db.session() as session:
        session.execute(delete(RepoRef).where(RepoRef.repo_id == row.id))
    done = admin_cli(_Folder(hub.settings.data_dir), "reconcile")
    assert done.returncode == 0, done.stderr
    assert "reconciled model alice/m: refs/heads/main was missing, git has " in done.stderr
    assert "reconciled 1 repositories: 1 refs fixed" in done.stderr
    assert _recorded_refs(hub.db, row.id) == _git_refs(
        _git_dir(hub.settings.data_dir, row.storage_key)
    )


# -- private files, in-process -------------------------------------------------------------------


def test_a_new_sqlite_database_is_private_to_its_owner(tmp_path):
    previous = os.umask(0o022)  # the usual umask: files 0644 unless the hub says otherwise
    try:
        db = Database(f"sqlite:///{tmp_path / 'new.db'}")
        db.migrate()
        with db.engine.connect() as connection:  # a reader keeps the -wal and -shm files open
            connection.exec_driver_sql("SELECT count(*) FROM accounts").all()
            modes = {
                path.name: stat.S_IMODE(path.stat().st_mode) for path in tmp_path.glob("new.db*")
            }
        db.dispose()
    finally:
        os.umask(previous)
    assert set(modes) >= {"new.db", "new.db-wal", "new.db-shm"}
    assert set(modes.values()) == {0o600}, modes


def test_an_older_world_readable_database_is_made_private(tmp_path):
    path = tmp_path / "old.db"
    path.write_bytes(b"")
    path.chmod(0o644)
    Database(f"sqlite:///{path}").dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# -- the SQLite file going away, in-process -----------------------------------------------------


def test_an_unreachable_sqlite_file_is_503_and_the_hub_recovers_when_it_is_back(in_process):
    """SQLite cannot go away like a server, but its file can (a volume unmounted): requests get
    503 in the Hub's format with Retry-After, and the same hub answers again once it is back."""
    hub = in_process.hub
    hub.repos.create(in_process.principal("alice"), RepoType.MODEL, RepoId("alice", "m"), False)
    database = hub.settings.data_dir / "hubstead.db"
    hub.db.dispose()
    database.rename(database.with_suffix(".away"))
    database.mkdir()  # what SQLite then finds at the path cannot be opened
    try:
        with in_process.client("alice") as client:
            away = client.get("/api/models/alice/m")
            head = client.head("/alice/m/resolve/main/.gitattributes")
    finally:
        database.rmdir()
        database.with_suffix(".away").rename(database)
    with in_process.client("alice") as client:
        back = client.get("/api/models/alice/m")
    _assert_hub_error_format(away, 503)
    assert away.headers["retry-after"].isdigit()
    _assert_hub_error_format(head, 503)
    assert back.status_code == 200 and back.json()["id"] == "alice/m"


# -- one server per data folder and port ---------------------------------------------------------


def _serve(env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hubstead", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_second_server_on_the_data_folder_is_refused_on_sqlite_and_shares_it_on_postgresql(
    hub: LiveHub,
):
    """On SQLite one server owns its folder; on PostgreSQL a second one shares it and serves the
    same repositories (the three-process test, test_cluster.py, goes further)."""
    env = {**hub.server_env(), "HUBSTEAD_PORT": str(free_port())}
    if BACKEND == "sqlite":
        second = _serve(env)
        assert second.returncode == 2, second.stderr
        assert f"is using the data folder {hub.data_dir}" in second.stderr
        assert f"pid {hub.process.pid}" in second.stderr
    else:
        process = subprocess.Popen(
            [sys.executable, "-m", "hubstead", "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        other = f"http://127.0.0.1:{env['HUBSTEAD_PORT']}"
        try:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, "the second server exited"
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{other}/-/ready", timeout=2).status_code == 200:
                        break
                assert time.monotonic() < deadline, "the second server did not get ready"
                time.sleep(0.2)
            listed = {m["id"] for m in httpx.get(f"{hub.endpoint}/api/models").json()}
            assert {m["id"] for m in httpx.get(f"{other}/api/models").json()} == listed
        finally:
            process.terminate()
            process.wait(60)
    assert httpx.get(f"{hub.endpoint}/api/models?limit=1").status_code == 200  # the first serves


def test_hubstead_reconcile_is_refused_while_a_server_owns_the_folder(hub: LiveHub):
    refused = admin_cli(hub, "reconcile")
    assert refused.returncode == 2
    assert f"is using the data folder {hub.data_dir}" in refused.stderr


def test_a_server_on_a_port_in_use_refuses_to_start(hub: LiveHub, tmp_path):
    env = {**hub.server_env(), "HUBSTEAD_DATA_DIR": str(tmp_path / "other")}
    env.pop("HUBSTEAD_DATABASE_URL", None)
    second = _serve(env)
    assert second.returncode == 2, second.stderr
    assert f"cannot listen on 127.0.0.1:{hub.port}: already in use" in second.stderr


def test_the_data_folder_and_its_secrets_are_private(hub: LiveHub):
    modes = {
        path.name: stat.S_IMODE(path.stat().st_mode)
        for path in [hub.data_dir, *hub.data_dir.glob("hubstead.db*"), hub.data_dir / "secret_key"]
    }
    assert modes.pop(hub.data_dir.name) == 0o700
    if BACKEND == "sqlite":
        assert "hubstead.db" in modes
    assert set(modes.values()) == {0o600}, modes


# -- kill -9 during commits ------------------------------------------------------------------


class CrashableHub(LiveHub):
    """A live hub that can be killed like a crash (SIGKILL to every process of the server at
    once) and started again on the same data, without seeding accounts again."""

    def kill(self) -> int:
        processes = process_tree(self.process.pid)
        for pid in processes:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()
        for pid in processes:  # the workers, reparented to init, are gone too
            while Path(f"/proc/{pid}").exists() and _state(pid) not in ("Z", "X", None):
                time.sleep(0.05)
        return len(processes)

    def restart(self) -> None:
        with open(self.data_dir / "server.log", "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hubstead", "serve"],
                env=self.server_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return None


class Committers:
    """Threads committing small files with HfApi.create_commit; a commit counts as acknowledged
    when the client got its oid."""

    def __init__(self, endpoint: str, token: str, repos: list[str], threads: int, seed: int):
        self.api = HfApi(endpoint=endpoint, token=token)
        self.repos = repos
        self.acknowledged: list[tuple[str, str, str, bytes]] = []  # repo, oid, path, content
        self.attempts = 0
        self.failures = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(number, random.Random(seed + number)))
            for number in range(threads)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=180)
            assert not thread.is_alive(), "a committing client hung"

    def _run(self, number: int, rng: random.Random) -> None:
        sequence = 0
        while not self._stop.is_set():
            repo = rng.choice(self.repos)
            sequence += 1
            path = f"client-{number}/{sequence}-{rng.randrange(10**9)}.txt"
            content = rng.randbytes(rng.randrange(16, 4096)).hex().encode()
            with self._lock:
                self.attempts += 1
            try:
                info = self.api.create_commit(
                    repo,
                    [CommitOperationAdd(path_in_repo=path, path_or_fileobj=content)],
                    commit_message=f"{path}\n",
                )
            except Exception:  # noqa: BLE001 - the server was killed under this request
                with self._lock:
                    self.failures += 1
                time.sleep(0.05)
                continue
            with self._lock:
                self.acknowledged.append((repo, info.oid, path, content))

    def count(self) -> int:
        with self._lock:
            return len(self.acknowledged)


def _wait_for_acknowledged(committers: Committers, at_least: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while committers.count() < at_least:
        assert time.monotonic() < deadline, f"only {committers.count()} commits acknowledged"
        time.sleep(0.02)


def test_kill_9_during_commits_loses_no_acknowledged_commit(tmp_path, capsys):
    rng = random.Random(int.from_bytes(os.urandom(4)))
    seed = rng.randrange(10**6)
    live = CrashableHub(tmp_path / "hub", backend=BACKEND, env={**HUB_ENV, "HUBSTEAD_WORKERS": "2"})
    live.start()
    try:
        repos = ["alice/crash-one", "alice/crash-two"]
        api = HfApi(endpoint=live.endpoint, token=live.tokens["alice"])
        for repo in repos:
            api.create_repo(repo)
        committers = Committers(live.endpoint, live.tokens["alice"], repos, threads=6, seed=seed)
        committers.start()
        killed = []
        try:
            for _round in range(ROUNDS):
                _wait_for_acknowledged(committers, committers.count() + rng.randrange(5, 15))
                time.sleep(rng.random() * 0.3)  # somewhere inside a commit, at random
                killed.append(live.kill())
                live.restart()
        finally:
            committers.stop()

        # one more crash, and the window the issue found: git ahead of the database
        db = Database(live.database_url)
        one, two = (_repository_row(db, repo) for repo in repos)
        live.kill()
        one_git = _git_dir(live.data_dir, one.storage_key)
        parent = GitRepo(one_git).commit_info(GitRepo(one_git).ref_target("refs/heads/main"))
        with db.session() as session:
            session.execute(
                update(RepoRef)
                .where(RepoRef.repo_id == one.id, RepoRef.ref == "refs/heads/main")
                .values(target=parent.parents[0])
            )
            session.execute(
                delete(RepoRef).where(RepoRef.repo_id == two.id, RepoRef.ref == "refs/heads/main")
            )
        live.restart()

        log = live.log()
        # every start after the first (which had no repository yet) checked both
        assert log.count("INFO:hubstead.reconcile:reconciled 2 repositories") == ROUNDS + 1
        repaired = log.count("WARNING:hubstead.reconcile:") - 2  # less the two made above
        assert f"reconciled model alice/crash-one: refs/heads/main was {parent.parents[0]}" in log
        for row in (one, two):
            git_dir = _git_dir(live.data_dir, row.storage_key)
            assert _recorded_refs(db, row.id) == _git_refs(git_dir)
            assert _repository_row(db, f"alice/{row.name}").head_sha == GitRepo(git_dir).ref_target(
                "refs/heads/main"
            )
            fsck = _fsck(git_dir)
            assert fsck.returncode == 0 and "error" not in fsck.stderr, fsck.stderr
        present = 0
        for repo in repos:
            history = {commit.commit_id for commit in api.list_repo_commits(repo)}
            files = {
                entry.path: getattr(entry, "blob_id", None)
                for entry in api.list_repo_tree(repo, recursive=True)
            }
            for target, oid, path, content in committers.acknowledged:
                if target == repo:
                    assert oid in history, f"acknowledged commit {oid} of {repo} is lost"
                    assert files.get(path) == _git_blob_id(content), path
                    present += 1
        for repo in repos:  # and both still take commits
            api.upload_file(path_or_fileobj=b"after", path_in_repo="after.txt", repo_id=repo)
        db.dispose()
    finally:
        live.stop()
    assert present == len(committers.acknowledged) > 0
    with capsys.disabled():
        print(
            f"\nkill -9 (seed {seed}): {committers.attempts} commits tried, "
            f"{len(committers.acknowledged)} acknowledged, {present} present after "
            f"{len(killed) + 1} crashes (processes killed each time: {killed}); "
            f"{repaired} repairs at start besides the two made by the test"
        )


# -- a full disk -----------------------------------------------------------------------------


@contextlib.contextmanager
def _small_disk(path: Path, size: str):
    """A tmpfs of `size` at `path`: the hub's data folder on a disk that fills up."""
    path.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:  # never a silent skip: the fault test needs a disk to fill
        pytest.fail(f"the full-disk test mounts a tmpfs (root is needed): {mounted.stderr}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _upload_until_full(api: HfApi, repo: str, rng: random.Random):
    """Alternate LFS files (random bytes) and regular ones (base64 text) until both kinds were
    refused twice; what the server acknowledged and the answers of what it refused."""
    acknowledged: dict[str, bytes] = {}
    tried: dict[str, bytes] = {}
    refused: dict[str, list[httpx.Response]] = {"lfs": [], "regular": []}
    for number in range(400):
        kind = "lfs" if number % 2 == 0 else "regular"
        if kind == "lfs":
            path, content = f"weights-{number}.bin", rng.randbytes(rng.randrange(300_000, 900_000))
        else:
            path = f"notes-{number}.txt"
            content = base64.b64encode(rng.randbytes(rng.randrange(50_000, 300_000)))
        tried[path] = content
        try:
            api.upload_file(path_or_fileobj=content, path_in_repo=path, repo_id=repo)
        except Exception as error:  # noqa: BLE001 - refused: the answer is checked below
            response = _error_response(error)
            assert response is not None, repr(error)
            refused[kind].append(response)
            if all(len(answers) >= 2 for answers in refused.values()):
                break
            continue
        acknowledged[path] = content
    return acknowledged, tried, refused


def test_a_full_disk_is_507_and_nothing_is_half_written(tmp_path, capsys):
    rng = random.Random(int.from_bytes(os.urandom(4)))
    with _small_disk(tmp_path / "disk", "24m") as disk:
        # local storage on every pass: what fills up here is the data folder's own disk
        live = LiveHub(
            disk / "data",
            backend=BACKEND,
            env={**HUB_ENV, "HUBSTEAD_WORKERS": "1"},
            storage="local",
        )
        live.start()
        try:
            api = HfApi(endpoint=live.endpoint, token=live.tokens["alice"])
            repo = "alice/full-disk"
            api.create_repo(repo)
            acknowledged, tried, refused = _upload_until_full(api, repo, rng)

            answers = refused["lfs"] + refused["regular"]
            assert len(answers) >= 4 and len(acknowledged) >= 4
            for response in answers:
                _assert_hub_error_format(response, 507)
            # every file the repository shows is whole: the acknowledged ones, and perhaps one
            # whose commit landed in git while the database had no room to record it
            files = {e.path: e for e in api.list_repo_tree(repo, recursive=True)}
            assert set(acknowledged) <= set(files) <= {*tried, ".gitattributes"}
            for path in set(files) - {".gitattributes"}:
                with httpx.stream(
                    "GET",
                    f"{live.endpoint}/{repo}/resolve/main/{path}",
                    headers={"Authorization": f"Bearer {live.tokens['alice']}"},
                ) as download:
                    assert download.status_code == 200, path
                    assert (
                        hashlib.sha256(download.read()).digest()
                        == hashlib.sha256(tried[path]).digest()
                    ), path
            blobs = live.data_dir / "blobs"
            for blob in (blobs / "sha256").rglob("*"):
                if blob.is_file():
                    assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name
            assert not [p for p in (blobs / "tmp").iterdir()], "a partial upload was left"
            row = _repository_row(Database(live.database_url), repo)
            fsck = _fsck(_git_dir(live.data_dir, row.storage_key))
            assert fsck.returncode == 0, fsck.stderr

            # room again (the disk grows): the same server takes uploads again
            subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
            info = api.upload_file(
                path_or_fileobj=rng.randbytes(500_000), path_in_repo="again.bin", repo_id=repo
            )
            assert info.oid in {c.commit_id for c in api.list_repo_commits(repo)}
        finally:
            log = live.log()
            live.stop()
    with capsys.disabled():
        refusals = {kind: [r.status_code for r in answers] for kind, answers in refused.items()}
        print(
            f"\nfull disk: {len(tried)} uploads tried, {len(acknowledged)} acknowledged, "
            f"refused: {refusals}; the server logged "
            f"{log.count('OSError')} OSError, {log.count('GitError')} GitError, "
            f"{log.count('sqlite3.OperationalError')} sqlite3.OperationalError"
        )


# -- the database going away -------------------------------------------------------------------


class TcpProxy:
    """A TCP forwarder (asyncio, in a thread of its own) between the hub and PostgreSQL: stop()
    closes its port and cuts every connection, like a database server going away; start()
    brings it back on the same port."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def _call(self, coroutine) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def start(self) -> None:
        self._call(self._start())

    def stop(self) -> None:
        self._call(self._stop())

    def close(self) -> None:
        if self._server is not None:
            self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._connect, "127.0.0.1", self.port)

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()
        self._server = None

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, upstream_writer}
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()


@pytest.fixture
def proxied_postgres():
    """A fresh PostgreSQL database reached through a TcpProxy. PostgreSQL only (SQLite cannot
    go away like this): it runs in both suite runs, since CI always has the server."""
    database = PostgresDatabase()
    admin = make_url(POSTGRES_ADMIN_URL)
    proxy = TcpProxy(admin.host or "127.0.0.1", admin.port or 5432)
    proxy.start()
    url = make_url(database.url).set(host="127.0.0.1", port=proxy.port)
    yield proxy, url.render_as_string(hide_password=False)
    proxy.close()
    database.close()


def _raise(message: str):
    raise AssertionError(message)


def _until(call, timeout: float = 90):
    """`call()`'s result once it stops raising (a wait, not a measure: the deadline only bounds
    a hub that never recovers)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)


def test_the_database_going_away_is_503_and_the_server_recovers_without_restart(
    tmp_path, proxied_postgres
):
    proxy, url = proxied_postgres
    live = LiveHub(
        tmp_path / "hub",
        backend="sqlite",  # the database is the proxied PostgreSQL one, named in the environment
        env={**HUB_ENV, "HUBSTEAD_DATABASE_URL": url, "HUBSTEAD_WORKERS": "1"},
    )
    live.start()
    try:
        api = HfApi(endpoint=live.endpoint, token=live.tokens["alice"])
        repo = "alice/db-away"
        api.create_repo(repo)
        api.upload_file(path_or_fileobj=b"weights", path_in_repo="w.txt", repo_id=repo)
        auth = {"Authorization": f"Bearer {live.tokens['alice']}"}
        server = live.process.pid

        proxy.stop()
        away = httpx.get(f"{live.endpoint}/api/models/{repo}", headers=auth)
        head = httpx.head(f"{live.endpoint}/{repo}/resolve/main/w.txt", headers=auth)
        with pytest.raises(HfHubHTTPError) as refused:
            api.model_info(repo)
        _assert_hub_error_format(away, 503)
        assert int(away.headers["retry-after"]) > 0
        assert "database is unavailable" in away.json()["error"]
        _assert_hub_error_format(head, 503)
        assert refused.value.response.status_code == 503

        # an upload meanwhile: the client waits as Retry-After says and tries again...
        uploaded: list = []
        uploader = threading.Thread(
            target=lambda: uploaded.append(
                api.upload_file(path_or_fileobj=b"back", path_in_repo="back.txt", repo_id=repo)
            )
        )
        uploader.start()
        refused_upload = f"Unhandled error on POST /api/models/{repo}/preupload/main"
        _until(lambda: live.log().count(refused_upload) or _raise("no upload refused yet"))
        proxy.start()  # ...and the database comes back while it waits
        uploader.join(timeout=120)
        assert uploaded, "the upload never went through once the database was back"
        info = api.model_info(repo)
        assert {s.rfilename for s in info.siblings} == {".gitattributes", "w.txt", "back.txt"}
        assert uploaded[0].oid in {c.commit_id for c in api.list_repo_commits(repo)}
        assert live.process.poll() is None and live.process.pid == server  # never restarted
    finally:
        live.stop()
