"""Discussions and pull requests: a pull request is a discussion whose commits live on
`refs/pr/{num}`, numbered per repository from 1.

Each discussion has a timeline of events (`discussion_events`): comments, the opening one
included, and status, title and commit events. Comments keep their raw Markdown and the HTML it
renders to (rendered once, when written, like cards; re-rendered when shown by an older renderer).
Every change of a discussion and the event that records it are written in one transaction.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
from dataclasses import dataclass, field

from sqlalchemy import func, select, update

from hubstead.domain.errors import BadRequest, Conflict, Forbidden, NotFound
from hubstead.rendering import RENDERER_VERSION, render_card_html
from hubstead.services import access
from hubstead.services.principal import Principal
from hubstead.services.repos import RepoHandle, RepoService, author_email, iso
from hubstead.services.urls import Paths, markdown_prefixes
from hubstead.storage.database import Database
from hubstead.storage.gitrepo import signature
from hubstead.storage.models import (
    Account,
    Discussion,
    DiscussionEvent,
    Membership,
    Repository,
    utcnow,
)

log = logging.getLogger("hubstead.discussions")

PAGE_SIZE = 50  # the Hub's page of GET …/discussions
MIN_TITLE, MAX_TITLE = 3, 200
MAX_TEXT = 65536  # a description or a comment
MAX_DIFF_BYTES = 1024 * 1024
OPEN_STATUSES = ("open", "draft")
CLOSED_STATUSES = ("closed", "merged")  # the "closed" filter and count include merged pull requests
KINDS = ("all", "discussion", "pull_request")
STATUS_FILTERS = ("all", "open", "closed")
MAIN = "refs/heads/main"
_PR_REF = re.compile(r"refs/pr/(\d+)")
_EVENT_ID = re.compile(r"[0-9a-f]{24}")


def pr_number(ref: str) -> int | None:
    """The number of the pull request whose ref is `ref`, or None for any other ref."""
    match = _PR_REF.fullmatch(ref)
    return int(match.group(1)) if match else None


def parse_event_id(value: str) -> int:
    """Event ids are the row id as 24 hex digits (the length of the Hub's ids)."""
    if not _EVENT_ID.fullmatch(value.lower()):
        raise NotFound("Comment not found")
    return int(value, 16)


@dataclass(frozen=True)
class ListFilter:
    kind: str = "all"
    status: str = "all"
    author: str | None = None
    search: str | None = None
    page: int = 0

    def validate(self) -> None:
        if self.kind not in KINDS:
            raise BadRequest(f"'type' must be one of {', '.join(KINDS)}")
        if self.status not in STATUS_FILTERS:
            raise BadRequest(f"'status' must be one of {', '.join(STATUS_FILTERS)}")
        if self.page < 0:
            raise BadRequest("'p' must be a page number from 0")


@dataclass(frozen=True)
class AccountView:
    """An account as a discussion shows it (the views below are plain values: answers are shaped
    from them, never from database rows)."""

    id: int
    name: str
    fullname: str | None
    avatar_url: str | None

    @classmethod
    def of(cls, account: Account) -> AccountView:
        return cls(account.id, account.name, account.fullname, account.avatar_url)


@dataclass(frozen=True)
class DiscussionView:
    id: int
    num: int
    title: str
    status: str
    is_pull_request: bool
    author_id: int | None
    merge_commit: str | None
    created_at: dt.datetime

    @classmethod
    def of(cls, row: Discussion) -> DiscussionView:
        return cls(
            row.id,
            row.num,
            row.title,
            row.status,
            row.is_pull_request,
            row.author_id,
            row.merge_commit,
            row.created_at,
        )


@dataclass(frozen=True)
class EventRecord:
    """One event of a timeline: a comment (its latest text, edits, hidden or not) or a change."""

    id: int
    type: str
    author_id: int | None
    created_at: dt.datetime
    content: str
    hidden: bool
    num_edits: int
    edited_at: dt.datetime | None
    data: dict

    @classmethod
    def of(cls, event: DiscussionEvent) -> EventRecord:
        return cls(
            event.id,
            event.type,
            event.author_id,
            event.created_at,
            event.content,
            bool(event.hidden),
            event.num_edits,
            event.edited_at,
            dict(event.data or {}),
        )


@dataclass
class People:
    """The accounts a response names, and which of them may write to the repository (the
    Hub's `isOwner`), looked up once per response."""

    accounts: dict[int, AccountView] = field(default_factory=dict)
    owners: frozenset[int] = frozenset()


@dataclass
class DiscussionSummary:
    row: DiscussionView
    num_comments: int


@dataclass
class DiscussionPage:
    items: list[DiscussionSummary]
    count: int
    start: int
    num_closed: int
    people: People


@dataclass
class Timeline:
    """A discussion with all its events, oldest first; for a pull request, its changes."""

    row: DiscussionView
    events: list[EventRecord]
    people: People
    diff: str | None = None
    conflicts: list[str] = field(default_factory=list)


@dataclass
class EventView:
    """One event just written, with the accounts needed to show it."""

    event: EventRecord
    people: People


@dataclass(frozen=True)
class Rendered:
    """A comment's raw Markdown and its HTML, rendered before any transaction starts (KaTeX
    runs in another process); `version` is None when it could not be rendered."""

    raw: str
    html: str
    version: str | None


def render_comment(handle: RepoHandle, raw: str, paths: Paths) -> Rendered:
    """A comment rendered like a card (Markdown, KaTeX math, sanitized; relative links to main).
    A comment that cannot be rendered (no Node.js for its math) is kept as escaped text, with no
    version, so it is rendered again the next time it is shown."""
    resolve_prefix, blob_prefix = markdown_prefixes(paths, handle, "main")
    try:
        document = render_card_html(raw, resolve_prefix=resolve_prefix, blob_prefix=blob_prefix)
        return Rendered(raw, document, RENDERER_VERSION)
    except Exception:  # noqa: BLE001 - a comment is never lost because its math could not be rendered
        log.exception("could not render a comment on %s", handle.id)
        return Rendered(raw, f"<p>{html.escape(raw)}</p>", None)


def _comment_event(
    discussion_id: int, author_id: int, comment: Rendered, when: dt.datetime | None = None
) -> DiscussionEvent:
    return DiscussionEvent(
        discussion_id=discussion_id,
        type="comment",
        author_id=author_id,
        created_at=when or utcnow(),
        content=comment.raw,
        hidden=False,
        num_edits=0,
        data={"html": comment.html, "renderer": comment.version},
    )


def _check_title(title: object) -> str:
    if not isinstance(title, str) or not MIN_TITLE <= len(title.strip()) <= MAX_TITLE:
        raise BadRequest(f"A title needs {MIN_TITLE} to {MAX_TITLE} characters")
    return title.strip()


def _check_text(text: object, what: str, allow_empty: bool = False) -> str:
    if not isinstance(text, str) or (not allow_empty and not text.strip()):
        raise BadRequest(f"'{what}' must be a non-empty string")
    if len(text) > MAX_TEXT:
        raise BadRequest(f"'{what}' is longer than {MAX_TEXT} characters")
    return text


class DiscussionService:
    def __init__(self, db: Database, repos: RepoService, *, paths: Paths):
        self.db = db
        self.repos = repos
        self.paths = paths  # the hub's web paths, for links in rendered comments

    def _render(self, handle: RepoHandle, raw: str) -> Rendered:
        return render_comment(handle, raw, self.paths)

    # -- creating -----------------------------------------------------------------------------

    def _next_num(self, session, repo_row_id: int) -> int:
        """Take the next number atomically (UPDATE … RETURNING works on SQLite and PostgreSQL)."""
        return (
            session.execute(
                update(Repository)
                .where(Repository.id == repo_row_id)
                .values(next_discussion_num=Repository.next_discussion_num + 1)
                .returning(Repository.next_discussion_num)
            ).scalar_one()
            - 1
        )

    def _add(
        self,
        session,
        handle: RepoHandle,
        principal: Principal,
        title: str,
        opening: Rendered,
        pull_request: bool,
    ) -> Discussion:
        """The discussion row and its opening comment, which is its first event."""
        now = utcnow()
        row = Discussion(
            repo_id=handle.row.id,
            num=self._next_num(session, handle.row.id),
            title=title,
            description=opening.raw,
            is_pull_request=pull_request,
            status="open",
            author_id=principal.user_id,
            created_at=now,
        )
        session.add(row)
        session.flush()
        session.add(_comment_event(row.id, principal.user_id, opening, now))
        return row

    def create(
        self,
        handle: RepoHandle,
        principal: Principal | None,
        title: object,
        description: object,
        pull_request: bool,
    ) -> int:
        """Open a discussion, or an empty pull request on main: anyone who may read the
        repository may, with a write token."""
        principal = access.require_write_token(principal)
        title = _check_title(title)
        description = _check_text(description or "", "description", allow_empty=True)
        if pull_request:
            return self.open_pull_request(
                handle, principal, title, description, handle.git.resolve("main")
            )
        opening = self._render(handle, description)
        with self.db.session() as session:
            return self._add(session, handle, principal, title, opening, False).num

    def open_pull_request(
        self, handle: RepoHandle, principal: Principal, title: str, description: str, base: str
    ) -> int:
        """Create the PR row, its opening comment and its ref `refs/pr/N` at `base`."""
        opening = self._render(handle, description or "")
        with self.repos.ref_lock(handle.row.id):
            with self.db.session() as session:
                row = self._add(
                    session, handle, principal, title.strip() or "Pull request", opening, True
                )
                ref = f"refs/pr/{row.num}"
                if not handle.git.update_ref(ref, base, None, "open pull request"):
                    raise Conflict(f"{ref} already exists")
                num = row.num
            self.repos.record_ref(handle.row.id, f"refs/pr/{num}", base)
        return num

    # -- reading ------------------------------------------------------------------------------

    def list(self, handle: RepoHandle, query: ListFilter) -> DiscussionPage:
        """One page, newest first; `count` is every match, `num_closed` every closed match of
        the same kind, author and search whatever the status filter (the tab counts)."""
        query.validate()
        conditions = _list_conditions(handle, query)
        matching = [*conditions]
        if query.status != "all":
            matching.append(
                Discussion.status.in_(OPEN_STATUSES if query.status == "open" else CLOSED_STATUSES)
            )
        start = query.page * PAGE_SIZE
        with self.db.session() as session:
            count = session.scalar(select(func.count()).select_from(Discussion).where(*matching))
            num_closed = session.scalar(
                select(func.count())
                .select_from(Discussion)
                .where(*conditions, Discussion.status.in_(CLOSED_STATUSES))
            )
            rows = list(
                session.scalars(
                    select(Discussion)
                    .where(*matching)
                    .order_by(Discussion.num.desc())
                    .offset(start)
                    .limit(PAGE_SIZE)
                )
            )
            comments = (
                dict(
                    session.execute(
                        select(DiscussionEvent.discussion_id, func.count())
                        .where(
                            DiscussionEvent.discussion_id.in_([r.id for r in rows]),
                            DiscussionEvent.type == "comment",
                        )
                        .group_by(DiscussionEvent.discussion_id)
                    ).all()
                )
                if rows
                else {}
            )
            people = self._people(session, handle, {r.author_id for r in rows})
        items = [DiscussionSummary(DiscussionView.of(row), comments.get(row.id, 0)) for row in rows]
        return DiscussionPage(items, count, start, num_closed, people)

    def get(self, handle: RepoHandle, num: int) -> Discussion:
        with self.db.session() as session:
            return self._discussion(session, handle, num)

    @staticmethod
    def _discussion(session, handle: RepoHandle, num: int, lock: bool = False) -> Discussion:
        statement = select(Discussion).where(
            Discussion.repo_id == handle.row.id, Discussion.num == num
        )
        row = session.scalar(statement.with_for_update() if lock else statement)
        if row is None:
            raise NotFound(f"Discussion #{num} not found")
        return row

    def details(self, handle: RepoHandle, num: int, with_diff: bool) -> Timeline:
        with self.db.session() as session:
            row = self._discussion(session, handle, num)
            events = list(
                session.scalars(
                    select(DiscussionEvent)
                    .where(DiscussionEvent.discussion_id == row.id)
                    .order_by(DiscussionEvent.id)
                )
            )
            for event in events:
                self._refresh_html(handle, event)
            people = self._people(session, handle, _account_ids(row, events))
        timeline = Timeline(
            DiscussionView.of(row), [EventRecord.of(event) for event in events], people
        )
        if row.is_pull_request:
            self._pull_request_changes(handle, timeline, with_diff)
        return timeline

    def _refresh_html(self, handle: RepoHandle, event: DiscussionEvent) -> None:
        """A comment stored by an older renderer (or none) is rendered again, and kept."""
        if event.type == "comment" and (event.data or {}).get("renderer") != RENDERER_VERSION:
            rendered = self._render(handle, event.content)
            event.data = {**(event.data or {}), "html": rendered.html, "renderer": rendered.version}

    def _pull_request_changes(
        self, handle: RepoHandle, timeline: Timeline, with_diff: bool
    ) -> None:
        """The diff against the merge base with main (for a merged PR, the base it was merged
        onto), and the files a merge would leave in conflict."""
        git, row = handle.git, timeline.row
        head, main = git.ref_target(f"refs/pr/{row.num}"), git.ref_target(MAIN)
        if head is None or main is None:
            timeline.diff = "" if with_diff else None
            return
        base = _merged_base(timeline.events) if row.status == "merged" else None
        base = base or git.merge_base(main, head) or head
        if with_diff:
            timeline.diff = git.diff(base, head, MAX_DIFF_BYTES)
        if row.status != "merged":
            timeline.conflicts = git.conflicting_files(main, head)

    def _people(self, session, handle: RepoHandle, ids: set[int | None]) -> People:
        wanted = {i for i in ids if i is not None}
        accounts = (
            {
                a.id: AccountView.of(a)
                for a in session.scalars(select(Account).where(Account.id.in_(wanted)))
            }
            if wanted
            else {}
        )
        owner = session.scalar(select(Account).where(Account.name == handle.row.namespace))
        if owner is None:
            return People(accounts)
        if owner.kind == "user":
            return People(accounts, frozenset({owner.id}))
        writers = session.scalars(
            select(Membership.user_id).where(
                Membership.org_id == owner.id, Membership.role.in_(("write", "admin"))
            )
        )
        return People(accounts, frozenset(writers))

    def _view(self, session, handle: RepoHandle, event: DiscussionEvent) -> EventView:
        session.flush()
        return EventView(
            EventRecord.of(event), self._people(session, handle, _event_account_ids(event))
        )

    # -- changing -----------------------------------------------------------------------------

    def comment(
        self, handle: RepoHandle, principal: Principal | None, num: int, text: object
    ) -> EventView:
        """Anyone who may read the repository may comment, closed and merged discussions included
        (as on the Hub), with a write token."""
        principal = access.require_write_token(principal)
        rendered = self._render(handle, _check_text(text, "comment"))
        with self.db.session() as session:
            row = self._discussion(session, handle, num)
            event = _comment_event(row.id, principal.user_id, rendered)
            session.add(event)
            return self._view(session, handle, event)

    def rename(
        self, handle: RepoHandle, principal: Principal | None, num: int, title: object
    ) -> EventView:
        principal = access.require_write_token(principal)
        title = _check_title(title)
        with self.db.session() as session:
            row = self._discussion(session, handle, num, lock=True)
            self._check_author_or_writer(handle, principal, row)
            event = DiscussionEvent(
                discussion_id=row.id,
                type="title-change",
                author_id=principal.user_id,
                data={"from": row.title, "to": title},
            )
            row.title = title
            session.add(event)
            return self._view(session, handle, event)

    def set_status(
        self,
        handle: RepoHandle,
        principal: Principal | None,
        num: int,
        status: object,
        comment: object = None,
    ) -> EventView:
        """Close or reopen, optionally with a comment posted just before the status change."""
        principal = access.require_write_token(principal)
        if status not in ("open", "closed"):
            raise BadRequest("'status' must be 'open' or 'closed'")
        rendered = self._render(handle, _check_text(comment, "comment")) if comment else None
        with self.db.session() as session:
            row = self._discussion(session, handle, num, lock=True)
            self._check_author_or_writer(handle, principal, row)
            if row.status == "merged":
                raise BadRequest("A merged pull request cannot change status")
            if rendered is not None:
                session.add(_comment_event(row.id, principal.user_id, rendered))
            row.status = status
            event = DiscussionEvent(
                discussion_id=row.id,
                type="status-change",
                author_id=principal.user_id,
                data={"status": status},
            )
            session.add(event)
            return self._view(session, handle, event)

    @staticmethod
    def _check_author_or_writer(handle: RepoHandle, principal: Principal, row: Discussion) -> None:
        if row.author_id != principal.user_id and not access.can_write(
            principal, handle.row.namespace
        ):
            raise Forbidden(
                "Only the author of the discussion or a writer of the repository can change it"
            )

    def merge(
        self, handle: RepoHandle, principal: Principal | None, num: int, comment: object = None
    ) -> str:
        """Merge a pull request into main: fast-forward, or a merge commit if main moved on.
        The base it was merged onto is kept with the status event, so its diff stays readable."""
        principal = access.require_write_token(principal)
        if not access.can_write(principal, handle.row.namespace):
            raise Forbidden("Only a writer of the repository can merge a pull request")
        rendered = self._render(handle, _check_text(comment, "comment")) if comment else None
        row = self.get(handle, num)
        if not row.is_pull_request or row.status != "open":
            raise BadRequest("Only an open pull request can be merged")
        git = handle.git
        with self.db.session() as session:
            user = session.get(Account, principal.user_id)
        with self.repos.ref_lock(handle.row.id):  # commits wait: main does not move under us
            head, main = git.ref_target(f"refs/pr/{num}"), git.ref_target(MAIN)
            if head is None or main is None:
                raise BadRequest("The pull request or its base branch has no commits")
            merged = git.merge(
                main,
                head,
                signature(user.name, author_email(user.email, user.name)),
                f"Merge pull request #{num}: {row.title}\n",
            )
            if not git.update_ref(MAIN, merged, main, f"merge pr {num}"):
                raise Conflict("The branch was updated while merging. Please try again.")
            self.repos.record_ref(handle.row.id, MAIN, merged)
        self._record_merge(principal, row.id, merged, git.merge_base(main, head) or main, rendered)
        return merged

    def _record_merge(
        self,
        principal: Principal,
        discussion_id: int,
        merged: str,
        base: str,
        comment: Rendered | None,
    ) -> None:
        """Mark the PR merged once: of two racing merges, only the first writes its events."""
        with self.db.session() as session:
            claimed = session.execute(
                update(Discussion)
                .where(Discussion.id == discussion_id, Discussion.status == "open")
                .values(status="merged", merge_commit=merged)
            ).rowcount
            if not claimed:
                return
            if comment is not None:
                session.add(_comment_event(discussion_id, principal.user_id, comment))
            session.add(
                DiscussionEvent(
                    discussion_id=discussion_id,
                    type="status-change",
                    author_id=principal.user_id,
                    data={"status": "merged", "base": base},
                )
            )

    # -- comments -----------------------------------------------------------------------------

    @staticmethod
    def _comment(session, row: Discussion, event_id: str) -> DiscussionEvent:
        event = session.get(DiscussionEvent, parse_event_id(event_id), with_for_update=True)
        if event is None or event.discussion_id != row.id or event.type != "comment":
            raise NotFound("Comment not found")
        return event

    def edit_comment(
        self,
        handle: RepoHandle,
        principal: Principal | None,
        num: int,
        event_id: str,
        content: object,
    ) -> EventView:
        """The comment's author or a writer of the repository may edit it; the version it
        replaces goes to the front of its history."""
        principal = access.require_write_token(principal)
        rendered = self._render(handle, _check_text(content, "content"))
        with self.db.session() as session:
            event = self._comment(session, self._discussion(session, handle, num), event_id)
            if event.author_id != principal.user_id and not access.can_write(
                principal, handle.row.namespace
            ):
                raise Forbidden(
                    "Only the author of the comment or a writer of the repository can edit it"
                )
            if event.hidden:
                raise Forbidden("A hidden comment cannot be edited")
            data = dict(event.data or {})
            previous = {
                "raw": event.content,
                "updatedAt": iso(event.edited_at or event.created_at),
                "authorId": data.get("lastEditorId", event.author_id),
            }
            editors = [*data.get("editorIds", [])]
            if principal.user_id not in editors:
                editors.append(principal.user_id)
            event.data = {
                **data,
                "html": rendered.html,
                "renderer": rendered.version,
                "editorIds": editors,
                "lastEditorId": principal.user_id,
                "history": [previous, *data.get("history", [])],
            }
            event.content, event.num_edits, event.edited_at = (
                rendered.raw,
                event.num_edits + 1,
                utcnow(),
            )
            return self._view(session, handle, event)

    def hide_comment(
        self, handle: RepoHandle, principal: Principal | None, num: int, event_id: str
    ) -> EventView:
        """Only a writer of the repository may hide a comment. It is never shown again (its text
        stays in the database for the record); hiding twice changes nothing."""
        principal = access.require_write_token(principal)
        if not access.can_write(principal, handle.row.namespace):
            raise Forbidden("Only a writer of the repository can hide a comment")
        with self.db.session() as session:
            event = self._comment(session, self._discussion(session, handle, num), event_id)
            if not event.hidden:
                event.hidden = True
                event.data = {**(event.data or {}), "hiddenById": principal.user_id}
            return self._view(session, handle, event)

    # -- commits on pull requests -------------------------------------------------------------

    def pushable_pull_requests(self, handle: RepoHandle, principal: Principal | None) -> list[int]:
        """The open pull requests `principal` may push to with git: every one for a writer of
        the repository, their own for anyone else (check_can_push's rule, for a whole push)."""
        if principal is None or not principal.can_write:
            return []
        query = select(Discussion.num).where(
            Discussion.repo_id == handle.row.id,
            Discussion.is_pull_request.is_(True),
            Discussion.status == "open",
        )
        if not access.can_write(principal, handle.row.namespace):
            query = query.where(Discussion.author_id == principal.user_id)
        with self.db.session() as session:
            return list(session.scalars(query))

    def check_can_push(self, handle: RepoHandle, principal: Principal, ref: str) -> None:
        """Commits to `refs/pr/N`: a writer of the repository, or the author of the pull request
        (who may only read the repository), as long as it is not merged."""
        num = pr_number(ref)
        if num is None:
            return
        with self.db.session() as session:
            row = session.scalar(
                select(Discussion).where(Discussion.repo_id == handle.row.id, Discussion.num == num)
            )
        if row is None or not row.is_pull_request:
            if not access.can_write(principal, handle.row.namespace):
                raise Forbidden(f"You don't have the rights to write to {handle.id}")
            return
        if row.status == "merged":
            raise BadRequest(f"Pull request #{num} is merged: open a new one")
        if row.author_id != principal.user_id and not access.can_write(
            principal, handle.row.namespace
        ):
            raise Forbidden(
                f"Only the author of pull request #{num} or a writer of the repository can push to it"
            )

    def record_commit(
        self, handle: RepoHandle, principal: Principal, ref: str, oid: str, subject: str
    ) -> None:
        """A commit that landed on a pull request's ref becomes an event of its timeline."""
        num = pr_number(ref)
        if num is None:
            return
        with self.db.session() as session:
            row = session.scalar(
                select(Discussion).where(Discussion.repo_id == handle.row.id, Discussion.num == num)
            )
            if row is not None:
                session.add(
                    DiscussionEvent(
                        discussion_id=row.id,
                        type="commit",
                        author_id=principal.user_id,
                        data={"subject": subject, "oid": oid},
                    )
                )


def _list_conditions(handle: RepoHandle, query: ListFilter) -> list:
    """Everything a listing filters on except the status."""
    conditions = [Discussion.repo_id == handle.row.id]
    if query.kind != "all":
        conditions.append(Discussion.is_pull_request == (query.kind == "pull_request"))
    if query.author:
        conditions.append(
            Discussion.author_id
            == select(Account.id).where(Account.name == query.author).scalar_subquery()
        )
    if query.search:
        conditions.append(
            func.lower(Discussion.title).contains(query.search.lower(), autoescape=True)
        )
    return conditions


def _merged_base(events: list[EventRecord]) -> str | None:
    for event in reversed(events):
        if event.type == "status-change" and (event.data or {}).get("status") == "merged":
            return event.data.get("base")
    return None


def _event_account_ids(event: DiscussionEvent) -> set[int | None]:
    data = event.data or {}
    return {
        event.author_id,
        data.get("lastEditorId"),
        data.get("hiddenById"),
        *data.get("editorIds", []),
        *(entry.get("authorId") for entry in data.get("history", [])),
    }


def _account_ids(row: Discussion, events: list[DiscussionEvent]) -> set[int | None]:
    ids: set[int | None] = {row.author_id}
    for event in events:
        ids |= _event_account_ids(event)
    return ids
