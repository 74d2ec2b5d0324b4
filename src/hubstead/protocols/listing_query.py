"""The query string of a listing (`GET /api/{type}s`), turned into a `services.discovery.ListQuery`
and the shape of its items, with the Hub's 400 messages for what it does not accept.

Filters arrive under many names (`filter`, `library`, `language`, `license`, `dataset`, `other`,
`pipeline_tag`): all are tags to the discovery service, which requires every one of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import QueryParams

from hubstead.domain.errors import BadRequest
from hubstead.domain.repo_ids import RepoType
from hubstead.protocols import wire
from hubstead.services.discovery import (
    MAX_PAGE,
    SORT_ALIASES,
    SORTS,
    ListQuery,
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
        num_parameters=parse_parameter_range(query["num_parameters"])
        if query.get("num_parameters")
        else None,
        inference_served=bool(
            query.get("inference") == "warm"
            or [p for p in query.getlist("inference_provider") if p]
        ),
        sort=sort,
        descending=direction == "-1" if sort in (None, "id") else direction != "1",
        limit=int(limit) if limit.isdigit() else MAX_PAGE,
        cursor=query.get("cursor") or None,
    )


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
