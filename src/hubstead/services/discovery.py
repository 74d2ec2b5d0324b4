"""Finding repositories: filtered and sorted listings, facet counts and full-text search.

Listings read only the database: the tags of each repository's default branch are rows of
`repo_tags` (indexed by tag), the counters are columns of `repositories` (indexed per sort),
and pages are cut with a keyset cursor on (sort value, id), so a deep page costs the same as
the first and an insert between two requests never shifts a page.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import time
from dataclasses import dataclass, field

from sqlalchemy import and_, exists, func, literal_column, or_, select, text

from hubstead.domain.cards.vocabulary import LICENSE_IDS, MODEL_LIBRARIES, is_language_code
from hubstead.domain.errors import BadRequest
from hubstead.domain.repo_ids import RepoType
from hubstead.domain.tags.pipelines import PIPELINE_SET
from hubstead.services.accounts import Principal
from hubstead.storage.database import Database
from hubstead.storage.models import RepoCard, Repository, RepoSearchDocument, RepoTag

R = Repository.__table__
T = RepoTag.__table__
C = RepoCard.__table__
SORTS = {
    "downloads": R.c.downloads,
    "likes": R.c.likes,
    "lastModified": R.c.last_modified,
    "createdAt": R.c.created_at,
    "trendingScore": R.c.trending_score,
    "id": None,  # namespace/name order
}
SORT_ALIASES = {"last_modified": "lastModified", "created_at": "createdAt", "trending_score": "trendingScore",
                "trending": "trendingScore", "modified": "lastModified"}
FORMAT_TAGS = ("pytorch", "tf", "jax", "safetensors", "onnx", "gguf", "coreml", "tensorboard", "tflite", "keras", "mlx")
MAX_PAGE = 1000
FACET_TTL = float(os.environ.get("HUBSTEAD_FACET_CACHE_SECONDS", "60"))


@dataclass
class ListQuery:
    """What a listing asks for, parsed from the Hub's query parameters."""

    repo_type: RepoType
    tags: list[str] = field(default_factory=list)  # every one must be present (AND)
    pipeline_tag: str | None = None
    author: str | None = None
    search: str | None = None
    gated: bool | None = None
    sort: str | None = None
    descending: bool = True
    limit: int = MAX_PAGE
    cursor: str | None = None


def visible(principal: Principal | None):
    """The condition for repositories this caller may see in listings."""
    if principal is not None and principal.is_admin:
        return literal_column("1") == 1
    public = R.c.private.is_(False)
    if principal is None:
        return public
    return or_(public, R.c.namespace.in_([principal.name, *principal.org_roles]))


def encode_cursor(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        raise BadRequest("Invalid cursor") from None
    if not isinstance(values, list) or len(values) != 2:
        raise BadRequest("Invalid cursor")
    return values


class DiscoveryService:
    def __init__(self, db: Database):
        self.db = db
        self._facets: dict[tuple, tuple[float, dict]] = {}

    # -- listings -----------------------------------------------------------------------------

    def list(self, principal: Principal | None, query: ListQuery) -> tuple[list, str | None]:
        """One page of repositories (rows of `repositories`) and the cursor of the next page."""
        sort = SORT_ALIASES.get(query.sort or "", query.sort) or "id"
        if sort not in SORTS:
            raise BadRequest(f'"sort" must be one of [{", ".join(SORTS)}]')
        statement = select(R).where(R.c.type == query.repo_type.value, visible(principal))
        for tag in dict.fromkeys(query.tags):
            statement = statement.where(exists().where(T.c.tag == tag, T.c.repo_id == R.c.id))
        if query.pipeline_tag:
            statement = statement.where(exists().where(C.c.repo_id == R.c.id, C.c.pipeline_tag == query.pipeline_tag))
        if query.author:
            statement = statement.where(R.c.namespace == query.author)
        if query.search:
            needle = query.search.lower()
            statement = statement.where(func.lower(R.c.namespace + "/" + R.c.name).contains(needle, autoescape=True))
        if query.gated is not None:
            statement = statement.where(R.c.gated.is_not(None) if query.gated else R.c.gated.is_(None))
        statement, order = self._order(statement, sort, query)
        limit = max(1, min(query.limit, MAX_PAGE))
        rows = self._run(statement.order_by(*order).limit(limit + 1))
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            key = f"{last.namespace}/{last.name}" if sort == "id" else getattr(last, SORTS[sort].name)
            next_cursor = encode_cursor([key, last.id])
        return rows, next_cursor

    def _order(self, statement, sort: str, query: ListQuery):
        """Order by the sort key then the id, and start after the cursor's (key, id)."""
        column = (R.c.namespace + "/" + R.c.name) if sort == "id" else SORTS[sort]
        descending = query.descending
        if query.cursor:
            key, last_id = decode_cursor(query.cursor)
            if sort in ("lastModified", "createdAt"):
                key = self._datetime(key)
            if descending:
                statement = statement.where(or_(column < key, and_(column == key, R.c.id < last_id)))
            else:
                statement = statement.where(or_(column > key, and_(column == key, R.c.id > last_id)))
        order = [column.desc(), R.c.id.desc()] if descending else [column.asc(), R.c.id.asc()]
        return statement, order

    def _datetime(self, value: object) -> dt.datetime:
        """A cursor's timestamp, in the form the database compares (naive UTC on SQLite)."""
        try:
            moment = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise BadRequest("Invalid cursor") from None
        if self.db.is_sqlite:
            return moment.replace(tzinfo=None) if moment.tzinfo is None else moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.timezone.utc)

    def _run(self, statement) -> list:
        with self.db.engine.connect() as connection:
            return list(connection.execute(statement))

    # -- facets -------------------------------------------------------------------------------

    def facets(self, principal: Principal | None, repo_type: RepoType, per_facet: int = 200) -> dict[str, list[dict]]:
        """Tags grouped by kind (task, library, language, license, dataset, other), with counts.

        Counting every tag of every visible repository is a scan (about 0.7 s at 100,000
        repositories), so answers are kept per (type, caller's visibility) for FACET_TTL seconds:
        the sidebar may lag that much behind new commits.
        """
        scope = (repo_type.value, None if principal is None else ("*" if principal.is_admin else (principal.name, *sorted(principal.org_roles))))
        cached = self._facets.get(scope)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        result = self._count_facets(principal, repo_type, per_facet)
        if len(self._facets) > 1000:
            self._facets.clear()
        self._facets[scope] = (now + FACET_TTL, result)
        return result

    def _count_facets(self, principal: Principal | None, repo_type: RepoType, per_facet: int) -> dict[str, list[dict]]:
        statement = (
            select(T.c.tag, func.count().label("count"))
            .join(R, R.c.id == T.c.repo_id)
            .where(R.c.type == repo_type.value, visible(principal))
            .group_by(T.c.tag)
            .order_by(func.count().desc(), T.c.tag)
        )
        groups: dict[str, list[dict]] = {k: [] for k in ("pipeline_tag", "library", "language", "license", "dataset", "other")}
        for tag, count in self._run(statement):
            kind, label = classify_tag(tag)
            if kind == "region" or len(groups[kind]) >= per_facet:
                continue
            groups[kind].append({"id": tag, "label": label, "type": kind, "count": count})
        return groups

    # -- full-text search ---------------------------------------------------------------------

    def full_text(self, principal: Principal | None, query: str, repo_type: RepoType | None, limit: int = 20) -> list[tuple]:
        """Repositories whose id or card text matches `query`, best first: (row, score)."""
        words = [w for w in "".join(c if c.isalnum() else " " for c in query.lower()).split() if w]
        if not words:
            return []
        limit = max(1, min(limit, 100))
        conditions = [visible(principal)]
        if repo_type is not None:
            conditions.append(R.c.type == repo_type.value)
        if self.db.is_sqlite:
            match = " ".join(f'"{w}"' for w in words)  # whole words: prefix queries cost 10x
            statement = text(
                "SELECT repositories.*, bm25(search_fts, 10.0, 1.0) AS score FROM search_fts "
                "JOIN repositories ON repositories.id = search_fts.rowid "
                "WHERE search_fts MATCH :match ORDER BY score LIMIT :scan"
            ).bindparams(match=match, scan=limit * 20)
            with self.db.engine.connect() as connection:
                candidates = list(connection.execute(statement))
            allowed = {row.id for row in self._run(select(R.c.id).where(R.c.id.in_([c.id for c in candidates]), *conditions))}
            return [(row, -row.score) for row in candidates if row.id in allowed][:limit]
        # exactly the expression of the GIN index created by migration 0004, so the index is used
        document = func.to_tsvector(literal_column("'simple'"), literal_column("repo_search_documents.title || ' ' || repo_search_documents.body"))
        tsquery = func.to_tsquery(literal_column("'simple'"), " & ".join(words))
        rank = func.ts_rank(document, tsquery).label("score")
        statement = (
            select(R, rank)
            .join(RepoSearchDocument.__table__, RepoSearchDocument.repo_id == R.c.id)
            .where(document.op("@@")(tsquery), *conditions)
            .order_by(rank.desc(), R.c.id)
            .limit(limit)
        )
        return [(row, row.score) for row in self._run(statement)]


def classify_tag(tag: str) -> tuple[str, str]:
    """Which facet a tag belongs to, and how to label it."""
    if tag in PIPELINE_SET:
        return "pipeline_tag", tag.replace("-", " ").title()
    if tag.startswith("license:"):
        return "license", tag.split(":", 1)[1]
    if tag.startswith("dataset:"):
        return "dataset", tag.split(":", 1)[1]
    if tag.startswith("region:"):
        return "region", tag
    if tag in MODEL_LIBRARIES or tag in FORMAT_TAGS:
        return "library", tag
    if ":" not in tag and is_language_code(tag) and tag not in LICENSE_IDS:
        return "language", tag
    return "other", tag
