"""The `hubstead` command: serve the hub, and administer users, organizations and tokens.

Every option has an environment variable (`HUBSTEAD_<OPTION>`); options win over variables.
Commands that create secrets print only the secret on stdout so scripts can capture it.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys

from hubstead import __version__
from hubstead.domain.errors import HubError

GLOBAL_OPTIONS = {
    "data_dir": ("--data-dir", "DATA_DIR", "folder for the database, repositories and blobs (default ./hubstead-data)"),
    "database_url": ("--database-url", "DATABASE_URL", "SQLAlchemy URL; postgresql://… selects PostgreSQL (default: SQLite in the data dir)"),
}


def _add_global(parser: argparse.ArgumentParser) -> None:
    for dest, (flag, env, help_text) in GLOBAL_OPTIONS.items():
        parser.add_argument(flag, dest=dest, default=None, help=f"{help_text} [env HUBSTEAD_{env}]")


def _apply_env(args: argparse.Namespace, names: dict[str, str]) -> None:
    """Options become HUBSTEAD_* variables: that is how server worker processes see them."""
    for dest, env in names.items():
        value = getattr(args, dest, None)
        if value is not None:
            os.environ[f"HUBSTEAD_{env}"] = str(value)


def _hub():
    from hubstead.hub import Hub
    from hubstead.settings import Settings

    hub = Hub(Settings.from_env())
    hub.db.migrate()
    return hub


def cmd_serve(args: argparse.Namespace) -> int:
    _apply_env(args, {"host": "HOST", "port": "PORT", "workers": "WORKERS", "public_url": "PUBLIC_URL"})
    hub = _hub()
    if hub.accounts.count_users() == 0:
        password = secrets.token_urlsafe(12)
        hub.accounts.create_user("admin", password=password, admin=True)
        token = hub.accounts.create_token("admin", "write", "bootstrap")
        print("Created the first account (shown once, keep it safe):", file=sys.stderr)
        print(f"  login:    admin\n  password: {password}\n  token:    {token}", file=sys.stderr)
    settings = hub.settings
    hub.db.dispose()
    from granian import Granian
    from granian.constants import Interfaces

    print(f"Hubstead {__version__} on http://{settings.host}:{settings.port} (data: {settings.data_dir})", file=sys.stderr)
    Granian(
        "hubstead.protocols.app:create_app",
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.workers,
        factory=True,
        log_level="warning" if os.environ.get("HUBSTEAD_QUIET") else "info",
    ).serve()
    return 0


def cmd_user_create(args: argparse.Namespace) -> int:
    user = _hub().accounts.create_user(args.name, email=args.email, password=args.password, admin=args.admin)
    print(user.name)
    return 0


def cmd_org_create(args: argparse.Namespace) -> int:
    members = []
    for spec in args.member or []:
        name, _, role = spec.partition(":")
        members.append((name, role or "write"))
    org = _hub().accounts.create_org(args.name, members)
    print(org.name)
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    print(_hub().accounts.create_token(args.user, role=args.role, name=args.name))
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
            found = session.scalar(select(Repository.id).where(
                Repository.type == repo_type.value, Repository.namespace == repo_id.namespace, Repository.name == repo_id.name))
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
    print(f"freed {result.bytes_freed} bytes: {result.lfs_objects} LFS objects, {result.xet_files} Xet files, "
          f"{result.xorbs} xorbs")
    return 0


def build_parser() -> argparse.ArgumentParser:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="hubstead", description="A self-hosted model hub that speaks the Hugging Face Hub protocol.")
    parser.add_argument("--version", action="version", version=f"hubstead {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="start the hub")
    _add_global(serve)
    serve.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1) [env HUBSTEAD_HOST]")
    serve.add_argument("--port", type=int, default=None, help="port (default 8000) [env HUBSTEAD_PORT]")
    serve.add_argument("--workers", type=int, default=None, help="server processes (default: one per CPU) [env HUBSTEAD_WORKERS]")
    serve.add_argument("--public-url", default=None, help="URL clients use to reach the hub, if behind a proxy [env HUBSTEAD_PUBLIC_URL]")
    serve.set_defaults(func=cmd_serve)

    user = commands.add_parser("user", help="manage users").add_subparsers(dest="action", required=True)
    create_user = user.add_parser("create", help="create a user")
    _add_global(create_user)
    create_user.add_argument("name")
    create_user.add_argument("--email", default=env("HUBSTEAD_EMAIL"), help="[env HUBSTEAD_EMAIL]")
    create_user.add_argument("--password", default=env("HUBSTEAD_PASSWORD"), help="[env HUBSTEAD_PASSWORD]")
    create_user.add_argument("--admin", action="store_true", default=env("HUBSTEAD_ADMIN", "") in ("1", "true"), help="[env HUBSTEAD_ADMIN]")
    create_user.set_defaults(func=cmd_user_create)

    org = commands.add_parser("org", help="manage organizations").add_subparsers(dest="action", required=True)
    create_org = org.add_parser("create", help="create an organization")
    _add_global(create_org)
    create_org.add_argument("name")
    create_org.add_argument("--member", action="append", help="USER[:read|write|admin], repeatable")
    create_org.set_defaults(func=cmd_org_create)

    token = commands.add_parser("token", help="manage access tokens").add_subparsers(dest="action", required=True)
    create_token = token.add_parser("create", help="create a token; prints only the token")
    _add_global(create_token)
    create_token.add_argument("user")
    create_token.add_argument("--role", choices=["read", "write"], default=env("HUBSTEAD_TOKEN_ROLE", "write"), help="[env HUBSTEAD_TOKEN_ROLE]")
    create_token.add_argument("--name", default=env("HUBSTEAD_TOKEN_NAME", "cli"), help="label [env HUBSTEAD_TOKEN_NAME]")
    create_token.set_defaults(func=cmd_token_create)

    reindex = commands.add_parser("reindex", help="recompute cards, tags and pipeline of one or all repositories")
    _add_global(reindex)
    reindex.add_argument("repo", nargs="?", help="namespace/name (default: every repository)")
    reindex.add_argument("--repo-type", default="model", choices=["model", "dataset", "space"])
    reindex.set_defaults(func=cmd_reindex)

    counters = commands.add_parser("counters", help="recompute 30-day downloads and trending scores (run daily)")
    _add_global(counters)
    counters.set_defaults(func=cmd_counters)

    gc = commands.add_parser("gc", help="free storage no repository references any more")
    _add_global(gc)
    gc.add_argument("--grace-seconds", type=int, default=int(env("HUBSTEAD_GC_GRACE_SECONDS", str(24 * 3600))),
                    help="only collect what is older than this (default one day) [env HUBSTEAD_GC_GRACE_SECONDS]")
    gc.set_defaults(func=cmd_gc)

    db = commands.add_parser("db", help="database maintenance").add_subparsers(dest="action", required=True)
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
