"""Branches and tags: listing refs, creating and deleting branches and tags."""

from __future__ import annotations

from starlette.responses import Response

from hubstead.domain.revisions import check_new_ref_name, check_revision
from hubstead.protocols.http import Ctx, json_response
from hubstead.protocols.routing import Router
from hubstead.protocols.schemas import BranchCreate, TagCreate, parse_body
from hubstead.services.access import Need

router = Router()


@router.repo_route("GET", "/refs", need=Need.READ)
def list_refs(ctx: Ctx) -> Response:
    return json_response(ctx.hub.refs.list(ctx.repo, include_prs=ctx.flag("include_prs")))


@router.repo_route("POST DELETE", "/branch/{branch:path}", need=Need.WRITE)
def branch(ctx: Ctx, branch: str) -> Response:
    check_new_ref_name(branch, "branch name")
    if ctx.request.method == "DELETE":
        ctx.hub.refs.delete_branch(ctx.repo, branch)
    else:
        body = parse_body(ctx, BranchCreate)
        ctx.hub.refs.create_branch(ctx.repo, branch, body.startingPoint)
    return json_response({})


@router.repo_route("POST DELETE", "/tag/{tag:path}", need=Need.WRITE)
def tag(ctx: Ctx, tag: str) -> Response:
    """`POST /tag/{revision}` tags the revision with the body's `tag`; `DELETE /tag/{tag}`."""
    if ctx.request.method == "DELETE":
        ctx.hub.refs.delete_tag(ctx.repo, check_new_ref_name(tag, "tag name"))
        return json_response({})
    body = parse_body(ctx, TagCreate)
    check_revision(tag)
    check_new_ref_name(body.tag, "tag name")
    principal = ctx.principal
    assert principal is not None  # Need.WRITE
    account = ctx.hub.accounts.account(principal.name)
    ctx.hub.refs.create_tag(
        ctx.repo, principal, tag, body.tag, body.message, account.email if account else None
    )
    return json_response({})
