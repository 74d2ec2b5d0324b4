"""One set of inference workers for every web process of a `hubstead serve`.

`hubstead serve` runs several web processes (one per CPU by default). If each started its own
workers, each would load its own copy of every model, the memory budget would count once per
web process, and a model warmed by one process would be cold in the others. So `serve` starts
one host process (`run_host`) that owns the `WorkerPool`; every web process talks to it through
a `RemotePool`, which has the pool's interface (`submit`, `is_loaded`, `loading_estimate`).

The channel is a Unix socket in the data folder (mode 0600), authenticated with a key that
`serve` hands to its own processes only (`multiprocessing.connection`: an HMAC challenge
before any message is read). The messages are the pool's own tuples — a job's spec in, its
messages out, cancellations, and the models' state broadcast to every web process as it
changes. A process started without a host (the admin commands, an embedded hub) keeps a pool
of its own.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import threading
from collections.abc import AsyncIterator
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import Any

from hubstead.domain.errors import HubError
from hubstead.services.inference.pool import WorkerPool

log = logging.getLogger("hubstead.inference")
START_SECONDS = 60.0  # how long a web process waits for a host that is starting


class HostUnavailable(HubError):
    status = 503
    code = "Overloaded"


# -- the host process ---------------------------------------------------------------------------


def start_host(data_dir: Path, port: int, pool_args: tuple) -> tuple[Any, str, str]:
    """Start the host process; (process, socket path, key hex) for the web processes. The
    server does not wait for it: a web process connects when its first job comes (and waits
    for the socket then), so the host's start-up is not on the server's."""
    import multiprocessing
    import secrets
    import tempfile

    path = data_dir / "run" / f"inference-{port}.sock"
    if len(str(path)) > 100:  # a Unix socket's path has a length limit (108 bytes on Linux)
        path = Path(tempfile.gettempdir()) / f"hubstead-{secrets.token_hex(8)}.sock"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # an old server's: a web process must not take it for ours
    key = secrets.token_hex(32)
    process = multiprocessing.get_context("spawn").Process(
        target=run_host,
        args=(str(path), bytes.fromhex(key), pool_args, os.getpid()),
        name="hubstead-inference-host",
    )  # not a daemon: a daemon process may not start the workers
    process.start()
    return process, str(path), key


def run_host(socket_path: str, key: bytes, pool_args: tuple, parent: int) -> None:
    """The host process' entry point: serve web processes until `serve` stops (SIGTERM, or
    its process is gone)."""
    import signal

    pool = WorkerPool(*pool_args)
    pool.start()  # the workers import torch and transformers now, not on the first request
    loop = asyncio.new_event_loop()
    signal.signal(signal.SIGTERM, lambda *_: loop.call_soon_threadsafe(loop.stop))

    def watch_parent() -> None:
        while os.getppid() == parent:
            threading.Event().wait(1.0)
        loop.call_soon_threadsafe(loop.stop)

    threading.Thread(target=watch_parent, daemon=True).start()
    path = Path(socket_path)
    path.unlink(missing_ok=True)
    old_mask = os.umask(0o177)  # the socket is the serving user's alone
    try:
        listener = Listener(str(path), family="AF_UNIX", authkey=key)
    finally:
        os.umask(old_mask)
    peers: list[_Peer] = []
    pool.on_state = lambda state: [peer.send(("state", *state)) for peer in list(peers)]

    def accept() -> None:
        while True:
            try:
                conn = listener.accept()
            except Exception:  # noqa: BLE001 - a peer that fails the handshake
                log.warning("refused a connection to the inference host", exc_info=True)
                continue
            peer = _Peer(conn, pool, loop)
            peers.append(peer)
            peer.send(("state", *pool.state()))
            threading.Thread(target=peer.read, args=(peers,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        loop.run_forever()
    finally:
        pool.close()
        listener.close()  # removes the socket


class _Peer:
    """One web process, seen from the host: its jobs run in the pool, their messages go back."""

    def __init__(self, conn: Connection, pool: WorkerPool, loop: asyncio.AbstractEventLoop):
        self.conn, self.pool, self.loop = conn, pool, loop
        self.lock = threading.Lock()
        self.jobs: dict[int, asyncio.Task] = {}

    def send(self, message: tuple) -> None:
        try:
            with self.lock:
                self.conn.send(message)
        except (OSError, ValueError):
            pass  # the web process went away; its reader thread cleans up

    def read(self, peers: list[_Peer]) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                break
            if message[0] == "job":
                self.loop.call_soon_threadsafe(self._start, message[1], message[2])
            elif message[0] == "cancel":
                self.loop.call_soon_threadsafe(self._cancel, message[1])
        peers.remove(self)
        for job_id in list(self.jobs):
            self.loop.call_soon_threadsafe(self._cancel, job_id)

    def _start(self, job_id: int, spec: dict) -> None:
        self.jobs[job_id] = self.loop.create_task(self._relay(job_id, spec))

    def _cancel(self, job_id: int) -> None:
        task = self.jobs.pop(job_id, None)
        if task is not None:
            task.cancel()

    async def _relay(self, job_id: int, spec: dict) -> None:
        try:
            async for message in self.pool.submit(spec):
                self.send(("msg", job_id, message))
        except HubError as error:  # overloaded, no worker running
            self.send(("msg", job_id, ("error", error.status, error.message, "overloaded")))
        finally:
            self.jobs.pop(job_id, None)


# -- a web process' side ------------------------------------------------------------------------


class RemotePool:
    """The host's pool, as a web process uses it."""

    def __init__(self, socket_path: str, key: bytes):
        self.socket_path, self.key = socket_path, key
        self.conn: Connection | None = None
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        self.waiters: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = {}
        self.loaded: set[str] = set()
        self.loading: dict[str, float] = {}

    def _connected(self) -> Connection:
        """The connection to the host, made now if there is none (HostUnavailable if the host
        does not answer: not started yet, or gone)."""
        with self.lock:
            if self.conn is None:
                try:
                    conn = Client(self.socket_path, family="AF_UNIX", authkey=self.key)
                    first = conn.recv()  # the host's models, before any job is decided on
                except (OSError, EOFError) as error:
                    raise HostUnavailable("The inference workers are not running") from error
                if first[0] == "state":
                    self.loaded, self.loading = set(first[1]), dict(first[2])
                threading.Thread(target=self._read, args=(conn,), daemon=True).start()
                self.conn = conn
            return self.conn

    async def _connect(self) -> None:
        """Connect, waiting up to START_SECONDS for a host that is still starting."""
        deadline = asyncio.get_running_loop().time() + START_SECONDS
        while True:
            try:
                await asyncio.to_thread(self._connected)
                return
            except HostUnavailable:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.2)

    def _known(self) -> bool:
        """Whether the host's state is known here (connecting only if its socket is there)."""
        if self.conn is None and Path(self.socket_path).exists():
            try:
                self._connected()
            except HostUnavailable:
                return False
        return self.conn is not None

    def _send(self, message: tuple) -> None:
        conn = self._connected()
        with self.lock:
            conn.send(message)

    def _read(self, conn: Connection) -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                break
            if message[0] == "state":
                self.loaded, self.loading = set(message[1]), dict(message[2])
            elif message[0] == "msg":
                self._deliver(message[1], message[2])
        with self.lock:
            self.conn = None
        for job_id in list(self.waiters):
            self._deliver(job_id, ("error", 503, "The inference host stopped", "overloaded"))

    def _deliver(self, job_id: int, message: tuple) -> None:
        waiter = self.waiters.get(job_id)
        if waiter is not None:
            loop, messages = waiter
            loop.call_soon_threadsafe(messages.put_nowait, message)

    def is_loaded(self, key: str) -> bool:
        return self._known() and key in self.loaded

    def loading_estimate(self, key: str) -> float | None:
        return self.loading.get(key) if self._known() else None

    async def submit(self, spec: dict[str, Any]) -> AsyncIterator[tuple]:
        """The same messages as WorkerPool.submit, from the host's workers."""
        job_id = next(self.ids)
        messages: asyncio.Queue = asyncio.Queue()
        self.waiters[job_id] = (asyncio.get_running_loop(), messages)
        finished = False
        try:
            await self._connect()
            self._send(("job", job_id, spec))
            while True:
                message = await messages.get()
                finished = message[0] in ("done", "error")
                yield message
                if finished:
                    return
        finally:
            self.waiters.pop(job_id, None)
            if not finished:
                try:
                    self._send(("cancel", job_id))
                except (HubError, OSError):
                    pass

    def close(self) -> None:
        with self.lock:
            if self.conn is not None:
                self.conn.close()
                self.conn = None
