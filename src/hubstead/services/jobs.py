"""Background work: the job kinds and their handlers, the periodic schedule, and the runner.

The queue itself is a table (storage/jobs.py: why not procrastinate, and how a claim is made
safe across processes). This module decides what work there is:

- kinds: a name and a handler, `payload -> summary`; `standard_handlers` are the hub's
  (download counter rollups, gc, tag recounts, card reindexing), plus the queue's own
  `jobs.prune` (old finished jobs). A service
  enqueues work with `JobService.enqueue(kind, payload, key=…, session=…)`, in its own
  transaction when it passes its session, so later kinds (webhook deliveries) are added by
  registering a handler and enqueueing from the service that has the event.
- periodic jobs: every period is cut into slots aligned on the epoch (a day: midnight UTC);
  each runner enqueues the job of the current slot under the key `periodic:<kind>:<slot>`,
  due when the slot ends. The key is unique in the table, so however many processes schedule
  it, the slot has one job, and one process runs it.
- the runner (`JobRunner`), a thread that `hubstead jobs work` and the job process of
  `hubstead serve` run: it schedules, claims the oldest due job, runs it while a heartbeat
  extends its lease, records success or a failure (retried with exponential backoff until its
  attempts are used up), and sleeps `poll` seconds when nothing is due.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from hubstead.storage.database import Database
from hubstead.storage.jobs import ClaimedJob, JobQueue, worker_name
from hubstead.storage.models import utcnow

log = logging.getLogger("hubstead.jobs")

Handler = Callable[[dict], object]  # a job's payload -> a short summary, for the log
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # slots are aligned on it: a day starts at 00:00 UTC
DAY = dt.timedelta(days=1)
KEEP_FINISHED = dt.timedelta(days=14)  # done and failed jobs stay listed this long


class UnknownJobKind(LookupError):
    """A job whose kind this runner has no handler for (enqueued by a newer version?)."""


@dataclass(frozen=True)
class Periodic:
    """A kind enqueued once per `period`, due at the end of each slot."""

    kind: str
    period: dt.timedelta
    payload: dict = field(default_factory=dict)


# The rollup was a daily cron job (`hubstead counters`); so is gc. The recount is the repair
# `hubstead reindex` does after a full reindex: cheap (two grouped INSERT … SELECT), and it
# fixes any drift of the facet counters within a day.
PERIODIC = (
    Periodic("counters.rollup", DAY),
    Periodic("gc", DAY),
    Periodic("listing.recount", DAY),
    Periodic("jobs.prune", DAY),
)


def slot_start(now: dt.datetime, period: dt.timedelta) -> dt.datetime:
    """The start of the slot of `period` that holds `now`."""
    return EPOCH + ((now - EPOCH) // period) * period


def periodic_key(kind: str, slot: dt.datetime) -> str:
    return f"periodic:{kind}:{slot.strftime('%Y-%m-%dT%H:%M')}"


def standard_handlers(
    *,
    counters,  # services.counters.CounterService
    index,  # services.listing_index.ListingIndex
    cards,  # services.cards.CardService
    collect_garbage: Callable[[dt.timedelta], object],
    gc_grace: dt.timedelta,
) -> dict[str, Handler]:
    """The hub's job kinds (the composition root passes its services); `jobs.prune` is the
    queue's own, added by JobService."""

    def rollup(_payload: dict) -> str:
        return f"refreshed the counters of {counters.refresh_windows()} repositories"

    def gc(payload: dict) -> object:
        grace = payload.get("grace_seconds")
        return collect_garbage(dt.timedelta(seconds=grace) if grace is not None else gc_grace)

    def recount(_payload: dict) -> str:
        return f"recounted {index.rebuild_counts()} tag counters"

    def reindex(payload: dict) -> str:
        ids = payload.get("repo_ids")
        count = cards.reindex(ids)
        if ids is None:  # as `hubstead reindex` does after a full reindex
            index.rebuild_counts()
        return f"reindexed {count} repositories"

    return {
        "counters.rollup": rollup,
        "gc": gc,
        "listing.recount": recount,
        "cards.reindex": reindex,
    }


class JobService:
    def __init__(
        self,
        db: Database,
        handlers: dict[str, Handler],
        periodic: tuple[Periodic, ...] = PERIODIC,
        *,
        lease: dt.timedelta = dt.timedelta(seconds=60),
        backoff_base: dt.timedelta = dt.timedelta(seconds=30),
        backoff_cap: dt.timedelta = dt.timedelta(hours=1),
        max_attempts: int = 5,
    ):
        self.queue = JobQueue(db)
        self.handlers = {"jobs.prune": self._prune, **handlers}
        self.periodic = periodic
        self.lease = lease
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_attempts = max_attempts

    def enqueue(
        self,
        kind: str,
        payload: dict | None = None,
        *,
        key: str | None = None,
        run_at: dt.datetime | None = None,
        max_attempts: int | None = None,
        session: Session | None = None,
    ) -> int | None:
        """Add a job of a known kind; None when its `key` is taken (enqueued already)."""
        if kind not in self.handlers:
            raise UnknownJobKind(f"no job kind {kind!r}: one of {', '.join(sorted(self.handlers))}")
        return self.queue.enqueue(
            kind,
            payload,
            key=key,
            run_at=run_at,
            max_attempts=max_attempts or self.max_attempts,
            session=session,
        )

    def schedule_periodic(self, now: dt.datetime | None = None) -> list[int]:
        """Enqueue the current slot's job of every periodic kind that has none yet; the ids of
        the jobs this call added (none when another process was first)."""
        now = now or utcnow()
        added = []
        for job in self.periodic:
            slot = slot_start(now, job.period)
            new = self.enqueue(
                job.kind, job.payload, key=periodic_key(job.kind, slot), run_at=slot + job.period
            )
            if new is not None:
                added.append(new)
        return added

    def _prune(self, _payload: dict) -> str:
        return f"forgot {self.queue.prune(utcnow() - KEEP_FINISHED)} finished jobs"

    def backoff(self, attempt: int) -> dt.timedelta:
        """How long a job waits after its `attempt`-th failure: doubling from the base."""
        return min(self.backoff_base * 2 ** (attempt - 1), self.backoff_cap)

    def run_one(self, worker: str | None = None, now: dt.datetime | None = None) -> bool:
        """Claim and run the oldest due job; False when none was due."""
        job = self.queue.claim(worker or worker_name(), self.lease, now)
        if job is None:
            return False
        self._execute(job, now)
        return True

    def run_pending(self, worker: str | None = None) -> int:
        """Run due jobs until none is due (`hubstead jobs run`); how many ran."""
        count = 0
        while self.run_one(worker):
            count += 1
        return count

    def _execute(self, job: ClaimedJob, now: dt.datetime | None) -> None:
        """Run the job's handler; the outcome is recorded at `now` (a test's clock) or now."""
        done = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(job, done), daemon=True)
        beat.start()
        try:
            handler = self.handlers.get(job.kind)
            if handler is None:
                raise UnknownJobKind(f"no handler for job kind {job.kind!r}")
            summary = handler(job.payload)
        except Exception as error:
            text = "".join(traceback.format_exception_only(error)).strip()
            state = self.queue.fail(job, traceback.format_exc(), self.backoff(job.attempt), now)
            log.warning(
                "job %d (%s) attempt %d/%d failed: %s; %s",
                job.id,
                job.kind,
                job.attempt,
                job.max_attempts,
                text,
                {"pending": "will retry", "failed": "given up"}.get(state or "", "lease lost"),
            )
        else:
            if self.queue.complete(job, now):
                log.info("job %d (%s) done: %s", job.id, job.kind, summary)
            else:
                log.warning("job %d (%s) finished after its lease was lost", job.id, job.kind)
        finally:
            done.set()
            beat.join()

    def _heartbeat(self, job: ClaimedJob, done: threading.Event) -> None:
        """Extend the lease every third of it while the job runs."""
        while not done.wait(self.lease.total_seconds() / 3):
            try:
                if not self.queue.extend(job, self.lease):
                    log.warning("job %d (%s) lost its lease", job.id, job.kind)
                    return
            except Exception:  # the database away for a moment: the next beat tries again
                log.exception("job %d: could not extend its lease", job.id)


class JobRunner:
    """A thread that schedules the periodic jobs and runs due ones until stopped."""

    def __init__(self, service: JobService, poll_seconds: float = 5.0, worker: str | None = None):
        self.service = service
        self.poll_seconds = poll_seconds
        self.worker = worker or worker_name()
        self._stop = threading.Event()
        self._scheduled: dt.datetime | None = None  # the slot start last scheduled (any period)
        self._thread = threading.Thread(target=self._loop, name="hubstead-jobs", daemon=True)

    def start(self) -> JobRunner:
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> bool:
        """Stop after the job in hand (if any); whether the thread ended within `timeout`."""
        self._stop.set()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self._schedule()
                ran = self.service.run_one(self.worker)
                failures = 0
            except Exception:  # the database away: wait, longer each time, and try again
                failures += 1
                log.exception("job runner: the queue is not reachable")
                ran = False
            if not ran:
                self._stop.wait(self.poll_seconds * min(2 ** max(failures - 1, 0), 12))

    def _schedule(self) -> None:
        """Schedule when a slot of the shortest period began since the last time: the insert
        is then one per slot and process, not one per poll."""
        if not self.service.periodic:
            return
        now = utcnow()
        shortest = min(job.period for job in self.service.periodic)
        slot = slot_start(now, shortest)
        if slot != self._scheduled:
            self.service.schedule_periodic(now)
            self._scheduled = slot
