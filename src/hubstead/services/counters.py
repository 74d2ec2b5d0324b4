"""Downloads, likes and the trending score.

Downloads are counted on the server, as on the Hub: a GET or HEAD of one of a repository's
"query files" (config.json and friends, per library) counts once. `huggingface_hub` sends a HEAD
then a GET for every file and marks both with `X-HF-Download-Counter`; counting the HEAD of such
calls and the GET of the others (curl, git-lfs, browsers) counts each download exactly once.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from hubstead.domain.errors import BadRequest, Unauthorized
from hubstead.services.principal import Principal
from hubstead.services.repos import RepoHandle
from hubstead.storage.database import Database
from hubstead.storage.models import Account, RepoDownloadDay, RepoLike, Repository

DEFAULT_QUERY_FILES = {"config.json", "config.yaml", "hyperparams.yaml", "params.json", "meta.yaml"}
_DIFFUSERS_ROOT_WEIGHTS = re.compile(r"^[^/]*\.(safetensors|ckpt|bin)\Z")
TRENDING_DAYS = 7
LIKE_WEIGHT = 10.0


def is_query_file(path: str, library: str | None) -> bool:
    """Whether fetching `path` counts as a download of the repository (per-library rules)."""
    if path.endswith(".gguf"):
        return True
    if library == "diffusers":
        return path in ("model_index.json", "modular_model_index.json") or bool(
            _DIFFUSERS_ROOT_WEIGHTS.match(path)
        )
    if library == "nemo":
        return path.endswith(".nemo") or path == "model_config.yaml" or path.endswith(".json")
    return path in DEFAULT_QUERY_FILES


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


class CounterService:
    def __init__(self, db: Database):
        self.db = db

    # -- downloads ----------------------------------------------------------------------------

    def count_download(self, repo_row_id: int) -> None:
        day = today()
        with self.db.session() as session:
            updated = session.execute(
                update(RepoDownloadDay)
                .where(RepoDownloadDay.repo_id == repo_row_id, RepoDownloadDay.day == day)
                .values(count=RepoDownloadDay.count + 1)
            ).rowcount
            if not updated:
                try:
                    with session.begin_nested():
                        session.execute(
                            insert(RepoDownloadDay).values(repo_id=repo_row_id, day=day, count=1)
                        )
                except IntegrityError:  # another request created today's row meanwhile
                    session.execute(
                        update(RepoDownloadDay)
                        .where(RepoDownloadDay.repo_id == repo_row_id, RepoDownloadDay.day == day)
                        .values(count=RepoDownloadDay.count + 1)
                    )
            session.execute(
                update(Repository)
                .where(Repository.id == repo_row_id)
                .values(
                    downloads=Repository.downloads + 1,
                    downloads_all_time=Repository.downloads_all_time + 1,
                )
            )

    def refresh_windows(self) -> int:
        """Recompute the 30-day counters and trending scores from the daily rows (daily job)."""
        now = today()
        month, week = now - dt.timedelta(days=29), now - dt.timedelta(days=TRENDING_DAYS - 1)
        with self.db.session() as session:
            recent = dict(
                session.execute(
                    select(RepoDownloadDay.repo_id, func.sum(RepoDownloadDay.count))
                    .where(RepoDownloadDay.day >= month)
                    .group_by(RepoDownloadDay.repo_id)
                ).all()
            )
            weekly = dict(
                session.execute(
                    select(RepoDownloadDay.repo_id, func.sum(RepoDownloadDay.count))
                    .where(RepoDownloadDay.day >= week)
                    .group_by(RepoDownloadDay.repo_id)
                ).all()
            )
            cutoff = dt.datetime.combine(week, dt.time(), dt.UTC)
            liked = dict(
                session.execute(
                    select(RepoLike.repo_id, func.count())
                    .where(RepoLike.created_at >= cutoff)
                    .group_by(RepoLike.repo_id)
                ).all()
            )
            ids = session.scalars(select(Repository.id)).all()
            for repo_id in ids:
                session.execute(
                    update(Repository)
                    .where(Repository.id == repo_id)
                    .values(
                        downloads=int(recent.get(repo_id, 0)),
                        trending_score=float(weekly.get(repo_id, 0))
                        + LIKE_WEIGHT * liked.get(repo_id, 0),
                    )
                )
            session.execute(
                delete(RepoDownloadDay).where(RepoDownloadDay.day < now - dt.timedelta(days=400))
            )
        return len(ids)

    # -- likes --------------------------------------------------------------------------------

    def like(self, principal: Principal | None, handle: RepoHandle) -> None:
        user = _user(principal)
        try:
            with self.db.session() as session:
                if session.get(RepoLike, (user.user_id, handle.row.id)) is not None:
                    return
                session.add(RepoLike(user_id=user.user_id, repo_id=handle.row.id))
                session.flush()
                session.execute(
                    update(Repository)
                    .where(Repository.id == handle.row.id)
                    .values(likes=Repository.likes + 1)
                )
        except IntegrityError:
            return  # liked twice at the same moment: one like

    def unlike(self, principal: Principal | None, handle: RepoHandle) -> None:
        user = _user(principal)
        with self.db.session() as session:
            removed = session.execute(
                delete(RepoLike).where(
                    RepoLike.user_id == user.user_id, RepoLike.repo_id == handle.row.id
                )
            ).rowcount
            if removed:
                session.execute(
                    update(Repository)
                    .where(Repository.id == handle.row.id)
                    .values(likes=Repository.likes - 1)
                )

    def likes(self, principal: Principal | None, handle: RepoHandle) -> bool:
        """Whether the caller likes the repository (False when signed out)."""
        if principal is None:
            return False
        with self.db.session() as session:
            return session.get(RepoLike, (principal.user_id, handle.row.id)) is not None

    def likers(self, handle: RepoHandle) -> list[Account]:
        """The accounts that like the repository, the latest first."""
        with self.db.session() as session:
            return list(
                session.scalars(
                    select(Account)
                    .join(RepoLike, RepoLike.user_id == Account.id)
                    .where(RepoLike.repo_id == handle.row.id)
                    .order_by(RepoLike.created_at.desc())
                )
            )

    def liked_by(self, user_name: str) -> list[tuple]:
        """(like time, repository row) of a user's likes, newest first."""
        with self.db.session() as session:
            return list(
                session.execute(
                    select(RepoLike.created_at, Repository)
                    .join(Repository, Repository.id == RepoLike.repo_id)
                    .join(Account, Account.id == RepoLike.user_id)
                    .where(Account.name == user_name)
                    .order_by(RepoLike.created_at.desc())
                )
            )


def _user(principal: Principal | None) -> Principal:
    if principal is None:
        raise Unauthorized("You must be signed in to like a repository")
    if not principal.can_write:
        raise BadRequest("A write token is needed to like a repository")
    return principal
