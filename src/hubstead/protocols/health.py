"""`GET /-/health` (liveness) and `GET /-/ready` (readiness), for load balancers and
orchestrators: health answers 200 as long as the process answers; ready answers 200 when the
database, the data folder and the blob store work (`services/health.py`), else 503 in the
Hub's error format, naming what failed. Neither needs a token, and neither says anything about
repositories or users."""

from __future__ import annotations

from starlette.responses import Response

from hubstead.domain.errors import HubError
from hubstead.protocols.http import Ctx, json_response
from hubstead.protocols.routing import Router

router = Router()
NO_STORE = {"Cache-Control": "no-store"}


@router.route("GET", r"/-/health")
def health(ctx: Ctx) -> Response:
    """Liveness: the process answers."""
    return json_response({"status": "ok"}, headers=NO_STORE)


@router.route("GET", r"/-/ready")
def ready(ctx: Ctx) -> Response:
    """Readiness: the database, the data folder and the blob store work."""
    readiness = ctx.hub.readiness.check()
    if not readiness.ready:
        error = HubError(
            "Not ready: " + "; ".join(readiness.failures()),
            status=503,
            headers={"Retry-After": "5", **NO_STORE},
        )
        error.extra["checks"] = readiness.checks
        raise error
    return json_response({"status": "ready", "checks": readiness.checks}, headers=NO_STORE)
