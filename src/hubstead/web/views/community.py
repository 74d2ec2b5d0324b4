"""The write side of the community tab: new discussions and pull requests, comments, close,
reopen, merge.

The rules are the discussion service's, exactly as the API applies them (any signed-in user who
can see the repository may open a discussion or comment; its author or a writer may close or
reopen it; a writer may merge an open pull request): the views only turn a form into a call and
the service's refusal into the page that drew the form, with its message and status. Every form
posts, then redirects back (POST-redirect-GET); the router has checked its CSRF token.

A pull request opened from the browser starts empty, on `refs/pr/N` at main's head: its author
then pushes commits to that ref with huggingface_hub, as the page explains.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.responses import RedirectResponse, Response

from hubstead.domain.errors import HubError
from hubstead.protocols.http import Ctx
from hubstead.protocols.routing import Router
from hubstead.protocols.urls import WEB
from hubstead.services.access import Need
from hubstead.services.discussions import MAX_TEXT, MAX_TITLE, MIN_TITLE
from hubstead.web.templating import render
from hubstead.web.views.repo import Links, discussion_page, repo_context

router = Router(sessions=True)

KINDS = ("discussion", "pull_request")
DISCUSSION = "/discussions/{num:num}"


def community_route(methods: str, path: str) -> Any:
    """A page or form of one repository's community tab, for whoever may see the repository;
    the discussion service decides who may change what."""
    return router.repo_route(methods, path, form=WEB, need=Need.READ)


def _sign_in(ctx: Ctx, back: str) -> Response:
    return RedirectResponse(f"/login?next={quote(back)}", status_code=303)


def _new_page(
    ctx: Ctx,
    kind: str,
    title: str = "",
    description: str = "",
    *,
    preview: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    links = Links(ctx.repo)
    return render(
        ctx,
        "repo/discussion_new.html",
        status=status,
        **repo_context(ctx, "community"),
        action=f"{links.discussions()}/new",
        kind=kind if kind in KINDS else "discussion",
        title=title,
        description=description,
        preview=preview,
        error=error,
        min_title=MIN_TITLE,
        max_title=MAX_TITLE,
        max_text=MAX_TEXT,
        endpoint=ctx.base_url,
    )


@community_route("GET", "/discussions/new")
def new_discussion_page(ctx: Ctx) -> Response:
    if ctx.principal is None:
        return _sign_in(ctx, f"{Links(ctx.repo).discussions()}/new")
    return _new_page(ctx, ctx.query.get("kind", "discussion"))


@community_route("POST", "/discussions/new")
def create_discussion(ctx: Ctx) -> Response:
    """Open the discussion or pull request, or draw the form again with its preview (the
    server's renderer, math included: the same HTML the comment will have)."""
    links = Links(ctx.repo)
    if ctx.principal is None:
        return _sign_in(ctx, f"{links.discussions()}/new")
    kind = ctx.form_value("kind") or "discussion"
    title = ctx.form_value("title") or ""
    description = ctx.form_value("description") or ""
    if ctx.form_value("action") == "preview":
        rendered = ctx.hub.cards.render(ctx.repo, description[:MAX_TEXT], "main")
        if rendered is None:  # logged by the renderer; the text is kept for another try
            return _new_page(
                ctx, kind, title, description, error="The preview could not be rendered."
            )
        return _new_page(ctx, kind, title, description, preview=rendered)
    try:
        num = ctx.hub.discussions.create(
            ctx.repo, ctx.principal, title, description, kind == "pull_request"
        )
    except HubError as error:
        return _new_page(ctx, kind, title, description, error=error.message, status=error.status)
    return RedirectResponse(links.discussion(num), status_code=303)


def _back(ctx: Ctx, num: str, anchor: str = "") -> Response:
    return RedirectResponse(Links(ctx.repo).discussion(int(num)) + anchor, status_code=303)


def _refused(ctx: Ctx, num: str, error: HubError, draft: str = "") -> Response:
    """The discussion page again, with the service's message and status (and the comment that
    was not posted, so it is not lost)."""
    return discussion_page(ctx, num, error=error.message, status=error.status, draft=draft)


@community_route("POST", DISCUSSION + "/comment")
def comment(ctx: Ctx, num: str) -> Response:
    if ctx.principal is None:
        return _sign_in(ctx, Links(ctx.repo).discussion(int(num)))
    text = ctx.form_value("comment") or ""
    try:
        ctx.hub.discussions.comment(ctx.repo, ctx.principal, int(num), text)
    except HubError as error:
        return _refused(ctx, num, error, draft=text)
    return _back(ctx, num, "#latest")


@community_route("POST", DISCUSSION + "/status")
def change_status(ctx: Ctx, num: str) -> Response:
    """Close or reopen, with the comment box's text posted first when it has any."""
    if ctx.principal is None:
        return _sign_in(ctx, Links(ctx.repo).discussion(int(num)))
    text = ctx.form_value("comment") or ""
    try:
        ctx.hub.discussions.set_status(
            ctx.repo,
            ctx.principal,
            int(num),
            ctx.form_value("status"),
            text if text.strip() else None,
        )
    except HubError as error:
        return _refused(ctx, num, error, draft=text)
    return _back(ctx, num, "#latest")


@community_route("POST", DISCUSSION + "/merge")
def merge(ctx: Ctx, num: str) -> Response:
    """Merge into main (writers only); a conflict or a refusal is shown on the page."""
    if ctx.principal is None:
        return _sign_in(ctx, Links(ctx.repo).discussion(int(num)))
    try:
        ctx.hub.discussions.merge(ctx.repo, ctx.principal, int(num))
    except HubError as error:
        return _refused(ctx, num, error)
    return _back(ctx, num, "#latest")
