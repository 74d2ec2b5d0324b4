"""The profile page of a user or an organization: `/{name}`.

It lists the models and datasets of the namespace that the visitor may read (the discovery
service applies the same visibility as the listings) and, for an organization, its members.
Its pattern is tried after every specific page (`/models`, `/tasks`, …), and the API and
assets routes come before the web UI, so it shadows none of them; an unknown name is a 404.
"""

from __future__ import annotations

from starlette.responses import Response

from hubstead.domain.errors import NotFound
from hubstead.domain.repo_ids import RepoType
from hubstead.protocols.http import Ctx
from hubstead.protocols.routing import Router
from hubstead.services.discovery import ListQuery
from hubstead.web.templating import render
from hubstead.web.views.browse import repo_items

router = Router(sessions=True)

SHOWN = 50  # repositories of each type on the page; the rest through the filtered list


@router.route("GET", r"/(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)/?")
def profile(ctx: Ctx, name: str) -> Response:
    account = ctx.hub.accounts.account(name)
    if account is None:
        raise NotFound(f"No user or organization called {name!r}")
    is_org = account.kind == "org"
    info = (
        ctx.hub.profiles.organization(account.name, ctx.principal)
        if is_org
        else ctx.hub.profiles.user(account.name, ctx.principal)
    )
    sections = []
    for repo_type, total in (
        (RepoType.MODEL, info.num_models),
        (RepoType.DATASET, info.num_datasets),
    ):
        rows, _ = ctx.hub.discovery.list(
            ctx.principal,
            ListQuery(repo_type=repo_type, author=account.name, sort="lastModified", limit=SHOWN),
        )
        sections.append(
            {
                "type": repo_type.value,
                "title": "Models" if repo_type is RepoType.MODEL else "Datasets",
                "count": total,
                "repos": repo_items(ctx, repo_type, rows),
                "more_url": f"/{repo_type.value}s?author={account.name}&sort=modified"
                if total > len(rows)
                else None,
            }
        )
    members = ctx.hub.profiles.members(account.name) if is_org else []
    viewer = ctx.principal
    viewer_role = next(
        (m.role for m in members if viewer is not None and m.account.id == viewer.user_id), None
    )
    return render(
        ctx,
        "browse/profile.html",
        account=account,
        is_org=is_org,
        sections=sections,
        members=[
            {"name": m.account.name, "fullname": m.account.fullname, "role": m.role}
            for m in members
        ],
        # roles are shown to the members (and site admins), as the API's member list does
        show_roles=viewer is not None and (viewer.is_admin or viewer_role is not None),
        can_manage=viewer is not None and (viewer.is_admin or viewer_role == "admin"),
        orgs=[org.name for org in getattr(info, "orgs", ())],
    )
