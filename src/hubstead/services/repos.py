"""Repositories: creation, lookup with access control, deletion, renaming and settings."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from hubstead.domain.errors import BadRequest, Conflict, Forbidden, HubError, RevisionNotFound
from hubstead.domain.gitattributes import default_gitattributes
from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.services import access, audit
from hubstead.services.listing_index import ListingIndex
from hubstead.services.principal import Principal
from hubstead.services.resolve_cache import ResolveCache, Stamped
from hubstead.storage.database import Database
from hubstead.storage.gitrepo import BlobChange, GitRepo, GitStore, TreeEntry, signature
from hubstead.storage.locks import REPO_REFS, FileLocks, NamedLocks
from hubstead.storage.models import Account, RepoRedirect, RepoRef, Repository, utcnow

_REPOS = Repository.__table__
_REDIRECTS = RepoRedirect.__table__
# Repository ids are matched without regard to case, as on the Hub (`Alice/My-Model` finds
# `alice/my-model`); the stored spelling is what every answer shows. The parameters are
# lower-cased by `_name_params`, and `lower(namespace), lower(name)` is an index.
_REPO_BY_NAME = select(_REPOS).where(
    _REPOS.c.type == bindparam("type"),
    func.lower(_REPOS.c.namespace) == bindparam("namespace"),
    func.lower(_REPOS.c.name) == bindparam("name"),
)
_REPO_BY_OLD_NAME = (
    select(_REPOS)
    .join(_REDIRECTS, _REDIRECTS.c.repo_id == _REPOS.c.id)
    .where(
        _REDIRECTS.c.type == bindparam("type"),
        func.lower(_REDIRECTS.c.namespace) == bindparam("namespace"),
        func.lower(_REDIRECTS.c.name) == bindparam("name"),
    )
)


class RepoExists(Conflict):
    def __init__(self, repo_type: RepoType, repo_id: RepoId):
        super().__init__(f"You already created this {repo_type.value} repo")
        self.repo_type = repo_type
        self.repo_id = repo_id


class RepoMoved(HubError):
    """The repository was renamed; the protocol layer answers with a redirect to `new_id`."""

    status = 307

    def __init__(self, old_id: RepoId, new_id: RepoId):
        super().__init__(f"Repository moved to {new_id}")
        self.old_id = old_id
        self.new_id = new_id


@dataclass
class RepoHandle:
    """A repository the caller has been allowed to see, with its git repository at hand."""

    row: Repository
    store: GitStore
    # the repository's change token the row was read under, when it came from the resolve
    # cache (services/resolve_cache.py): file metadata is cached under it
    stamp: str | None = None

    @property
    def type(self) -> RepoType:
        return RepoType(self.row.type)

    @property
    def id(self) -> RepoId:
        return RepoId(self.row.namespace, self.row.name)

    @cached_property
    def git(self) -> GitRepo:
        return self.store.open_cached(self.row.storage_key)

    @property
    def view(self) -> RepoView:
        return RepoView.of(self.row)

    def default_branch(self) -> str:
        """The branch a revision-less request means (git's HEAD; main unless an admin chose
        another in the settings page)."""
        return self.git.default_branch()


@dataclass(frozen=True)
class RepoView:
    """A repository as answers show it: plain values, so the wire layer never sees a database
    row (and cannot reach into lazy attributes or a closed session)."""

    row_id: int
    public_id: str  # the `_id` clients see
    type: RepoType
    id: RepoId
    private: bool
    gated: str | None
    downloads: int
    likes: int
    trending_score: float
    created_at: dt.datetime
    last_modified: dt.datetime
    head_sha: str | None

    @classmethod
    def of(cls, row: Repository) -> RepoView:
        """From a `repositories` row, ORM object or Core row alike."""
        return cls(
            row_id=row.id,
            public_id=row.storage_key[:24],
            type=RepoType(row.type),
            id=RepoId(row.namespace, row.name),
            private=row.private,
            gated=row.gated or None,
            downloads=row.downloads,
            likes=row.likes,
            trending_score=row.trending_score or 0.0,
            created_at=row.created_at,
            last_modified=row.last_modified,
            head_sha=row.head_sha,
        )


@dataclass(frozen=True)
class RepoRevision:
    """A repository at one commit: what `GET /api/{type}s/{id}` describes."""

    repo: RepoView
    sha: str
    date: dt.datetime  # the commit's date, which the Hub answers as lastModified
    files: list[TreeEntry]


def author_email(db_email: str | None, name: str) -> str:
    return db_email or f"{name}@users.noreply.hubstead"


class RepoService:
    def __init__(
        self,
        db: Database,
        git: GitStore,
        index: ListingIndex,
        locks: NamedLocks | None = None,
        cache: ResolveCache | None = None,
    ):
        self.db = db
        self.git = git
        self.index = index
        self.locks = locks or FileLocks(git.root.parent / "locks")
        self.cache = cache or ResolveCache(0)
        # Called with (repo row id, ref, new target) after every ref change is recorded: derived
        # data (cards, tags) listens here instead of every writer calling it.
        self.ref_listeners: list[Callable[[int, str, str | None], None]] = []

    # -- lookup -------------------------------------------------------------------------------

    def get(
        self,
        repo_type: RepoType,
        repo_id: RepoId,
        principal: Principal | None,
        need: str = "read",
        cached: bool = False,
    ) -> RepoHandle:
        """Find a repository and check the caller has the role `need` ("read", "write", "admin")
        in its namespace (`access.check_role`). Routes get their repository through the router,
        which also applies the gate and the token rules of `access.Need`.

        This runs on every request (a HEAD of /resolve included), so it uses prepared Core
        statements rather than ORM queries: about a sixth of the cost. `cached` (the resolve
        route) takes the row from the process' resolve cache while the repository's change
        token is unchanged; the access checks below run on it all the same.
        """
        params = _name_params(repo_type, repo_id)
        if cached and self.cache.enabled:
            row, stamp = self._cached_row(params)
            if row is not None:  # else the lookup below (an old name redirects)
                return self._checked(row, principal, need, stamp)
        with self.db.engine.connect() as connection:
            row = connection.execute(_REPO_BY_NAME, params).first()
            if row is None:
                moved = connection.execute(_REPO_BY_OLD_NAME, params).first()
                if moved is not None and access.can_read(principal, moved.namespace, moved.private):
                    raise RepoMoved(repo_id, RepoId(moved.namespace, moved.name))
        return self._checked(row, principal, need)

    def _checked(
        self,
        row: Repository | None,
        principal: Principal | None,
        need: str,
        stamp: str | None = None,
    ) -> RepoHandle:
        if row is None or not access.can_read(principal, row.namespace, row.private):
            raise access.not_found(principal)
        access.check_role(principal, row.namespace, row.name, need)
        return RepoHandle(row=row, store=self.git, stamp=stamp)

    def _cached_row(self, params: dict[str, str]) -> tuple[Repository | None, str | None]:
        """The row by name from the resolve cache, or from the database (then kept). On a miss
        the row is read, its change token taken, and the row read once more: a change committed
        before the token was read is in the second read; one committed after it will have
        replaced the token by the next request. A missing name is not cached (None)."""
        key = (params["type"], params["namespace"], params["name"])
        found = self.cache.row(key, self.git.stamp)
        if found is not None:
            return found.value, found.stamp
        with self.db.engine.connect() as connection:
            row = connection.execute(_REPO_BY_NAME, params).first()
            if row is None:
                return None, None
            stamped_key = row.storage_key
            stamp = self.git.stamp(stamped_key)
            row = connection.execute(_REPO_BY_NAME, params).first()
        if row is None or stamp is None or row.storage_key != stamped_key:
            return row, None
        self.cache.keep_row(key, Stamped(row.storage_key, stamp, row))
        return row, stamp

    @staticmethod
    def at_revision(handle: RepoHandle, revision: str) -> RepoRevision:
        """The repository's files and date at `revision` (RevisionNotFound if there is none)."""
        commit = handle.git.resolve(revision)
        files = [
            entry for entry in handle.git.list_tree(commit, recursive=True) if entry.type == "file"
        ]
        return RepoRevision(handle.view, commit, handle.git.commit_info(commit).date, files)

    def head_files(self, row: Repository) -> list[str]:
        """The paths of the files on the default branch (listings with `full` show them)."""
        if not row.head_sha:
            return []
        git = self.git.open_cached(row.storage_key)
        return [
            entry.path
            for entry in git.list_tree(row.head_sha, recursive=True)
            if entry.type == "file"
        ]

    # -- creation -----------------------------------------------------------------------------

    def create(
        self,
        principal: Principal | None,
        repo_type: RepoType,
        repo_id: RepoId,
        private: bool | None,
    ) -> RepoHandle:
        """Create a repository; `private=None` (the client said nothing) follows the owner's
        default: private under an organization that asks for it, public otherwise."""
        principal = access.require_write_token(principal)
        with self.db.session() as session:
            owner = claim_name(session, principal, repo_type, repo_id)
            repo_id = RepoId(owner.name, repo_id.name)
            user = session.get(Account, principal.user_id)
            key = uuid.uuid4().hex
            row = Repository(
                storage_key=key,
                type=repo_type.value,
                namespace=repo_id.namespace,
                name=repo_id.name,
                private=owner.default_private if private is None else private,
            )
            session.add(row)
            _drop_redirect(session, repo_type, repo_id)
            session.flush()
            self.index.added(session, row.type, bool(row.private))
            try:
                git = self.git.init(key)
                sig = signature(user.name, author_email(user.email, user.name))
                head = git.build_commit(
                    None,
                    [BlobChange(".gitattributes", default_gitattributes())],
                    sig,
                    "initial commit\n",
                )
                if not git.update_ref("refs/heads/main", head, None, "initial commit"):
                    raise Conflict(
                        "Cannot create repo: another conflicting operation is in progress"
                    )
                row.head_sha = head
                session.add(RepoRef(repo_id=row.id, ref="refs/heads/main", target=head))
                audit.record(
                    session,
                    principal,
                    "repo.create",
                    audit.repo_target(repo_type, repo_id),
                    private=bool(row.private),
                )
                session.flush()
            except BaseException:
                self.git.delete(key)
                raise
        for listener in self.ref_listeners:
            listener(row.id, "refs/heads/main", head)
        return RepoHandle(row=row, store=self.git)

    # -- changes ------------------------------------------------------------------------------

    def delete(self, principal: Principal | None, repo_type: RepoType, repo_id: RepoId) -> None:
        handle = self.get(repo_type, repo_id, principal, need="admin")
        with self.db.session() as session:
            self.index.forget(session, handle.row.id)
            session.execute(delete(Repository).where(Repository.id == handle.row.id))
            audit.record(session, principal, "repo.delete", audit.repo_target(repo_type, handle.id))
        self.git.delete(handle.row.storage_key)

    def forget_namespace(self, session: Session, namespace: str) -> list[Repository]:
        """Delete the rows of every repository of `namespace`, in the caller's transaction (its
        account is being deleted); once that commits, `free_storage` removes their git data."""
        rows = list(
            session.scalars(
                select(Repository)
                .where(Repository.namespace == namespace)
                .order_by(Repository.type, Repository.name)
            )
        )
        for row in rows:
            self.index.forget(session, row.id)
            session.execute(delete(Repository).where(Repository.id == row.id))
        return rows

    def free_storage(self, rows: list[Repository]) -> None:
        for row in rows:
            self.git.delete(row.storage_key)

    def move(
        self, principal: Principal | None, repo_type: RepoType, source: RepoId, target: RepoId
    ) -> RepoId:
        handle = self.get(repo_type, source, principal, need="admin")
        with self.db.session() as session:
            owner = find_account(session, target.namespace)
        if owner is None:
            raise BadRequest(f"No user or organization named {target.namespace!r}")
        target = RepoId(owner.name, target.name)
        if not access.can_write(principal, target.namespace):
            raise Forbidden(
                f'You don\'t have the rights to create a {repo_type.value} under the namespace "{target.namespace}"'
            )
        with self.db.session() as session:
            existing = session.execute(_REPO_BY_NAME, _name_params(repo_type, target)).first()
            if existing is not None and existing.id != handle.row.id:
                raise Conflict(f"A {repo_type.value} repository called {target} already exists")
            row = session.get(Repository, handle.row.id)
            _drop_redirect(session, repo_type, target)
            if existing is None:  # a change of case only needs no redirect: lookups ignore case
                session.add(
                    RepoRedirect(
                        type=repo_type.value, namespace=row.namespace, name=row.name, repo_id=row.id
                    )
                )
            row.namespace, row.name = target.namespace, target.name
            audit.record(
                session,
                principal,
                "repo.move",
                audit.repo_target(repo_type, target),
                source=str(handle.id),
            )
        self.git.restamp(handle.row.storage_key)  # processes drop the row cached by its old name
        # Derived data names the repository (card links, search index): tell the listeners, as
        # if main had moved, so they recompute it under the new name.
        for listener in self.ref_listeners:
            listener(handle.row.id, "refs/heads/main", handle.row.head_sha)
        return target

    def update_settings(
        self,
        handle: RepoHandle,
        private: bool | None,
        gated: str | bool | None,
        by: Principal | None = None,
    ) -> RepoView:
        """Change visibility and gating of a repository the caller (`by`) administers (the
        router checked `Need.ADMIN`); each change that changes something is audited."""
        if gated is not None and gated not in (False, "auto", "manual"):
            raise BadRequest('\'gated\' must be one of false, "auto", "manual"')
        target = audit.repo_target(handle.type, handle.id)
        with self.db.session() as session:
            row = session.get(Repository, handle.row.id)
            if private is not None and bool(row.private) != private:
                audit.record(session, by, "repo.visibility", target, private=private)
            if private is not None:
                self.index.set_private(session, handle.row.id, private)
            if gated is not None and (gated or None) != row.gated:
                audit.record(session, by, "repo.gating", target, gated=gated or False)
                row.gated = gated or None
            view = RepoView.of(row)
        # committed: every process' cached row of it (services/resolve_cache.py) is now stale
        self.git.restamp(handle.row.storage_key)
        return view

    def set_default_branch(
        self, handle: RepoHandle, branch: str, by: Principal | None = None
    ) -> None:
        """Make `branch` (an existing one) the default: git's HEAD of the bare repository, so a
        clone checks it out. The caller administers the repository (the router checked
        `Need.ADMIN`). Derived data (the stored card, listings) keeps following main."""
        with self.ref_lock(handle.row.id):  # HEAD.lock is git's, shared with ref updates
            if handle.git.ref_target(f"refs/heads/{branch}") is None:
                raise RevisionNotFound(f"No branch named {branch!r} in {handle.id}")
            handle.git.set_default_branch(branch)
        with self.db.session() as session:
            target = audit.repo_target(handle.type, handle.id)
            audit.record(session, by, "repo.default_branch", target, branch=branch)

    def ref_lock(self, repo_row_id: int) -> AbstractContextManager[None]:
        """Held around every change of a repository's refs: build, compare-and-swap, record
        (`storage/locks.py`), so writers in every process take turns and records never go
        back in time."""
        return self.locks.hold(REPO_REFS, repo_row_id)

    def record_ref(self, repo_row_id: int, ref: str, target: str | None) -> None:
        """Refresh the refs cache after git moved a ref (git stays the authority)."""
        now = utcnow()
        with self.db.session() as session:
            existing = session.get(RepoRef, (repo_row_id, ref))
            if target is None:
                if existing:
                    session.delete(existing)
            elif existing:
                existing.target, existing.updated_at = target, now
            else:
                session.add(RepoRef(repo_id=repo_row_id, ref=ref, target=target, updated_at=now))
            row = session.get(Repository, repo_row_id)
            if row is not None:
                row.last_modified = now
                if ref == "refs/heads/main":
                    row.head_sha = target
        for listener in self.ref_listeners:
            listener(repo_row_id, ref, target)


def _drop_redirect(session, repo_type: RepoType, repo_id: RepoId) -> None:
    """A name that is (re)used by a repository no longer redirects elsewhere."""
    session.execute(
        delete(RepoRedirect).where(
            RepoRedirect.type == repo_type.value,
            func.lower(RepoRedirect.namespace) == repo_id.namespace.lower(),
            func.lower(RepoRedirect.name) == repo_id.name.lower(),
        )
    )


def find_account(session, name: str) -> Account | None:
    """The user or organization called `name`: account names, like repository ids, ignore case
    (`Alice` is `alice`), and what is stored is the spelling every answer uses."""
    return session.scalar(select(Account).where(func.lower(Account.name) == name.lower()))


def claim_name(session, principal: Principal, repo_type: RepoType, repo_id: RepoId) -> Account:
    """Check that `principal` may create `repo_id` (a namespace they may write to, a name no
    repository has in any case) and return the namespace's account (whose spelling is kept)."""
    owner = find_account(session, repo_id.namespace)
    namespace = owner.name if owner is not None else repo_id.namespace
    if owner is None or not access.can_write(principal, namespace):
        raise Forbidden(
            f'You don\'t have the rights to create a {repo_type.value} under the namespace "{namespace}"'
        )
    existing = session.execute(_REPO_BY_NAME, _name_params(repo_type, repo_id)).first()
    if existing is not None:
        raise RepoExists(repo_type, RepoId(existing.namespace, existing.name))
    return owner


def _name_params(repo_type: RepoType, repo_id: RepoId) -> dict[str, str]:
    return {
        "type": repo_type.value,
        "namespace": repo_id.namespace.lower(),
        "name": repo_id.name.lower(),
    }


def iso(value: dt.datetime) -> str:
    """Dates in the only form the client parses: 2024-01-01T12:00:00.000Z."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
