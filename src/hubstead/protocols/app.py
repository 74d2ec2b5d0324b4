"""The ASGI application: one router for every protocol, errors in the Hub's format."""

from __future__ import annotations

import gc
import logging
import os
import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from hubstead import web as web_ui
from hubstead.domain.errors import HubError
from hubstead.hub import Hub
from hubstead.protocols import (
    avatars,
    git_http,
    health,
    inference_api,
    lfs_api,
    logs,
    metrics,
    openapi,
    resolve,
    xet_api,
)
from hubstead.protocols.api import (
    access_requests,
    audit,
    commits,
    discussions,
    extras,
    fallback,
    files,
    listing,
    refs,
    repos,
    storage,
    users,
)
from hubstead.protocols.faults import infrastructure_error
from hubstead.protocols.http import error_response
from hubstead.protocols.routing import Router
from hubstead.services.repos import RepoMoved
from hubstead.settings import Settings, log_format
from hubstead.web.errors import error_page, wants_page

log = logging.getLogger("hubstead")


def build_router() -> Router:
    """Every route, in the order they are tried: the first whose path and method match wins."""
    router = Router()
    router.include(xet_api.router)
    router.include(lfs_api.router)  # before resolve and git: its paths are more specific
    router.include(git_http.router)
    router.include(resolve.router)
    router.include(inference_api.router)  # POST /models/ns/name: before the web pages
    for api in (
        access_requests,
        audit,
        discussions,
        storage,
        users,
        extras,
        repos,
        listing,
        files,
        refs,
        commits,
    ):
        router.include(api.router)
    # After every /api route: unknown repository sub-routes answer like the Hub, other unknown
    # /api paths 404, or 405 when an earlier route has the path with other methods.
    router.include(fallback.router)
    router.include(metrics.router)  # /-/metrics: before the web pages' /{namespace}/{name}
    router.include(health.router)  # /-/health, /-/ready: the same
    router.include(openapi.router)  # /openapi.json
    router.include(avatars.router)  # before web: /avatars/{name}.svg looks like /{namespace}/{name}
    router.include(web_ui.router)  # last: its /{namespace}/{name} patterns would shadow others
    openapi.describe(router.routes)
    return router


class HubApp:
    def __init__(self, hub: Hub):
        self.hub = hub
        self.router = build_router()
        self.metrics = hub.settings.metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        # 32 hex digits, as uuid4().hex was, at a fifth of its cost (this runs on every request)
        request_id = (request.headers.get("x-amzn-trace-id") or os.urandom(16).hex())[:128]
        context = logs.REQUEST_ID.set(request_id)
        started = time.perf_counter()
        try:
            response = await self.router.dispatch(self.hub, request)
        except RepoMoved as moved:
            response = _redirect_moved(request, moved)
        except HubError as error:
            log.info(
                "%s %s -> %d %s", request.method, request.url.path, error.status, error.message
            )
            response = _error(request, error)
        except Exception as unhandled:
            log.exception("Unhandled error on %s %s", request.method, request.url.path)
            mapped = infrastructure_error(unhandled, self.hub.settings.data_dir)
            response = _error(request, mapped or HubError("Internal server error", status=500))
        response.headers["X-Request-Id"] = request_id
        if self.metrics:
            route = scope.get("hubstead.route")
            seconds = time.perf_counter() - started
            metrics.observe(route, request.method, response.status_code, seconds)
            metrics.count_upload(route, request.method, request.headers.get("content-length"))
        try:
            await response(scope, receive, send)
        finally:
            logs.REQUEST_ID.reset(context)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.hub.inference.aclose()
                self.hub.db.dispose()
                self.hub.locks.dispose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _error(request: Request, error: HubError) -> Response:
    """A browser gets the site's error page; API clients the Hub's error format; git itself
    the message as plain text, the only kind of body it prints to its user (`remote: …`)."""
    if wants_page(request):
        return error_page(error)
    response = error_response(error, request.method)
    if request.headers.get("user-agent", "").startswith("git/") and request.method != "HEAD":
        response = Response(
            error.message + "\n",
            status_code=error.status,
            media_type="text/plain",
            headers={k: v for k, v in response.headers.items() if k.startswith("x-error")}
            | error.headers,
        )
    return response


def _redirect_moved(request: Request, moved: RepoMoved) -> Response:
    """Old URLs of a renamed repository answer with a relative redirect to the new name."""
    raw = (request.scope.get("raw_path") or request.scope["path"].encode()).decode("latin-1")
    old, new = f"/{moved.old_id}", f"/{moved.new_id}"
    location = (
        raw.replace(old + "/", new + "/", 1) if old + "/" in raw else raw.replace(old, new, 1)
    )
    if request.url.query:
        location += "?" + request.url.query
    return Response(
        status_code=307, headers={"Location": location, "X-Error-Message": str(moved.message)}
    )


def create_app() -> HubApp:
    """Factory used by the server: settings come from the HUBSTEAD_* environment."""
    logging.basicConfig(level=logging.INFO)  # other libraries' warnings
    logs.configure(log_format())  # the hub's own lines, with their request ids
    app = HubApp(Hub(Settings.from_env()))
    # What start-up made (modules, the composed hub) lives as long as the process: frozen out
    # of the collector, whose full passes would otherwise walk all of it again and again while
    # an upload's per-chunk records come and go.
    gc.freeze()
    return app
