"""The web process' side of the inference workers: starts them, sends each job to a worker,
and hands the job's messages back to the request that waits for them.

A job goes to the worker that has its model loaded, else to the least busy one. Each worker
takes at most `queue_per_worker` waiting jobs: past that the hub is overloaded and says so
(503 with Retry-After) rather than queueing without bound. A caller that stops waiting (a
timeout, a client that hung up) cancels its job: a generation in progress stops at its next
token.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from hubstead.domain.errors import HubError
from hubstead.services import telemetry
from hubstead.services.inference import worker as worker_module


class Overloaded(HubError):
    status = 503
    code = "Overloaded"


@dataclass
class _Worker:
    process: Any
    conn: Any
    lock: threading.Lock = field(default_factory=threading.Lock)
    pending: set[int] = field(default_factory=set)
    loaded: set[str] = field(default_factory=set)
    loading: dict[str, float] = field(default_factory=dict)  # key → estimated seconds


class WorkerPool:
    def __init__(
        self, workers: int, budget: int, allow_pickle: bool, queue_per_worker: int, threads: int
    ):
        self.size, self.budget, self.allow_pickle = workers, budget, allow_pickle
        self.queue_per_worker, self.threads = queue_per_worker, threads
        self.workers: list[_Worker] = []
        self.ids = itertools.count(1)
        self.waiters: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = {}
        self.start_lock = threading.Lock()
        self.on_state: Any = None  # called (from a reader thread) when a model's state changes

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the workers now (else the first job starts them)."""
        self._ensure_started()

    def _ensure_started(self) -> None:
        with self.start_lock:
            if self.workers:
                return
            context = multiprocessing.get_context("spawn")
            for _ in range(self.size):
                parent, child = context.Pipe(duplex=True)
                process = context.Process(
                    target=worker_module.main,
                    args=(child, self.budget, self.allow_pickle, self.threads),
                    daemon=True,
                    name="hubstead-inference",
                )
                process.start()
                child.close()
                slot = _Worker(process, parent)
                self.workers.append(slot)
                threading.Thread(target=self._read, args=(slot,), daemon=True).start()

    def close(self) -> None:
        for slot in self.workers:
            try:
                with slot.lock:
                    slot.conn.send(("stop",))
            except (OSError, BrokenPipeError):
                pass
            slot.process.join(timeout=5)
            if slot.process.is_alive():
                slot.process.kill()
        self.workers = []

    # -- state ----------------------------------------------------------------------------------

    def is_loaded(self, key: str) -> bool:
        return any(key in slot.loaded for slot in self.workers)

    def loading_estimate(self, key: str) -> float | None:
        for slot in self.workers:
            if key in slot.loading:
                return slot.loading[key]
        return None

    # -- jobs -----------------------------------------------------------------------------------

    def _choose(self, key: str) -> _Worker:
        self._ensure_started()
        alive = [slot for slot in self.workers if slot.process.is_alive()]
        if not alive:
            raise Overloaded("The inference workers are not running")
        warm = [slot for slot in alive if key in slot.loaded or key in slot.loading]
        slot = min(warm or alive, key=lambda s: len(s.pending))
        if len(slot.pending) >= self.queue_per_worker:
            raise Overloaded("The inference workers are busy: retry in a few seconds")
        return slot

    async def submit(self, spec: dict[str, Any]) -> AsyncIterator[tuple]:
        """Run a job; yields its messages ("token", text) … then ("done", answer) or ("error", …)."""
        slot = self._choose(spec["model_key"])
        job_id = next(self.ids)
        messages: asyncio.Queue = asyncio.Queue()
        self.waiters[job_id] = (asyncio.get_running_loop(), messages)
        slot.pending.add(job_id)
        jobs = telemetry.INFERENCE_JOBS.labels(str(spec.get("task") or "unknown"))
        jobs.inc()
        finished = False
        try:
            with slot.lock:
                slot.conn.send(("job", job_id, spec))
            while True:
                message = await messages.get()
                if message[0] in ("done", "error"):
                    finished = True
                yield message
                if finished:
                    return
        finally:
            jobs.dec()
            self.waiters.pop(job_id, None)
            slot.pending.discard(job_id)
            if not finished:  # the caller stopped waiting: stop the work too
                try:
                    with slot.lock:
                        slot.conn.send(("cancel", job_id))
                except (OSError, BrokenPipeError):
                    pass

    def _read(self, slot: _Worker) -> None:
        """A worker's messages (a thread): model state here, job messages to their waiter."""
        while True:
            try:
                message = slot.conn.recv()
            except (EOFError, OSError):
                for job_id in list(slot.pending):
                    self._deliver(
                        job_id, ("error", 500, "The inference worker stopped", "generation")
                    )
                return
            kind = message[0]
            if kind == "loading":
                slot.loading[message[1]] = message[2]
            elif kind == "loaded":
                slot.loading.pop(message[1], None)
                slot.loaded.add(message[1])
            elif kind == "evicted":
                slot.loaded.discard(message[1])
            else:
                self._deliver(message[1], (kind, *message[2:]))
                continue
            if self.on_state is not None:
                self.on_state(self.state())

    def state(self) -> tuple[list[str], dict[str, float]]:
        """The models loaded and loading (with their estimates) in every worker."""
        loaded = sorted({key for slot in self.workers for key in slot.loaded})
        loading = {k: v for slot in self.workers for k, v in slot.loading.items()}
        return loaded, loading

    def _deliver(self, job_id: int, message: tuple) -> None:
        waiter = self.waiters.get(job_id)
        if waiter is not None:
            loop, messages = waiter
            loop.call_soon_threadsafe(messages.put_nowait, message)
