"""Access requests of gated repositories, on the Hub's routes.

Writers of a repository list and answer requests under `/api/{type}s/{id}/user-access-request/…`
(what `huggingface_hub`'s `list_*_access_requests`, `accept/reject/cancel_access_request` and
`grant_access` call). Requesters ask with `POST /{id}/ask-access` (the Hub's form target: JSON or
form-encoded answers, then a 303 back to the repository page) and take back a pending request
with `POST /api/{type}s/{id}/user-access-request/cancel`.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.responses import RedirectResponse

from hubstead.domain.errors import BadRequest
from hubstead.protocols.http import Ctx, decode_offset, encode_offset, json_response
from hubstead.protocols.routing import Router
from hubstead.protocols.schemas import AccessReview, AccessTarget, ascii_digits, parse_body
from hubstead.protocols.urls import WEB
from hubstead.services import access
from hubstead.services.access import Need
from hubstead.services.gating import AccessRequestView
from hubstead.services.repos import iso

router = Router()
ACCESS = "/user-access-request"
MIN_LIMIT, MAX_LIMIT = 10, 1000  # the Hub's bounds for `limit`
SIGN_IN = "You must be signed in to request access: send 'Authorization: Bearer <token>'"
ASKING_TOKEN = "This token has read access only: a write token is needed to request access"


# -- the repository's writers -----------------------------------------------------------------


# Reviewing requests takes write access to the repository, as on the Hub.
@router.repo_route("GET", ACCESS + "/(?P<status>pending|accepted|rejected)", need=Need.WRITE)
def list_requests(ctx: Ctx, status: str):
    offset, limit = decode_offset(ctx.query.get("cursor")), _limit(ctx)
    views, more = ctx.hub.gating.requests(ctx.repo, status, offset, limit)
    headers = {"Link": ctx.next_link(cursor=encode_offset(offset + limit))} if more else {}
    return json_response([_request_json(view) for view in views], headers=headers)


@router.repo_route("POST", ACCESS + "/handle", need=Need.WRITE)
def handle_request(ctx: Ctx):
    body = parse_body(ctx, AccessReview)
    ctx.hub.gating.review(
        ctx.repo,
        body.user,
        body.request_id,
        body.status,
        body.rejectionReason,
        by=ctx.principal,
    )
    return json_response({})


@router.repo_route("POST", ACCESS + "/grant", need=Need.WRITE)
def grant_access(ctx: Ctx):
    body = parse_body(ctx, AccessTarget)
    ctx.hub.gating.grant(ctx.repo, body.user, body.request_id, by=ctx.principal)
    return json_response({})


# -- the requester ----------------------------------------------------------------------------


@router.repo_route("POST", ACCESS + "/cancel", need=Need.READ, signed_in=SIGN_IN)
def cancel_own_request(ctx: Ctx):
    assert ctx.principal is not None  # signed_in
    ctx.hub.gating.withdraw(ctx.repo, ctx.principal)
    return json_response({"ok": True})


@router.repo_route("POST", "/ask-access", form=WEB, need=Need.READ, signed_in=SIGN_IN)
def ask_access(ctx: Ctx):
    """Asking shares the caller's name and email with the authors: an action on the user's
    behalf, so it takes a write token, like every other change."""
    principal = access.require_write_token(ctx.principal, ASKING_TOKEN)
    ctx.hub.gating.ask(ctx.repo, principal, _answers(ctx))
    return RedirectResponse(ctx.url_for("repo.page", repo=ctx.repo), status_code=303)


# -- helpers ----------------------------------------------------------------------------------


def _answers(ctx: Ctx) -> object:
    """The access form's answers: a JSON object, or the fields of an HTML form."""
    content_type = ctx.request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        try:
            return dict(parse_qsl(ctx.body.decode(), keep_blank_values=True))
        except UnicodeDecodeError:
            raise BadRequest("The form is not valid UTF-8") from None
    return ctx.json_object()


def _request_json(view: AccessRequestView) -> dict:
    """A list item as the Hub sends it, plus `requestId`, which huggingface_hub requires."""
    user = {
        "_id": str(view.user_id),
        "user": view.name,
        "fullname": view.fullname,
        "type": "user",
        "email": view.email,
    }
    item: dict = {
        "user": user,
        "requestId": str(view.user_id),
        "timestamp": iso(view.created_at),
        "status": view.status,
    }
    if view.status != "pending":
        item["reviewedAt"] = iso(view.updated_at)
    if view.fields:
        item["fields"] = view.fields
    return item


def _limit(ctx: Ctx) -> int:
    raw = ctx.query.get("limit")
    if raw is None:
        return MAX_LIMIT
    digits = ascii_digits(raw)
    if digits is None or not MIN_LIMIT <= int(digits) <= MAX_LIMIT:
        raise BadRequest(f"'limit' must be a number from {MIN_LIMIT} to {MAX_LIMIT}")
    return int(digits)
