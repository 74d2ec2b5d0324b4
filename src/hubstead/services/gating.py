"""Gated repositories: who may download their files, and the access requests that decide it.

The one rule, used by every protocol that serves file contents (resolve, LFS, Xet, git): the
members of the owning namespace (the user, or the organization's members of any role) and site
admins always may; anyone else needs an accepted access request. "auto" accepts a request the
moment it is made, "manual" leaves it pending until a writer of the repository answers it.
Turning gating off opens the files to everyone but keeps the requests, for when it comes back.

By convention `fields` is None only for a request the requester never made (a writer granted
access): the Hub shares no email for those.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import IntegrityError

from hubstead.domain.errors import BadRequest, GatedRepo, NotFound
from hubstead.domain.gating import STATUSES, check_answers, check_rejection_reason, refusal_message
from hubstead.services import audit
from hubstead.services.cards import CardService
from hubstead.services.principal import Principal
from hubstead.services.repos import RepoHandle
from hubstead.storage.database import Database
from hubstead.storage.models import AccessRequest, Account, utcnow

_REQUESTS = AccessRequest.__table__
_STATUS = select(_REQUESTS.c.status).where(
    _REQUESTS.c.repo_id == bindparam("repo_id"), _REQUESTS.c.user_id == bindparam("user_id")
)


@dataclass(frozen=True)
class AccessRequestView:
    """One request as a repository's writers see it."""

    user_id: int
    name: str
    fullname: str | None
    email: str | None  # None when access was granted without a request
    status: str
    fields: dict | None
    created_at: dt.datetime
    updated_at: dt.datetime


def bypasses_gate(principal: Principal | None, namespace: str) -> bool:
    """The namespace's own members and site admins never need to ask."""
    if principal is None:
        return False
    return principal.is_admin or principal.namespace_role(namespace) is not None


class GatingService:
    def __init__(self, db: Database, cards: CardService):
        self.db = db
        self.cards = cards

    # -- the gate -----------------------------------------------------------------------------

    def check_download(
        self, handle: RepoHandle, principal: Principal | None, repo_url: Callable[[], str]
    ) -> None:
        """Raise GatedRepo (401 anonymous, 403 signed in) unless the caller may read the files.

        Runs on every HEAD of /resolve: a repository that is not gated costs nothing, and a
        gated one at most one primary-key lookup. `repo_url` gives the repository's page for
        the refusal, built only then (building a URL is a measurable part of a HEAD).
        """
        allowed, status = self._decide(handle, principal)
        if allowed:
            return
        message = refusal_message(
            handle.type.value, str(handle.id), repo_url(), principal is not None, status
        )
        raise GatedRepo(message, status=401 if principal is None else 403)

    def may_download(self, handle: RepoHandle, principal: Principal | None) -> bool:
        """The same decision as check_download, as a yes or no (to leave content out of a page
        or a response instead of refusing it whole)."""
        return self._decide(handle, principal)[0]

    def _decide(self, handle: RepoHandle, principal: Principal | None) -> tuple[bool, str | None]:
        """(may download, the caller's request status)."""
        row = handle.row
        if not row.gated or bypasses_gate(principal, row.namespace):
            return True, None
        status = self._status(row.id, principal.user_id) if principal is not None else None
        return status == "accepted", status

    def _status(self, repo_row_id: int, user_id: int) -> str | None:
        with self.db.engine.connect() as connection:
            return connection.execute(
                _STATUS, {"repo_id": repo_row_id, "user_id": user_id}
            ).scalar()

    # -- the requester ------------------------------------------------------------------------

    def ask(self, handle: RepoHandle, principal: Principal, answers: object) -> str:
        """Record the caller's request and return its status ("accepted" at once in auto mode).

        Asking again changes nothing, as on the Hub: a pending request stays pending and a
        rejected user cannot ask again.
        """
        row = handle.row
        if not row.gated:
            raise BadRequest(f"{handle.id} is not gated: its files are open to everyone")
        card = self.cards.stored(row.id)
        fields = check_answers(card.card_data if card is not None else None, answers)
        status = "accepted" if row.gated == "auto" else "pending"
        try:
            with self.db.session() as session:
                existing = session.get(AccessRequest, (row.id, principal.user_id))
                if existing is not None:
                    return existing.status
                session.add(
                    AccessRequest(
                        repo_id=row.id, user_id=principal.user_id, status=status, fields=fields
                    )
                )
        except IntegrityError:  # the same user asked twice at once: the first one counts
            return self._status(row.id, principal.user_id) or status
        return status

    def withdraw(self, handle: RepoHandle, principal: Principal) -> None:
        """The requester takes back a pending request; a decided one is the authors' to change."""
        with self.db.session() as session:
            removed = session.execute(
                delete(AccessRequest)
                .where(
                    AccessRequest.repo_id == handle.row.id,
                    AccessRequest.user_id == principal.user_id,
                )
                .where(AccessRequest.status == "pending")
            ).rowcount
        if not removed:
            raise NotFound("No pending access request found for this repo and this user")

    # -- the repository's writers -------------------------------------------------------------

    def requests(
        self, handle: RepoHandle, status: str, offset: int, limit: int
    ) -> tuple[list[AccessRequestView], bool]:
        """One page of the requests in `status`, oldest first, and whether more follow."""
        with self.db.session() as session:
            rows = session.execute(
                select(AccessRequest, Account)
                .join(Account, Account.id == AccessRequest.user_id)
                .where(AccessRequest.repo_id == handle.row.id, AccessRequest.status == status)
                .order_by(AccessRequest.created_at, AccessRequest.user_id)
                .offset(offset)
                .limit(limit + 1)
            ).all()
        views = [_view(request, account) for request, account in rows[:limit]]
        return views, len(rows) > limit

    def review(
        self,
        handle: RepoHandle,
        user: str | None,
        request_id: str | None,
        status: object,
        rejection_reason: object = None,
        by: Principal | None = None,
    ) -> None:
        """Accept, reject or send back to pending ("cancel") a request. Moving a request to the
        status it has is refused like a missing request, as the Hub does (404)."""
        if status not in STATUSES:
            raise BadRequest(f"'status' must be one of {', '.join(STATUSES)}")
        check_rejection_reason(rejection_reason, status)
        with self.db.session() as session:
            account = _requester(session, handle, user, request_id)
            request = session.get(AccessRequest, (handle.row.id, account.id))
            if request is None:
                raise NotFound(f"{account.name} has not requested access to {handle.id}")
            if request.status == status:
                raise NotFound(
                    f"The access request of {account.name} to {handle.id} is already {status}"
                )
            request.status, request.updated_at = status, utcnow()
            audit.record(
                session,
                by,
                "access.review",
                audit.repo_target(handle.type, handle.id),
                user=account.name,
                status=status,
            )

    def grant(
        self,
        handle: RepoHandle,
        user: str | None,
        request_id: str | None,
        by: Principal | None = None,
    ) -> None:
        """Give a user access whether or not they asked (a pending or rejected request is accepted)."""
        with self.db.session() as session:
            account = _requester(session, handle, user, request_id)
            request = session.get(AccessRequest, (handle.row.id, account.id))
            if request is None:
                session.add(
                    AccessRequest(
                        repo_id=handle.row.id, user_id=account.id, status="accepted", fields=None
                    )
                )
            elif request.status == "accepted":
                raise BadRequest(f"{account.name} already has access to {handle.id}")
            else:
                request.status, request.updated_at = "accepted", utcnow()
            audit.record(
                session,
                by,
                "access.grant",
                audit.repo_target(handle.type, handle.id),
                user=account.name,
            )


def _requester(session, handle: RepoHandle, user: str | None, request_id: str | None) -> Account:
    """The user a writer names, by user name or by the request id the listings give."""
    if (user is None) == (request_id is None):
        raise BadRequest("Give either 'user' or 'requestId', not both")
    if user is not None:
        account = session.scalar(
            select(Account).where(Account.name == str(user), Account.kind == "user")
        )
        if account is None:
            raise NotFound(f"User {user!r} not found")
        return account
    account = session.get(Account, int(request_id)) if str(request_id).isdigit() else None
    if account is None or account.kind != "user":
        raise NotFound(f"No access request {request_id!r} on {handle.id}")
    return account


def _view(request: AccessRequest, account: Account) -> AccessRequestView:
    return AccessRequestView(
        user_id=account.id,
        name=account.name,
        fullname=account.fullname or account.name,
        email=account.email if request.fields is not None else None,
        status=request.status,
        fields=request.fields,
        created_at=request.created_at,
        updated_at=request.updated_at,
    )
