"""Who may run inference how often, and what each caller ran: rate limits, quotas, usage.

Limits are fixed windows counted in the database (`rate_windows`), not in a process, so every
`hubstead serve` process sharing the database enforces the same limit: a minute window
(`HUBSTEAD_INFERENCE_RATE_LIMIT` per token, `…_ANONYMOUS_RATE_LIMIT` per address) and a day
window (`HUBSTEAD_INFERENCE_DAILY_QUOTA`). A refused request is not counted, so a caller
retrying after `Retry-After` gets in. Usage (`inference_usage`) is kept per caller, model and
day: requests, failures, prompt and generated tokens, compute time — what
`GET /api/inference/usage` shows its owner. A process adds its requests' usage up in memory and
writes it at most FLUSH_SECONDS later, in one transaction: a write per request would cost more
than a small model's answer.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from hubstead.domain.errors import RateLimited
from hubstead.services.principal import Principal
from hubstead.services.rate_limits import RateLimiter
from hubstead.settings import InferenceSettings
from hubstead.storage.database import Database
from hubstead.storage.models import InferenceUsage, Repository

MINUTE, DAY = 60, 86_400
FLUSH_SECONDS = 1.0  # usage rows wait at most this long in a process before they are written
USAGE_COLUMNS = ("requests", "failures", "input_units", "output_tokens", "compute_ms")


@dataclass(frozen=True)
class Caller:
    """The party a limit and a usage row belong to."""

    key: str  # "token:<id>", "user:<id>" or "addr:<ip>"
    user_id: int | None = None
    token_name: str | None = None

    @classmethod
    def of(cls, principal: Principal | None, address: str | None) -> Caller:
        if principal is None:
            return cls(f"addr:{address or 'unknown'}")
        if principal.token_id is None:
            return cls(f"user:{principal.user_id}", principal.user_id, principal.token_name)
        return cls(f"token:{principal.token_id}", principal.user_id, principal.token_name)

    @property
    def anonymous(self) -> bool:
        return self.user_id is None


@dataclass(frozen=True)
class Admission:
    """A request let through, with the `X-RateLimit-*` headers that tell the caller its room."""

    headers: dict[str, str]


@dataclass(frozen=True)
class Outcome:
    """What one request cost, recorded once it ends."""

    ok: bool
    input_units: int = 0
    output_tokens: int = 0
    compute_ms: int = 0


class Meter:
    def __init__(self, db: Database, settings: InferenceSettings):
        self.db = db
        self.settings = settings
        self.limiter = RateLimiter(db)
        # usage waiting to be written: (day, caller, repo) → [user, token name, *USAGE_COLUMNS]
        self._pending: dict[tuple, list] = {}
        self._lock = threading.Lock()

    def limits(self, caller: Caller) -> list[tuple[str, int, int]]:
        """(name, requests, window seconds) of each limit that applies to the caller."""
        per_minute = (
            self.settings.anonymous_rate_limit if caller.anonymous else self.settings.rate_limit
        )
        limits = []
        if per_minute > 0:
            limits.append(("minute", per_minute, MINUTE))
        if self.settings.daily_quota > 0:
            limits.append(("day", self.settings.daily_quota, DAY))
        return limits

    def admit(self, caller: Caller) -> Admission:
        """Count the request in each window, or refuse it (429) when a window is full; the
        refusal rolls the counts back, so it uses none of the caller's room."""
        limits = self.limits(caller)
        if not limits:
            return Admission({})
        now = time.time()
        headers: dict[str, str] = {}
        with self.db.session() as session:
            counted = []
            for name, allowed, seconds in limits:
                hits, start = self.limiter.hit(session, f"{name}:{caller.key}", seconds)
                counted.append((name, allowed, seconds, start, hits))
            for name, allowed, seconds, start, hits in counted:
                if hits > allowed:
                    wait = max(1, int(start + seconds - now + 0.999))
                    what = "requests per minute" if name == "minute" else "requests per day"
                    raise RateLimited(
                        f"Rate limit reached: {allowed} {what} for "
                        f"{'this address' if caller.anonymous else 'this token'}; "
                        f"retry in {wait} s",
                        headers={
                            "Retry-After": str(wait),
                            **_room(allowed, allowed, start + seconds),
                        },
                    )
            name, allowed, seconds, start, hits = counted[0]
            headers = _room(allowed, hits, start + seconds)
        return Admission(headers)

    # -- usage ------------------------------------------------------------------------------

    def record(self, caller: Caller, repo_row_id: int, outcome: Outcome) -> bool:
        """Add a request's usage to the rows waiting to be written; True when it is the first
        waiting row (the caller then schedules `flush` within FLUSH_SECONDS)."""
        key = (dt.datetime.now(dt.UTC).date(), caller.key, repo_row_id)
        added = (1, 0 if outcome.ok else 1, outcome.input_units, outcome.output_tokens)
        with self._lock:
            first = not self._pending
            row = self._pending.setdefault(key, [caller.user_id, caller.token_name, 0, 0, 0, 0, 0])
            for index, value in enumerate((*added, outcome.compute_ms), start=2):
                row[index] += value
        return first

    def flush(self) -> None:
        """Write the waiting usage rows in one transaction (an upsert adding to each row)."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return
        U = InferenceUsage
        dialect = sqlite if self.db.is_sqlite else postgresql
        statement = dialect.insert(U)
        statement = statement.on_conflict_do_update(
            index_elements=[U.day, U.caller, U.repo_id],
            set_={name: getattr(U, name) + statement.excluded[name] for name in USAGE_COLUMNS},
        )
        rows = [
            {
                "day": day,
                "caller": caller,
                "repo_id": repo_id,
                "user_id": user_id,
                "token_name": token_name,
                **dict(zip(USAGE_COLUMNS, counts)),
            }
            for (day, caller, repo_id), (user_id, token_name, *counts) in sorted(pending.items())
        ]
        with self.db.session() as session:
            session.execute(statement, rows)

    def usage(self, user_id: int, days: int = 30) -> list[dict[str, Any]]:
        """The user's usage per day, model and token, newest first (this process' waiting
        rows written first; other processes' are at most FLUSH_SECONDS behind)."""
        self.flush()
        since = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days - 1)
        U, R = InferenceUsage, Repository
        with self.db.session() as session:
            rows = session.execute(
                select(U, R.namespace, R.name)
                .join(R, R.id == U.repo_id)
                .where(U.user_id == user_id, U.day >= since)
                .order_by(U.day.desc(), R.namespace, R.name, U.caller)
            ).all()
        return [
            {
                "day": row.InferenceUsage.day.isoformat(),
                "model": f"{row.namespace}/{row.name}",
                "token": row.InferenceUsage.token_name,
                "requests": row.InferenceUsage.requests,
                "failures": row.InferenceUsage.failures,
                "inputTokens": row.InferenceUsage.input_units,
                "generatedTokens": row.InferenceUsage.output_tokens,
                "computeMs": row.InferenceUsage.compute_ms,
            }
            for row in rows
        ]


def _room(allowed: int, hits: int, reset: float) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(allowed),
        "X-RateLimit-Remaining": str(max(0, allowed - hits)),
        "X-RateLimit-Reset": str(int(reset)),
    }
