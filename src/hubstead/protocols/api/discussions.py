"""Discussions and pull requests (`/api/{type}s/{id}/discussions…`), as huggingface_hub calls them.

Every route reads the repository (`Need.READ`, resolved by the router), so a private repository
answers exactly like a missing one; the discussion service decides who may change what.
Included in the application before `api.fallback`, which catches unknown repository sub-routes.
"""

from __future__ import annotations

import re

from starlette.responses import Response

from hubstead.domain.errors import NotFound
from hubstead.protocols import wire
from hubstead.protocols.http import Ctx, json_response
from hubstead.protocols.routing import Router
from hubstead.protocols.schemas import (
    CommentEdit,
    DiscussionComment,
    DiscussionCreate,
    DiscussionStatus,
    DiscussionTitle,
    Model,
    check_query_text,
    query_int,
    validate,
)
from hubstead.services.access import Need
from hubstead.services.discussions import EventView, ListFilter

router = Router()
DISCUSSIONS = "/discussions"
# any number matches, so that one past what the database holds is a missing discussion
DISCUSSION = "/discussions/{num:int}"
COMMENT = "/discussions/{num:int}/comment/{event_id}"
MAX_NUMBER = 2**31 - 1  # discussion numbers are 32-bit integers in the database
MAX_PAGE = 2**31 // 50  # pages of 50: the offset stays a 32-bit integer
_HEX = re.compile(r"[0-9a-fA-F]+")


def _event(key: str, view: EventView, status: int = 200) -> Response:
    return json_response({key: wire.discussion_event(view.event, view.people)}, status)


def _body(ctx: Ctx, model: type[Model]) -> Model:
    """The JSON object sent, as `model`; {} for none (the client posts no body to hide a
    comment, nor to merge without one)."""
    return validate(model, ctx.json_object() if ctx.has_body() else {})


def _number(num: str) -> int:
    """The discussion number of the URL; one no discussion can have is a missing one."""
    digits = num.lstrip("0") or "0"
    if len(digits) > len(str(MAX_NUMBER)) or int(digits) > MAX_NUMBER:
        raise NotFound(f"Discussion #{num[:30]} not found")
    return int(digits)


def _event_id(event_id: str) -> str:
    """A comment id (hex digits of the row id) past what the database holds names no comment."""
    if _HEX.fullmatch(event_id) and (len(event_id) > 24 or int(event_id, 16) > MAX_NUMBER):
        raise NotFound("Comment not found")
    return event_id


def _page(ctx: Ctx) -> int:
    return query_int(ctx, "p", 0, MAX_PAGE)


@router.repo_route("GET", DISCUSSIONS, need=Need.READ)
def list_discussions(ctx: Ctx) -> Response:
    """A page of discussions, newest first, filtered by type, status, author and title search."""
    handle = ctx.repo
    check_query_text(ctx.query)
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
    body = _body(ctx, DiscussionCreate)
    pull_request = bool(body.pullRequest)
    num = ctx.hub.discussions.create(
        handle, ctx.principal, body.title, body.description, pull_request
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
    timeline = ctx.hub.discussions.details(handle, _number(num), with_diff=with_diff)
    return json_response(wire.discussion_details(timeline, handle))


@router.repo_route("POST", DISCUSSION + "/comment", need=Need.READ)
def comment(ctx: Ctx, num: str) -> Response:
    handle = ctx.repo
    comment = _body(ctx, DiscussionComment).comment
    view = ctx.hub.discussions.comment(handle, ctx.principal, _number(num), comment)
    return _event("newMessage", view, 201)


@router.repo_route("POST", DISCUSSION + "/title", need=Need.READ)
def rename(ctx: Ctx, num: str) -> Response:
    handle = ctx.repo
    return _event(
        "newTitle",
        ctx.hub.discussions.rename(
            handle, ctx.principal, _number(num), _body(ctx, DiscussionTitle).title
        ),
    )


@router.repo_route("POST", DISCUSSION + "/status", need=Need.READ)
def change_status(ctx: Ctx, num: str) -> Response:
    handle = ctx.repo
    body = _body(ctx, DiscussionStatus)
    view = ctx.hub.discussions.set_status(
        handle, ctx.principal, _number(num), body.status, body.comment
    )
    return _event("newStatus", view)


@router.repo_route("POST", DISCUSSION + "/merge", need=Need.READ)
def merge(ctx: Ctx, num: str) -> Response:
    handle = ctx.repo
    comment = _body(ctx, DiscussionComment).comment
    ctx.hub.discussions.merge(handle, ctx.principal, _number(num), comment)
    return json_response({})


@router.repo_route("POST", COMMENT + "/edit", need=Need.READ)
def edit_comment(ctx: Ctx, num: str, event_id: str) -> Response:
    handle = ctx.repo
    view = ctx.hub.discussions.edit_comment(
        handle, ctx.principal, _number(num), _event_id(event_id), _body(ctx, CommentEdit).content
    )
    return _event("updatedComment", view)


@router.repo_route("POST", COMMENT + "/hide", need=Need.READ)
def hide_comment(ctx: Ctx, num: str, event_id: str) -> Response:
    handle = ctx.repo
    return _event(
        "updatedComment",
        ctx.hub.discussions.hide_comment(handle, ctx.principal, _number(num), _event_id(event_id)),
    )
