"""The Jinja2 environment of the web UI and the one way views render a page.

Autoescape is on for every template and undefined names are errors (StrictUndefined), so a
typo fails a test instead of rendering an empty string.
"""

from __future__ import annotations

import functools
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from hubstead import __version__
from hubstead.domain.errors import HubError
from hubstead.protocols.http import Ctx
from hubstead.web.assets import asset

ENV = Environment(
    loader=PackageLoader("hubstead.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.globals.update(asset=asset, version=__version__)

# Every page (error pages too) forbids what none of ours needs: scripts and styles from other
# origins, inline scripts and event handlers, plugins, <base>, being framed, posting elsewhere.
# Inline styles stay: KaTeX's output carries them (it is sanitized: rendering/markdown.py).
# Pictures may come from any https origin (avatars, cards' images); the inference widget also
# fetches and plays a card's https example files, and shows the blob: URL of a chosen file.
# A bucket the hub redirects to (downloads, the upload page's PUTs) is named too: on an http
# endpoint (MinIO on a LAN, the tests' S3 server) `https:` would not cover it.
# hash-wasm compiles WebAssembly in the upload page: 'wasm-unsafe-eval' allows that, not eval.


@functools.lru_cache(maxsize=4)
def page_headers(store_origin: str | None) -> dict[str, str]:
    """The headers of every page, for a hub whose blob store signs URLs at `store_origin`."""
    extra = f" {store_origin}" if store_origin else ""
    policy = "; ".join(
        (
            "default-src 'self'",
            "script-src 'self' 'wasm-unsafe-eval'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src 'self' data: blob: https:{extra}",
            f"media-src 'self' data: blob: https:{extra}",
            f"connect-src 'self' https:{extra}",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        )
    )
    return {
        "Cache-Control": "no-cache",
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }


def render(ctx: Ctx | None, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render `template` with the request's context (`url_for`, the signed-in user, the query)."""
    signed_in = ctx is not None and ctx.use_session
    page = ENV.get_template(template).render(
        url_for=ctx.url_for if ctx is not None else None,
        request_path=ctx.request.url.path if ctx is not None else "/",
        query=ctx.query if ctx is not None else {},
        viewer=_viewer(ctx) if signed_in else None,
        csrf_token=ctx.csrf_token if signed_in else None,
        **context,
    )
    store_origin = ctx.hub.store_origin if ctx is not None else None
    return HTMLResponse(page, status_code=status, headers=page_headers(store_origin))


def _viewer(ctx: Ctx):
    """The signed-in user, or None (a refused session cookie is just no session here)."""
    try:
        return ctx.principal
    except HubError:
        return None
