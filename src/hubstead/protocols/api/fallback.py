"""Answers for paths under `/api` that no route serves. Included after every other API router.

A path under a repository answers like the Hub: "Repository not found" (without leaking) for a
repository the caller may not see, else a plain 404 for the unknown sub-route. Any other `/api`
path is a plain 404, unless an earlier route has the path with other methods (then 405).
"""

from __future__ import annotations

from starlette.responses import Response

from hubstead.domain.errors import NotFound
from hubstead.protocols.http import Ctx
from hubstead.protocols.routing import Router
from hubstead.services import access
from hubstead.services.access import Need

router = Router()


@router.repo_route("GET POST PUT DELETE HEAD", r"(?:/.*)?", need=Need.READ)
def unknown_repo_route(ctx: Ctx) -> Response:
    raise NotFound(f"Unknown route: {ctx.request.url.path}")


@router.route("GET POST PUT DELETE HEAD", r"/api/{rtype:types}/.+")
def unknown_repo_id(ctx: Ctx, rtype: str) -> Response:
    """A single-segment id (or an empty part): no repository has it."""
    raise access.not_found(ctx.principal)


@router.route("GET POST PUT PATCH DELETE HEAD", r"/api/.*", fallback=True)
def unknown_api_route(ctx: Ctx) -> Response:
    """Not an endpoint of this hub: a plain 404, not a repository lookup (which would answer
    401 "Repository not found" to anonymous callers)."""
    raise NotFound("Not Found")
