"""Finding repositories: listings, facet counts and full-text search."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from hubstead.domain.repo_ids import RepoType
from hubstead.protocols import wire
from hubstead.protocols.http import Ctx, json_response
from hubstead.protocols.listing_query import ItemShape, item_shape, list_query
from hubstead.protocols.routing import Router
from hubstead.protocols.schemas import lenient_int
from hubstead.services.repos import RepoView

router = Router()


@router.route("GET", r"/api/{rtype:types}")
def list_repos(ctx: Ctx, rtype: str) -> Response:
    """The Hub's listing: tag filters (AND), author, id search, gated, sort, cursor pages."""
    repo_type = RepoType.from_plural(rtype)
    shape = item_shape(ctx.query, repo_type)
    rows, cursor = ctx.hub.discovery.list(ctx.principal, list_query(ctx.query, repo_type))
    headers = {"Link": ctx.next_link(cursor=cursor)} if cursor else {}
    cards = ctx.hub.cards.stored_many([row.id for row in rows])
    items = [_item(ctx, row, cards.get(row.id), repo_type, shape) for row in rows]
    return json_response(items, headers=headers)


def _item(ctx: Ctx, row: Any, card: object, repo_type: RepoType, shape: ItemShape) -> dict:
    """One listed repository (`row`: a `repositories` row of the discovery query)."""
    repo = RepoView.of(row)
    item = wire.repo_summary(repo)
    item["sha"] = repo.head_sha
    item.update(
        wire.card_fields(
            repo.type.value,
            card,
            with_card_data=shape.with_card_data,
            with_config=shape.with_config,
        )
    )
    if repo_type is RepoType.MODEL:
        mapping = ctx.hub.inference.provider_mapping(item["id"], card)
        item.update(wire.inference_fields(mapping, listing=True))
    if shape.with_siblings:
        item["siblings"] = [{"rfilename": path} for path in ctx.hub.repos.head_files(row)]
    return wire.listing_item(item, repo_type, shape.expand, shape.full, shape.extra)


@router.route("GET", r"/api/(?P<rtype>models|datasets)-tags-by-type")
def tags_by_type(ctx: Ctx, rtype: str) -> Response:
    """Facet counts for the filter sidebar: tags by kind, most used first."""
    return json_response(ctx.hub.discovery.facets(ctx.principal, RepoType.from_plural(rtype)))


@router.route("GET", r"/api/search/full-text")
def full_text_search(ctx: Ctx) -> Response:
    """Full-text search over ids and card text (SQLite FTS5 or PostgreSQL), best match first."""
    q = ctx.query
    repo_type = RepoType.parse(q.get("type")) if q.get("type") else None
    limit = q.get("limit", "20")
    hits = ctx.hub.discovery.full_text(
        ctx.principal, q.get("q", ""), repo_type, lenient_int(limit, 20)
    )
    return json_response(
        {
            "hits": [
                {
                    "repoId": f"{row.namespace}/{row.name}",
                    "repoType": row.type,
                    "score": round(float(score), 6),
                }
                for row, score in hits
            ],
            "numHits": len(hits),
        }
    )
