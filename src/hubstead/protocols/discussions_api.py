"""Discussions and pull requests (`/api/{type}s/{id}/discussions…`), as huggingface_hub calls them.

Every route opens the repository with `open_repo`, so a private repository answers exactly like a
missing one; the discussion service decides who may change what. Included in the application
before the REST API, whose last route catches unknown repository sub-routes.
"""

from __future__ import annotations

from starlette.responses import Response

from hubstead.domain.errors import BadRequest
from hubstead.domain.repo_ids import RepoType
from hubstead.protocols import wire
from hubstead.protocols.http import REPO_ID, REPO_TYPE, Ctx, Router, json_response, open_repo
from hubstead.services.discussions import EventView, ListFilter
from hubstead.services.repos import RepoHandle

router = Router()
DISCUSSIONS = rf"/api/{REPO_TYPE}/{REPO_ID}/discussions"
DISCUSSION = rf"{DISCUSSIONS}/(?P<num>\d{{1,9}})"
COMMENT = rf"{DISCUSSION}/comment/(?P<event_id>[^/]+)"


def _repo(ctx: Ctx, rtype: str, ns: str, name: str, need: str = "read") -> RepoHandle:
    return open_repo(ctx, RepoType.from_plural(rtype), ns, name, need)


def _url(ctx: Ctx, handle: RepoHandle, num: int) -> str:
    return f"{ctx.base_url}/{handle.type.url_prefix}{handle.id}/discussions/{num}"


def _event(key: str, view: EventView, status: int = 200) -> Response:
    return json_response({key: wire.discussion_event(view.event, view.people)}, status)


def _body(ctx: Ctx) -> dict:
    """The JSON object sent, {} for none (the client posts no body to merge or hide)."""
    body = ctx.json() if ctx.body.strip() else {}
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    return body


def _page(ctx: Ctx) -> int:
    raw = ctx.query.get("p", "0") or "0"
    if not raw.lstrip("-").isdigit():
        raise BadRequest("'p' must be a page number")
    return int(raw)


@router.route("GET", DISCUSSIONS)
def list_discussions(ctx: Ctx, rtype: str, ns: str, name: str) -> Response:
    """A page of discussions, newest first, filtered by type, status, author and title search."""
    handle = _repo(ctx, rtype, ns, name)
    query = ListFilter(kind=ctx.query.get("type") or "all", status=ctx.query.get("status") or "all",
                       author=ctx.query.get("author") or None, search=(ctx.query.get("search") or "").strip() or None,
                       page=_page(ctx))
    return json_response(wire.discussion_page(ctx.hub.discussions.list(handle, query), handle))


@router.route("POST", DISCUSSIONS)
def create_discussion(ctx: Ctx, rtype: str, ns: str, name: str) -> Response:
    handle = _repo(ctx, rtype, ns, name)
    body = _body(ctx)
    pull_request = bool(body.get("pullRequest"))
    num = ctx.hub.discussions.create(handle, ctx.principal, body.get("title"), body.get("description"), pull_request)
    data: dict = {"url": _url(ctx, handle, num), "num": num, "pullRequest": pull_request}
    if pull_request:
        data["references"] = {"base": "refs/heads/main"}
    return json_response(data)


@router.route("GET", DISCUSSION)
def discussion_details(ctx: Ctx, rtype: str, ns: str, name: str, num: str) -> Response:
    handle = _repo(ctx, rtype, ns, name)
    # discussions stay public on a gated repository, but a diff shows file contents: it is left
    # out for callers who may not download them
    with_diff = ctx.flag("diff") and ctx.hub.gating.may_download(handle, ctx.principal)
    timeline = ctx.hub.discussions.details(handle, int(num), with_diff=with_diff)
    return json_response(wire.discussion_details(timeline, handle))


@router.route("POST", rf"{DISCUSSION}/comment")
def comment(ctx: Ctx, rtype: str, ns: str, name: str, num: str) -> Response:
    handle = _repo(ctx, rtype, ns, name)
    view = ctx.hub.discussions.comment(handle, ctx.principal, int(num), _body(ctx).get("comment"))
    return _event("newMessage", view, 201)


@router.route("POST", rf"{DISCUSSION}/title")
def rename(ctx: Ctx, rtype: str, ns: str, name: str, num: str) -> Response:
    handle = _repo(ctx, rtype, ns, name)
    return _event("newTitle", ctx.hub.discussions.rename(handle, ctx.principal, int(num), _body(ctx).get("title")))


@router.route("POST", rf"{DISCUSSION}/status")
def change_status(ctx: Ctx, rtype: str, ns: str, name: str, num: str) -> Response:
    handle = _repo(ctx, rtype, ns, name)
    body = _body(ctx)
    view = ctx.hub.discussions.set_status(handle, ctx.principal, int(num), body.get("status"), body.get("comment"))
    return _event("newStatus", view)


@router.route("POST", rf"{DISCUSSION}/merge")
def merge(ctx: Ctx, rtype: str, ns: str, name: str, num: str) -> Response:
    handle = _repo(ctx, rtype, ns, name)
    body = _body(ctx)
    ctx.hub.discussions.merge(handle, ctx.principal, int(num), body.get("comment"))
    return json_response({})


@router.route("POST", rf"{COMMENT}/edit")
def edit_comment(ctx: Ctx, rtype: str, ns: str, name: str, num: str, event_id: str) -> Response:
    handle = _repo(ctx, rtype, ns, name)
    view = ctx.hub.discussions.edit_comment(handle, ctx.principal, int(num), event_id, _body(ctx).get("content"))
    return _event("updatedComment", view)


@router.route("POST", rf"{COMMENT}/hide")
def hide_comment(ctx: Ctx, rtype: str, ns: str, name: str, num: str, event_id: str) -> Response:
    handle = _repo(ctx, rtype, ns, name)
    return _event("updatedComment", ctx.hub.discussions.hide_comment(handle, ctx.principal, int(num), event_id))
