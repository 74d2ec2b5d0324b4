"""The page views, one module per group of pages. Each module has a `router`; the order of
VIEW_ROUTERS is the order in which patterns are tried (specific pages before the repository
page's `/{namespace}/{name}`)."""

from __future__ import annotations

from hubstead.protocols.routing import Router
from hubstead.web.views import account, browse, profile, repo

VIEW_ROUTERS: list[Router] = [
    account.router,  # /login, /logout, /settings/tokens
    browse.router,  # /, /models, /datasets, /tasks, /languages, /licenses, /metrics
    profile.router,  # /{name}: after every specific one-segment page
    repo.router,  # /{namespace}/{name} and its pages: last, its patterns are the broadest
]
