"""Readiness: whether this process can do its work now (`GET /-/ready`), for a load balancer.

Liveness (`/-/health`) only says the process answers; readiness checks what every request
depends on: the database answers a query, the data folder (git repositories, scratch space)
takes a write, and the blob store answers a lookup (a `stat` locally, a request to an object
store). Each check is bounded by what it calls (the database pool's pre-ping and connect
timeout, the store's client); a failing one is named, never raised.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from hubstead.storage.blobstore import BlobStore
from hubstead.storage.database import Database

log = logging.getLogger("hubstead.health")

PROBE_OID = "0" * 64  # no upload has this SHA-256: the lookup answers False, or fails


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, str]  # check → "ok" or why not

    @property
    def ready(self) -> bool:
        return all(value == "ok" for value in self.checks.values())

    def failures(self) -> list[str]:
        return [f"{name}: {why}" for name, why in self.checks.items() if why != "ok"]


class ReadinessService:
    def __init__(self, db: Database, blobs: BlobStore, data_dir: Path):
        self.db = db
        self.blobs = blobs
        self.data_dir = data_dir

    def check(self) -> Readiness:
        return Readiness(
            {
                "database": self._run(self._database),
                "data_dir": self._run(lambda: _writable(self.data_dir)),
                "blob_store": self._run(self._blob_store),
            }
        )

    @staticmethod
    def _run(check) -> str:
        try:
            check()
        except Exception as error:  # noqa: BLE001 - a failing check is the answer, not a crash
            log.warning("readiness check failed: %s", error)
            first_line = (str(error).splitlines() or [""])[0]  # SQLAlchemy adds a help line
            return f"{type(error).__name__}: {first_line}"[:300]
        return "ok"

    def _database(self) -> None:
        with self.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def _blob_store(self) -> None:
        self.blobs.exists(PROBE_OID)
        _writable(self.blobs.tmp_dir)  # where uploads are assembled on this node


def _writable(folder: Path) -> None:
    """Create, write, sync and remove a file in `folder` (raises where any step fails)."""
    fd, name = tempfile.mkstemp(prefix=".ready-", dir=folder)
    try:
        os.write(fd, b"ready")
        os.fsync(fd)
    finally:
        os.close(fd)
        os.unlink(name)
