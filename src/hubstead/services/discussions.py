"""Discussions and pull requests: a pull request is a discussion whose commits live on
`refs/pr/{num}`, numbered per repository from 1."""

from __future__ import annotations

from sqlalchemy import select, update

from hubstead.domain.errors import BadRequest, Conflict, Forbidden, NotFound
from hubstead.services import access
from hubstead.services.accounts import Principal
from hubstead.services.repos import RepoHandle, RepoService, author_email
from hubstead.storage.database import Database
from hubstead.storage.gitrepo import signature
from hubstead.storage.models import Account, Discussion, Repository


class DiscussionService:
    def __init__(self, db: Database, repos: RepoService):
        self.db = db
        self.repos = repos

    def _next_num(self, session, repo_row_id: int) -> int:
        """Take the next number atomically (UPDATE … RETURNING works on SQLite and PostgreSQL)."""
        return session.execute(
            update(Repository)
            .where(Repository.id == repo_row_id)
            .values(next_discussion_num=Repository.next_discussion_num + 1)
            .returning(Repository.next_discussion_num)
        ).scalar_one() - 1

    def create(self, handle: RepoHandle, principal: Principal, title: str, description: str, pull_request: bool) -> int:
        if not isinstance(title, str) or len(title.strip()) < 3:
            raise BadRequest("A discussion title needs at least 3 characters")
        if pull_request:
            return self.open_pull_request(handle, principal, title, description, handle.git.resolve("main"))
        with self.db.session() as session:
            num = self._next_num(session, handle.row.id)
            session.add(Discussion(repo_id=handle.row.id, num=num, title=title.strip(), description=description or "",
                                   is_pull_request=False, author_id=principal.user_id))
        return num

    def open_pull_request(self, handle: RepoHandle, principal: Principal, title: str, description: str, base: str) -> int:
        """Create the PR row and its ref `refs/pr/N` at `base`."""
        with self.db.session() as session:
            num = self._next_num(session, handle.row.id)
            session.add(Discussion(repo_id=handle.row.id, num=num, title=title.strip() or f"PR {num}",
                                   description=description or "", is_pull_request=True, status="open",
                                   author_id=principal.user_id))
            session.flush()
            if not handle.git.update_ref(f"refs/pr/{num}", base, None, "open pull request"):
                raise Conflict(f"refs/pr/{num} already exists")
        self.repos.record_ref(handle.row.id, f"refs/pr/{num}", base)
        return num

    def list(self, handle: RepoHandle) -> list[tuple[Discussion, str | None]]:
        with self.db.session() as session:
            return list(session.execute(
                select(Discussion, Account.name)
                .outerjoin(Account, Account.id == Discussion.author_id)
                .where(Discussion.repo_id == handle.row.id)
                .order_by(Discussion.num.desc())
            ).tuples())

    def get(self, handle: RepoHandle, num: int) -> tuple[Discussion, str | None]:
        with self.db.session() as session:
            row = session.execute(
                select(Discussion, Account.name)
                .outerjoin(Account, Account.id == Discussion.author_id)
                .where(Discussion.repo_id == handle.row.id, Discussion.num == num)
            ).first()
        if row is None:
            raise NotFound(f"Discussion {num} not found")
        return row[0], row[1]

    def set_status(self, handle: RepoHandle, principal: Principal, num: int, status: str) -> Discussion:
        if status not in ("open", "closed"):
            raise BadRequest("'status' must be 'open' or 'closed'")
        discussion, _ = self.get(handle, num)
        if discussion.author_id != principal.user_id and not access.can_write(principal, handle.row.namespace):
            raise Forbidden("Only the author or a writer of the repository can change this discussion")
        if discussion.status == "merged":
            raise BadRequest("A merged pull request cannot change status")
        with self.db.session() as session:
            row = session.get(Discussion, discussion.id)
            row.status = status
        discussion.status = status
        return discussion

    def merge(self, handle: RepoHandle, principal: Principal, num: int) -> str:
        """Merge a pull request into main: fast-forward, or a merge commit if main moved on."""
        discussion, _ = self.get(handle, num)
        if not discussion.is_pull_request or discussion.status != "open":
            raise BadRequest("Only an open pull request can be merged")
        git = handle.git
        head = git.ref_target(f"refs/pr/{num}")
        main = git.ref_target("refs/heads/main")
        with self.db.session() as session:
            user = session.get(Account, principal.user_id)
        author = signature(user.name, author_email(user.email, user.name))
        merged = git.merge(main, head, author, f"Merge pull request #{num}: {discussion.title}\n")
        if not git.update_ref("refs/heads/main", merged, main, f"merge pr {num}"):
            raise Conflict("The branch was updated while merging. Please try again.")
        self.repos.record_ref(handle.row.id, "refs/heads/main", merged)
        with self.db.session() as session:
            row = session.get(Discussion, discussion.id)
            row.status, row.merge_commit = "merged", merged
        return merged
