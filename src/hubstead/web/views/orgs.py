"""Organizations from the browser: create one (`/organizations/new`), its members and their
roles (`/{org}/settings/members`).

The creator of an organization becomes its admin. The members page is an org admin's (or a site
admin's); anyone else gets the 404 of a page that does not exist. Whether the viewer is an admin
is read from the memberships as they are now, not from the session's cached roles, so the
creator can manage a new organization at once. The service keeps an admin in every
organization; its refusal is shown on the page.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import RedirectResponse, Response

from hubstead.domain.errors import HubError, NotFound
from hubstead.protocols.http import Ctx
from hubstead.protocols.routing import Router
from hubstead.services.accounts import ROLES
from hubstead.services.principal import Principal
from hubstead.web.templating import render

router = Router(sessions=True)

NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"
# not /datasets/settings/members nor /spaces/…: those name a repository called "members"
MEMBERS = rf"/(?!datasets/|spaces/)(?P<org>{NAME})/settings/members"


def _login_redirect(ctx: Ctx) -> Response:
    return RedirectResponse(f"/login?next={quote(ctx.request.url.path)}", status_code=303)


# -- a new organization -------------------------------------------------------------------------


@router.route("GET", r"/organizations/new", name="web.new_org")
def new_org_page(ctx: Ctx) -> Response:
    if ctx.principal is None:
        return _login_redirect(ctx)
    return render(ctx, "org/new.html", error=None, values={"name": "", "fullname": ""})


@router.route("POST", r"/organizations/new")
def create_org(ctx: Ctx) -> Response:
    principal = ctx.principal
    if principal is None:
        return _login_redirect(ctx)
    name = (ctx.form_value("name") or "").strip()
    fullname = (ctx.form_value("fullname") or "").strip()
    try:
        org = ctx.hub.accounts.create_org(
            name, [(principal.name, "admin")], fullname=fullname, by=principal
        )
    except HubError as error:
        values = {"name": name, "fullname": fullname}
        return render(ctx, "org/new.html", status=error.status, error=error.message, values=values)
    return RedirectResponse(f"/{org.name}", status_code=303)


# -- members ------------------------------------------------------------------------------------


def _org_admin(ctx: Ctx, org: str) -> tuple[Principal, list[tuple[str, str]]]:
    """The viewer, an admin of `org` (or of the site), and the members as they are now."""
    principal = ctx.principal
    if principal is None:
        raise NotFound("Page not found")
    members = ctx.hub.accounts.members(org)  # NotFound for no such organization
    if dict(members).get(principal.name) != "admin" and not principal.is_admin:
        raise NotFound("Page not found")
    return principal, members


def _members_page(
    ctx: Ctx,
    org: str,
    members: list[tuple[str, str]] | None = None,
    status: int = 200,
    error: str | None = None,
    done: str | None = None,
    **fields: str,
) -> Response:
    account = ctx.hub.accounts.account(org)
    return render(
        ctx,
        "org/members.html",
        status=status,
        org=account,
        members=members if members is not None else ctx.hub.accounts.members(org),
        roles=ROLES,
        error=error,
        done=done,
        values={"name": "", "role": "read", **fields},
    )


@router.route("GET", MEMBERS)
def members_page(ctx: Ctx, org: str) -> Response:
    if ctx.principal is None:
        return _login_redirect(ctx)
    _, members = _org_admin(ctx, org)
    return _members_page(ctx, org, members)


@router.route("POST", MEMBERS)
def add_member(ctx: Ctx, org: str) -> Response:
    _org_admin(ctx, org)
    name = (ctx.form_value("name") or "").strip()
    role = ctx.form_value("role") or "read"
    try:
        ctx.hub.accounts.add_member(org, name, role, by=ctx.principal)
    except HubError as error:
        return _members_page(
            ctx, org, status=error.status, error=error.message, name=name, role=role
        )
    return _after_change(ctx, org, f"{name} is a member with the role {role}.")


@router.route("POST", rf"{MEMBERS}/(?P<name>{NAME})")
def change_role(ctx: Ctx, org: str, name: str) -> Response:
    _org_admin(ctx, org)
    role = ctx.form_value("role") or ""
    try:
        ctx.hub.accounts.add_member(org, name, role, by=ctx.principal)
    except HubError as error:
        return _members_page(ctx, org, status=error.status, error=error.message)
    return _after_change(ctx, org, f"{name}'s role is now {role}.")


@router.route("POST", rf"{MEMBERS}/(?P<name>{NAME})/remove")
def remove_member(ctx: Ctx, org: str, name: str) -> Response:
    _org_admin(ctx, org)
    try:
        ctx.hub.accounts.remove_member(org, name, by=ctx.principal)
    except HubError as error:
        return _members_page(ctx, org, status=error.status, error=error.message)
    return _after_change(ctx, org, f"{name} is no longer a member.")


def _after_change(ctx: Ctx, org: str, done: str) -> Response:
    """The members page again, or the organization's page for an admin who just gave up the
    role (or the membership) that let them see it."""
    principal = ctx.principal
    members = ctx.hub.accounts.members(org)
    if principal is not None and not principal.is_admin:
        if dict(members).get(principal.name) != "admin":
            return RedirectResponse(f"/{org}", status_code=303)
    return _members_page(ctx, org, members, done=done)
