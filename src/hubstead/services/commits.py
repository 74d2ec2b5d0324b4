"""Applying a commit of the Hub API to a branch or a pull request, without ever losing one.

Objects are written first and the ref is moved last by compare-and-swap, under the repository's
ref lock (`RepoService.ref_lock`), so writers in every process take turns. When the branch moved
meanwhile (a `git push` takes no turn), a commit that named its `parentCommit` is refused with
412; one that did not is rebuilt on the new head and tried again, so concurrent commits land one
after the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import pygit2

from hubstead.domain.cards import hub_message, validate_card_text
from hubstead.domain.commit_ops import AddFile, AddLfsFile, CommitRequest, DeleteFile, DeleteFolder
from hubstead.domain.errors import BadRequest, Conflict, PreconditionFailed, RevisionNotFound
from hubstead.domain.lfs_pointer import LfsPointer
from hubstead.domain.upload_policy import lfs_patterns, matches_any
from hubstead.services.discussions import DiscussionService
from hubstead.services.lfs import LfsService
from hubstead.services.principal import Principal
from hubstead.services.repos import RepoHandle, RepoService, author_email
from hubstead.storage.database import Database
from hubstead.storage.gitrepo import (
    BlobChange,
    Change,
    CommitInfo,
    GitRepo,
    PathDeletion,
    signature,
)
from hubstead.storage.models import Account

MAX_ATTEMPTS = 25
HISTORY_PAGE = 50
MAX_HISTORY_PAGE = 1000
STALE_PARENT = "The branch was updated since you opened this page. Please refresh and try again."


@dataclass(frozen=True)
class CommitResult:
    oid: str
    pr_num: int | None = None


@dataclass(frozen=True)
class HistoryPage:
    """One page of a revision's history, newest first, and the length of the whole history."""

    commits: list[CommitInfo]
    total: int
    has_next: bool


@dataclass(frozen=True)
class CommitDetail:
    """A commit and its unified diff against its first parent (cut at a size limit)."""

    info: CommitInfo
    diff: str


def history_page_size(limit: str | None) -> int:
    """`limit` clamped to 1..MAX_HISTORY_PAGE; the Hub's page size when it is not a number."""
    return max(1, min(MAX_HISTORY_PAGE, int(limit))) if limit and limit.isdigit() else HISTORY_PAGE


def _check_card(content: bytes, repo_type: str) -> None:
    """A README.md whose metadata the hub would refuse is refused before anything is written."""
    result = validate_card_text(content.decode("utf-8", "replace"), repo_type)
    if result.errors:
        raise BadRequest(
            "Invalid metadata in README.md: " + "; ".join(hub_message(m) for m in result.errors)
        )


def branch_ref(revision: str) -> str:
    """The ref a commit on `revision` moves: a branch, or an existing pull request ref."""
    if revision.startswith("refs/pr/") or revision.startswith("refs/heads/"):
        return revision
    return f"refs/heads/{revision}"


def _pull_request_base(git: GitRepo, revision: str) -> str:
    """The head of the branch a pull request is opened against: as on the Hub, a commit id, a tag
    or a branch that does not exist is RevisionNotFound (a PR needs a branch to merge into)."""
    name = "main" if revision in ("", "None") else revision
    base = git.ref_target(name if name.startswith("refs/heads/") else f"refs/heads/{name}")
    if base is None:
        raise RevisionNotFound(f"Invalid rev id: {name}")
    return base


class CommitService:
    def __init__(
        self, db: Database, repos: RepoService, lfs: LfsService, discussions: DiscussionService
    ):
        self.db = db
        self.repos = repos
        self.lfs = lfs
        self.discussions = discussions

    @staticmethod
    def history(handle: RepoHandle, revision: str, page: int, size: int) -> HistoryPage:
        """Page `page` (from 0) of `size` commits of `revision`'s history. The walk is cached by
        the git store, so a page costs its own commits, not the whole log, once walked."""
        commits, total = handle.git.log_page(handle.git.resolve(revision), page * size, size)
        return HistoryPage(commits, total, (page + 1) * size < total)

    @staticmethod
    def show(handle: RepoHandle, revision: str, max_bytes: int = 2_000_000) -> CommitDetail:
        """One commit (a full or abbreviated id, or a ref) and the diff it made to its parent."""
        git = handle.git
        oid = git.resolve_abbreviated(revision)
        return CommitDetail(git.commit_info(oid), git.commit_diff(oid, max_bytes))

    def commit(
        self,
        handle: RepoHandle,
        principal: Principal,
        revision: str,
        request: CommitRequest,
        create_pr: bool,
    ) -> CommitResult:
        changes = self._changes(handle, request)
        with self.db.session() as session:
            user = session.get(Account, principal.user_id)
        author = signature(user.name, author_email(user.email, user.name))
        # one writer of this repository at a time, in every process (storage/locks.py)
        with self.repos.ref_lock(handle.row.id):
            return self._apply(handle, principal, revision, request, create_pr, changes, author)

    def _apply(
        self,
        handle: RepoHandle,
        principal: Principal,
        revision: str,
        request: CommitRequest,
        create_pr: bool,
        changes: list[Change],
        author: pygit2.Signature,
    ) -> CommitResult:
        """Open the pull request or check the branch, then build and swap until it lands (under
        the repository's ref lock the swap fails only when a `git push` moved the ref)."""
        git = handle.git
        pr_num = None
        if create_pr:
            base = _pull_request_base(git, revision)
            if request.header.parent_commit and not base.startswith(request.header.parent_commit):
                raise PreconditionFailed(STALE_PARENT)
            pr_num = self.discussions.open_pull_request(
                handle, principal, request.header.summary, request.header.description, base
            )
            ref = f"refs/pr/{pr_num}"
        else:
            ref = branch_ref(revision)
            if git.ref_target(ref) is None:
                raise RevisionNotFound(f"Invalid rev id: {revision}")
            self.discussions.check_can_push(handle, principal, ref)
        for _ in range(MAX_ATTEMPTS):
            head = git.ref_target(ref)
            if head is None:
                raise RevisionNotFound(f"Invalid rev id: {revision}")
            if request.header.parent_commit and not head.startswith(request.header.parent_commit):
                raise PreconditionFailed(STALE_PARENT)
            with_attributes = self._with_lfs_attributes(
                git.read_file(head, ".gitattributes"), changes
            )
            new = git.build_commit(head, with_attributes, author, request.header.message)
            if git.update_ref(ref, new, head, f"commit: {request.header.summary}"):
                self.repos.record_ref(handle.row.id, ref, new)
                self.discussions.record_commit(handle, principal, ref, new, request.header.summary)
                return CommitResult(oid=new, pr_num=pr_num)
        raise Conflict("Cannot commit: the branch is being updated too often, try again")

    def _changes(self, handle: RepoHandle, request: CommitRequest) -> list[Change]:
        """Validate every operation before anything is written."""
        changes: list[Change] = []
        lfs_oids = list(
            dict.fromkeys(op.oid for op in request.operations if isinstance(op, AddLfsFile))
        )
        uploaded = self.lfs.repo_objects(handle.row.id, lfs_oids)
        for op in request.operations:
            if isinstance(op, AddFile):
                if op.path == "README.md":
                    _check_card(op.content, handle.type.value)
                changes.append(BlobChange(op.path, op.content))
            elif isinstance(op, AddLfsFile):
                stored = uploaded.get(op.oid)
                if stored is None:
                    raise BadRequest(
                        f"LFS object {op.oid} for {op.path!r} was not uploaded to this repository"
                    )
                if op.size is not None and op.size != stored.size:
                    raise BadRequest(
                        f"LFS object {op.oid} for {op.path!r} has size {stored.size}, not {op.size}"
                    )
                changes.append(BlobChange(op.path, LfsPointer(op.oid, stored.size).encode()))
            elif isinstance(op, DeleteFile):
                changes.append(PathDeletion(op.path))
            elif isinstance(op, DeleteFolder):
                changes.append(PathDeletion(op.path, folder=True))
        return changes

    @staticmethod
    def _with_lfs_attributes(current: bytes | None, changes: list[Change]) -> list[Change]:
        """Make sure git-lfs clients see LFS files as LFS: track paths no pattern covers yet."""
        text = (current or b"").decode("utf-8", "replace")
        if any(isinstance(c, BlobChange) and c.path == ".gitattributes" for c in changes):
            return changes
        patterns = lfs_patterns(text)
        missing = [
            c.path
            for c in changes
            if isinstance(c, BlobChange)
            and c.data.startswith(b"version https://git-lfs")
            and not matches_any(c.path, patterns)
        ]
        if not missing:
            return changes
        lines = [
            f"{path.replace(' ', '[[:space:]]')} filter=lfs diff=lfs merge=lfs -text"
            for path in dict.fromkeys(missing)
        ]
        text = (text if text.endswith("\n") or not text else text + "\n") + "\n".join(lines) + "\n"
        return [*changes, BlobChange(".gitattributes", text.encode())]
