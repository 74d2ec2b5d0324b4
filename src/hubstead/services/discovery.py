"""Finding repositories: filtered and sorted listings, facet counts and full-text search.

Listings read only the database: the tags of each repository's default branch are rows of
`repo_tags` (indexed by tag), the counters are columns of `repositories` (indexed per sort),
and pages are cut with a keyset cursor on (sort value, id), so a deep page costs the same as
the first and an insert between two requests never shifts a page.

A tag filter is answered one of two ways, chosen from the maintained per-tag counts: walk the
sort index and keep the rows carrying every tag (cheap when matches are common), or start from
the rarest tag's rows and sort those (cheap when they are few). Left to themselves, the query
planners pick the first even for two rare tags and read most of the table.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import math
import re
import time
from collections import Counter, OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import (
    String,
    and_,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.engine import Connection

from hubstead.domain.cards.vocabulary import LICENSE_IDS, MODEL_LIBRARIES, is_language_code
from hubstead.domain.errors import BadRequest
from hubstead.domain.inference.serving import ENGINE_PIPELINES, LOCAL_PIPELINES, ServingRules
from hubstead.domain.repo_ids import RepoType
from hubstead.domain.tags.pipelines import PIPELINE_SET
from hubstead.services.listing_index import ListingIndex
from hubstead.services.principal import Principal
from hubstead.storage.database import Database
from hubstead.storage.models import (
    RepoApp,
    RepoCard,
    RepoCount,
    RepoSearchDocument,
    Repository,
    RepoTag,
    TagCount,
)

R = Repository.__table__
T = RepoTag.__table__
C = RepoCard.__table__
A = RepoApp.__table__
N = TagCount.__table__
RC = RepoCount.__table__
SORTS = {
    "downloads": R.c.downloads,
    "likes": R.c.likes,
    "lastModified": R.c.last_modified,
    "createdAt": R.c.created_at,
    "trendingScore": R.c.trending_score,
    "id": None,  # namespace/name order
}
SORT_ALIASES = {
    "last_modified": "lastModified",
    "created_at": "createdAt",
    "trending_score": "trendingScore",
    "trending": "trendingScore",
    "modified": "lastModified",
}
FORMAT_TAGS = (
    "pytorch",
    "tf",
    "jax",
    "safetensors",
    "onnx",
    "gguf",
    "coreml",
    "tensorboard",
    "tflite",
    "keras",
    "mlx",
)
MAX_PAGE = 1000
COUNT_CAP = 10_000  # a filtered list counts its matches up to this many
COUNT_TTL = 30.0  # seconds a process reuses a filtered count (other processes' changes show after)
COUNT_CACHE_SIZE = 512
# For this transaction only: listings read a hot working set through indexes, so a random page
# costs about as much as a sequential one (PostgreSQL's default of 4 makes it scan 100,000 rows to
# avoid 1,500 index lookups), and a worker's start-up costs more than the few thousand rows save.
PLANNER_SETTINGS = text(
    "SELECT set_config('random_page_cost', '1.1', true), set_config('max_parallel_workers_per_gather', '0', true)"
)
# The `id` sort's key, spelled as the expression index of migration 0015 spells it (the slash
# a literal, not a parameter, so that both planners match the index)
FULL_ID = R.c.namespace + literal_column("'/'", String) + R.c.name
PARAMETER_UNITS = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}


@dataclass
class ListQuery:
    """What a listing asks for, parsed from the Hub's query parameters."""

    repo_type: RepoType
    tags: list[str] = field(default_factory=list)  # every one must be present (AND)
    pipeline_tag: str | None = None
    author: str | None = None
    search: str | None = None
    gated: bool | None = None
    apps: list[str] = field(default_factory=list)  # any one of them (OR)
    num_parameters: tuple[int | None, int | None] | None = None  # inclusive (min, max)
    inference_served: bool = False  # `inference=warm` / `inference_provider=`: served by a provider
    sort: str | None = None
    descending: bool = True
    limit: int = MAX_PAGE
    cursor: str | None = None


def _like(pattern: str) -> str:
    """An fnmatch pattern (`*`, `?`) as a LIKE pattern escaped with backslashes."""
    escaped = pattern.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def served(rules: ServingRules):
    """`ServingRules.refusal(...) is None`, as SQL over a repository's card and tags."""
    if not rules.enabled:
        return false()
    lowered = func.lower(R.c.namespace + "/" + R.c.name)
    routed = or_(false(), *(lowered.like(_like(p), escape="\\") for p in rules.engine_patterns))

    def pipeline_in(names) -> object:
        return exists().where(
            C.c.repo_id == R.c.id, C.c.pipeline_tag.in_(sorted(names)), C.c.inference_off.is_(False)
        )

    weights = ["safetensors", "pytorch"] if rules.allow_pickle else ["safetensors"]
    local = and_(
        not_(routed),
        pipeline_in(LOCAL_PIPELINES),
        exists().where(T.c.repo_id == R.c.id, T.c.tag.in_(weights)),
        ~exists().where(C.c.repo_id == R.c.id, C.c.weight_bytes > rules.memory_bytes),
    )
    return or_(and_(routed, pipeline_in(ENGINE_PIPELINES)), local)


def visible(principal: Principal | None):
    """The condition for repositories this caller may see in listings."""
    if principal is not None and principal.is_admin:
        return literal_column("1") == 1
    public = R.c.private.is_(False)
    if principal is None:
        return public
    return or_(public, R.c.namespace.in_([principal.name, *principal.org_roles]))


def parse_parameter_range(value: str) -> tuple[int | None, int | None]:
    """The Hub's `num_parameters` syntax: `min:6B,max:128B`, `min:500M`, `max:1.5B`."""
    bounds: dict[str, int] = {}
    for part in value.split(","):
        match = re.fullmatch(
            r"\s*(min|max)\s*:\s*(\d+(?:\.\d+)?)\s*([KMBT]?)\s*", part, re.IGNORECASE
        )
        if match is None or match.group(1).lower() in bounds:
            raise BadRequest('"num_parameters" must look like "min:6B,max:128B" (units K, M, B, T)')
        number = float(match.group(2)) * PARAMETER_UNITS[match.group(3).upper()]
        bounds[match.group(1).lower()] = int(number)
    return bounds.get("min"), bounds.get("max")


def own_private(principal: Principal, repo_type: RepoType):
    """The private repositories of a type a signed-in caller may read: their own and their
    organizations' (few: counted live, next to the maintained public counts)."""
    return and_(
        R.c.type == repo_type.value,
        R.c.private.is_(True),
        R.c.namespace.in_([principal.name, *principal.org_roles]),
    )


def _viewer(principal: Principal | None) -> tuple:
    """What decides which repositories a caller sees (the key of cached counts)."""
    if principal is None:
        return ()
    if principal.is_admin:
        return ("admin",)
    return (principal.name, *sorted(principal.org_roles))


def _filters(query: ListQuery) -> ListQuery:
    """What a query narrows, its order and page aside (what its match count depends on)."""
    return dataclasses.replace(query, sort=None, descending=True, limit=MAX_PAGE, cursor=None)


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
    def __init__(self, db: Database, index: ListingIndex, serving: ServingRules | None = None):
        self.db = db
        self.index = index
        self.serving = serving or ServingRules(False, False, 0)
        self._counts: OrderedDict[tuple, tuple[int, float, tuple[int, bool]]] = OrderedDict()
        # the connection of the `_connection` block running in this thread (or task), if any
        self._active: ContextVar[Connection | None] = ContextVar(
            f"discovery-{id(self)}", default=None
        )

    # -- listings -----------------------------------------------------------------------------

    def list(self, principal: Principal | None, query: ListQuery) -> tuple[list, str | None]:
        """One page of repositories (rows of `repositories`) and the cursor of the next page."""
        with self._connection():  # the plan's counts and the page: one connection, one transaction
            statement, sort, limit = self.page_statement(principal, query)
            rows = self._run(statement)
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            key = (
                f"{last.namespace}/{last.name}" if sort == "id" else getattr(last, SORTS[sort].name)
            )
            next_cursor = encode_cursor([key, last.id])
        return rows, next_cursor

    def page_statement(self, principal: Principal | None, query: ListQuery) -> tuple:
        """The SELECT of one page (one row more than the page, to know if another follows),
        the sort it orders by and the page size (bench/bench_discovery.py EXPLAINs it too)."""
        sort = SORT_ALIASES.get(query.sort or "", query.sort) or "id"
        if sort not in SORTS:
            raise BadRequest(f'"sort" must be one of [{", ".join(SORTS)}]')
        limit = max(1, min(query.limit, MAX_PAGE))
        statement, rarest = self._matching(principal, query, limit)
        statement, key, order = self._order(statement, sort, query)
        if rarest is not None:
            statement = self._from_candidates(statement, key, query.descending)
        else:
            statement = statement.order_by(*order)
        return statement.limit(limit + 1), sort, limit

    def _matching(self, principal: Principal | None, query: ListQuery, limit: int):
        """The repositories a query matches and this caller may see (unordered), and the tag
        the statement starts from (None: it walks the repositories)."""
        tags = list(dict.fromkeys(query.tags))
        # A model's pipeline tag is always one of its tags (domain.tags), so its tag rows can be
        # where a `pipeline_tag=` listing starts; the card's own column is still checked below.
        planned = list(
            dict.fromkeys([*tags, *([query.pipeline_tag] if query.pipeline_tag else [])])
        )
        rarest = self._rarest_tag(query.repo_type, planned, limit)
        statement = select(R).where(R.c.type == query.repo_type.value, visible(principal))
        for tag in planned:
            if tag != rarest and tag not in tags:
                continue
            if tag == rarest:
                # an alias, so the other tags' EXISTS still correlate to R only
                start = T.alias("rarest")
                statement = statement.join(
                    start, and_(start.c.repo_id == R.c.id, start.c.tag == tag)
                )
            else:
                statement = statement.where(exists().where(T.c.tag == tag, T.c.repo_id == R.c.id))
        if query.apps:
            statement = statement.where(
                exists().where(A.c.repo_id == R.c.id, A.c.app.in_(query.apps))
            )
        if query.num_parameters is not None:
            low, high = query.num_parameters
            statement = statement.where(R.c.num_parameters.is_not(None))
            if low is not None:
                statement = statement.where(R.c.num_parameters >= low)
            if high is not None:
                statement = statement.where(R.c.num_parameters <= high)
        if query.inference_served:
            statement = statement.where(served(self.serving))
        if query.pipeline_tag:
            statement = statement.where(
                exists().where(C.c.repo_id == R.c.id, C.c.pipeline_tag == query.pipeline_tag)
            )
        if query.author:
            statement = statement.where(R.c.namespace == query.author)
        if query.search:
            needle = query.search.lower()
            statement = statement.where(
                func.lower(R.c.namespace + "/" + R.c.name).contains(needle, autoescape=True)
            )
        if query.gated is not None:
            statement = statement.where(
                R.c.gated.is_not(None) if query.gated else R.c.gated.is_(None)
            )
        return statement, rarest

    def count(
        self, principal: Principal | None, repo_type: RepoType, query: ListQuery | None = None
    ) -> tuple[int, bool]:
        """How many repositories of a type this caller may see, and of those how many a query
        matches; (count, exact). Without filters the count is the maintained totals plus the
        caller's own private repositories. A filtered count stops at COUNT_CAP (then it is not
        exact: "10,000+"), so a broad filter never costs a scan of the whole table."""
        # (a filtered count is remembered for COUNT_TTL seconds, or until this process changes
        # a listing: the same filters are asked again and again, each count reads thousands of
        # index entries)
        if query is None or _filters(query) == ListQuery(repo_type=query.repo_type):
            public, private = self.index.totals(repo_type.value)
            if principal is not None and principal.is_admin:
                return public + private, True
            if principal is None:
                return public, True
            own = self._run(
                select(func.count()).select_from(R).where(own_private(principal, repo_type))
            )[0][0]
            return public + int(own), True
        key = (_viewer(principal), repr(_filters(query)))
        now = time.monotonic()
        cached = self._counts.get(key)
        if cached is not None and cached[0] == self.index.generation and cached[1] > now:
            self._counts.move_to_end(key)
            return cached[2]
        statement, _ = self._matching(principal, query, COUNT_CAP)
        capped = statement.with_only_columns(R.c.id).limit(COUNT_CAP + 1).subquery()
        matches = int(self._run(select(func.count()).select_from(capped))[0][0])
        answer = (min(matches, COUNT_CAP), matches <= COUNT_CAP)
        self._counts[key] = (self.index.generation, now + COUNT_TTL, answer)
        while len(self._counts) > COUNT_CACHE_SIZE:
            self._counts.popitem(last=False)
        return answer

    def _rarest_tag(self, repo_type: RepoType, tags: list[str], limit: int) -> str | None:
        """The tag to start from, when starting from its rows beats walking the sort index.

        Walking reads about limit × total / matches rows (matches estimated as if tags were
        independent); starting from a tag reads and sorts all of its rows."""
        if not tags:
            return None
        counts = self.tag_totals(repo_type, tags)
        total = max(self._type_total(repo_type), 1)
        rarest = min(tags, key=lambda t: counts.get(t, 0))
        matches = total * math.prod(min(counts.get(t, 0), total) / total for t in tags)
        walked = total if matches < 1 else min(total, limit * total / matches)
        return rarest if counts.get(rarest, 0) < walked else None

    def _from_candidates(self, statement, key, descending: bool):
        """Collect the matching rows first (a materialized CTE: the planner may not turn it back
        into an index walk), then sort only those."""
        matched = (
            statement.with_only_columns(R.c.id.label("id"), key.label("sort_key"))
            .cte("matched")
            .prefix_with("MATERIALIZED")
        )
        direction = (lambda c: c.desc()) if descending else (lambda c: c.asc())
        return (
            select(R)
            .join(matched, matched.c.id == R.c.id)
            .order_by(direction(matched.c.sort_key), direction(matched.c.id))
        )

    def visible_tag_counts(
        self, principal: Principal | None, repo_type: RepoType, tags: list[str] | None = None
    ) -> Counter[str]:
        """How many repositories this caller may see carry each tag (each of `tags`, or every
        tag carried at all): the maintained public counts (both columns for an admin), plus for
        a signed-in caller the private repositories they may read."""
        admin = principal is not None and principal.is_admin
        column = (N.c.public_count + N.c.private_count) if admin else N.c.public_count
        maintained = select(N.c.tag, column).where(N.c.repo_type == repo_type.value, column > 0)
        if tags is not None:
            maintained = maintained.where(N.c.tag.in_(tags))
        counts: Counter[str] = Counter(dict(self._run(maintained)))
        if principal is not None and not admin:
            own = (
                select(T.c.tag, func.count())
                .join(R, R.c.id == T.c.repo_id)
                .where(own_private(principal, repo_type))
                .group_by(T.c.tag)
            )
            if tags is not None:
                own = own.where(T.c.tag.in_(tags))
            counts.update(dict(self._run(own)))
        return counts

    def tag_totals(self, repo_type: RepoType, tags: list[str]) -> dict[str, int]:
        """How many repositories (public and private) carry each tag, from the maintained counts."""
        statement = select(N.c.tag, N.c.public_count + N.c.private_count).where(
            N.c.repo_type == repo_type.value, N.c.tag.in_(tags)
        )
        return {tag: count for tag, count in self._run(statement)}

    def _order(self, statement, sort: str, query: ListQuery):
        """Order by the sort key then the id, and start after the cursor's (key, id)."""
        column = FULL_ID if sort == "id" else SORTS[sort]
        descending = query.descending
        if query.cursor:
            key, last_id = decode_cursor(query.cursor)
            if sort in ("lastModified", "createdAt"):
                key = self._datetime(key)
            # a row-value comparison, not `key < k OR (key = k AND id < i)`: both backends start
            # the index walk at (k, i) instead of filtering every row before it
            after = tuple_(column, R.c.id)
            bound = tuple_(literal(key, column.type), literal(last_id, R.c.id.type))
            statement = statement.where(after < bound if descending else after > bound)
        order = [column.desc(), R.c.id.desc()] if descending else [column.asc(), R.c.id.asc()]
        return statement, column, order

    def _datetime(self, value: object) -> dt.datetime:
        """A cursor's timestamp, in the form the database compares (naive UTC on SQLite)."""
        try:
            moment = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise BadRequest("Invalid cursor") from None
        if self.db.is_sqlite:
            return (
                moment.replace(tzinfo=None)
                if moment.tzinfo is None
                else moment.astimezone(dt.UTC).replace(tzinfo=None)
            )
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)

    def _type_total(self, repo_type: RepoType) -> int:
        """Repositories of a type, public and private (the maintained `repo_counts` row)."""
        statement = select(RC.c.public_count + RC.c.private_count).where(
            RC.c.repo_type == repo_type.value
        )
        rows = self._run(statement)
        return int(rows[0][0]) if rows else 0

    @contextmanager
    def _connection(self) -> Iterator[None]:
        """Run this thread's discovery queries inside the block on one connection: on
        PostgreSQL a checkout costs a ping, the planner settings and a rollback, each a round
        trip, more than a listing's small queries themselves."""
        if self._active.get() is not None:
            yield
            return
        with self.db.engine.connect() as connection:
            if not self.db.is_sqlite:
                connection.execute(PLANNER_SETTINGS)
            token = self._active.set(connection)
            try:
                yield
            finally:
                self._active.reset(token)

    def _run(self, statement) -> list:
        connection = self._active.get()
        if connection is not None:
            return list(connection.execute(statement))
        with self._connection():
            return self._run(statement)

    # -- facets -------------------------------------------------------------------------------

    def facets(
        self, principal: Principal | None, repo_type: RepoType, per_facet: int = 200
    ) -> dict[str, list[dict]]:
        """Tags grouped by kind (task, library, language, license, dataset, other), with counts.

        Public counts are maintained rows of `tag_counts`; a signed-in caller adds the tags of
        the private repositories they may read (their own and their organizations': few)."""
        counts = self.visible_tag_counts(principal, repo_type)
        groups: dict[str, list[dict]] = {
            k: [] for k in ("pipeline_tag", "library", "language", "license", "dataset", "other")
        }
        for tag, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
            kind, label = classify_tag(tag)
            if kind == "region" or len(groups[kind]) >= per_facet:
                continue
            groups[kind].append({"id": tag, "label": label, "type": kind, "count": count})
        return groups

    def metrics(self, principal: Principal | None) -> list[tuple[str, int]]:
        """Metric types used in the `model-index` results of the model cards this caller may
        see, with how many models use each, most used first. Reads the stored cards of models
        whose card has a model-index (a scan of those cards: cards are few next to files)."""
        statement = (
            select(C.c.card_data)
            .join(R, R.c.id == C.c.repo_id)
            .where(R.c.type == RepoType.MODEL.value, visible(principal))
        )
        counts: Counter[str] = Counter()
        for (card_data,) in self._run(statement):
            counts.update(_model_index_metrics(card_data))
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))

    # -- full-text search ---------------------------------------------------------------------

    def full_text(
        self, principal: Principal | None, query: str, repo_type: RepoType | None, limit: int = 20
    ) -> list[tuple]:
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
            allowed = {
                row.id
                for row in self._run(
                    select(R.c.id).where(R.c.id.in_([c.id for c in candidates]), *conditions)
                )
            }
            return [(row, -row.score) for row in candidates if row.id in allowed][:limit]
        # the stored, weighted vector of migration 0005 (GIN-indexed): id words rank above card words
        document = literal_column("repo_search_documents.search_vector")
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


def _model_index_metrics(card_data: object) -> set[str]:
    """The metric types named in a card's `model-index` block (each counted once per card)."""
    found: set[str] = set()
    entries = card_data.get("model-index") if isinstance(card_data, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        results = entry.get("results") if isinstance(entry, dict) else None
        for result in results if isinstance(results, list) else []:
            metrics = result.get("metrics") if isinstance(result, dict) else None
            for metric in metrics if isinstance(metrics, list) else []:
                kind = metric.get("type") if isinstance(metric, dict) else None
                if isinstance(kind, str) and kind.strip():
                    found.add(kind.strip())
    return found


@lru_cache(maxsize=65536)
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
