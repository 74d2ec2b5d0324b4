"""Failures of the machine rather than of the request, told to the client in the Hub's format.

The ASGI application (`protocols/app.py`) asks here before answering an unexpected error with a
500: a full disk is 507 Insufficient Storage, an unreachable database 503 with `Retry-After`
(the pool reconnects by itself once it is back: `pool_pre_ping`, `storage/database.py`).
Nothing was stored in either case: blobs are written to a temporary file and renamed only when
complete, git objects are invisible until a ref names them, and the transaction rolls back.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pygit2
from sqlalchemy import exc as db_errors

from hubstead.domain.errors import HubError

RETRY_AFTER_SECONDS = 5
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_FULL_MESSAGES = tuple(os.strerror(number) for number in _FULL_ERRNOS)
# libgit2 does not always say why a write failed (pygit2 raises GitError('no error') for a
# blob the disk had no room for); a storage error while the data folder's disk has less free
# space than this is taken for a full disk
NEARLY_FULL_BYTES = 64 * 1024 * 1024
NEARLY_FULL_SHARE = 0.05
# SQLite's primary result codes (the extended code's low byte)
_SQLITE_FULL = 13  # "database or disk is full"
# busy or locked past the busy timeout, the file cannot be opened or read (a volume went away)
_SQLITE_UNAVAILABLE = frozenset({5, 6, 10, 14})
# PostgreSQL's SQLSTATE classes of an unreachable server: connection exceptions, operator
# intervention (shut down, restarting), insufficient resources (too many connections)
_PG_UNAVAILABLE = ("08", "57P", "53")


def infrastructure_error(error: BaseException, data_dir: Path) -> HubError | None:
    """The Hub-format error for `error` when the machine failed (None: a 500 it stays)."""
    causes = list(_causes(error))
    if any(_is_disk_full(cause, data_dir) for cause in causes):
        return HubError("Insufficient storage: the hub's disk is full", status=507)
    if any(_is_database_unavailable(cause) for cause in causes):
        return HubError(
            "The hub's database is unavailable, try again shortly",
            status=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return None


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error and what caused it (SQLAlchemy wraps the driver's error, services re-raise)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _sqlite_code(error: sqlite3.Error) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def _is_disk_full(error: BaseException, data_dir: Path) -> bool:
    if isinstance(error, sqlite3.Error):
        return _sqlite_code(error) == _SQLITE_FULL
    if isinstance(error, OSError) and error.errno is not None:
        return error.errno in _FULL_ERRNOS
    if isinstance(error, OSError | pygit2.GitError):  # raised by libgit2, without an errno
        return any(text in str(error) for text in _FULL_MESSAGES) or _nearly_full(data_dir)
    return False


def _nearly_full(data_dir: Path) -> bool:
    try:
        disk = os.statvfs(data_dir)
    except OSError:
        return False
    free, size = disk.f_bavail * disk.f_frsize, disk.f_blocks * disk.f_frsize
    return free < min(NEARLY_FULL_BYTES, size * NEARLY_FULL_SHARE)


def _is_database_unavailable(error: BaseException) -> bool:
    if isinstance(error, db_errors.DisconnectionError | db_errors.TimeoutError):
        return True
    if isinstance(error, db_errors.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sqlite3.OperationalError):
        return _sqlite_code(error) in _SQLITE_UNAVAILABLE
    if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
        # no SQLSTATE: the connection itself failed (refused, reset, closed by the server)
        return error.sqlstate is None or error.sqlstate.startswith(_PG_UNAVAILABLE)
    return False
