"""Named locks that serialize work on one repository (or one job) across every server process.

A ref moves by compare-and-swap in git (`git update-ref NEW OLD`, under git's own lock file),
then is recorded in the database. The swap alone never loses a commit, but two processes that
each moved a ref could record their targets in the wrong order (the database would then name
an older commit than git), and many writers racing on one branch spend their attempts failing
each other's swaps. So every path that moves a ref holds the repository's lock around
build-commit, swap and record: the swap then fails only when something outside the hub
(a `git push` racing a commit) moved the ref, and the record is always the newest.

- On PostgreSQL the lock is a transaction-scoped advisory lock (`pg_advisory_xact_lock`) taken
  on a connection of a small pool of its own: ending the transaction releases it, and so does
  the server when the connection or the process dies, so a crash never leaves it held. Waiters
  hold a lock connection, never one of the main pool, so a queue of writers cannot starve the
  work the holder still has to do. A process-local lock per key is taken first, so one process
  sends at most one waiter per key to the database.
- On SQLite one server owns the data folder (`storage/datadir.py`), so all its processes
  (granian's workers) are on one machine: the lock is an exclusive `flock` on a small file per
  key under `<data>/locks/`, which the kernel drops when its holder dies, however it dies.

Locks are re-entrant per thread: a path that already holds a repository's lock (a commit that
opens a pull request) may call another that takes it, without waiting for itself.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine

# The first key of PostgreSQL's two-key advisory locks: what kind of thing the second names.
REPO_REFS = 0x4875_6201  # a repository's refs; the second key is its row id
MAINTENANCE = 0x4875_6202  # start-time reconcile and other one-at-a-time maintenance

LOCK_POOL_SIZE = 2
LOCK_POOL_OVERFLOW = 64  # bounded by the threads that can wait: one per key per process


class NamedLocks(Protocol):
    """`hold(kind, key)`: a context manager held by one thread of one process at a time."""

    def hold(self, kind: int, key: int) -> AbstractContextManager[None]: ...

    def dispose(self) -> None: ...


class _ProcessLocks:
    """Per-key re-entrant locks of this process, created on demand and dropped when unused."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[tuple[int, int], tuple[threading.RLock, int]] = {}

    @contextmanager
    def hold(self, kind: int, key: int) -> Iterator[bool]:
        """Yields whether this thread took the lock now (False: it already held it)."""
        name = (kind, key)
        with self._guard:
            lock, users = self._locks.get(name, (threading.RLock(), 0))
            self._locks[name] = (lock, users + 1)
        try:
            with lock:
                depth = _depth(name)
                _DEPTH.held[name] = depth + 1
                try:
                    yield depth == 0
                finally:
                    _DEPTH.held[name] = depth
        finally:
            with self._guard:
                lock, users = self._locks[name]
                if users == 1:
                    del self._locks[name]
                else:
                    self._locks[name] = (lock, users - 1)


class _Depth(threading.local):
    def __init__(self) -> None:
        self.held: dict[tuple[int, int], int] = {}


_DEPTH = _Depth()


def _depth(name: tuple[int, int]) -> int:
    return _DEPTH.held.get(name, 0)


class FileLocks:
    """`flock`s on files of one folder: for the processes of one machine (SQLite's one server).
    Each `open` is its own open file description, so two threads of one process exclude each
    other as two processes do."""

    def __init__(self, folder: Path) -> None:
        self._local = _ProcessLocks()
        self.folder = folder

    @contextmanager
    def hold(self, kind: int, key: int) -> Iterator[None]:
        with self._local.hold(kind, key) as first:
            if not first:
                yield
                return
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.folder / f"{kind:x}-{key}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing the description releases the flock

    def dispose(self) -> None:
        pass


class PostgresLocks:
    """Advisory locks on PostgreSQL, shared by every process on the database."""

    def __init__(self, url: str) -> None:
        self._local = _ProcessLocks()
        self._engine: Engine = create_engine(
            url,
            pool_pre_ping=True,
            pool_size=LOCK_POOL_SIZE,
            max_overflow=LOCK_POOL_OVERFLOW,
        )

    @contextmanager
    def hold(self, kind: int, key: int) -> Iterator[None]:
        with self._local.hold(kind, key) as first:
            if not first:  # this thread holds the database lock already
                yield
                return
            with self._engine.connect() as connection:
                with connection.begin() as transaction:
                    connection.execute(select(func.pg_advisory_xact_lock(kind, key)))
                    try:
                        yield
                    finally:
                        transaction.rollback()  # the lock ends with its transaction

    def dispose(self) -> None:
        self._engine.dispose()


def open_locks(url: str, is_sqlite: bool, data_dir: Path) -> NamedLocks:
    """The locks the database's dialect can offer (see the module's docstring)."""
    return FileLocks(data_dir / "locks") if is_sqlite else PostgresLocks(url)
