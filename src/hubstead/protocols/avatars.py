"""`GET /avatars/{name}.svg`: the identicon of an account without an avatar of its own.

It is computed from the name alone (no database, no disk), so it runs on the event loop and
may be cached for a long time: the picture of a name never changes.
"""

from __future__ import annotations

from starlette.responses import Response

from hubstead.domain.avatars import identicon_svg
from hubstead.protocols.http import Ctx
from hubstead.protocols.routing import Router

router = Router()


@router.route(
    "GET HEAD", r"/avatars/(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,95})\.svg", inline="GET HEAD"
)
def identicon(ctx: Ctx, name: str) -> Response:
    body = b"" if ctx.request.method == "HEAD" else identicon_svg(name).encode()
    return Response(
        body,
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=604800", "X-Content-Type-Options": "nosniff"},
    )
