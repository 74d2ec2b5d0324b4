"""A live Hubstead server in a subprocess, for the test suite and the benchmarks.

It runs exactly what a user runs (`hubstead serve`) on a free port of 127.0.0.1, against SQLite
in a temporary folder or against a fresh PostgreSQL database, with a few accounts ready.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from starlette.testclient import TestClient
from starlette.testclient import httpx as testclient_httpx

# Importing the settings installs their environment reader into the math renderer, as in the
# server: tests that set HUBSTEAD_NODE / HUBSTEAD_NODE_MODULES are then seen by it.
import hubstead.settings  # noqa: F401

POSTGRES_ADMIN_URL = os.environ.get(
    "HUBSTEAD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# HUBSTEAD_TEST_STORAGE=s3: every hub keeps its large files in a bucket of its own on the S3
# server at HUBSTEAD_TEST_S3_ENDPOINT (moto's server mode, started by scripts/lib/s3.sh).
TEST_STORAGE = os.environ.get("HUBSTEAD_TEST_STORAGE", "local")
S3_TEST_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "hubstead-test",
    "AWS_SECRET_ACCESS_KEY": "hubstead-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresDatabase:
    """A throw-away database on the PostgreSQL server, dropped on close."""

    def __init__(self, admin_url: str = POSTGRES_ADMIN_URL):
        import psycopg

        self.admin_url = admin_url
        self.name = f"hubstead_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self.url = admin_url.rsplit("/", 1)[0] + f"/{self.name}"

    def close(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class TestBucket:
    """A bucket of its own on the test S3 server, emptied and removed on close."""

    __test__ = False  # not a test class (pytest collects names starting with Test)

    def __init__(self, endpoint: str | None = None):
        endpoint = endpoint or os.environ.get("HUBSTEAD_TEST_S3_ENDPOINT")
        if not endpoint:
            raise RuntimeError(
                "HUBSTEAD_TEST_STORAGE=s3 needs HUBSTEAD_TEST_S3_ENDPOINT (scripts/test starts "
                "moto_server and sets it)"
            )
        for name, value in S3_TEST_CREDENTIALS.items():
            os.environ.setdefault(name, value)
        from hubstead.storage.s3 import make_client

        self.endpoint = endpoint
        self.name = f"hubstead-test-{uuid.uuid4().hex[:12]}"
        self.client = make_client(endpoint)
        self.client.create_bucket(Bucket=self.name)
        # what docs/deployment.md asks of an operator: the web UI's browser uploads PUT to
        # presigned URLs and read each part's ETag (the hub's port differs per test: any origin)
        self.client.put_bucket_cors(
            Bucket=self.name,
            CORSConfiguration={
                "CORSRules": [
                    {
                        "AllowedOrigins": ["*"],
                        "AllowedMethods": ["GET", "HEAD", "PUT"],
                        "AllowedHeaders": ["*"],
                        "ExposeHeaders": ["ETag"],
                    }
                ]
            },
        )

    @property
    def storage_url(self) -> str:
        return f"s3://{self.name}/hub"

    def env(self) -> dict[str, str]:
        return {
            **{name: os.environ.get(name, value) for name, value in S3_TEST_CREDENTIALS.items()},
            "HUBSTEAD_STORAGE_URL": self.storage_url,
            "HUBSTEAD_S3_ENDPOINT_URL": self.endpoint,
        }

    def keys(self, under: str = "") -> dict[str, int]:
        """Key → size of the objects under `hub/<under>`."""
        found: dict[str, int] = {}
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.name, Prefix=f"hub/{under}"
        )
        for page in pages:
            found.update({item["Key"]: item["Size"] for item in page.get("Contents", [])})
        return found

    def read(self, key: str) -> bytes | None:
        """The object at `hub/<key>`, or None where there is none."""
        try:
            return self.client.get_object(Bucket=self.name, Key=f"hub/{key}")["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None

    def close(self) -> None:
        try:
            for key in self.keys():
                self.client.delete_object(Bucket=self.name, Key=key)
            uploads = self.client.list_multipart_uploads(Bucket=self.name).get("Uploads", [])
            for upload in uploads:
                self.client.abort_multipart_upload(
                    Bucket=self.name, Key=upload["Key"], UploadId=upload["UploadId"]
                )
            self.client.delete_bucket(Bucket=self.name)
        except Exception:  # the server may be gone at exit: nothing left to clean
            pass


@dataclass
class LiveHub:
    data_dir: Path
    backend: str = "sqlite"  # or "postgresql"
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    tokens: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    prepare: Callable[[str], None] | None = (
        None  # called with the database URL before the server starts
    )
    _postgres: PostgresDatabase | None = None
    storage: str = TEST_STORAGE  # "local" or "s3" (a bucket of its own)
    bucket: TestBucket | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        return (
            self._postgres.url
            if self._postgres is not None
            else f"sqlite:///{self.data_dir / 'hubstead.db'}"
        )

    def server_env(self) -> dict[str, str]:
        env = {**os.environ, **self.env}
        env["HUBSTEAD_DATA_DIR"] = str(self.data_dir)
        env["HUBSTEAD_PORT"] = str(self.port)
        env["HUBSTEAD_HOST"] = "127.0.0.1"
        env["HUBSTEAD_QUIET"] = "1"
        if self._postgres is not None:
            env["HUBSTEAD_DATABASE_URL"] = self._postgres.url
        if self.bucket is not None:
            env = {**env, **self.bucket.env(), **self.env}  # a module's own settings win
        return env

    def start(self) -> LiveHub:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        if self.backend == "postgresql":
            self._postgres = PostgresDatabase()
        if self.storage == "s3" and self.bucket is None:
            self.bucket = TestBucket()
        self._seed_accounts()
        if self.prepare is not None:
            self.prepare(self.database_url)
        atexit.register(self.stop)  # no orphan servers if the test run dies
        self.restart()
        return self

    def restart(self) -> LiveHub:
        """Stop the server process if it still runs, and start it (again) on the same port, data
        and database, with the settings as they are now (a test that changes `env` or `bucket`
        in between, or one that killed the server)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with open(self.data_dir / "server.log", "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hubstead", "serve"],
                env=self.server_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()
        return self

    def open_hub(self):
        """A Hub in this process on the server's settings (its HUBSTEAD_* environment), with the
        database migrated: what seeding does before the server starts."""
        from hubstead.hub import Hub
        from hubstead.settings import Settings

        saved = dict(os.environ)
        os.environ.update({k: v for k, v in self.server_env().items() if k.startswith("HUBSTEAD_")})
        try:
            hub = Hub(Settings.from_env())
        finally:
            os.environ.clear()
            os.environ.update(saved)
        hub.db.migrate()
        return hub

    def _seed_accounts(self) -> None:
        hub = self.open_hub()
        accounts = hub.accounts
        accounts.create_user(
            "admin", email="admin@example.com", password="admin-password", admin=True
        )
        accounts.create_user("alice", email="alice@example.com", password="alice-password")
        accounts.create_user("bob", email="bob@example.com", password="bob-password")
        accounts.create_org("acme", [("alice", "admin"), ("bob", "read")])
        self.tokens = {
            "admin": accounts.create_token("admin", "write", "admin"),
            "alice": accounts.create_token("alice", "write", "alice-write"),
            "alice_read": accounts.create_token("alice", "read", "alice-read"),
            "bob": accounts.create_token("bob", "write", "bob-write"),
        }
        hub.db.dispose()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"hubstead serve exited: {(self.data_dir / 'server.log').read_text()[-3000:]}"
                )
            try:
                httpx.get(f"{self.endpoint}/api/models?limit=1", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("hubstead serve did not start in time")

    def log(self) -> str:
        return (self.data_dir / "server.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        if self._postgres is not None:
            self._postgres.close()
            self._postgres = None
        if self.bucket is not None:
            self.bucket.close()
            self.bucket = None


ACCOUNTS = (("admin", True), ("alice", False), ("bob", False), ("carol", False), ("dave", False))
ORG_MEMBERS = [("alice", "admin"), ("bob", "read"), ("dave", "write")]


class _BucketTransport(testclient_httpx.HTTPTransport):
    """A real HTTP transport that drops the hub's token: a presigned URL carries its own
    signature, and S3 refuses a request that also has an Authorization header. It is of the
    HTTP library starlette's TestClient is built on (httpx2, or httpx where that is missing)."""

    def handle_request(self, request):
        request.headers.pop("Authorization", None)
        return super().handle_request(request)


class _HubAndBucketClient(TestClient):
    """Requests for the in-process hub's host go to the application; any other host (the test
    bucket) over the network."""

    def _transport_for_url(self, url):
        # httpx's hook for choosing a transport per URL
        if url.host == "hub.test":
            return super()._transport_for_url(url)
        if not hasattr(self, "_bucket_transport"):
            self._bucket_transport = _BucketTransport()
        return self._bucket_transport

    def close(self) -> None:
        if hasattr(self, "_bucket_transport"):
            self._bucket_transport.close()
        super().close()


class InProcessHub:
    """A hub in this process, on SQLite in `data_dir`, answered by calling the ASGI application
    directly (no server, no sockets): for tests of routing and request handling that must be
    fast. `client(token)` is a Starlette TestClient sending that token.

    Accounts: `admin` (site admin), `alice` (admin of org `acme`), `bob` (read member of acme),
    `dave` (write member of acme), `carol` (no membership); `tokens` has a write token for each
    and `alice_read`, a read token of alice."""

    def __init__(self, data_dir: Path, **settings_overrides: object) -> None:
        """`settings_overrides`: fields of `Settings` to change (the limits a test lowers)."""
        from hubstead.hub import Hub
        from hubstead.protocols.app import HubApp
        from hubstead.settings import Settings

        data_dir.mkdir(parents=True, exist_ok=True)
        self.bucket = TestBucket() if TEST_STORAGE == "s3" else None
        storage: dict[str, object] = (
            {"storage_url": self.bucket.storage_url, "s3_endpoint_url": self.bucket.endpoint}
            if self.bucket is not None
            else {}
        )
        settings = Settings(
            data_dir=data_dir,
            database_url=f"sqlite:///{data_dir / 'hubstead.db'}",
            secret_key="in-process-test-key",
            public_url="http://hub.test",  # the TestClient's base URL
            **{**storage, **settings_overrides},  # type: ignore[arg-type]
        )
        self.hub = Hub(settings)
        self.hub.db.migrate()
        self.app = HubApp(self.hub)
        self.tokens = self._seed()

    def _seed(self) -> dict[str, str]:
        accounts = self.hub.accounts
        for name, admin in ACCOUNTS:
            accounts.create_user(
                name, email=f"{name}@example.com", password=f"{name}-password", admin=admin
            )
        accounts.create_org("acme", ORG_MEMBERS)
        tokens = {
            name: accounts.create_token(name, "write", f"{name}-write") for name, _ in ACCOUNTS
        }
        tokens["alice_read"] = accounts.create_token("alice", "read", "alice-read")
        return tokens

    def principal(self, who: str):
        return self.hub.accounts.authenticate(self.tokens[who])

    def client(self, who: str | None = None):
        """A client of the application that also reaches the test bucket: on the S3 pass the
        hub hands out URLs of the bucket (LFS uploads, downloads), which a real client sends over
        the network without the hub's token, as huggingface_hub and git-lfs do."""
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return _HubAndBucketClient(
            self.app, base_url="http://hub.test", headers=headers, follow_redirects=False
        )

    def close(self) -> None:
        self.hub.db.dispose()
        if self.bucket is not None:
            self.bucket.close()
