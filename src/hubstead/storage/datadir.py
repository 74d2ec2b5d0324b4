"""The data folder itself: who may read it, and which `hubstead serve` owns it.

The folder holds the database (token and password hashes), the secret key, every repository and
every blob, so it is made private to the account that runs the hub (0700).

Who may use it at once depends on the database:
- On SQLite one server owns it: SQLite is a file on one machine, and the locks that serialize
  ref changes (`storage/locks.py`) are `flock`s of that machine. The owner holds an exclusive
  `flock` on `<data>/serve.lock`.
- On PostgreSQL any number of servers share it (on one machine or several, the folder on a
  shared volume): each holds a *shared* `flock` on the same file. What must be one at a time
  takes turns in the database instead (advisory locks: ref changes, the start-time repair).
Either way a command that needs the folder alone (`hubstead reconcile`) takes the exclusive
lock, so it is refused while any server runs, and a server is refused while it runs. The kernel
drops a `flock` when its process dies, however it dies, so a crash never leaves a stale lock.
On a network file system, Linux's NFS client carries `flock` to the server as a byte-range
lock (NFSv4 or NLM), so the exclusion holds across machines there too.
"""

from __future__ import annotations

import fcntl
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("hubstead.datadir")

LOCK_FILE = "serve.lock"
PRIVATE_DIR = 0o700


def make_private(path: Path) -> None:
    """Create `path` as a folder only its owner may enter, or take group and others' access away
    from an existing one we own (logged: an installation made before this rule gets it at its
    next start). One owned by another account is left alone, with a warning: the hub may be
    reaching it through its group."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    info = path.stat()
    mode = stat.S_IMODE(info.st_mode)
    if not mode & 0o077:
        return
    if info.st_uid != os.geteuid():  # a folder shared through its group: the operator's choice
        log.warning("%s (mode %04o) is readable by others than its owner", path, mode)
        return
    os.chmod(path, mode & ~0o077)
    log.warning("made %s private to its owner (mode %04o, was %04o)", path, mode & ~0o077, mode)


class DataDirInUse(Exception):
    """Another process holds the data folder."""

    def __init__(self, data_dir: Path, holder: str):
        who = f" (pid {holder})" if holder else ""
        super().__init__(
            f"another hubstead server{who} is using the data folder {data_dir}: stop it first, "
            "or give this one its own --data-dir (servers on PostgreSQL may share one folder; "
            "on SQLite one server owns it)"
        )


class DataDirLock:
    """A lock on the data folder, held as long as this object's descriptor is open: exclusive
    (one owner), or `shared` with other servers (PostgreSQL; see the module's docstring).

    The descriptor is not inheritable (PEP 446), so processes started with `spawn` (the
    inference host) never hold it; forked server workers share it with their parent, which is
    right: they use the folder too, and the lock goes when the last of them exits."""

    def __init__(self, data_dir: Path, shared: bool = False):
        self.path = data_dir / LOCK_FILE
        self.shared = shared
        self._fd: int | None = None

    def acquire(self) -> DataDirLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            raise DataDirInUse(self.path.parent, holder) from None
        # the owner's pid names it in the refusal; shared holders are many: none is named
        os.ftruncate(fd, 0)
        if not self.shared:
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DataDirLock:
        return self.acquire()

    def __exit__(self, *_exc: object) -> None:
        self.release()
