"""Three `hubstead serve` processes on one PostgreSQL database, one shared data folder and one S3
bucket (moto), behind nginx (issue 15): concurrent commits through every process never lose one another, what one
process stored the others serve, a process killed with SIGKILL mid-upload loses nothing that was
acknowledged and the client's retry through another process succeeds, and the limits that must
hold across processes (sign-in attempts) do.

nginx runs as the test user with a configuration rendered from `deploy/nginx/hubstead.conf`
(the one docs/deployment.md shows) in a temporary folder (helpers.Nginx); `scripts/test` installs it from
Debian. PostgreSQL only: on SQLite one server owns its data folder (`storage/datadir.py`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
from sqlalchemy import select

from helpers import Nginx, admin_cli, nginx_binary, process_tree, sign_in_status
from hubstead.storage.database import Database
from hubstead.storage.gitrepo import GitRepo
from hubstead.storage.models import RepoRef, Repository
from hubstead.testing import LiveHub, TestBucket, free_port

PROCESSES = 3
CLIENTS = 20
COMMITS = 200
REPOSITORIES = 5
SECRET_KEY = "cluster-test-shared-secret"
TOKEN_CACHE_SECONDS = 2  # how stale a process' view of a token may be (bounded by design)


def blob_storage_env(bucket: TestBucket) -> dict[str, str]:
    """The blob store every process uses, the one place this module names it: one bucket on the
    test S3 server, in proxy delivery, so uploads and downloads pass through the processes and a
    process killed mid-upload really cuts one (redirects, which send the bytes straight to the
    bucket, are tested in test_s3_storage.py)."""
    return {**bucket.env(), "HUBSTEAD_S3_DELIVERY": "proxy"}


@dataclass
class Server:
    """One `hubstead serve` process of the cluster."""

    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def server_env(self) -> dict[str, str]:  # what helpers.admin_cli reads
        return self.env

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hubstead", "serve"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.endpoint}/-/ready", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"server not ready: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL to the server and its workers at once, like a machine that goes away."""
        for pid in process_tree(self.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Cluster:
    first: LiveHub  # seeds the accounts and owns the PostgreSQL database
    servers: list[Server]
    nginx_port: int
    data_dir: Path
    nginx: Nginx | None = None
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.nginx_port}"

    @property
    def endpoints(self) -> list[str]:
        """nginx first, then each process directly."""
        return [self.endpoint, *(server.endpoint for server in self.servers)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, s3_endpoint) -> Iterator[Cluster]:
    nginx_binary()  # fails before anything starts when nginx is missing
    base = tmp_path_factory.mktemp("cluster")
    data_dir = base / "shared-data"
    nginx_port = free_port()
    common = {
        "HUBSTEAD_SECRET_KEY": SECRET_KEY,
        "HUBSTEAD_PUBLIC_URL": f"http://127.0.0.1:{nginx_port}",
        "HUBSTEAD_WORKERS": "1",  # three processes on a two-core machine
        "HUBSTEAD_INFERENCE": "0",
        "HUBSTEAD_TOKEN_CACHE_SECONDS": str(TOKEN_CACHE_SECONDS),
        "HUBSTEAD_TRUSTED_PROXIES": "127.0.0.1",  # nginx, which appends to X-Forwarded-For
    }
    bucket = TestBucket(s3_endpoint)
    common.update(blob_storage_env(bucket))
    # the first server is a LiveHub: it makes the database and the accounts, then serves
    first = LiveHub(data_dir, backend="postgresql", env=common, storage="local")
    first.bucket = bucket  # removed with the database when the cluster stops
    first.start()
    first.process.terminate()  # restarted below as one of the three, with the others
    first.process.wait(30)
    ports = [first.port, *(free_port() for _ in range(PROCESSES - 1))]
    servers = []
    for number, port in enumerate(ports):
        env = {**first.server_env(), "HUBSTEAD_PORT": str(port)}
        servers.append(Server(port, env, base / f"server-{number}.log"))
    cluster = Cluster(first, servers, nginx_port, data_dir, tokens=first.tokens)
    try:
        for server in servers:  # started together: migrations and repairs take turns
            server.start()
        for server in servers:
            server.wait_ready()
        cluster.nginx = Nginx(base / "nginx", ports, nginx_port, data_dir / "blobs").start()
        cluster.nginx.wait_ready()
        yield cluster
    finally:
        if cluster.nginx is not None:
            cluster.nginx.stop()
        for server in servers:
            server.stop()
        first.process = None
        first.stop()  # drops the database


def _db(cluster: Cluster) -> Database:
    return Database(cluster.first.database_url)


def _git_dir(cluster: Cluster, repo: str) -> Path:
    namespace, name = repo.split("/")
    db = _db(cluster)
    try:
        with db.session() as session:
            key = session.scalar(
                select(Repository.storage_key).where(
                    Repository.namespace == namespace, Repository.name == name
                )
            )
    finally:
        db.dispose()
    return cluster.data_dir / "repos" / key[:2] / f"{key}.git"


def _assert_database_matches_git(cluster: Cluster, repo: str) -> None:
    """The refs cache and head_sha name exactly what git has: no record went back in time."""
    git_dir = _git_dir(cluster, repo)
    git = GitRepo(git_dir)
    actual = {f"refs/{name}": target for name, target in git.refs("refs/").items()}
    db = _db(cluster)
    try:
        with db.session() as session:
            row = session.scalar(
                select(Repository).where(
                    Repository.namespace == repo.split("/")[0],
                    Repository.name == repo.split("/")[1],
                )
            )
            recorded = {
                ref.ref: ref.target
                for ref in session.scalars(select(RepoRef).where(RepoRef.repo_id == row.id))
            }
            head = row.head_sha
    finally:
        db.dispose()
    assert recorded == actual
    assert head == actual["refs/heads/main"]


def _fsck(cluster: Cluster, repo: str) -> None:
    fsck = subprocess.run(
        ["git", "--git-dir", str(_git_dir(cluster, repo)), "fsck", "--strict", "--no-dangling"],
        capture_output=True,
        text=True,
    )
    assert fsck.returncode == 0 and "error" not in fsck.stderr, fsck.stderr


def test_the_processes_share_one_data_folder_and_admin_commands_that_need_it_alone_wait(
    cluster: Cluster,
):
    for server in cluster.servers:
        ready = httpx.get(f"{server.endpoint}/-/ready")
        assert ready.status_code == 200, ready.text
    env = {k: v for k, v in cluster.servers[0].env.items() if k != "HUBSTEAD_PORT"}
    refused = subprocess.run(
        [sys.executable, "-m", "hubstead", "reconcile"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2, refused.stderr
    assert f"is using the data folder {cluster.data_dir}" in refused.stderr
    logs = "".join(server.log.read_text() for server in cluster.servers)
    assert logs.count("INFO:hubstead.reconcile:reconciled") >= PROCESSES  # each, in turn


def test_200_concurrent_commits_through_three_processes_all_land(cluster: Cluster):
    admin = HfApi(endpoint=cluster.endpoint, token=cluster.tokens["alice"])
    repos = [admin.create_repo(f"busy-{number}").repo_id for number in range(REPOSITORIES)]
    acknowledged: dict[str, list[tuple[str, str]]] = {repo: [] for repo in repos}
    failures: list[str] = []
    guard = threading.Lock()

    def client(number: int) -> None:
        # clients 0, 4, 8… go through nginx, the others straight to one process each
        endpoint = cluster.endpoints[number % len(cluster.endpoints)]
        api = HfApi(endpoint=endpoint, token=cluster.tokens["alice"])
        for commit in range(COMMITS // CLIENTS):
            repo = repos[(number + commit) % REPOSITORIES]
            path = f"client-{number}/commit-{commit}.txt"
            try:
                info = api.create_commit(
                    repo,
                    [CommitOperationAdd(path, f"{number}/{commit}\n".encode())],
                    commit_message=f"client {number} commit {commit}",
                )
            except Exception as error:  # noqa: BLE001 - every failure is reported below
                with guard:
                    failures.append(f"{endpoint} {repo} {path}: {error!r}")
                continue
            with guard:
                acknowledged[repo].append((info.oid, path))

    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))
    print(f"{COMMITS} commits from {CLIENTS} clients in {time.monotonic() - started:.1f} s")

    assert not failures, failures[:5]
    assert sum(len(done) for done in acknowledged.values()) == COMMITS
    for repo in repos:
        history = {c.commit_id for c in admin.list_repo_commits(repo)}
        assert {oid for oid, _ in acknowledged[repo]} <= history
        assert len(history) == len(acknowledged[repo]) + 1  # and the initial commit
        files = set(admin.list_repo_files(repo))
        assert {path for _, path in acknowledged[repo]} <= files
        _fsck(cluster, repo)
        _assert_database_matches_git(cluster, repo)


def test_an_upload_through_one_process_downloads_through_the_others(cluster: Cluster, tmp_path):
    one, *others = cluster.servers
    api = HfApi(endpoint=one.endpoint, token=cluster.tokens["alice"])
    repo = api.create_repo("shared-bytes").repo_id
    data = os.urandom(3 * 1024 * 1024)
    api.upload_file(path_or_fileobj=data, path_in_repo="weights.bin", repo_id=repo)
    oid = hashlib.sha256(data).hexdigest()
    stored = cluster.first.bucket.keys("sha256/")
    assert stored.get(f"hub/sha256/{oid[:2]}/{oid[2:4]}/{oid}") == len(data), stored
    assert not (cluster.data_dir / "blobs" / "sha256").exists()  # in the bucket, not on a disk
    for number, endpoint in enumerate([cluster.endpoint, *(s.endpoint for s in others)]):
        path = hf_hub_download(
            repo,
            "weights.bin",
            endpoint=endpoint,
            token=cluster.tokens["alice"],
            cache_dir=tmp_path / f"cache-{number}",
        )
        assert hashlib.sha256(Path(path).read_bytes()).digest() == hashlib.sha256(data).digest()


def _upload_href(endpoint: str, token: str, repo: str, oid: str, size: int) -> str:
    batch = httpx.post(
        f"{endpoint}/{repo}.git/info/lfs/objects/batch",
        json={"operation": "upload", "objects": [{"oid": oid, "size": size}]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert batch.status_code == 200, batch.text
    return batch.json()["objects"][0]["actions"]["upload"]["href"]


def test_a_process_killed_mid_upload_loses_nothing_acknowledged_and_a_retry_succeeds(
    cluster: Cluster, tmp_path
):
    victim = cluster.servers[1]
    token = cluster.tokens["alice"]
    api = HfApi(endpoint=victim.endpoint, token=token)
    repo = api.create_repo("survivor").repo_id
    done = [
        api.create_commit(
            repo, [CommitOperationAdd(f"before-{n}.txt", b"%d" % n)], commit_message=f"before {n}"
        ).oid
        for n in range(5)
    ]
    data = os.urandom(8 * 1024 * 1024)
    oid = hashlib.sha256(data).hexdigest()
    # the transfer URL names nginx (the public URL); this upload goes straight to the victim
    href = _upload_href(victim.endpoint, token, repo, oid, len(data))
    href = href.replace(cluster.endpoint, victim.endpoint, 1)
    streaming = threading.Event()
    outcome: dict[str, object] = {}

    def slow_body():
        piece = len(data) // 32
        for number in range(32):
            yield data[number * piece : (number + 1) * piece]
            streaming.set()
            time.sleep(0.2)

    def upload() -> None:
        try:
            outcome["status"] = httpx.put(href, content=slow_body(), timeout=60).status_code
        except httpx.HTTPError as error:
            outcome["error"] = type(error).__name__

    uploader = threading.Thread(target=upload)
    uploader.start()
    assert streaming.wait(10)
    time.sleep(0.5)
    victim.kill()
    uploader.join(60)
    assert "error" in outcome, outcome  # the upload was cut, never acknowledged

    # the client retries through nginx, which skips the dead process
    survivor = HfApi(endpoint=cluster.endpoint, token=token)
    retried = survivor.upload_file(path_or_fileobj=data, path_in_repo="big.bin", repo_id=repo)
    history = {c.commit_id for c in survivor.list_repo_commits(repo)}
    assert set(done) <= history and retried.oid in history
    path = hf_hub_download(
        repo, "big.bin", endpoint=cluster.servers[2].endpoint, token=token, cache_dir=tmp_path
    )
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == oid
    _fsck(cluster, repo)
    _assert_database_matches_git(cluster, repo)

    # the killed process comes back on the shared folder while the others serve
    victim.start()
    victim.wait_ready()
    assert HfApi(endpoint=victim.endpoint, token=token).file_exists(repo, "big.bin")


def test_sign_in_attempts_are_limited_across_the_processes(cluster: Cluster):
    """Five attempts per account and window, counted in the database: spread over the three
    processes they are still five, and the sixth is refused by whichever process gets it."""
    servers = cluster.servers
    for attempt in range(5):
        status = sign_in_status(servers[attempt % PROCESSES].endpoint, "bob", "wrong-password")
        assert status == 401, (attempt, status)
    assert sign_in_status(servers[2].endpoint, "bob", "bob-password") == 429
    assert sign_in_status(cluster.endpoint, "bob", "bob-password") == 429


def test_the_client_address_is_the_one_nginx_forwarded(cluster: Cluster):
    """Behind a trusted proxy the audit log (and every per-address limit) sees the client's
    address from X-Forwarded-For, not the proxy's: nginx appends the address it was reached
    from, and the right-most address that is not a trusted proxy is the client."""
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    assert sign_in_status(cluster.endpoint, "alice", "alice-password", forwarded) == 303
    answer = httpx.get(
        f"{cluster.endpoint}/api/admin/audit-log",
        params={"action": "auth.sign_in", "limit": 1},
        headers={"Authorization": f"Bearer {cluster.tokens['admin']}"},
    )
    assert answer.status_code == 200, answer.text
    (event,) = answer.json()
    assert (event["target"], event["address"]) == ("alice", "203.0.113.9")


def test_a_revoked_token_is_refused_by_every_process_within_the_cache_time(cluster: Cluster):
    """Each process trusts a token it checked for HUBSTEAD_TOKEN_CACHE_SECONDS (bounded-stale
    by design, docs/architecture.md): after that, a revocation holds everywhere."""
    made = admin_cli(cluster.servers[0], "token", "create", "bob", "--name", "short-lived")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    for endpoint in cluster.endpoints:  # every process has now checked (and cached) it
        assert HfApi(endpoint=endpoint, token=token).whoami()["name"] == "bob"
    revoked = admin_cli(cluster.servers[1], "token", "revoke", "short-lived", "--user", "bob")
    assert revoked.returncode == 0, revoked.stderr
    time.sleep(TOKEN_CACHE_SECONDS + 0.5)
    for server in cluster.servers:
        answer = httpx.get(
            f"{server.endpoint}/api/whoami-v2", headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 401, (server.endpoint, answer.text)
