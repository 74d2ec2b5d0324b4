"""The `hubstead` command: serve the hub, and administer users, organizations and tokens.

Every option has an environment variable (`HUBSTEAD_<OPTION>`); options win over variables.
Commands that create secrets print only the secret on stdout so scripts can capture it; listings
print a table, or JSON with --json. Errors go to stderr as `error: …` with exit status 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import errno
import getpass
import json
import logging
import os
import secrets
import shutil
import socket
import sys
from pathlib import Path

from hubstead import __version__
from hubstead.domain.errors import BadRequest, HubError
from hubstead.settings import SettingsError, export_options, option_default

GLOBAL_OPTIONS = {
    "data_dir": (
        "--data-dir",
        "DATA_DIR",
        "folder for the database, repositories and blobs (default ./hubstead-data)",
    ),
    "database_url": (
        "--database-url",
        "DATABASE_URL",
        "SQLAlchemy URL; postgresql://… selects PostgreSQL (default: SQLite in the data dir)",
    ),
}


def _add_global(parser: argparse.ArgumentParser) -> None:
    for dest, (flag, env, help_text) in GLOBAL_OPTIONS.items():
        parser.add_argument(flag, dest=dest, default=None, help=f"{help_text} [env HUBSTEAD_{env}]")


def _apply_env(args: argparse.Namespace, names: dict[str, str]) -> None:
    """Options become HUBSTEAD_* variables: that is how server worker processes see them."""
    export_options({env: getattr(args, dest, None) for dest, env in names.items()})


class CommandError(Exception):
    """A refusal of the command itself (printed as `error: …`, exit status 2)."""


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record comes (as logging's last resort does)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(levelname)s:%(name)s:%(message)s"))

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def _log_to_stderr(names: tuple[str, ...] = ("hubstead.reconcile", "hubstead.datadir")) -> None:
    """What the start-up repairs log goes to stderr (the server's log); only these loggers: the
    root logger stays unconfigured until the workers configure it (protocols/app.py)."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(handler, _StderrHandler) for handler in logger.handlers):
            logger.addHandler(_StderrHandler())
            logger.setLevel(logging.INFO)


def _settings():
    """The settings, with the data folder made private to its owner (`storage/datadir.py`)."""
    from hubstead.settings import Settings
    from hubstead.storage.datadir import make_private

    settings = Settings.from_env()
    make_private(settings.data_dir)
    return settings


def _hub(settings=None):
    from hubstead.hub import Hub

    hub = Hub(settings or _settings())
    hub.db.migrate()
    return hub


def _shares_data_dir(settings) -> bool:
    """Servers on PostgreSQL share the data folder; on SQLite one owns it (storage/datadir.py)."""
    return not settings.database_url.startswith("sqlite")


def _own_data_dir(settings, shared: bool = False):
    """The data folder's lock: for this process (and the workers it forks) alone, or `shared`
    with the other servers on the same PostgreSQL database."""
    from hubstead.storage.datadir import DataDirInUse, DataDirLock

    try:
        return DataDirLock(settings.data_dir, shared=shared).acquire()
    except DataDirInUse as error:
        raise CommandError(str(error)) from None


def _check_port_free(host: str, port: int) -> None:
    """Refuse a port something already listens on. granian binds its sockets with SO_REUSEPORT,
    so a second server on a busy port would start and silently share the connections; a probe
    bound without it fails where any socket listens (SO_REUSEADDR only skips TIME_WAIT)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as error:
        reason = "already in use" if error.errno == errno.EADDRINUSE else str(error)
        raise CommandError(
            f"cannot listen on {host}:{port}: {reason} (choose another with --port)"
        ) from None


def _reconcile(hub, shared: bool = False) -> None:
    """Repair what a crash left behind before serving (services/reconcile.py, which logs each
    fix), then stop the math renderer a re-derived card may have started: the server's
    processes start their own. Servers sharing the folder take turns (an advisory lock), and
    leave git lock files young enough to belong to another server's live git."""
    from hubstead.rendering import math
    from hubstead.services.reconcile import SHARED_STALE_SECONDS, reconcile_refs
    from hubstead.storage.locks import MAINTENANCE

    with hub.locks.hold(MAINTENANCE, 0):
        reconcile_refs(hub.db, hub.git, hub.repos, hub.cards, SHARED_STALE_SECONDS if shared else 0)
    math.shutdown()


def cmd_serve(args: argparse.Namespace) -> int:
    _apply_env(
        args, {"host": "HOST", "port": "PORT", "workers": "WORKERS", "public_url": "PUBLIC_URL"}
    )
    _log_to_stderr()
    settings = _settings()
    shared = _shares_data_dir(settings)
    lock = _own_data_dir(settings, shared)
    try:
        _check_port_free(settings.host, settings.port)
        # before anything imports prometheus_client: it picks its multiprocess mode at import,
        # and granian's workers inherit this process' modules
        metrics_dir = _prepare_metrics_dir(settings)
        try:
            from hubstead.hub import Hub

            _prepare(Hub(settings), shared)
            return _serve(settings)
        finally:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    finally:
        lock.release()


def cmd_reconcile(_args: argparse.Namespace) -> int:
    """What `hubstead serve` does at start, on demand: refused while a server owns the folder."""
    _log_to_stderr()
    settings = _settings()
    lock = _own_data_dir(settings)
    try:
        _reconcile(_hub(settings))
    finally:
        lock.release()
    return 0


def _prepare(hub, shared: bool = False) -> None:
    """Before serving: migrations, the first account of a new hub, then the repair of a crash's
    leftovers; servers that start together on one PostgreSQL take turns (an advisory lock),
    so only one migrates and only one creates the first account."""
    from hubstead.storage.locks import MAINTENANCE

    with hub.locks.hold(MAINTENANCE, 0):
        hub.db.migrate()
        if hub.accounts.count_users() == 0:
            password = secrets.token_urlsafe(12)
            hub.accounts.create_user("admin", password=password, admin=True)
            token = hub.accounts.create_token("admin", "write", "bootstrap")
            print("Created the first account (shown once, keep it safe):", file=sys.stderr)
            print(
                f"  login:    admin\n  password: {password}\n  token:    {token}", file=sys.stderr
            )
        _reconcile(hub, shared)
    hub.db.dispose()
    hub.locks.dispose()  # no connection crosses granian's fork


def _prepare_metrics_dir(settings) -> Path:
    """An empty folder for this server's metrics (prometheus_client's multiprocess mode: each
    web process writes its samples there, /-/metrics sums them), named to the workers through
    the variable prometheus_client reads; last run's samples are removed.

    The samples are memory-mapped files, so the folder must not be on the data folder's disk:
    a write into a mapped page the full disk cannot back is a SIGBUS, and the worker dies
    where it should have answered 507 (`Settings.metrics_dir` is on a RAM tmpfs by default)."""
    from hubstead.settings import METRICS_DIR_VARIABLE

    folder = settings.metrics_dir
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, mode=0o700)
    os.environ[METRICS_DIR_VARIABLE] = str(folder)
    return folder


def _serve(settings) -> int:
    from granian import Granian
    from granian.constants import Interfaces

    print(
        f"Hubstead {__version__} on http://{settings.host}:{settings.port} (data: {settings.data_dir})",
        file=sys.stderr,
    )
    host = _start_inference_host(settings)
    jobs = _start_job_process(settings)
    try:
        Granian(
            "hubstead.protocols.app:create_app",
            address=settings.host,
            port=settings.port,
            interface=Interfaces.ASGI,
            workers=settings.workers,
            factory=True,
            log_level="warning" if settings.quiet else "info",
            # SIGTERM: granian stops accepting, lets requests in flight finish (an upload
            # completes and is acknowledged), then exits 0; a worker still busy after this
            # long is killed
            workers_kill_timeout=settings.shutdown_timeout,
        ).serve()
    finally:
        _stop_process(jobs, timeout=JOB_STOP_SECONDS + 5)
        if host is not None:
            host.terminate()
            host.join(timeout=10)
    return 0


JOB_STOP_SECONDS = 25  # how long a stopping job process lets the job in hand finish


def _start_job_process(settings):
    """One job runner per `serve` (services/jobs.py), in a process of its own: a gc or a
    reindex competes with no request for a web process' interpreter, and a job that kills its
    process kills no web process (its lease expires and a runner takes it up again). Spawned,
    not forked: the server process holds no connection a child could share by accident."""
    if not settings.jobs:
        return None
    import multiprocessing

    process = multiprocessing.get_context("spawn").Process(
        target=run_job_process, args=(os.getpid(),), name="hubstead-jobs"
    )
    process.start()
    return process


def _stop_process(process, timeout: float) -> None:
    """SIGTERM (the job process finishes the job in hand), then SIGKILL past `timeout`."""
    if process is None:
        return
    process.terminate()
    process.join(timeout)
    if process.is_alive():
        process.kill()
        process.join()


def run_job_process(parent: int) -> None:
    """The job process' entry point: run jobs until SIGTERM or until `serve` is gone."""
    import threading

    from hubstead.protocols import logs
    from hubstead.settings import Settings, log_format

    settings = Settings.from_env()
    logging.basicConfig(level=logging.WARNING if settings.quiet else logging.INFO)
    logs.configure(log_format())
    stop = threading.Event()

    def watch_parent() -> None:
        while os.getppid() == parent and not stop.wait(1.0):
            pass
        stop.set()

    threading.Thread(target=watch_parent, daemon=True).start()
    from hubstead.hub import Hub

    _work(Hub(settings), settings.jobs_poll_seconds, stop)  # `serve` has migrated already


def _work(hub, poll_seconds: float, stop=None) -> None:
    """Run the job runner until `stop` is set, SIGTERM or Ctrl-C; the job in hand finishes."""
    import signal
    import threading

    from hubstead.rendering import math
    from hubstead.services.jobs import JobRunner

    stop = stop or threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    runner = JobRunner(hub.jobs, poll_seconds).start()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        if not runner.stop(JOB_STOP_SECONDS):
            logging.getLogger("hubstead.jobs").warning(
                "a job was still running at exit: its lease expires and it runs again"
            )
        math.shutdown()
        hub.db.dispose()


def _start_inference_host(settings):
    """One process owning the inference workers for every web process (inference/host.py);
    the web processes learn its socket and key from the environment they inherit."""
    if not settings.inference.enabled or settings.inference.host_socket:
        return None
    from hubstead.services.inference.host import start_host
    from hubstead.services.inference.service import pool_arguments

    process, path, key = start_host(
        settings.data_dir, settings.port, pool_arguments(settings.inference)
    )
    os.environ.update(settings.inference.host_environment(path, key))
    return process


def _when(value: dt.datetime) -> str:
    """Creation dates in UTC, to the second (SQLite hands back naive UTC datetimes)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    for line in [headers, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip())


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def _changed(args: argparse.Namespace, names: list[str]) -> list[str]:
    """The options given on the command line (None means: leave that field alone)."""
    changed = [name for name in names if getattr(args, name) is not None]
    if not changed:
        raise BadRequest(
            "Nothing to update: give at least one of "
            + ", ".join("--" + n.replace("_", "-") for n in names)
        )
    return changed


def cmd_user_create(args: argparse.Namespace) -> int:
    user = _hub().accounts.create_user(
        args.name,
        email=args.email,
        password=args.password,
        admin=args.admin,
        fullname=args.fullname,
        avatar_url=args.avatar_url,
    )
    print(user.name)
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    users = _hub().accounts.list_users()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "name": u.name,
                        "fullname": u.fullname or u.name,
                        "email": u.email,
                        "admin": u.is_admin,
                        "avatar_url": u.avatar_url,
                        "created": _when(u.created_at),
                    }
                    for u in users
                ],
                indent=2,
            )
        )
        return 0
    _print_table(
        ["NAME", "FULLNAME", "EMAIL", "ADMIN", "CREATED"],
        [
            [
                u.name,
                u.fullname or u.name,
                u.email or "-",
                "yes" if u.is_admin else "no",
                _when(u.created_at),
            ]
            for u in users
        ],
    )
    return 0


def cmd_user_update(args: argparse.Namespace) -> int:
    fields = _changed(args, ["fullname", "email", "avatar_url", "admin"])
    user = _hub().accounts.update_user(
        args.name,
        fullname=args.fullname,
        email=args.email,
        avatar_url=args.avatar_url,
        admin=args.admin,
    )
    print(f"updated user {user.name}: {', '.join(fields)}")
    return 0


def cmd_user_delete(args: argparse.Namespace) -> int:
    hub = _hub()
    deleted = hub.accounts.delete_user(args.name, hub.repos)
    print(
        f"deleted user {deleted.name}: {_count(len(deleted.repos), 'repository', 'repositories')}, "
        f"{_count(deleted.tokens, 'token', 'tokens')}"
    )
    for repo in deleted.repos:
        print(f"  deleted {repo}")
    for org in deleted.orgs_left_without_admin:
        print(
            f"warning: organization {org} has no admin left; a site admin can add one with "
            f"`hubstead org add-member {org} USER --role admin`",
            file=sys.stderr,
        )
    return 0


def _read_password(args: argparse.Namespace) -> str:
    """--password, else stdin: asked twice on a terminal, else its first line (for scripts)."""
    if args.password is not None:
        return args.password
    if sys.stdin.isatty():
        password = getpass.getpass("New password: ")
        if getpass.getpass("Repeat it: ") != password:
            raise BadRequest("The two passwords differ")
        return password
    return sys.stdin.readline().rstrip("\r\n")


def cmd_user_set_password(args: argparse.Namespace) -> int:
    password = _read_password(args)
    _hub().accounts.set_password(args.name, password)
    print(f"password of {args.name} changed")
    return 0


def cmd_org_create(args: argparse.Namespace) -> int:
    members = []
    for spec in args.member or []:
        name, _, role = spec.partition(":")
        members.append((name, role or "write"))
    org = _hub().accounts.create_org(
        args.name,
        members,
        default_private=args.default_private,
        fullname=args.fullname,
        avatar_url=args.avatar_url,
    )
    print(org.name)
    return 0


def cmd_org_update(args: argparse.Namespace) -> int:
    fields = _changed(args, ["fullname", "avatar_url", "default_private"])
    org = _hub().accounts.update_org(
        args.name,
        fullname=args.fullname,
        avatar_url=args.avatar_url,
        default_private=args.default_private,
    )
    privacy = "private" if org.default_private else "public"
    print(
        f"updated organization {org.name}: {', '.join(fields)} (new repositories are {privacy} by default)"
    )
    return 0


def cmd_org_add_member(args: argparse.Namespace) -> int:
    _hub().accounts.add_member(args.org, args.user, args.role)
    print(f"{args.user} is {args.role} of {args.org}")
    return 0


def cmd_org_remove_member(args: argparse.Namespace) -> int:
    _hub().accounts.remove_member(args.org, args.user)
    print(f"removed {args.user} from {args.org}")
    return 0


def cmd_org_members(args: argparse.Namespace) -> int:
    members = _hub().accounts.members(args.org)
    if args.json:
        print(json.dumps([{"name": name, "role": role} for name, role in members], indent=2))
    else:
        _print_table(["NAME", "ROLE"], [[name, role] for name, role in members])
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    print(
        _hub().accounts.create_token(
            args.user, role=args.role, name=args.name, expires_days=args.expires_days
        )
    )
    return 0


def _expiry(token) -> str:
    """A token's expiry for the listing: never, its date, or its date and "(expired)"."""
    if token.expires_at is None:
        return "never"
    return _when(token.expires_at) + (" (expired)" if token.expired else "")


def cmd_token_list(args: argparse.Namespace) -> int:
    tokens = _hub().accounts.list_tokens(args.user)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": t.id,
                        "user": t.user,
                        "name": t.name,
                        "role": t.role,
                        "created": _when(t.created_at),
                        "expires": _when(t.expires_at) if t.expires_at else None,
                        "expired": t.expired,
                    }
                    for t in tokens
                ],
                indent=2,
            )
        )
        return 0
    _print_table(
        ["ID", "USER", "NAME", "ROLE", "CREATED", "EXPIRES"],
        [[str(t.id), t.user, t.name, t.role, _when(t.created_at), _expiry(t)] for t in tokens],
    )
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    hub = _hub()
    token = hub.accounts.revoke_token(args.token, args.user)
    print(
        f"revoked token {token.id} ({token.name}, {token.role}) of {token.user}; running servers refuse it "
        f"within {hub.accounts.cache_seconds:g} seconds"
    )
    return 0


def cmd_jobs_list(args: argparse.Namespace) -> int:
    from hubstead.storage.jobs import STATES

    jobs = _hub().jobs.queue.jobs(args.state or STATES, args.limit)
    if args.json:
        print(json.dumps([_job_json(job) for job in jobs], indent=2))
        return 0
    _print_table(
        ["ID", "KIND", "STATE", "ATTEMPTS", "DUE", "FINISHED", "KEY", "ERROR"],
        [
            [
                str(job.id),
                job.kind,
                job.state,
                f"{job.attempts}/{job.max_attempts}",
                _when(job.run_at),
                _when(job.finished_at) if job.finished_at else "-",
                job.key or "-",
                (job.last_error or "-").strip().splitlines()[-1][:60],
            ]
            for job in jobs
        ],
    )
    return 0


def _job_json(job) -> dict:
    return {
        "id": job.id,
        "kind": job.kind,
        "payload": job.payload,
        "key": job.key,
        "state": job.state,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "due": _when(job.run_at),
        "locked_by": job.locked_by,
        "created": _when(job.created_at),
        "started": _when(job.started_at) if job.started_at else None,
        "finished": _when(job.finished_at) if job.finished_at else None,
        "error": job.last_error,
    }


def cmd_jobs_run(_args: argparse.Namespace) -> int:
    """Run every due job once, here, then exit (beside servers, or from cron with HUBSTEAD_JOBS=0)."""
    hub = _hub()
    hub.jobs.schedule_periodic()
    count = hub.jobs.run_pending()
    print(f"ran {_count(count, 'job', 'jobs')}")
    return 0


def cmd_jobs_work(_args: argparse.Namespace) -> int:
    """A runner in the foreground until SIGTERM: for deployments that keep jobs off web nodes."""
    from hubstead.protocols import logs
    from hubstead.settings import log_format

    settings = _settings()
    logging.basicConfig(level=logging.INFO)
    logs.configure(log_format())
    _work(_hub(settings), settings.jobs_poll_seconds)
    return 0


def cmd_jobs_enqueue(args: argparse.Namespace) -> int:
    try:
        payload = json.loads(args.payload) if args.payload else {}
    except ValueError as error:
        raise CommandError(f"--payload is not JSON: {error}") from None
    if not isinstance(payload, dict):
        raise CommandError("--payload must be a JSON object")
    from hubstead.services.jobs import UnknownJobKind

    try:
        job = _hub().jobs.enqueue(args.kind, payload, key=args.key)
    except UnknownJobKind as error:
        raise CommandError(str(error)) from None
    print(job if job is not None else f"a job with the key {args.key!r} exists already")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    """The audit log, newest first (the same events site admins read at /admin/audit)."""
    entries = _hub().audit.entries(
        action=args.action, actor=args.actor, target=args.target, limit=args.limit
    )
    if args.json:
        print(json.dumps([entry.to_json() for entry in entries], indent=2))
        return 0
    _print_table(
        ["ID", "AT", "ACTOR", "ACTION", "TARGET", "DETAILS", "ADDRESS"],
        [
            [
                str(e.id),
                e.at,
                e.actor or "-",
                e.action,
                e.target or "-",
                ", ".join(f"{k}={v}" for k, v in sorted(e.details.items())) or "-",
                e.address or "-",
            ]
            for e in entries
        ],
    )
    return 0


def cmd_db_upgrade(_args: argparse.Namespace) -> int:
    _hub()
    print("database is up to date", file=sys.stderr)
    return 0


def cmd_reindex(args: argparse.Namespace) -> int:
    """Recompute derived data (card, tags, pipeline…) of one repository or of all of them (then the tag counts)."""
    from sqlalchemy import select

    from hubstead.domain.repo_ids import RepoId, RepoType
    from hubstead.storage.models import Repository

    hub = _hub()
    ids = None
    if args.repo:
        repo_type = RepoType.parse(args.repo_type)
        repo_id = RepoId.parse(args.repo)
        with hub.db.session() as session:
            found = session.scalar(
                select(Repository.id).where(
                    Repository.type == repo_type.value,
                    Repository.namespace == repo_id.namespace,
                    Repository.name == repo_id.name,
                )
            )
        if found is None:
            print(f"error: no {repo_type.value} named {repo_id}", file=sys.stderr)
            return 2
        ids = [found]
    count = hub.cards.reindex(ids)
    print(f"reindexed {count} repositories")
    if ids is None:  # a full reindex also recounts the facet counters from scratch (a repair)
        print(f"recounted {hub.index.rebuild_counts()} tag counters")
    return 0


def cmd_counters(_args: argparse.Namespace) -> int:
    """Daily job: 30-day download counters and trending scores from the daily rows."""
    count = _hub().counters.refresh_windows()
    print(f"refreshed the counters of {count} repositories")
    return 0


def cmd_gc(args: argparse.Namespace) -> int:
    import datetime as dt

    from hubstead.services.maintenance import collect_garbage

    hub = _hub()
    result = collect_garbage(hub.db, hub.blobs, dt.timedelta(seconds=args.grace_seconds))
    print(
        f"freed {result.bytes_freed} bytes: {result.lfs_objects} LFS objects, {result.xet_files} Xet files, "
        f"{result.xorbs} xorbs"
        + (f", {result.staged_uploads} abandoned uploads" if result.staged_uploads else "")
    )
    return 0


def cmd_storage_migrate(_args: argparse.Namespace) -> int:
    """Move the data folder's blobs into the bucket of HUBSTEAD_STORAGE_URL (servers may run)."""
    from hubstead.storage.s3 import S3BlobStore, migrate_local

    hub = _hub()
    if not isinstance(hub.blobs, S3BlobStore):
        raise CommandError("set HUBSTEAD_STORAGE_URL=s3://bucket/prefix to the bucket to move to")
    if hub.blobs.local is None:
        print(f"nothing to move: {hub.settings.blobs_dir} holds no objects")
        return 0
    result = migrate_local(hub.blobs, print)
    print(
        f"moved {result.moved} objects ({result.bytes_moved} bytes), {result.skipped} were "
        f"already in the bucket, {len(result.refused)} refused"
    )
    return 1 if result.refused else 0


def _command(group, name: str, func, help_text: str) -> argparse.ArgumentParser:
    parser = group.add_parser(name, help=help_text)
    _add_global(parser)
    parser.set_defaults(func=func)
    return parser


def _user_commands(commands) -> None:
    env = option_default
    user = commands.add_parser("user", help="manage users").add_subparsers(
        dest="action", required=True
    )
    create = _command(user, "create", cmd_user_create, "create a user")
    create.add_argument("name")
    create.add_argument("--email", default=env("HUBSTEAD_EMAIL"), help="[env HUBSTEAD_EMAIL]")
    create.add_argument(
        "--password", default=env("HUBSTEAD_PASSWORD"), help="[env HUBSTEAD_PASSWORD]"
    )
    create.add_argument(
        "--admin",
        action="store_true",
        default=env("HUBSTEAD_ADMIN", "") in ("1", "true"),
        help="[env HUBSTEAD_ADMIN]",
    )
    create.add_argument(
        "--fullname",
        default=env("HUBSTEAD_FULLNAME"),
        help="name shown to people (default: the user name) [env HUBSTEAD_FULLNAME]",
    )
    create.add_argument(
        "--avatar-url",
        default=env("HUBSTEAD_AVATAR_URL"),
        help="http(s) URL of a picture (default: a generated identicon) [env HUBSTEAD_AVATAR_URL]",
    )

    listing = _command(
        user, "list", cmd_user_list, "list users: name, full name, email, admin, created"
    )
    listing.add_argument("--json", action="store_true", help="machine-readable output")

    update = _command(
        user, "update", cmd_user_update, "change a user's full name, email, avatar or admin flag"
    )
    update.add_argument("name")
    update.add_argument("--fullname")
    update.add_argument("--email", help='"" removes it')
    update.add_argument("--avatar-url", help='"" goes back to the generated identicon')
    update.add_argument(
        "--admin",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="site admin (the last one stays)",
    )

    delete = _command(
        user,
        "delete",
        cmd_user_delete,
        "delete a user with their repositories and tokens (not the last admin)",
    )
    delete.add_argument("name")

    password = _command(
        user,
        "set-password",
        cmd_user_set_password,
        "set a user's password (read from stdin unless --password)",
    )
    password.add_argument("name")
    password.add_argument(
        "--password", default=env("HUBSTEAD_PASSWORD"), help="[env HUBSTEAD_PASSWORD]"
    )


def _org_commands(commands) -> None:
    env = option_default
    org = commands.add_parser("org", help="manage organizations").add_subparsers(
        dest="action", required=True
    )
    create = _command(org, "create", cmd_org_create, "create an organization")
    create.add_argument("name")
    create.add_argument("--member", action="append", help="USER[:read|write|admin], repeatable")
    create.add_argument(
        "--default-private",
        action="store_true",
        default=env("HUBSTEAD_DEFAULT_PRIVATE", "") in ("1", "true"),
        help="repositories created without an explicit visibility are private [env HUBSTEAD_DEFAULT_PRIVATE]",
    )
    create.add_argument("--fullname", help="name shown to people (default: the organization name)")
    create.add_argument(
        "--avatar-url", help="http(s) URL of a picture (default: a generated identicon)"
    )

    update = _command(
        org,
        "update",
        cmd_org_update,
        "change an organization's full name, avatar or default visibility",
    )
    update.add_argument("name")
    update.add_argument("--fullname")
    update.add_argument("--avatar-url", help='"" goes back to the generated identicon')
    update.add_argument(
        "--default-private",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="whether repositories created without an explicit visibility are private",
    )

    add = _command(org, "add-member", cmd_org_add_member, "add a member, or change a member's role")
    add.add_argument("org")
    add.add_argument("user")
    add.add_argument("--role", choices=["read", "write", "admin"], default="write")

    remove = _command(
        org, "remove-member", cmd_org_remove_member, "remove a member (not the last admin)"
    )
    remove.add_argument("org")
    remove.add_argument("user")

    members = _command(org, "members", cmd_org_members, "list the members and their roles")
    members.add_argument("org")
    members.add_argument("--json", action="store_true", help="machine-readable output")


def _token_commands(commands) -> None:
    env = option_default
    token = commands.add_parser("token", help="manage access tokens").add_subparsers(
        dest="action", required=True
    )
    create = _command(token, "create", cmd_token_create, "create a token; prints only the token")
    create.add_argument("user")
    create.add_argument(
        "--role",
        choices=["read", "write"],
        default=env("HUBSTEAD_TOKEN_ROLE", "write"),
        help="[env HUBSTEAD_TOKEN_ROLE]",
    )
    create.add_argument(
        "--name", default=env("HUBSTEAD_TOKEN_NAME", "cli"), help="label [env HUBSTEAD_TOKEN_NAME]"
    )
    create.add_argument(
        "--expires-days",
        type=int,
        metavar="N",
        default=env("HUBSTEAD_TOKEN_EXPIRES_DAYS"),
        help="the token stops working N days from now (default: never, or the hub's "
        "HUBSTEAD_TOKEN_MAX_DAYS) [env HUBSTEAD_TOKEN_EXPIRES_DAYS]",
    )

    listing = _command(
        token,
        "list",
        cmd_token_list,
        "list tokens (id, user, name, role, created, expires; never the value)",
    )
    listing.add_argument("user", nargs="?", help="only this user's tokens")
    listing.add_argument("--json", action="store_true", help="machine-readable output")

    revoke = _command(token, "revoke", cmd_token_revoke, "revoke a token by id, name or value")
    revoke.add_argument(
        "token", metavar="ID|NAME", help="the token's id, its name (if unique) or the token itself"
    )
    revoke.add_argument("--user", help="the user whose token NAME is meant")


def _jobs_commands(commands) -> None:
    jobs = commands.add_parser("jobs", help="background jobs").add_subparsers(
        dest="action", required=True
    )
    listing = _command(jobs, "list", cmd_jobs_list, "recent jobs, newest first")
    listing.add_argument(
        "--state",
        action="append",
        choices=["pending", "running", "done", "failed"],
        help="only jobs in this state (repeatable)",
    )
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    _command(jobs, "run", cmd_jobs_run, "run the due jobs once, in this process, then exit")
    _command(jobs, "work", cmd_jobs_work, "run jobs in the foreground until stopped")
    enqueue = _command(jobs, "enqueue", cmd_jobs_enqueue, "add a job (prints its id)")
    enqueue.add_argument(
        "kind", help="counters.rollup, gc, listing.recount, cards.reindex, jobs.prune"
    )
    enqueue.add_argument("--payload", help='a JSON object, e.g. {"repo_ids": [1, 2]}')
    enqueue.add_argument("--key", help="a unique key: a second job with it is not added")


def build_parser() -> argparse.ArgumentParser:
    env = option_default
    parser = argparse.ArgumentParser(
        prog="hubstead",
        description="A self-hosted model hub that speaks the Hugging Face Hub protocol.",
    )
    parser.add_argument("--version", action="version", version=f"hubstead {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="start the hub")
    _add_global(serve)
    serve.add_argument(
        "--host", default=None, help="address to listen on (default 127.0.0.1) [env HUBSTEAD_HOST]"
    )
    serve.add_argument(
        "--port", type=int, default=None, help="port (default 8000) [env HUBSTEAD_PORT]"
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="server processes (default: one per CPU) [env HUBSTEAD_WORKERS]",
    )
    serve.add_argument(
        "--public-url",
        default=None,
        help="URL clients use to reach the hub, if behind a proxy [env HUBSTEAD_PUBLIC_URL]",
    )
    serve.set_defaults(func=cmd_serve)

    _user_commands(commands)
    _org_commands(commands)
    _token_commands(commands)
    _jobs_commands(commands)

    reindex = commands.add_parser(
        "reindex", help="recompute cards, tags and pipeline of one or all repositories"
    )
    _add_global(reindex)
    reindex.add_argument("repo", nargs="?", help="namespace/name (default: every repository)")
    reindex.add_argument("--repo-type", default="model", choices=["model", "dataset", "space"])
    reindex.set_defaults(func=cmd_reindex)

    counters = commands.add_parser(
        "counters", help="recompute 30-day downloads and trending scores (run daily)"
    )
    _add_global(counters)
    counters.set_defaults(func=cmd_counters)

    gc = commands.add_parser("gc", help="free storage no repository references any more")
    _add_global(gc)
    gc.add_argument(
        "--grace-seconds",
        type=int,
        default=int(env("HUBSTEAD_GC_GRACE_SECONDS", str(24 * 3600))),
        help="only collect what is older than this (default one day) [env HUBSTEAD_GC_GRACE_SECONDS]",
    )
    gc.set_defaults(func=cmd_gc)

    reconcile = commands.add_parser(
        "reconcile",
        help="repair the refs cache from git and remove stale git locks (serve does it at start)",
    )
    _add_global(reconcile)
    reconcile.set_defaults(func=cmd_reconcile)

    audit = commands.add_parser("audit", help="the audit log of security-relevant actions")
    _add_global(audit)
    audit.add_argument("--action", help="an action (token.create) or its group (token)")
    audit.add_argument("--actor", help="who acted (a user name)")
    audit.add_argument("--target", help="what it acted on (ns/name; end with / for a prefix)")
    audit.add_argument("--limit", type=int, default=100, help="at most this many (1 to 100)")
    audit.add_argument("--json", action="store_true", help="print JSON")
    audit.set_defaults(func=cmd_audit)

    storage = commands.add_parser("storage", help="large-file storage").add_subparsers(
        dest="action", required=True
    )
    migrate = storage.add_parser(
        "migrate",
        help="move the data folder's LFS objects and xorbs into HUBSTEAD_STORAGE_URL's bucket "
        "(resumable, verified; servers keep serving meanwhile)",
    )
    _add_global(migrate)
    migrate.set_defaults(func=cmd_storage_migrate)

    db = commands.add_parser("db", help="database maintenance").add_subparsers(
        dest="action", required=True
    )
    upgrade = db.add_parser("upgrade", help="apply migrations")
    _add_global(upgrade)
    upgrade.set_defaults(func=cmd_db_upgrade)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    _apply_env(args, {dest: env for dest, (_, env, _) in GLOBAL_OPTIONS.items()})
    try:
        sys.exit(args.func(args))
    except HubError as error:
        print(f"error: {error.message}", file=sys.stderr)
        sys.exit(2)
    except (SettingsError, CommandError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
