"""The query string of a listing (`GET /api/{type}s`), turned into a `services.discovery.ListQuery`
and the shape of its items, with the Hub's 400 messages for what it does not accept.

Filters arrive under many names (`filter`, `library`, `language`, `license`, `dataset`, `other`,
`pipeline_tag`): all are tags to the discovery service, which requires every one of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from starlette.datastructures import QueryParams

from hubstead.domain.errors import BadRequest
from hubstead.domain.repo_ids import RepoType
from hubstead.protocols import wire
from hubstead.protocols.schemas import MAX_BIGINT, check_query_text, lenient_int
from hubstead.services.discovery import (
    MAX_PAGE,
    SORT_ALIASES,
    SORTS,
    ListQuery,
    decode_cursor,
    parse_parameter_range,
)

# Query parameters that name tags, and the prefix their values take as tags.
TAG_PARAMS = (
    ("library", ""),
    ("language", ""),
    ("license", "license:"),
    ("dataset", "dataset:"),
    ("other", ""),
)
TRUE = ("1", "true", "yes")


@dataclass(frozen=True)
class ItemShape:
    """Which fields each listed item carries."""

    expand: list[str]
    full: bool
    with_card_data: bool
    with_config: bool
    extra: tuple[str, ...]  # fields kept beyond the Hub's defaults

    @property
    def with_siblings(self) -> bool:
        return self.full or "siblings" in self.expand


def flag(query: QueryParams, name: str) -> bool:
    return query.get(name, "").lower() in TRUE


def expand_fields(query: QueryParams, repo_type: RepoType) -> list[str]:
    """`expand` / `expand[]` values, each one a property the Hub lists for the repository type."""
    values = query.getlist("expand") + query.getlist("expand[]")
    allowed = wire.EXPAND_PROPERTIES[repo_type]
    for value in values:
        if value not in allowed:
            raise BadRequest(f'"expand" must be one of [{", ".join(allowed)}]')
    return values


def list_query(query: QueryParams, repo_type: RepoType) -> ListQuery:
    """The filters, sort and page of a listing."""
    check_query_text(query)
    sort = query.get("sort") or None
    direction = query.get(
        "direction"
    )  # not sent by current clients; "-1" (descending) by older ones
    limit = query.get("limit", "")
    return ListQuery(
        repo_type=repo_type,
        tags=_tags(query, repo_type),
        pipeline_tag=query.get("pipeline_tag") if repo_type is RepoType.MODEL else None,
        author=query.get("author") or None,
        search=" ".join(query.getlist("search")).strip() or None,
        gated=None if query.get("gated") is None else query.get("gated", "").lower() == "true",
        apps=[
            app.strip()
            for value in query.getlist("apps")
            for app in value.split(",")
            if app.strip()
        ],
        num_parameters=_parameter_range(query.get("num_parameters")),
        inference_served=bool(
            query.get("inference") == "warm"
            or [p for p in query.getlist("inference_provider") if p]
        ),
        sort=sort,
        descending=direction == "-1" if sort in (None, "id") else direction != "1",
        limit=lenient_int(limit, MAX_PAGE),
        cursor=_cursor(query.get("cursor") or None, sort),
    )


def _parameter_range(value: str | None) -> tuple[int | None, int | None] | None:
    """`num_parameters`, each bound within what the database stores (`min:99999999999999T`
    would overflow its BIGINT column)."""
    if not value:
        return None
    try:
        bounds = parse_parameter_range(value)
    except (OverflowError, ValueError):  # a number of hundreds of digits is an infinite float
        bounds = (MAX_BIGINT + 1, None)
    if any(bound is not None and bound > MAX_BIGINT for bound in bounds):
        raise BadRequest(f'"num_parameters" bounds must be at most {MAX_BIGINT}')
    return bounds


# What each sort's cursor key is: the type of the column it is compared with in SQL.
_NUMBER_SORTS = {"downloads": (int,), "likes": (int,), "trendingScore": (int, float)}


def _cursor(cursor: str | None, sort: str | None) -> str | None:
    """The cursor, if its (sort value, id) pair fits the columns it is compared with: a cursor
    is opaque to clients, so one that does not came from elsewhere and is refused like a
    malformed one (a key of the wrong type or out of range would fail in SQL)."""
    if cursor is None:
        return None
    key, last_id = decode_cursor(cursor)
    wanted = _NUMBER_SORTS.get(SORT_ALIASES.get(sort or "", sort) or "id", (str,))
    if not _fits(last_id, (int,)) or not _fits(key, wanted):
        raise BadRequest("Invalid cursor")
    return cursor


def _fits(value: object, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool) or not isinstance(value, types):
        return False
    if isinstance(value, int):
        return -MAX_BIGINT <= value <= MAX_BIGINT
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str) and len(value) <= 1000 and _plain_text(value)


def _plain_text(value: str) -> bool:
    """Text SQL can take as a parameter: UTF-8 (no lone surrogate) and no NUL (PostgreSQL)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


def _tags(query: QueryParams, repo_type: RepoType) -> list[str]:
    tags = [t for t in query.getlist("filter") if t]
    for param, prefix in TAG_PARAMS:
        tags += [
            prefix + v if prefix and not v.startswith(prefix) else v
            for v in query.getlist(param)
            if v
        ]
    if repo_type is not RepoType.MODEL and query.get("pipeline_tag"):
        tags.append(f"task_categories:{query['pipeline_tag']}")
    return tags


def item_shape(query: QueryParams, repo_type: RepoType) -> ItemShape:
    """`full`, `cardData`, `config` and `expand`: the last excludes the others, as on the Hub."""
    expand = expand_fields(query, repo_type)
    full, card_data, config = flag(query, "full"), flag(query, "cardData"), flag(query, "config")
    if expand and (full or card_data or config):
        raise BadRequest("'expand' cannot be combined with 'full', 'cardData' or 'config'")
    extra = tuple(key for key, wanted in (("cardData", card_data), ("config", config)) if wanted)
    # the field a listing is sorted by is always in its items, so that the order can be seen
    sort = query.get("sort") or None
    extra += tuple(
        key for key in (SORT_ALIASES.get(sort or "", sort),) if key in SORTS and key != "id"
    )
    return ItemShape(
        expand,
        full,
        full or card_data or "cardData" in expand,
        full or config or "config" in expand,
        extra,
    )
