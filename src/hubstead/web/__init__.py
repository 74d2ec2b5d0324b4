"""The web UI: server-rendered pages (Jinja2) for people, beside the API for clients.

Views call services only (never git, never SQL) and render templates; `templating.py` holds the
Jinja2 environment, `assets.py` serves the static files under content-hashed URLs, `errors.py`
turns errors into HTML pages for browsers. `router` gathers every view's routes; the
composition (protocols/app.py) mounts it after the API, because its `/{namespace}/{name}`
patterns would shadow API routes.
"""

from __future__ import annotations

from hubstead.protocols.routing import Router
from hubstead.web import assets
from hubstead.web.views import VIEW_ROUTERS

router = Router()
router.include(assets.router)
for view_router in VIEW_ROUTERS:
    router.include(view_router)

__all__ = ["router"]
