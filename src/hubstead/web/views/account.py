"""Signing in and out, the signed-in user's access tokens (`/settings/tokens`) and password
(`/settings/password`).

Forms post back to the page that drew them; the router has checked their CSRF token before a
handler runs. A wrong password and an unknown account get the same answer; too many attempts
answer 429 with the time to wait. A new token is shown once, on the page that created it.

Tokens and the password are changed from a signed-in browser only: a token (even a write one)
cannot make more tokens here, or a token that expires in a week could make one that never does.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from starlette.responses import RedirectResponse, Response

from hubstead.domain.errors import BadRequest, Forbidden, HubError, InvalidCredentials, NotFound
from hubstead.protocols.http import SESSION_COOKIE, Ctx
from hubstead.protocols.routing import Router
from hubstead.services.sessions import SESSION_DAYS
from hubstead.web.templating import render

router = Router(sessions=True)
EXPIRY_DAYS = (7, 30, 90)  # what the tokens page offers, besides "never"
BROWSER_ONLY = "Tokens and passwords are managed from a signed-in browser, not with a token"


def _local(target: str | None) -> str:
    """A `next` URL to return to after signing in: a path of this site only (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc and "\\" not in target else "/"


@router.route("GET", r"/login", name="web.login")
def login_page(ctx: Ctx) -> Response:
    if ctx.principal is not None:
        return RedirectResponse(_local(ctx.query.get("next")), status_code=303)
    return render(
        ctx,
        "account/login.html",
        error=None,
        login="",
        next=ctx.query.get("next", ""),
        signup=ctx.hub.accounts.signup_open(),
    )


@router.route("POST", r"/login")
def login(ctx: Ctx) -> Response:
    login_name = ctx.form_value("login") or ""
    target = _local(ctx.form_value("next"))
    address = ctx.client_address
    try:
        cookie, _ = ctx.hub.sessions.sign_in(login_name, ctx.form_value("password") or "", address)
    except HubError as error:
        message = (
            "Wrong username, email or password."
            if isinstance(error, InvalidCredentials)
            else error.message
        )
        response = render(
            ctx,
            "account/login.html",
            status=error.status,
            error=message,
            login=login_name,
            next=target,
            signup=ctx.hub.accounts.signup_open(),
        )
        response.headers.update(error.headers)
        return response
    return start_session(ctx, cookie, target)


def start_session(ctx: Ctx, cookie: str, target: str) -> Response:
    """Go on to `target` with the new session's cookie (after signing in, or signing up)."""
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=SESSION_DAYS * 86_400,
        httponly=True,
        samesite="lax",
        secure=ctx.secure,
    )
    return response


@router.route("POST", r"/logout", name="web.logout")
def logout(ctx: Ctx) -> Response:
    ctx.hub.sessions.sign_out(ctx.request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=ctx.secure)
    return response


def _signed_in(ctx: Ctx):
    principal = ctx.principal
    if principal is None:
        return None, RedirectResponse(f"/login?next={quote(ctx.request.url.path)}", status_code=303)
    return principal, None


def _in_browser(ctx: Ctx):
    """`_signed_in` for the changes: the caller must be a browser's session, never a token."""
    principal, redirect = _signed_in(ctx)
    if principal is not None and principal.token_id is not None:
        raise Forbidden(BROWSER_ONLY)
    return principal, redirect


def _expiry_choices(limit: int | None) -> list[int | None]:
    """The lifetimes offered (None: never), within the operator's maximum (which is offered
    itself when it is none of the usual ones)."""
    if limit is None:
        return [None, *EXPIRY_DAYS]
    return sorted({days for days in EXPIRY_DAYS if days <= limit} | {limit})


def _expires_days(value: str | None, choices: list[int | None]) -> int | None:
    """The form's `expires` in days ("": never), one of `choices`, else BadRequest. A form
    without the field gets the default (never, or the operator's maximum)."""
    if value is None:
        return None
    days = int(value) if value.isdigit() and len(value) <= 5 else None
    if (days is None and value) or days not in choices:
        raise BadRequest("Choose one of the expiry times offered.")
    return days


@router.route("GET", r"/settings/tokens", name="web.tokens")
def tokens_page(ctx: Ctx) -> Response:
    principal, redirect = _signed_in(ctx)
    if redirect is not None:
        return redirect
    return _tokens(ctx, principal.name)


def _tokens(ctx: Ctx, user: str, created: str | None = None, error: str | None = None, **extra):
    tokens = ctx.hub.accounts.list_tokens(user)
    status = 400 if error else (201 if created else 200)
    limit = ctx.hub.accounts.token_max_days
    return render(
        ctx,
        "account/tokens.html",
        status=status,
        tokens=tokens,
        created=created,
        error=error,
        expiry_choices=_expiry_choices(limit),
        max_days=limit,
        **extra,
    )


@router.route("POST", r"/settings/tokens")
def create_token(ctx: Ctx) -> Response:
    principal, redirect = _in_browser(ctx)
    if redirect is not None:
        return redirect
    name = (ctx.form_value("name") or "").strip()
    role = ctx.form_value("role") or "read"
    if not name or len(name) > 128:
        return _tokens(ctx, principal.name, error="Give the token a name (up to 128 characters).")
    try:
        days = _expires_days(
            ctx.form_value("expires"), _expiry_choices(ctx.hub.accounts.token_max_days)
        )
        value = ctx.hub.accounts.create_token(
            principal.name, role, name, expires_days=days, by=principal
        )
    except BadRequest as error:
        return _tokens(ctx, principal.name, error=error.message)
    return _tokens(ctx, principal.name, created=value, created_name=name)


@router.route("POST", r"/settings/tokens/(?P<token_id>[0-9]{1,12})/delete")
def revoke_token(ctx: Ctx, token_id: str) -> Response:
    principal, redirect = _in_browser(ctx)
    if redirect is not None:
        return redirect
    try:
        ctx.hub.accounts.revoke_token(token_id, principal.name, by=principal)
    except NotFound:
        pass  # already gone (or another user's, which this user may not name): the same page
    return RedirectResponse("/settings/tokens", status_code=303)


@router.route("GET", r"/settings/password", name="web.password")
def password_page(ctx: Ctx) -> Response:
    principal, redirect = _signed_in(ctx)
    if redirect is not None:
        return redirect
    return render(ctx, "account/password.html", error=None, done=False)


@router.route("POST", r"/settings/password")
def change_password(ctx: Ctx) -> Response:
    principal, redirect = _in_browser(ctx)
    if redirect is not None:
        return redirect
    new = ctx.form_value("new_password") or ""
    if new != (ctx.form_value("confirm_password") or ""):
        return render(
            ctx, "account/password.html", status=400, error="The new passwords differ.", done=False
        )
    address = ctx.client_address
    try:
        ctx.hub.sessions.change_password(
            principal,
            ctx.form_value("current_password") or "",
            new,
            ctx.request.cookies.get(SESSION_COOKIE),
            address,
        )
    except HubError as error:
        message = (
            "The current password is wrong."
            if isinstance(error, InvalidCredentials)
            else error.message
        )
        response = render(
            ctx, "account/password.html", status=error.status, error=message, done=False
        )
        response.headers.update(error.headers)
        return response
    return render(ctx, "account/password.html", error=None, done=True)
