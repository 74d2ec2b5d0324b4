"""The audit log: security-relevant actions, recorded where they happen and read by site admins.

Each service adds its event with `record(session, …)` inside the transaction that makes the
change, so an action that rolled back leaves no event and a committed one always has its event.
Events are never updated or deleted by the hub. What is recorded (the `ACTIONS`): sign-ins
(right and wrong), sign-ups, password changes, tokens made and revoked, users made, disabled,
enabled and deleted, organizations made, members added, changed and removed, repositories made,
moved, deleted, made public or private, gated or not, their default branch, and access requests
accepted, rejected and granted. Token values and passwords are never part of an event.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hubstead.domain.errors import BadRequest
from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.services.principal import Principal
from hubstead.storage.database import Database
from hubstead.storage.models import AuditEvent

ACTIONS = frozenset(
    {
        "auth.sign_in",
        "auth.sign_in_refused",
        "auth.sign_up",
        "auth.password_change",
        "token.create",
        "token.revoke",
        "user.create",
        "user.disable",
        "user.enable",
        "user.delete",
        "org.create",
        "member.add",
        "member.role",
        "member.remove",
        "repo.create",
        "repo.move",
        "repo.delete",
        "repo.visibility",
        "repo.gating",
        "repo.default_branch",
        "access.review",
        "access.grant",
    }
)
PAGE_SIZE = 100


@dataclass(frozen=True)
class Actor:
    """Who acted: an account (by id and name), or nobody known (an anonymous attempt, an
    operator at the command line)."""

    user_id: int | None
    name: str

    @classmethod
    def of(cls, principal: Principal | None) -> Actor:
        return cls(principal.user_id, principal.name) if principal else OPERATOR


OPERATOR = Actor(None, "")


@dataclass(frozen=True)
class AuditEntry:
    """One event as the API and the admin page show it."""

    id: int
    at: str
    actor: str
    action: str
    target: str
    address: str | None
    details: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "actor": self.actor or None,
            "action": self.action,
            "target": self.target,
            "address": self.address,
            "details": self.details,
        }


def repo_target(repo_type: RepoType, repo_id: RepoId) -> str:
    """How the log names a repository: its id, prefixed for datasets and spaces."""
    return f"{repo_type.url_prefix}{repo_id}"


def record(
    session: Session,
    actor: Actor | Principal | None,
    action: str,
    target: str = "",
    *,
    address: str | None = None,
    **details: Any,
) -> None:
    """Add one event to the action's own transaction."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    who = actor if isinstance(actor, Actor) else Actor.of(actor)
    session.add(
        AuditEvent(
            actor_id=who.user_id,
            actor=who.name[:96],
            action=action,
            target=target[:300],
            address=address[:64] if address else None,
            details={key: value for key, value in details.items() if value is not None},
        )
    )


class AuditLog:
    """Reading the log (site admins only: the protocol and web layers check the caller)."""

    def __init__(self, db: Database):
        self.db = db

    def entries(
        self,
        *,
        action: str | None = None,
        actor: str | None = None,
        target: str | None = None,
        before: int | None = None,
        limit: int = PAGE_SIZE,
    ) -> list[AuditEntry]:
        """The newest events first, filtered by action (or an action's group: `token`),
        actor name and target (exact, or a prefix ending in `/`: `acme/`); `before` an event id
        pages back."""
        if not 1 <= limit <= PAGE_SIZE:
            raise BadRequest(f"'limit' must be between 1 and {PAGE_SIZE}")
        query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if action:
            if "." in action:
                query = query.where(AuditEvent.action == action)
            else:
                query = query.where(AuditEvent.action.startswith(f"{action}.", autoescape=True))
        if actor:
            query = query.where(AuditEvent.actor == actor)
        if target:
            query = query.where(
                AuditEvent.target.startswith(target, autoescape=True)
                if target.endswith("/")
                else AuditEvent.target == target
            )
        if before is not None:
            query = query.where(AuditEvent.id < before)
        with self.db.session() as session:
            return [_entry(event) for event in session.scalars(query)]


def _entry(event: AuditEvent) -> AuditEntry:
    at = event.at if event.at.tzinfo else event.at.replace(tzinfo=dt.UTC)
    return AuditEntry(
        id=event.id,
        at=at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        actor=event.actor,
        action=event.action,
        target=event.target,
        address=event.address,
        details=dict(event.details or {}),
    )
