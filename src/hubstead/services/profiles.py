"""Public profiles of users and organizations, their members, and what a namespace stores.

Counts are of the repositories the caller may read (the same ones the listings show them), so a
profile never reveals that private repositories exist. The hub has no follow feature: nobody
follows anyone, and the follower counts say so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from hubstead.domain.errors import Forbidden, NotFound, Unauthorized
from hubstead.services import access
from hubstead.services.principal import Principal
from hubstead.storage.database import Database
from hubstead.storage.gitrepo import GitStore
from hubstead.storage.models import (
    Account,
    Discussion,
    LfsObject,
    Membership,
    RepoLfsObject,
    RepoLike,
    Repository,
)


@dataclass(frozen=True)
class Profile:
    account: Account
    num_models: int
    num_datasets: int
    num_spaces: int
    num_discussions: int = 0
    num_likes: int = 0
    num_users: int = 0
    orgs: tuple[Account, ...] = ()


@dataclass(frozen=True)
class Member:
    account: Account
    role: str


@dataclass(frozen=True)
class RepoStorage:
    row: Repository
    storage: int  # bytes: the git repository on disk plus the LFS objects linked to it


class ProfileService:
    def __init__(self, db: Database, git: GitStore):
        self.db = db
        self.git = git

    def account(self, name: str, kind: str) -> Account:
        """The user (kind "user") or organization ("org") called `name`, or 404."""
        with self.db.session() as session:
            found = session.scalar(
                select(Account).where(
                    func.lower(Account.name) == name.lower(), Account.kind == kind
                )
            )
        if found is None:
            raise NotFound(f"{'User' if kind == 'user' else 'Organization'} {name!r} not found")
        return found

    def user(self, name: str, principal: Principal | None) -> Profile:
        user = self.account(name, "user")
        with self.db.session() as session:
            counts = self._repo_counts(session, user.name, principal)
            orgs = tuple(
                session.scalars(
                    select(Account)
                    .join(Membership, Membership.org_id == Account.id)
                    .where(Membership.user_id == user.id)
                    .order_by(Account.name)
                )
            )
            discussions = session.execute(
                select(Repository.namespace, Repository.private)
                .join(Discussion, Discussion.repo_id == Repository.id)
                .where(Discussion.author_id == user.id)
            ).all()
            likes = session.execute(
                select(Repository.namespace, Repository.private)
                .join(RepoLike, RepoLike.repo_id == Repository.id)
                .where(RepoLike.user_id == user.id)
            ).all()

        def readable(rows: list) -> int:
            return sum(1 for ns, private in rows if access.can_read(principal, ns, private))

        return Profile(
            user,
            *counts,
            num_discussions=readable(discussions),
            num_likes=readable(likes),
            orgs=orgs,
        )

    def organization(self, name: str, principal: Principal | None) -> Profile:
        org = self.account(name, "org")
        with self.db.session() as session:
            counts = self._repo_counts(session, org.name, principal)
            users = session.scalar(
                select(func.count()).select_from(Membership).where(Membership.org_id == org.id)
            )
        return Profile(org, *counts, num_users=int(users or 0))

    def members(self, name: str) -> list[Member]:
        org = self.account(name, "org")
        with self.db.session() as session:
            rows = session.execute(
                select(Account, Membership.role)
                .join(Membership, Membership.user_id == Account.id)
                .where(Membership.org_id == org.id)
                .order_by(Account.name)
            ).all()
        return [Member(account, role) for account, role in rows]

    @staticmethod
    def _repo_counts(session, namespace: str, principal: Principal | None) -> tuple[int, int, int]:
        rows = session.execute(
            select(Repository.type, Repository.private, func.count())
            .where(Repository.namespace == namespace)
            .group_by(Repository.type, Repository.private)
        ).all()
        counts = {"model": 0, "dataset": 0, "space": 0}
        for repo_type, private, count in rows:
            if access.can_read(principal, namespace, private):
                counts[repo_type] = counts.get(repo_type, 0) + int(count)
        return counts["model"], counts["dataset"], counts["space"]

    def storage(self, principal: Principal | None, namespace: str | None) -> list[RepoStorage]:
        """The repositories of the caller's namespace (or of an organization they belong to)
        with the bytes each stores, largest first."""
        if principal is None:
            raise Unauthorized("You must be signed in to list your repositories")
        if namespace is None:
            namespace = principal.name
        else:
            org = self.account(namespace, "org")
            namespace = org.name
            if not principal.is_admin and principal.namespace_role(namespace) is None:
                raise Forbidden(f"You are not a member of {namespace}")
        with self.db.session() as session:
            rows = list(
                session.scalars(select(Repository).where(Repository.namespace == namespace))
            )
            lfs = dict(
                session.execute(
                    select(RepoLfsObject.repo_id, func.sum(LfsObject.size))
                    .join(LfsObject, LfsObject.oid == RepoLfsObject.oid)
                    .join(Repository, Repository.id == RepoLfsObject.repo_id)
                    .where(Repository.namespace == namespace)
                    .group_by(RepoLfsObject.repo_id)
                ).all()
            )
        items = [
            RepoStorage(
                row, _folder_size(self.git.path(row.storage_key)) + int(lfs.get(row.id) or 0)
            )
            for row in rows
        ]
        items.sort(key=lambda item: (-item.storage, item.row.type, item.row.name))
        return items


def _folder_size(path: Path) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except FileNotFoundError:
                pass  # a lock or temporary file that went away meanwhile
    return total
