"""The job queue's table (`jobs`): enqueue, claim, extend, complete, fail, list, prune.

Why a table of our own rather than procrastinate (the well-kept PostgreSQL job queue): the same
jobs must run on SQLite, which procrastinate does not support, so SQLite would need a second
queue anyway; procrastinate brings its own schema and migrations beside Alembic's, and an
asyncio worker model beside the hub's threads. What a queue needs here is small and is the
textbook PostgreSQL pattern, in one statement: claim the oldest due row with
`UPDATE … WHERE id = (SELECT id … ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING …`.
Any number of processes can claim concurrently; none ever gets a row another holds. On SQLite
the same statement is one write under the database's single write lock, so it is atomic there
too (several `hubstead serve` workers of one folder, or `hubstead jobs run` beside a server).

Delivery: a claim is a lease (the row's `run_at` becomes the lease's end; the runner extends it
while the job runs). A runner that dies leaves its lease to expire, and the job is claimed
again — so a job runs once unless its process dies mid-way, and then again from the start:
job handlers are written to be idempotent. Every claim counts as an attempt; a job whose
attempts are used up is marked failed instead of being claimed again, even when it is the
process crashes that used them.

Times come from the hubs' clocks (aware UTC), as signed URLs' expiries already do: machines in
a cluster keep their clocks in step (NTP); a lease of a minute tolerates seconds of skew.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import DateTime, and_, case, delete, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from hubstead.storage.database import Database
from hubstead.storage.models import Job, utcnow

STATES = ("pending", "running", "done", "failed")
LOST = "lease expired: the process running it stopped"  # the error of a job its runner lost
MAX_ERROR_CHARS = 4000


def worker_name() -> str:
    """Who holds a lease, for people reading `hubstead jobs list`: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


@dataclass(frozen=True)
class ClaimedJob:
    """A job this runner holds; `attempt` (1 for the first) is its lease's token."""

    id: int
    kind: str
    payload: dict
    attempt: int
    max_attempts: int


class JobQueue:
    def __init__(self, db: Database):
        self.db = db

    # -- enqueueing -------------------------------------------------------------------------

    def enqueue(
        self,
        kind: str,
        payload: dict | None = None,
        *,
        key: str | None = None,
        run_at: dt.datetime | None = None,
        max_attempts: int = 5,
        session: Session | None = None,
    ) -> int | None:
        """Add a job; its id, or None when a job with this `key` exists already (so a periodic
        slot or an event is enqueued once, whoever enqueues it). Given a `session`, the job is
        part of that transaction: it exists exactly when the change that asked for it
        commits (what webhooks need: no event without its change, no change without its event)."""
        if max_attempts < 1:
            raise ValueError("a job needs at least one attempt")
        now = utcnow()
        values = {
            "kind": kind,
            "payload": payload or {},
            "key": key,
            "state": "pending",
            "run_at": run_at or now,
            "attempts": 0,
            "max_attempts": max_attempts,
            "created_at": now,
        }
        if session is not None:
            return self._insert(session, values)
        with self.db.session() as own:
            return self._insert(own, values)

    def _insert(self, session: Session, values: dict) -> int | None:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(Job)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[Job.key])
            .returning(Job.id)
        )
        return session.execute(statement).scalar()

    # -- running ----------------------------------------------------------------------------

    def claim(
        self, worker: str, lease: dt.timedelta, now: dt.datetime | None = None
    ) -> ClaimedJob | None:
        """The oldest due job, now leased to `worker` until `now + lease`; None when nothing
        is due. Due: pending with `run_at` past, or running with its lease expired."""
        now = now or utcnow()
        for _ in range(100):  # each round either claims a job or retires a used-up one
            with self.db.session() as session:
                row = session.execute(self._claim_statement(worker, lease, now)).first()
            if row is None:
                return None
            if row.state == "running":
                return ClaimedJob(
                    row.id, row.kind, row.payload or {}, row.attempts, row.max_attempts
                )
        return None

    def _claim_statement(self, worker: str, lease: dt.timedelta, now: dt.datetime):
        candidate = aliased(Job, name="candidate")  # not correlated with the UPDATE's row
        due = (
            select(candidate.id)
            .where(candidate.state.in_(("pending", "running")), candidate.run_at <= now)
            .order_by(candidate.run_at, candidate.id)
            .limit(1)
        )
        if not self.db.is_sqlite:
            due = due.with_for_update(skip_locked=True)
        # a lost job (running, lease expired) whose attempts are used up is retired, not run
        used_up = and_(Job.state == "running", Job.attempts >= Job.max_attempts)
        when = DateTime(timezone=True)
        return (
            update(Job)
            .where(Job.id == due.scalar_subquery())
            .values(
                state=case((used_up, "failed"), else_="running"),
                attempts=case((used_up, Job.attempts), else_=Job.attempts + 1),
                run_at=case((used_up, Job.run_at), else_=literal(now + lease, when)),
                locked_by=case((used_up, Job.locked_by), else_=worker),
                started_at=case((used_up, Job.started_at), else_=literal(now, when)),
                finished_at=case((used_up, literal(now, when)), else_=None),
                last_error=case((used_up, LOST), else_=Job.last_error),
            )
            .returning(Job.id, Job.kind, Job.payload, Job.state, Job.attempts, Job.max_attempts)
            .execution_options(synchronize_session=False)
        )

    def extend(self, job: ClaimedJob, lease: dt.timedelta, now: dt.datetime | None = None) -> bool:
        """Push the lease's end to `now + lease`; False when the lease was lost meanwhile."""
        return self._finish(job, run_at=(now or utcnow()) + lease)

    def complete(self, job: ClaimedJob, now: dt.datetime | None = None) -> bool:
        """Mark the job done; False when another runner holds it now (its lease had expired)."""
        return self._finish(job, state="done", finished_at=now or utcnow(), last_error=None)

    def fail(
        self,
        job: ClaimedJob,
        error: str,
        backoff: dt.timedelta,
        now: dt.datetime | None = None,
    ) -> str | None:
        """Record a failed attempt: pending again after `backoff`, or failed for good when its
        attempts are used up. The state it is left in; None when the lease was lost."""
        now = now or utcnow()
        error = error[-MAX_ERROR_CHARS:]
        if job.attempt >= job.max_attempts:
            ok = self._finish(job, state="failed", finished_at=now, last_error=error)
            return "failed" if ok else None
        ok = self._finish(job, state="pending", run_at=now + backoff, last_error=error)
        return "pending" if ok else None

    def _finish(self, job: ClaimedJob, **values: object) -> bool:
        with self.db.session() as session:
            changed = session.execute(
                update(Job)
                .where(Job.id == job.id, Job.state == "running", Job.attempts == job.attempt)
                .values(**values)
                .execution_options(synchronize_session=False)
            ).rowcount
        return changed == 1

    # -- reading and pruning ----------------------------------------------------------------

    def jobs(self, states: Iterable[str] = STATES, limit: int = 50) -> list[Job]:
        """Jobs in these states, the most recently created first."""
        with self.db.session() as session:
            return list(
                session.scalars(
                    select(Job)
                    .where(Job.state.in_(tuple(states)))
                    .order_by(Job.created_at.desc(), Job.id.desc())
                    .limit(limit)
                )
            )

    def get(self, job_id: int) -> Job | None:
        with self.db.session() as session:
            return session.get(Job, job_id)

    def prune(self, before: dt.datetime) -> int:
        """Forget finished jobs (done or failed) that finished before `before`."""
        with self.db.session() as session:
            return session.execute(
                delete(Job).where(Job.state.in_(("done", "failed")), Job.finished_at < before)
            ).rowcount
