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

# Importing the settings installs their environment reader into the math renderer, as in the
# server: tests that set HUBSTEAD_NODE / HUBSTEAD_NODE_MODULES are then seen by it.
import hubstead.settings  # noqa: F401

POSTGRES_ADMIN_URL = os.environ.get(
    "HUBSTEAD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


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
        return env

    def start(self) -> LiveHub:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        if self.backend == "postgresql":
            self._postgres = PostgresDatabase()
        self._seed_accounts()
        if self.prepare is not None:
            self.prepare(self.database_url)
        atexit.register(self.stop)  # no orphan servers if the test run dies
        self.restart()
        return self

    def restart(self) -> None:
        """Start the server (again, after it stopped) on the same port, data and database."""
        # the child holds its own copy of the descriptor: ours is closed at once
        with open(self.data_dir / "server.log", "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hubstead", "serve"],
                env=self.server_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()

    def _seed_accounts(self) -> None:
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


ACCOUNTS = (("admin", True), ("alice", False), ("bob", False), ("carol", False), ("dave", False))
ORG_MEMBERS = [("alice", "admin"), ("bob", "read"), ("dave", "write")]


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
        settings = Settings(
            data_dir=data_dir,
            database_url=f"sqlite:///{data_dir / 'hubstead.db'}",
            secret_key="in-process-test-key",
            public_url="http://hub.test",  # the TestClient's base URL
            **settings_overrides,  # type: ignore[arg-type]
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
        from starlette.testclient import TestClient

        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return TestClient(
            self.app, base_url="http://hub.test", headers=headers, follow_redirects=False
        )

    def close(self) -> None:
        self.hub.db.dispose()
