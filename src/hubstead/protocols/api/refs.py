"""Branches and tags: listing refs, creating and deleting branches and tags."""

from __future__ import annotations

from starlette.responses import Response

from hubstead.domain.errors import BadRequest
from hubstead.protocols.http import Ctx, json_response
from hubstead.protocols.routing import Router
from hubstead.services.access import Need

router = Router()


@router.repo_route("GET", "/refs", need=Need.READ)
def list_refs(ctx: Ctx) -> Response:
    return json_response(ctx.hub.refs.list(ctx.repo, include_prs=ctx.flag("include_prs")))


@router.repo_route("POST DELETE", "/branch/{branch:path}", need=Need.WRITE)
def branch(ctx: Ctx, branch: str) -> Response:
    if ctx.request.method == "DELETE":
        ctx.hub.refs.delete_branch(ctx.repo, branch)
    else:
        body = ctx.json_object()
        ctx.hub.refs.create_branch(ctx.repo, branch, body.get("startingPoint"))
    return json_response({})


@router.repo_route("POST DELETE", "/tag/{tag:path}", need=Need.WRITE)
def tag(ctx: Ctx, tag: str) -> Response:
    if ctx.request.method == "DELETE":
        ctx.hub.refs.delete_tag(ctx.repo, tag)
        return json_response({})
    body = ctx.json_object()
    new_tag = body.get("tag")
    if not isinstance(new_tag, str):
        raise BadRequest("'tag' is required")
    principal = ctx.principal
    assert principal is not None  # Need.WRITE
    account = ctx.hub.accounts.account(principal.name)
    ctx.hub.refs.create_tag(
        ctx.repo, principal, tag, new_tag, body.get("message"), account.email if account else None
    )
    return json_response({})
