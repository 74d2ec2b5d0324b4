"""The page views, one module per group of pages. Each module has a `router`; the order of
VIEW_ROUTERS is the order in which patterns are tried (specific pages before the repository
page's `/{namespace}/{name}`)."""

from __future__ import annotations

from hubstead.protocols.routing import Router
from hubstead.web.views import (
    account,
    browse,
    card_editor,
    community,
    new_repo,
    orgs,
    profile,
    repo,
    repo_settings,
    signup_admin,
    upload,
)

VIEW_ROUTERS: list[Router] = [
    account.router,  # /login, /logout, /settings/tokens, /settings/password
    signup_admin.router,  # /join, /admin/users
    orgs.router,  # /organizations/new, /{org}/settings/members
    new_repo.router,  # /new, /new-dataset
    browse.router,  # /, /models, /datasets, /tasks, /languages, /licenses, /metrics
    profile.router,  # /{name}: after every specific one-segment page
    repo_settings.router,  # {repo}/settings
    upload.router,  # {repo}/upload/{rev}
    card_editor.router,  # {repo}/edit/{rev}/README.md
    community.router,  # {repo}/discussions/new, comments, status, merge
    repo.router,  # /{namespace}/{name} and its pages: last, its patterns are the broadest
]
