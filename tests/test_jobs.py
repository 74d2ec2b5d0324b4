"""The job queue on the test backend: concurrent runners (threads with their own connections,
and processes) never run a job twice, failures are retried with backoff then given up, a
periodic slot is enqueued once however many schedule it, a lost lease (a crashed process) is
taken up again, the hub's own jobs do their work, and `hubstead serve` runs them."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select, update

from conftest import BACKEND
from hubstead.services.jobs import JobRunner, JobService, Periodic, periodic_key, slot_start
from hubstead.storage.database import Database
from hubstead.storage.jobs import LOST
from hubstead.storage.models import Job, RepoDownloadDay, Repository
from hubstead.testing import PostgresDatabase

HUB_ENV = {"HUBSTEAD_JOBS_POLL_SECONDS": "0.2"}
SRC = str(Path(__file__).resolve().parents[1] / "src")
T0 = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def database_url(tmp_path):
    postgres = PostgresDatabase() if BACKEND == "postgresql" else None
    url = postgres.url if postgres else f"sqlite:///{tmp_path / 'jobs.db'}"
    db = Database(url)
    db.migrate()
    db.dispose()
    yield url
    if postgres:
        postgres.close()


@pytest.fixture
def databases(database_url):
    """Open Database objects (each its own engine, so its own connections), closed at the end."""
    opened: list[Database] = []

    def open_one() -> Database:
        opened.append(Database(database_url))
        return opened[-1]

    yield open_one
    for db in opened:
        db.dispose()


def _states(db: Database) -> dict[int, tuple[str, int]]:
    with db.session() as session:
        return {row.id: (row.state, row.attempts) for row in session.scalars(select(Job))}


def _wait(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_two_runner_threads_never_run_a_job_twice(databases):
    runs: list[tuple[int, str]] = []
    lock = threading.Lock()

    def service(name: str) -> JobService:
        def record(payload: dict) -> None:
            with lock:
                runs.append((payload["n"], name))
            time.sleep(0.002)

        return JobService(databases(), {"record": record}, periodic=())

    first, second = service("first"), service("second")
    for n in range(120):
        first.enqueue("record", {"n": n})
    runners = [JobRunner(s, poll_seconds=0.01, worker=w) for s, w in ((first, "a"), (second, "b"))]
    for runner in runners:
        runner.start()
    try:
        _wait(lambda: len(runs) >= 120)
        time.sleep(0.2)  # a double run would land now
    finally:
        for runner in runners:
            assert runner.stop(10)
    assert sorted(n for n, _ in runs) == list(range(120))  # each job once, none twice
    assert {name for _, name in runs} == {"first", "second"}  # both took work
    assert set(_states(first.queue.db).values()) == {("done", 1)}


WORKER = textwrap.dedent(
    """
    import datetime as dt, os, sys, time
    from pathlib import Path
    from hubstead.services.jobs import JobService, Periodic
    from hubstead.storage.database import Database

    url, folder, now = sys.argv[1], Path(sys.argv[2]), dt.datetime.fromisoformat(sys.argv[3])
    out = os.open(folder / "runs", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def record(payload):
        os.write(out, f"{payload['n']} {os.getpid()}\\n".encode())
        time.sleep(0.003)

    service = JobService(Database(url), {"record": record, "tick": lambda p: None},
                         periodic=(Periodic("tick", dt.timedelta(hours=1)),))
    (folder / f"ready-{os.getpid()}").touch()
    while not (folder / "go").exists():
        time.sleep(0.001)
    service.schedule_periodic(now)  # both at once: one job for the slot
    while not (folder / "stop").exists():
        if not service.run_one(now=now + dt.timedelta(minutes=1)):
            time.sleep(0.01)
    """
)


def test_two_runner_processes_never_run_a_job_twice_and_schedule_a_slot_once(
    databases, database_url, tmp_path
):
    db = databases()
    service = JobService(db, {"record": lambda p: None}, periodic=())
    for n in range(150):
        service.enqueue("record", {"n": n}, run_at=T0)
    env = {**os.environ, "PYTHONPATH": SRC}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, database_url, str(tmp_path), T0.isoformat()], env=env
        )
        for _ in range(2)
    ]
    try:
        _wait(lambda: len(list(tmp_path.glob("ready-*"))) == 2)
        (tmp_path / "go").touch()
        _wait(lambda: (tmp_path / "runs").exists() and _lines(tmp_path / "runs") >= 150)
        time.sleep(0.3)
    finally:
        (tmp_path / "stop").touch()
        for worker in workers:
            assert worker.wait(30) == 0
    runs = [line.split() for line in (tmp_path / "runs").read_text().splitlines()]
    assert Counter(int(n) for n, _ in runs) == Counter(range(150))  # every job exactly once
    assert len({pid for _, pid in runs}) == 2  # both processes ran jobs
    with db.session() as session:
        ticks = session.scalars(select(Job.key).where(Job.kind == "tick")).all()
    assert ticks == [periodic_key("tick", slot_start(T0, dt.timedelta(hours=1)))]


def _lines(path: Path) -> int:
    return path.read_text().count("\n")


def test_a_failing_job_is_retried_with_backoff_then_marked_failed(databases):
    calls: list[int] = []

    def broken(payload: dict) -> None:
        calls.append(payload["n"])
        raise RuntimeError("the disk is on fire")

    def flaky(payload: dict) -> None:
        calls.append(payload["n"])
        if calls.count(payload["n"]) < 2:
            raise RuntimeError("not yet")

    service = JobService(
        databases(),
        {"broken": broken, "flaky": flaky},
        periodic=(),
        backoff_base=dt.timedelta(seconds=10),
    )
    doomed = service.enqueue("broken", {"n": 1}, run_at=T0, max_attempts=3)
    assert service.run_one(now=T0)  # attempt 1 fails: due again 10 s later
    job = service.queue.get(doomed)
    assert (job.state, job.attempts) == ("pending", 1) and "disk is on fire" in job.last_error
    assert not service.run_one(now=T0 + dt.timedelta(seconds=9))  # still backing off
    assert service.run_one(now=T0 + dt.timedelta(seconds=10))  # attempt 2: then 20 s
    assert not service.run_one(now=T0 + dt.timedelta(seconds=29))
    assert service.run_one(now=T0 + dt.timedelta(seconds=30))  # attempt 3, the last
    job = service.queue.get(doomed)
    assert (job.state, job.attempts) == ("failed", 3) and job.finished_at is not None
    assert "RuntimeError: the disk is on fire" in job.last_error
    assert not service.run_one(now=T0 + dt.timedelta(days=1))  # never again
    assert calls == [1, 1, 1]

    recovers = service.enqueue("flaky", {"n": 2}, run_at=T0)
    assert service.run_one(now=T0) and service.run_one(now=T0 + dt.timedelta(seconds=10))
    job = service.queue.get(recovers)
    assert (job.state, job.attempts, job.last_error) == ("done", 2, None)


def test_a_periodic_job_is_enqueued_once_per_slot_by_concurrent_schedulers(databases):
    periodic = (Periodic("hourly", dt.timedelta(hours=1)), Periodic("daily", dt.timedelta(days=1)))
    services = [
        JobService(databases(), {"hourly": print, "daily": print}, periodic=periodic)
        for _ in range(6)
    ]
    added: list[int] = []
    start = threading.Barrier(len(services))

    def schedule(service: JobService, now: dt.datetime) -> None:
        start.wait()
        added.extend(service.schedule_periodic(now))

    for now in (T0, T0 + dt.timedelta(minutes=59), T0 + dt.timedelta(hours=1)):
        threads = [threading.Thread(target=schedule, args=(s, now)) for s in services]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    with services[0].queue.db.session() as session:
        keys = sorted(session.execute(select(Job.key, Job.run_at)).all())
    assert len(added) == len(keys) == 3  # T0's hour, the next hour, one day
    assert [key for key, _ in keys] == [
        "periodic:daily:2026-06-01T00:00",
        "periodic:hourly:2026-06-01T12:00",
        "periodic:hourly:2026-06-01T13:00",
    ]
    due = {key: run_at.replace(tzinfo=dt.UTC) for key, run_at in keys}
    assert due["periodic:hourly:2026-06-01T12:00"] == T0 + dt.timedelta(
        hours=1
    )  # at the slot's end
    assert due["periodic:daily:2026-06-01T00:00"] == dt.datetime(2026, 6, 2, tzinfo=dt.UTC)


def test_a_job_whose_lease_expired_is_claimed_again(databases):
    service = JobService(databases(), {"work": lambda p: None}, periodic=())
    queue = service.queue
    job_id = service.enqueue("work", run_at=T0)
    lease = dt.timedelta(seconds=60)
    first = queue.claim("a", lease, now=T0)
    assert first is not None and first.attempt == 1
    assert queue.claim("b", lease, now=T0 + dt.timedelta(seconds=59)) is None  # held by a
    assert queue.extend(first, lease, now=T0 + dt.timedelta(seconds=30))  # a's heartbeat
    assert queue.claim("b", lease, now=T0 + dt.timedelta(seconds=89)) is None
    second = queue.claim("b", lease, now=T0 + dt.timedelta(seconds=91))  # a went silent
    assert second is not None and (second.id, second.attempt) == (job_id, 2)
    assert not queue.complete(first)  # a's late answer changes nothing
    assert not queue.extend(first, lease)
    assert queue.complete(second)
    assert _states(queue.db)[job_id] == ("done", 2)


CRASHER = textwrap.dedent(
    """
    import datetime as dt, os, sys
    from hubstead.services.jobs import JobService
    from hubstead.storage.database import Database

    service = JobService(Database(sys.argv[1]), {"crash": lambda p: os._exit(3)}, periodic=(),
                         lease=dt.timedelta(seconds=1))
    service.run_one()
    """
)


def test_a_job_that_kills_its_process_runs_again_after_its_lease(databases, database_url):
    ran: list[int] = []
    service = JobService(
        databases(),
        {"crash": lambda payload: ran.append(payload["n"])},
        periodic=(),
        lease=dt.timedelta(seconds=1),
    )
    retried = service.enqueue("crash", {"n": 1})
    env = {**os.environ, "PYTHONPATH": SRC}
    crash = subprocess.run([sys.executable, "-c", CRASHER, database_url], env=env)
    assert crash.returncode == 3  # the handler took its process down mid-job
    assert _states(service.queue.db)[retried] == ("running", 1)
    assert not service.run_one()  # its lease still holds
    time.sleep(1.1)
    assert service.run_one() and ran == [1]
    assert _states(service.queue.db)[retried] == ("done", 2)

    # a job that crashes its process on its last attempt is given up, not run again
    doomed = service.enqueue("crash", {"n": 2}, max_attempts=1)
    assert subprocess.run([sys.executable, "-c", CRASHER, database_url], env=env).returncode == 3
    time.sleep(1.1)
    assert not service.run_one()
    job = service.queue.get(doomed)
    assert (job.state, job.last_error, ran) == ("failed", LOST, [1])


def _hub_on(database_url: str, data_dir: Path):
    from hubstead.hub import Hub
    from hubstead.settings import Settings

    hub = Hub(Settings(data_dir=data_dir, database_url=database_url, secret_key="k"))
    hub.db.migrate()
    return hub


def test_the_counter_rollup_job_recomputes_downloads_and_trending(database_url, tmp_path):
    from hubstead.domain.repo_ids import RepoId, RepoType
    from hubstead.services.counters import today

    hub = _hub_on(database_url, tmp_path / "data")
    try:
        hub.accounts.create_user("alice", password="alice-password")
        alice = hub.accounts.authenticate(hub.accounts.create_token("alice", "write", "t"))
        repo = hub.repos.create(alice, RepoType.MODEL, RepoId("alice", "counted"), False).row.id
        quiet = hub.repos.create(alice, RepoType.MODEL, RepoId("alice", "quiet"), False).row.id
        day = today()
        with hub.db.session() as session:
            for days_ago, count in ((2, 3), (20, 4), (40, 5)):  # week, month, older
                session.add(
                    RepoDownloadDay(
                        repo_id=repo, day=day - dt.timedelta(days=days_ago), count=count
                    )
                )
            session.execute(update(Repository).values(downloads=99, trending_score=7.0))
        job = hub.jobs.enqueue("counters.rollup")
        assert hub.jobs.run_pending() == 1
        with hub.db.session() as session:
            rows = {
                r.id: (r.downloads, r.trending_score) for r in session.scalars(select(Repository))
            }
        assert rows == {repo: (7, 3.0), quiet: (0, 0.0)}
        assert hub.jobs.queue.get(job).state == "done"
    finally:
        hub.db.dispose()


def test_the_gc_job_frees_unreferenced_objects(database_url, tmp_path):
    import hashlib

    from hubstead.storage.models import LfsObject

    hub = _hub_on(database_url, tmp_path / "data")
    try:
        data = b"nobody links me"
        oid = hashlib.sha256(data).hexdigest()
        source = tmp_path / "object"
        source.write_bytes(data)
        hub.blobs.put_local_file(oid, len(data), source)
        with hub.db.session() as session:
            session.add(LfsObject(oid=oid, size=len(data)))
        hub.jobs.enqueue("gc", {"grace_seconds": 3600})  # too young: kept
        assert hub.jobs.run_pending() == 1 and hub.blobs.exists(oid)
        hub.jobs.enqueue("gc", {"grace_seconds": 0})
        assert hub.jobs.run_pending() == 1 and not hub.blobs.exists(oid)
        assert [job.state for job in hub.jobs.queue.jobs()] == ["done", "done"]
    finally:
        hub.db.dispose()


def test_serve_runs_enqueued_jobs_in_its_job_process(hub, api):
    """End to end: `hubstead jobs enqueue` beside a running server; its job process runs it."""
    repo_id = api.create_repo("alice/rolled-up").repo_id
    db = Database(hub.database_url)
    try:
        with db.session() as session:
            row = session.scalar(select(Repository.id).where(Repository.name == "rolled-up"))
            session.add(RepoDownloadDay(repo_id=row, day=dt.date.today(), count=42))
    finally:
        db.dispose()
    env = {**os.environ, **{k: v for k, v in hub.server_env().items() if k.startswith("HUBSTEAD_")}}

    def hubstead(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "hubstead", "jobs", *args],
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    job_id = int(hubstead("enqueue", "counters.rollup"))
    _wait(lambda: api.model_info(repo_id).downloads == 42, timeout=30)
    listed = {job["id"]: job for job in json.loads(hubstead("list", "--json"))}
    assert listed[job_id]["state"] == "done"
    assert not listed[job_id]["locked_by"].endswith(f":{os.getpid()}")  # the server's process
    periodic = {job["key"] for job in listed.values() if job["key"]}
    assert {key.split(":")[1] for key in periodic} >= {"counters.rollup", "gc", "listing.recount"}


def test_a_service_enqueues_in_its_own_transaction_and_a_key_once(databases):
    """What a webhook needs: the job exists exactly when the change that asked for it commits."""
    service = JobService(databases(), {"deliver": lambda p: None}, periodic=())
    db = service.queue.db
    with pytest.raises(RuntimeError):
        with db.session() as session:
            session.execute(update(Repository).values(likes=1))  # the change, then its event
            service.enqueue("deliver", {"event": "lost"}, key="event:1", session=session)
            raise RuntimeError("the change failed")
    with db.session() as session:
        first = service.enqueue("deliver", {"event": "kept"}, key="event:1", session=session)
    assert first is not None
    assert service.enqueue("deliver", {"event": "again"}, key="event:1") is None  # once
    assert [(job.id, job.payload) for job in service.queue.jobs()] == [(first, {"event": "kept"})]
    with pytest.raises(LookupError):
        service.enqueue("no-such-kind")
