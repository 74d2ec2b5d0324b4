"""Users and organizations: whoami, profiles, members, followers, and what a namespace stores.

`HfApi.get_user_overview`, `get_organization_overview`, `list_organization_members`,
`list_user_followers`, `list_user_following`, `list_organization_followers` and
`list_user_repos` call these. The hub has no follow feature, so follower lists are empty (for
an account that exists; 404 otherwise), which is what the client expects of a user nobody follows.
"""

from __future__ import annotations

from hubstead.domain.avatars import avatar_url
from hubstead.domain.errors import Unauthorized
from hubstead.protocols.http import Ctx, json_response
from hubstead.protocols.routing import Router
from hubstead.protocols.schemas import query_int
from hubstead.services.profiles import Member, Profile, RepoStorage
from hubstead.services.repos import iso

router = Router()
NAME = r"(?P<name>[^/]+)"
STORAGE_PAGE = 1000


@router.route("GET", r"/api/whoami-v2")
def whoami(ctx: Ctx):
    if ctx.principal is None:
        raise Unauthorized("You must be signed in: send 'Authorization: Bearer <token>'")
    return json_response(ctx.hub.accounts.whoami(ctx.principal, ctx.base_url))


def _account_id(account_id: int) -> str:
    return f"{account_id:024x}"


def _user_summary(ctx: Ctx, user) -> dict:
    """What every answer about a user carries (overviews, member lists)."""
    return {
        "_id": _account_id(user.id),
        "user": user.name,
        "fullname": user.fullname or user.name,
        "avatarUrl": avatar_url(user.avatar_url, user.name, ctx.base_url),
        "type": "user",
        "isPro": False,
    }


def _user_overview(ctx: Ctx, profile: Profile) -> dict:
    user = profile.account
    data = {
        **_user_summary(ctx, user),
        "createdAt": iso(user.created_at),
        "numModels": profile.num_models,
        "numDatasets": profile.num_datasets,
        "numSpaces": profile.num_spaces,
        "numDiscussions": profile.num_discussions,
        "numPapers": 0,
        "numUpvotes": 0,
        "numLikes": profile.num_likes,
        "numFollowers": 0,
        "numFollowing": 0,
        "orgs": [_org_summary(ctx, org) for org in profile.orgs],
    }
    if ctx.principal is not None:
        data["isFollowing"] = False
    return data


def _org_summary(ctx: Ctx, org) -> dict:
    return {
        "_id": _account_id(org.id),
        "name": org.name,
        "fullname": org.fullname or org.name,
        "avatarUrl": avatar_url(org.avatar_url, org.name, ctx.base_url),
        "type": "org",
    }


def _member(ctx: Ctx, member: Member, show_role: bool) -> dict:
    data = _user_summary(ctx, member.account)
    if show_role:
        data["role"] = member.role
    return data


@router.route("GET", rf"/api/users/{NAME}/overview")
def user_overview(ctx: Ctx, name: str):
    return json_response(_user_overview(ctx, ctx.hub.profiles.user(name, ctx.principal)))


@router.route("GET", rf"/api/organizations/{NAME}/overview")
def organization_overview(ctx: Ctx, name: str):
    profile = ctx.hub.profiles.organization(name, ctx.principal)
    data = {
        **_org_summary(ctx, profile.account),
        "isVerified": False,
        "numUsers": profile.num_users,
        "numModels": profile.num_models,
        "numDatasets": profile.num_datasets,
        "numSpaces": profile.num_spaces,
        "numFollowers": 0,
        "numPapers": 0,
        "createdAt": iso(profile.account.created_at),
    }
    if ctx.principal is not None:
        data["isFollowing"] = False
    return json_response(data)


@router.route("GET", rf"/api/organizations/{NAME}/members")
def organization_members(ctx: Ctx, name: str):
    """Every member, by name; their role is shown to the organization's members only."""
    members = ctx.hub.profiles.members(name)
    principal = ctx.principal
    show_role = principal is not None and (
        principal.is_admin or any(m.account.id == principal.user_id for m in members)
    )
    return json_response([_member(ctx, member, show_role) for member in members])


@router.route("GET", rf"/api/users/{NAME}/(?P<kind>followers|following)")
def user_follows(ctx: Ctx, name: str, kind: str):
    ctx.hub.profiles.account(name, "user")
    return json_response([])


@router.route("GET", rf"/api/organizations/{NAME}/followers")
def organization_followers(ctx: Ctx, name: str):
    ctx.hub.profiles.account(name, "org")
    return json_response([])


@router.route("GET", r"/api/settings/repositories")
def my_repositories(ctx: Ctx):
    return _storage_page(ctx, ctx.hub.profiles.storage(ctx.principal, None))


@router.route("GET", rf"/api/organizations/{NAME}/settings/repositories")
def organization_repositories(ctx: Ctx, name: str):
    return _storage_page(ctx, ctx.hub.profiles.storage(ctx.principal, name))


def _storage_page(ctx: Ctx, items: list[RepoStorage]):
    """What `RepoStorageInfo` reads, largest first, in pages with a `Link` to the next one."""
    total = sum(item.storage for item in items) or 1
    start = query_int(ctx, "p", 0) * STORAGE_PAGE  # a list in memory: any page is fine
    chunk = items[start : start + STORAGE_PAGE]
    headers = (
        {"Link": ctx.next_link(p=start // STORAGE_PAGE + 1)}
        if start + STORAGE_PAGE < len(items)
        else {}
    )
    return json_response(
        [
            {
                "id": f"{item.row.namespace}/{item.row.name}",
                "type": item.row.type,
                "updatedAt": iso(item.row.last_modified),
                "visibility": "private" if item.row.private else "public",
                "storage": item.storage,
                "storagePercent": round(100 * item.storage / total, 2),
            }
            for item in chunk
        ],
        headers=headers,
    )
