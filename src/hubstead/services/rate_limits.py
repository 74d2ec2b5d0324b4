"""Fixed-window counters in the database, shared by every process on it: the inference API's
limits and quotas, and password attempts.

A hit is one upsert that returns the window's count; windows that ended are deleted as new ones
start (once a minute per process). A refused hit is rolled back by its caller's transaction, so
it uses none of the room.
"""

from __future__ import annotations

import time

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hubstead.storage.database import Database
from hubstead.storage.models import RateWindow

KEEP_SECONDS = 2 * 86_400  # the longest window any limit uses, twice


class RateLimiter:
    def __init__(self, db: Database):
        self.db = db
        self._swept = 0  # the minute whose ended windows were last deleted

    @staticmethod
    def window(seconds: int, now: float | None = None) -> int:
        """The start (epoch seconds) of the current window of `seconds`."""
        now = time.time() if now is None else now
        return int(now // seconds) * seconds

    def hit(self, session: Session, key: str, seconds: int) -> tuple[int, int]:
        """Count one hit in `key`'s current window: (hits so far, window start)."""
        start = self.window(seconds)
        dialect = sqlite if self.db.is_sqlite else postgresql
        statement = dialect.insert(RateWindow).values(key=key, window_start=start, hits=1)
        statement = statement.on_conflict_do_update(
            index_elements=[RateWindow.key, RateWindow.window_start],
            set_={"hits": RateWindow.hits + 1},
        ).returning(RateWindow.hits)
        hits = int(session.execute(statement).scalar_one())
        self._sweep(session)
        return hits, start

    def _sweep(self, session: Session) -> None:
        now = time.time()
        minute = int(now // 60)
        if minute == self._swept:
            return
        self._swept = minute
        session.execute(delete(RateWindow).where(RateWindow.window_start < now - KEEP_SECONDS))
        session.execute(
            delete(RateWindow).where(
                RateWindow.key.like("minute:%"), RateWindow.window_start < now - 120
            )
        )
