"""Repositories: create, delete, move, settings, info, access checks and likes.

Create, delete and move name the repository in their body, so the repository service resolves
it (with the same rules, `services.access`); every other route here names it in its URL and gets
it from the router.
"""

from __future__ import annotations

from starlette.responses import Response

from hubstead.domain.avatars import avatar_url
from hubstead.domain.errors import InvalidName, RepoNotFound, Unauthorized
from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.protocols import wire
from hubstead.protocols.http import Ctx, conflict_with_url, json_response
from hubstead.protocols.listing_query import expand_fields
from hubstead.protocols.routing import Router
from hubstead.protocols.schemas import RepoCreate, RepoMove, RepoNamed, RepoSettings, parse_body
from hubstead.protocols.urls import RepoName
from hubstead.services import access
from hubstead.services.access import Need
from hubstead.services.repos import RepoExists

router = Router()


def repo_url(ctx: Ctx, repo_type: RepoType, repo_id: RepoId) -> str:
    return ctx.url_for("repo.page", repo=RepoName(repo_type, repo_id))


def unauthorized() -> Unauthorized:
    return Unauthorized("You must be signed in: send 'Authorization: Bearer <token>'")


def _named_in_body(body: RepoNamed) -> tuple[RepoType, str | None, str]:
    """The type, namespace and name of the repository a create or delete body names."""
    repo_type = RepoType.parse(body.type)
    name, namespace = body.name, body.organization
    if "/" in name and not namespace:
        namespace, name = name.split("/", 1)
    return repo_type, namespace, name


@router.route("POST", r"/api/repos/create")
def create_repo(ctx: Ctx) -> Response:
    body = parse_body(ctx, RepoCreate)
    repo_type, namespace, name = _named_in_body(body)
    if ctx.principal is None:
        raise unauthorized()
    repo_id = RepoId.create(namespace or ctx.principal.name, name)
    private = body.private
    if body.visibility is not None:
        private = body.visibility != "public"
    try:
        # no `private` nor `visibility` (None): the namespace's default decides
        handle = ctx.hub.repos.create(ctx.principal, repo_type, repo_id, private)
    except RepoExists as exists:
        return conflict_with_url(exists.message, repo_url(ctx, repo_type, exists.repo_id))
    url = ctx.url_for("repo.page", repo=handle)  # the stored spelling of the id
    return json_response({"url": url, "name": str(handle.id), "id": str(handle.id)})


@router.route("DELETE", r"/api/repos/delete")
def delete_repo(ctx: Ctx) -> Response:
    repo_type, namespace, name = _named_in_body(parse_body(ctx, RepoNamed))
    if ctx.principal is None:
        raise RepoNotFound(status=401)
    try:
        repo_id = RepoId.create(namespace or ctx.principal.name, name)
    except InvalidName:
        raise access.not_found(ctx.principal) from None
    ctx.hub.repos.delete(ctx.principal, repo_type, repo_id)
    return json_response({})


@router.route("POST", r"/api/repos/move")
def move_repo(ctx: Ctx) -> Response:
    body = parse_body(ctx, RepoMove)
    repo_type = RepoType.parse(body.type)
    try:
        source = RepoId.parse(body.fromRepo)
    except InvalidName:
        raise access.not_found(ctx.principal) from None
    target = RepoId.parse(body.toRepo)
    moved = ctx.hub.repos.move(ctx.principal, repo_type, source, target)
    return json_response({"url": repo_url(ctx, repo_type, moved)})


@router.repo_route("PUT", "/settings", need=Need.ADMIN)
def update_settings(ctx: Ctx) -> Response:
    body = parse_body(ctx, RepoSettings)
    private = body.private
    if body.visibility is not None:
        private = body.visibility == "private"
    view = ctx.hub.repos.update_settings(ctx.repo, private, body.gated, by=ctx.principal)
    return json_response({"private": view.private, "gated": view.gated or False})


@router.repo_route("GET", r"(?:/revision/{rev:rev})?", need=Need.READ)
def repo_info(ctx: Ctx, rev: str | None = None) -> Response:
    """Without a revision: the default branch (main unless the settings page chose another;
    the clients name main explicitly for downloads, so this changes no file they fetch)."""
    handle = ctx.repo
    expand = expand_fields(ctx.query, handle.type)
    revision = ctx.hub.repos.at_revision(handle, rev or handle.default_branch())
    card = ctx.hub.cards.for_commit(handle, revision.sha)
    info = wire.repo_info(revision, blobs=ctx.flag("blobs"), card=card)
    if handle.type is RepoType.MODEL:
        mapping = ctx.hub.inference.provider_mapping(str(handle.id), card)
        info.update(wire.inference_fields(mapping, listing=False))
    if ctx.flag("securityStatus") or "securityRepoStatus" in expand:
        status = ctx.hub.pickle_scans.repo_status(revision.files)
        info["securityRepoStatus"] = wire.security_repo_status(status)
    if expand:
        info = {
            key: info.get(key) for key in ("_id", "id", *expand) if key in info or key in expand
        }
    return json_response(info)


@router.repo_route("GET", "/auth-check", need=Need.DOWNLOAD)
@router.repo_route("GET", "/auth-check/write", need=Need.WRITE)
def auth_check(ctx: Ctx) -> Response:
    """Read access means the files can be downloaded: a gated repository answers GatedRepo."""
    return json_response({})


@router.repo_route("POST DELETE", "/like", need=Need.READ)
def like(ctx: Ctx) -> Response:
    if ctx.request.method == "POST":
        ctx.hub.counters.like(ctx.principal, ctx.repo)
    else:
        ctx.hub.counters.unlike(ctx.principal, ctx.repo)
    return json_response({})


@router.repo_route("GET", "/likers", need=Need.READ)
def likers(ctx: Ctx) -> Response:
    return json_response(
        [
            {
                "user": user.name,
                "fullname": user.fullname or user.name,
                "avatarUrl": avatar_url(user.avatar_url, user.name, ctx.base_url),
                "type": "user",
            }
            for user in ctx.hub.counters.likers(ctx.repo)
        ]
    )


@router.route("GET", r"/api/users/{user}/likes")
def user_likes(ctx: Ctx, user: str) -> Response:
    ctx.hub.profiles.account(user, "user")  # 404 for someone who does not exist
    likes = [
        {
            "createdAt": wire.iso(when),
            "repo": {"name": f"{row.namespace}/{row.name}", "type": row.type},
        }
        for when, row in ctx.hub.counters.liked_by(user)
        if access.can_read(ctx.principal, row.namespace, row.private)
    ]
    return json_response(likes)
