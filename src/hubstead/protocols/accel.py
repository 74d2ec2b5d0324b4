"""Blob bytes sent by nginx itself: `X-Accel-Redirect` answers for a hub behind nginx.

ASGI can hand a whole file to the server to send (`pathsend`, which granian does zero-copy) but
has no ranged form, and a part of a xorb is what an edited file's download fetches. Behind
nginx, and with the data folder on nginx's machine too (the scale-out deployment shares it as a
volume), the hub instead answers with the blob's path under nginx's internal location; nginx
then serves the client's `Range` from the file with `sendfile`, whole or in part, and no byte
passes through Python or through the proxy connection.

Two things must both hold, so that a process reached directly never answers with an empty body:
the operator named the internal location (`HUBSTEAD_ACCEL_REDIRECT`, which must match nginx's
`location … { internal; alias <data folder>/blobs/; }`), and the request came through nginx,
which says so with `X-Sendfile-Type: X-Accel-Redirect` (the convention Rack::Sendfile and
Django's sendfile backends read). A client that sends that header to a process directly gets an
empty 200 naming a path it cannot open: nothing that it could not have read through the hub.
The signed URL and the granted range are checked before this answer, as for any other.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

SENDFILE_TYPE = "X-Accel-Redirect"  # the value nginx's proxy_set_header X-Sendfile-Type sends


def accel_redirect(
    prefix: str | None, blobs_dir: Path, request: Request, path: Path
) -> Response | None:
    """The answer that has nginx send `path` (a file under `blobs_dir`), or None when the hub
    must send it itself (no internal location configured, not through nginx, elsewhere)."""
    if (
        prefix is None
        or request.headers.get("x-sendfile-type", "").lower() != SENDFILE_TYPE.lower()
    ):
        return None
    try:
        inside = path.relative_to(blobs_dir)
    except ValueError:
        return None
    return Response(
        status_code=200,  # nginx answers with its own status: 206 for the client's Range
        headers={"X-Accel-Redirect": prefix + quote(inside.as_posix())},
        media_type="application/octet-stream",
    )
