"""Make the database agree with git again after a crash: run by `hubstead serve` before it serves.

A ref moves in git first (`git update-ref`, a compare-and-swap) and is recorded in the database
after (`RepoService.record_ref`: `repo_refs`, `repositories.head_sha`, then the card derived from
main). A process killed between the two leaves the database one commit behind git until the
next commit; one killed inside `git update-ref` leaves its `.lock` file, which refuses every
later update of that ref. Git is the authority, so this pass reads every repository's refs from
git and records each one the database has wrong, re-derives cards stored for another commit
than main's, and removes ref lock files.

Each repository is checked under its ref lock (`RepoService.ref_lock`), so a server that is
committing in another process is never "repaired" backwards. A lock file may be removed only
when no live git holds it: `stale_after=0` when the caller owns the data folder alone (SQLite's
one server, `hubstead reconcile`), else only files older than that many seconds, far longer
than any `git update-ref` or push holds one (servers sharing the folder on PostgreSQL, whose
start-time passes take turns under an advisory lock, `cli._reconcile`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from hubstead.services.cards import CardService
from hubstead.services.repos import RepoService
from hubstead.storage.database import Database
from hubstead.storage.gitrepo import STALE_LOCK_SECONDS, GitRepo, GitStore
from hubstead.storage.models import RepoCard, RepoRef, Repository

log = logging.getLogger("hubstead.reconcile")

BATCH = 500
MAIN = "refs/heads/main"
# git's lock files next to what a ref update (or a HEAD or config change) writes
LOCK_FILES = ("packed-refs.lock", "HEAD.lock", "config.lock")
# where servers share the folder: a lock file this old was left by a killed git (a live one
# holds it for milliseconds, a push for the moment it updates its refs)
SHARED_STALE_SECONDS = STALE_LOCK_SECONDS


@dataclass(frozen=True)
class RefFix:
    """One ref the database had wrong: what it recorded and what git has (None: no such ref)."""

    repo: str
    ref: str
    recorded: str | None
    actual: str | None

    def __str__(self) -> str:
        return f"{self.repo}: {self.ref} was {self.recorded or 'missing'}, git has {self.actual or 'none'}"


@dataclass
class Reconciliation:
    repositories: int = 0
    ref_fixes: list[RefFix] = field(default_factory=list)
    cards_rederived: list[str] = field(default_factory=list)
    locks_removed: list[Path] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # repositories left as they were, and why

    @property
    def changed(self) -> bool:
        return bool(self.ref_fixes or self.cards_rederived or self.locks_removed)


@dataclass(frozen=True)
class _Recorded:
    """A repository as the database has it."""

    row_id: int
    label: str
    storage_key: str
    head_sha: str | None
    card_commit: str | None
    refs: dict[str, str]


class RefReconciler:
    def __init__(
        self,
        db: Database,
        git: GitStore,
        repos: RepoService,
        cards: CardService,
        stale_after: float = 0,
    ):
        self.db = db
        self.git = git
        self.repos = repos
        self.cards = cards
        self.stale_after = stale_after

    def run(self) -> Reconciliation:
        """Check every repository; a repository that cannot be read is reported, never fatal."""
        result = Reconciliation()
        for recorded in self._recorded():
            result.repositories += 1
            try:
                with self.repos.ref_lock(recorded.row_id):
                    self._reconcile(recorded, result)
            except Exception as error:  # noqa: BLE001 - one broken repository must not stop the hub
                log.exception("could not reconcile %s", recorded.label)
                result.failures.append(f"{recorded.label}: {error}")
        return result

    def _recorded(self) -> Iterator[_Recorded]:
        """Every repository with its recorded refs, a batch of rows at a time (keyset on id)."""
        after = 0
        while True:
            with self.db.session() as session:
                rows = session.execute(
                    select(
                        Repository.id,
                        Repository.type,
                        Repository.namespace,
                        Repository.name,
                        Repository.storage_key,
                        Repository.head_sha,
                        RepoCard.commit,
                    )
                    .outerjoin(RepoCard, RepoCard.repo_id == Repository.id)
                    .where(Repository.id > after)
                    .order_by(Repository.id)
                    .limit(BATCH)
                ).all()
                refs: dict[int, dict[str, str]] = {row.id: {} for row in rows}
                if rows:
                    for ref in session.execute(
                        select(RepoRef.repo_id, RepoRef.ref, RepoRef.target).where(
                            RepoRef.repo_id.in_(list(refs))
                        )
                    ):
                        refs[ref.repo_id][ref.ref] = ref.target
            if not rows:
                return
            for row in rows:
                yield _Recorded(
                    row.id,
                    f"{row.type} {row.namespace}/{row.name}",
                    row.storage_key,
                    row.head_sha,
                    row.commit,
                    refs[row.id],
                )
            after = rows[-1].id

    def _reconcile(self, recorded: _Recorded, result: Reconciliation) -> None:
        path = self.git.path(recorded.storage_key)
        if not path.is_dir():
            result.failures.append(f"{recorded.label}: no git repository at {path}")
            log.error("%s: no git repository at %s", recorded.label, path)
            return
        for lock in _stale_locks(path, self.stale_after):
            lock.unlink(missing_ok=True)
            result.locks_removed.append(lock)
            log.warning("%s: removed the stale git lock %s", recorded.label, lock)
        actual = {f"refs/{name}": target for name, target in GitRepo(path).refs("refs/").items()}
        fixes = [
            RefFix(recorded.label, ref, recorded.refs.get(ref), actual.get(ref))
            for ref in sorted(set(recorded.refs) | set(actual))
            if recorded.refs.get(ref) != actual.get(ref)
        ]
        main = actual.get(MAIN)
        if main != recorded.head_sha and not any(fix.ref == MAIN for fix in fixes):
            fixes.append(RefFix(recorded.label, MAIN, recorded.head_sha, main))  # head_sha alone
        for fix in fixes:
            log.warning("reconciled %s", fix)
            # also refreshes head_sha and, for main, the derived card (RepoService's listeners)
            self.repos.record_ref(recorded.row_id, fix.ref, fix.actual)
        result.ref_fixes.extend(fixes)
        main_fixed = any(fix.ref == MAIN for fix in fixes)
        if main is not None and recorded.card_commit != main and not main_fixed:
            log.warning("%s: the stored card is not main's (%s): re-derived", recorded.label, main)
            self.cards.refresh(recorded.row_id)
            result.cards_rederived.append(recorded.label)


def _stale_locks(git_dir: Path, stale_after: float = 0) -> list[Path]:
    """git's `.lock` files of refs, packed-refs, HEAD and config older than `stale_after`
    seconds: a live git holds one for milliseconds, so an old one was left by a killed git."""
    locks = [git_dir / name for name in LOCK_FILES if (git_dir / name).exists()]
    refs = git_dir / "refs"
    if refs.is_dir():
        locks.extend(refs.rglob("*.lock"))
    if stale_after <= 0:
        return locks
    cutoff = time.time() - stale_after
    return [lock for lock in locks if _mtime(lock) < cutoff]


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # its git finished meanwhile
        return float("inf")


def reconcile_refs(
    db: Database, git: GitStore, repos: RepoService, cards: CardService, stale_after: float = 0
) -> Reconciliation:
    """Check every repository against git (see the module's docstring). `stale_after=0`: the
    caller owns the data folder alone; else servers share it and only older locks go."""
    result = RefReconciler(db, git, repos, cards, stale_after).run()
    log.info(
        "reconciled %d repositories: %d refs fixed, %d cards re-derived, %d stale locks removed, "
        "%d repositories could not be checked",
        result.repositories,
        len(result.ref_fixes),
        len(result.cards_rederived),
        len(result.locks_removed),
        len(result.failures),
    )
    return result
