"""A repository's settings page (`{repo}/settings`): visibility, gating and the access-request
queue, rename or move, default branch, delete.

Every route here, the page and each of its forms, needs `Need.ADMIN`: the router answers others
as it answers the API (a repository the caller may not see is missing; a reader who can see it
gets 403). Each form posts to its own path and calls the service the API's route calls
(`RepoService.update_settings`, `move`, `delete`, `set_default_branch`; `GatingService`). A
change that worked redirects back to the page (post/redirect/get) with a notice; a refused one
draws the page again with the service's message in the form's section and the error's status.

The default branch is git's HEAD of the bare repository: `git clone` checks it out, the card
page, the "Files" tab and `GET /api/{type}s/{id}` without a revision follow it, while
`/resolve/main/…` (what the clients download) keeps meaning main.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import RedirectResponse, Response

from hubstead.domain.errors import BadRequest, Forbidden, HubError
from hubstead.domain.repo_ids import RepoId
from hubstead.protocols.http import Ctx
from hubstead.protocols.routing import Handler, Router
from hubstead.protocols.urls import WEB
from hubstead.services.access import Need
from hubstead.services.principal import Principal
from hubstead.web.templating import render
from hubstead.web.views.repo import Links, repo_context, when

router = Router(sessions=True)

QUEUE_STATUSES = ("pending", "accepted", "rejected")
QUEUE_PAGE = 100  # requests listed per status; the API pages through the rest
GATING_MODES: dict[str, str | bool] = {"off": False, "auto": "auto", "manual": "manual"}
NOTICES = {
    "visibility": "Visibility changed.",
    "gating": "Gating changed.",
    "access": "Access request updated.",
    "grant": "Access granted.",
    "branch": "Default branch changed.",
}


def settings_route(path: str) -> Callable[[Handler], Handler]:
    """A POST of one of the page's forms: administrators only, like the page."""
    return router.repo_route("POST", f"/settings/{path}", form=WEB, need=Need.ADMIN)


def admin_namespaces(principal: Principal | None, current: str) -> list[str]:
    """Where the repository may move: the user's own namespace and the organizations they
    administer (and where it is now, for a rename that keeps the namespace)."""
    if principal is None:
        return [current]
    orgs = sorted(org for org, role in principal.org_roles.items() if role == "admin")
    return list(dict.fromkeys([current, principal.name, *orgs]))


def _page(
    ctx: Ctx, status: int = 200, errors: dict[str, str] | None = None, **values: str
) -> Response:
    handle = ctx.repo
    refs = ctx.hub.refs.list(handle, include_prs=False)
    queue = {}
    for state in QUEUE_STATUSES:
        views, more = ctx.hub.gating.requests(handle, state, 0, QUEUE_PAGE)
        queue[state] = {"items": views, "more": more}
    return render(
        ctx,
        "repo/settings.html",
        status=status,
        **repo_context(ctx, "settings"),
        gated=handle.row.gated or "off",
        queue=queue,
        when=when,
        namespaces=admin_namespaces(ctx.principal, handle.id.namespace),
        branches=[branch["name"] for branch in refs["branches"]],
        default_branch=handle.default_branch(),
        errors=errors or {},
        notice=NOTICES.get(ctx.query.get("done", "")),
        values=values,
    )


def _back(ctx: Ctx, done: str) -> Response:
    """Back to the page, which shows the notice of what was `done`."""
    return RedirectResponse(f"{Links(ctx.repo).base}/settings?done={done}", status_code=303)


def _refused(ctx: Ctx, section: str, error: HubError, **values: str) -> Response:
    return _page(ctx, status=error.status, errors={section: error.message}, **values)


@router.repo_route("GET", "/settings", form=WEB, need=Need.ADMIN)
def settings_page(ctx: Ctx) -> Response:
    return _page(ctx)


@settings_route("visibility")
def change_visibility(ctx: Ctx) -> Response:
    choice = ctx.form_value("visibility")
    if choice not in ("public", "private"):
        return _refused(ctx, "visibility", BadRequest("Choose public or private."))
    ctx.hub.repos.update_settings(ctx.repo, choice == "private", None, by=ctx.principal)
    return _back(ctx, "visibility")


@settings_route("gating")
def change_gating(ctx: Ctx) -> Response:
    mode = ctx.form_value("gated") or ""
    if mode not in GATING_MODES:
        return _refused(ctx, "gating", BadRequest("Choose off, automatic or manual."))
    ctx.hub.repos.update_settings(ctx.repo, None, GATING_MODES[mode], by=ctx.principal)
    return _back(ctx, "gating")


@settings_route("access-requests")
def review_request(ctx: Ctx) -> Response:
    """Accept or reject a request, or send a decided one back to pending."""
    try:
        ctx.hub.gating.review(
            ctx.repo,
            ctx.form_value("user") or "",
            None,
            ctx.form_value("status"),
            by=ctx.principal,
        )
    except HubError as error:
        return _refused(ctx, "access", error)
    return _back(ctx, "access")


@settings_route("grant")
def grant_access(ctx: Ctx) -> Response:
    user = (ctx.form_value("user") or "").strip()
    try:
        ctx.hub.gating.grant(ctx.repo, user, None, by=ctx.principal)
    except HubError as error:
        return _refused(ctx, "access", error, grant_user=user)
    return _back(ctx, "grant")


@settings_route("rename")
def rename(ctx: Ctx) -> Response:
    """Rename, or move to another namespace the user administers; the old URLs redirect."""
    handle = ctx.repo
    namespace = (ctx.form_value("namespace") or handle.id.namespace).strip()
    name = (ctx.form_value("name") or "").strip()
    try:
        if namespace not in admin_namespaces(ctx.principal, handle.id.namespace):
            raise Forbidden(
                f"You can move repositories only to namespaces you administer, not {namespace!r}"
            )
        target = RepoId.create(namespace, name)
        moved = ctx.hub.repos.move(ctx.principal, handle.type, handle.id, target)
    except HubError as error:
        return _refused(ctx, "rename", error, rename_namespace=namespace, rename_name=name)
    return RedirectResponse(f"/{handle.type.url_prefix}{moved}", status_code=303)


@settings_route("default-branch")
def change_default_branch(ctx: Ctx) -> Response:
    try:
        ctx.hub.repos.set_default_branch(ctx.repo, ctx.form_value("branch") or "", by=ctx.principal)
    except HubError as error:
        return _refused(ctx, "branch", error)
    return _back(ctx, "branch")


@settings_route("delete")
def delete(ctx: Ctx) -> Response:
    """Delete once the full id is typed back; the user lands on the owner's profile."""
    handle = ctx.repo
    typed = (ctx.form_value("confirm") or "").strip()
    if typed != str(handle.id):
        message = f"Type {handle.id} exactly to confirm: nothing was deleted."
        return _refused(ctx, "delete", BadRequest(message), confirm=typed)
    ctx.hub.repos.delete(ctx.principal, handle.type, handle.id)
    return RedirectResponse(f"/{handle.id.namespace}", status_code=303)
