"""Discussions and pull requests (`/api/{type}s/{id}/discussions…`), as huggingface_hub calls them.

Every route reads the repository (`Need.READ`, resolved by the router), so a private repository
answers exactly like a missing one; the discussion service decides who may change what.
Included in the application before `api.fallback`, which catches unknown repository sub-routes.
"""

from __future__ import annotations

from starlette.responses import Response

from hubstead.domain.errors import BadRequest
from hubstead.protocols import wire
from hubstead.protocols.http import Ctx, json_response
from hubstead.protocols.routing import Router
from hubstead.services.access import Need
from hubstead.services.discussions import EventView, ListFilter

router = Router()
DISCUSSIONS = "/discussions"
DISCUSSION = "/discussions/{num:num}"
COMMENT = "/discussions/{num:num}/comment/{event_id}"


def _event(key: str, view: EventView, status: int = 200) -> Response:
    return json_response({key: wire.discussion_event(view.event, view.people)}, status)


def _body(ctx: Ctx) -> dict:
    """The JSON object sent, {} for none (the client posts no body to merge or hide)."""
    return ctx.json_object() if ctx.has_body() else {}


def _page(ctx: Ctx) -> int:
    raw = ctx.query.get("p", "0") or "0"
    if not raw.lstrip("-").isdigit():
        raise BadRequest("'p' must be a page number")
    return int(raw)


@router.repo_route("GET", DISCUSSIONS, need=Need.READ)
def list_discussions(ctx: Ctx) -> Response:
    """A page of discussions, newest first, filtered by type, status, author and title search."""
    handle = ctx.repo
    query = ListFilter(
        kind=ctx.query.get("type") or "all",
        status=ctx.query.get("status") or "all",
        author=ctx.query.get("author") or None,
        search=(ctx.query.get("search") or "").strip() or None,
        page=_page(ctx),
    )
    return json_response(wire.discussion_page(ctx.hub.discussions.list(handle, query), handle))


@router.repo_route("POST", DISCUSSIONS, need=Need.READ)
def create_discussion(ctx: Ctx) -> Response:
    handle = ctx.repo
    body = _body(ctx)
    pull_request = bool(body.get("pullRequest"))
    num = ctx.hub.discussions.create(
        handle, ctx.principal, body.get("title"), body.get("description"), pull_request
    )
    data: dict = {
        "url": ctx.url_for("repo.discussion", repo=handle, num=num),
        "num": num,
        "pullRequest": pull_request,
    }
    if pull_request:
        data["references"] = {"base": "refs/heads/main"}
    return json_response(data)


@router.repo_route("GET", DISCUSSION, need=Need.READ)
def discussion_details(ctx: Ctx, num: str) -> Response:
    handle = ctx.repo
    # discussions stay public on a gated repository, but a diff shows file contents: it is left
    # out for callers who may not download them
    with_diff = ctx.flag("diff") and ctx.hub.gating.may_download(handle, ctx.principal)
    timeline = ctx.hub.discussions.details(handle, int(num), with_diff=with_diff)
    return json_response(wire.discussion_details(timeline, handle))


@router.repo_route("POST", DISCUSSION + "/comment", need=Need.READ)
def comment(ctx: Ctx, num: str) -> Response:
    handle = ctx.repo
    view = ctx.hub.discussions.comment(handle, ctx.principal, int(num), _body(ctx).get("comment"))
    return _event("newMessage", view, 201)


@router.repo_route("POST", DISCUSSION + "/title", need=Need.READ)
def rename(ctx: Ctx, num: str) -> Response:
    handle = ctx.repo
    return _event(
        "newTitle",
        ctx.hub.discussions.rename(handle, ctx.principal, int(num), _body(ctx).get("title")),
    )


@router.repo_route("POST", DISCUSSION + "/status", need=Need.READ)
def change_status(ctx: Ctx, num: str) -> Response:
    handle = ctx.repo
    body = _body(ctx)
    view = ctx.hub.discussions.set_status(
        handle, ctx.principal, int(num), body.get("status"), body.get("comment")
    )
    return _event("newStatus", view)


@router.repo_route("POST", DISCUSSION + "/merge", need=Need.READ)
def merge(ctx: Ctx, num: str) -> Response:
    handle = ctx.repo
    body = _body(ctx)
    ctx.hub.discussions.merge(handle, ctx.principal, int(num), body.get("comment"))
    return json_response({})


@router.repo_route("POST", COMMENT + "/edit", need=Need.READ)
def edit_comment(ctx: Ctx, num: str, event_id: str) -> Response:
    handle = ctx.repo
    view = ctx.hub.discussions.edit_comment(
        handle, ctx.principal, int(num), event_id, _body(ctx).get("content")
    )
    return _event("updatedComment", view)


@router.repo_route("POST", COMMENT + "/hide", need=Need.READ)
def hide_comment(ctx: Ctx, num: str, event_id: str) -> Response:
    handle = ctx.repo
    return _event(
        "updatedComment",
        ctx.hub.discussions.hide_comment(handle, ctx.principal, int(num), event_id),
    )
