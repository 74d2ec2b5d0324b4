"""Self sign-up (`/join`, off unless an operator turns it on) and the site admin's user page
(`/admin/users`: create and disable users).

Whether sign-up is open is the site admin's choice on `/admin/users`, kept in the database, else
HUBSTEAD_ALLOW_SIGNUP; while it is closed `/join` does not exist (404). The admin page is a 404
for everyone but site admins, like anything else they may not see. Forms post back to the page
that drew them, which answers with the outcome (or the service's refusal and its status).
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.responses import RedirectResponse, Response

from hubstead.domain.errors import BadRequest, HubError, NotFound
from hubstead.protocols.http import Ctx
from hubstead.protocols.routing import Router
from hubstead.services.audit import ACTIONS
from hubstead.services.audit import PAGE_SIZE as AUDIT_PAGE_SIZE
from hubstead.services.principal import Principal
from hubstead.services.sessions import MIN_PASSWORD
from hubstead.web.templating import render
from hubstead.web.views.account import start_session

router = Router(sessions=True)
AUDIT_FILTERS = ("action", "actor", "target")

USER_NAME = r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)"


def _open_or_404(ctx: Ctx) -> None:
    if not ctx.hub.accounts.signup_open():
        raise NotFound("Page not found")


# -- sign-up ------------------------------------------------------------------------------------


@router.route("GET", r"/join", name="web.join")
def signup_page(ctx: Ctx) -> Response:
    _open_or_404(ctx)
    if ctx.principal is not None:
        return RedirectResponse("/", status_code=303)
    return _signup(ctx)


def _signup(ctx: Ctx, status: int = 200, error: str | None = None, **fields: str) -> Response:
    values = {"name": "", "email": "", **fields}
    return render(
        ctx,
        "account/signup.html",
        status=status,
        error=error,
        values=values,
        min_password=MIN_PASSWORD,
    )


@router.route("POST", r"/join")
def sign_up(ctx: Ctx) -> Response:
    _open_or_404(ctx)
    name = (ctx.form_value("name") or "").strip()
    email = (ctx.form_value("email") or "").strip()
    password = ctx.form_value("password") or ""
    if password != (ctx.form_value("confirm_password") or ""):
        return _signup(ctx, 400, "The passwords differ.", name=name, email=email)
    try:
        cookie, _ = ctx.hub.sessions.sign_up(name, email, password, ctx.client_address)
    except HubError as error:
        response = _signup(ctx, error.status, error.message, name=name, email=email)
        response.headers.update(error.headers)
        return response
    return start_session(ctx, cookie, f"/{name}")


# -- the site admin's user page -----------------------------------------------------------------


def _site_admin(ctx: Ctx) -> Principal:
    """The signed-in site admin; anyone else is told the page does not exist."""
    principal = ctx.principal
    if principal is None or not principal.is_admin:
        raise NotFound("Page not found")
    return principal


def _users(
    ctx: Ctx,
    status: int = 200,
    error: str | None = None,
    done: str | None = None,
    **fields: object,
) -> Response:
    values = {"name": "", "email": "", "admin": False, **fields}
    return render(
        ctx,
        "admin/users.html",
        status=status,
        users=ctx.hub.accounts.list_users(),
        signup_open=ctx.hub.accounts.signup_open(),
        signup_default=ctx.hub.accounts.signup_default,
        error=error,
        done=done,
        values=values,
        min_password=MIN_PASSWORD,
    )


@router.route("GET", r"/admin/users", name="web.admin_users")
def users_page(ctx: Ctx) -> Response:
    _site_admin(ctx)
    return _users(ctx)


@router.route("POST", r"/admin/users")
def create_user(ctx: Ctx) -> Response:
    _site_admin(ctx)
    name = (ctx.form_value("name") or "").strip()
    email = (ctx.form_value("email") or "").strip()
    admin = ctx.form_value("admin") == "on"
    password = ctx.form_value("password") or ""
    try:
        if len(password) < MIN_PASSWORD:
            raise BadRequest(f"The password must have at least {MIN_PASSWORD} characters")
        ctx.hub.accounts.create_user(
            name, email=email, password=password, admin=admin, by=ctx.principal
        )
    except HubError as error:
        return _users(ctx, error.status, error.message, name=name, email=email, admin=admin)
    return _users(ctx, 201, done=f"User {name} created.")


@router.route("POST", rf"/admin/users/{USER_NAME}/(?P<action>disable|enable)")
def set_disabled(ctx: Ctx, name: str, action: str) -> Response:
    admin = _site_admin(ctx)
    disable = action == "disable"
    try:
        ctx.hub.accounts.set_disabled(name, disable, by=admin.name)
    except HubError as error:
        return _users(ctx, error.status, error.message)
    return _users(ctx, done=f"{name} is {'disabled' if disable else 'enabled again'}.")


@router.route("POST", r"/admin/signup")
def set_signup(ctx: Ctx) -> Response:
    _site_admin(ctx)
    is_open = ctx.form_value("open") == "on"
    ctx.hub.accounts.set_signup_open(is_open)
    return _users(ctx, done=f"Self sign-up is {'open' if is_open else 'closed'}.")


# -- the audit log --------------------------------------------------------------------------------


def _action_groups() -> list[tuple[str, list[str]]]:
    groups: dict[str, list[str]] = {}
    for action in sorted(ACTIONS):
        groups.setdefault(action.split(".")[0], []).append(action)
    return sorted(groups.items())


@router.route("GET", r"/admin/audit", name="web.admin_audit")
def audit_page(ctx: Ctx) -> Response:
    _site_admin(ctx)
    filters = {key: (ctx.query.get(key) or "").strip() or None for key in AUDIT_FILTERS}
    raw_before = ctx.query.get("before") or ""
    before = int(raw_before) if raw_before.isdigit() and len(raw_before) < 18 else None
    entries = ctx.hub.audit.entries(before=before, **filters)
    older = None
    if len(entries) == AUDIT_PAGE_SIZE:
        query = {k: v for k, v in filters.items() if v} | {"before": entries[-1].id}
        older = f"/admin/audit?{urlencode(query)}"
    return render(
        ctx,
        "admin/audit.html",
        entries=entries,
        filters=filters,
        action_groups=_action_groups(),
        older=older,
    )
