"""Static files of the web UI, served under content-hashed names.

KaTeX's stylesheet and fonts are served under `/-/static/katex/` from the installed `katex`
package (HUBSTEAD_NODE_MODULES, else the installed package, else the checkout).

A template asks for `asset("site.css")` and gets `/-/assets/site.<hash>.css`: the hash changes
with the content, so the file can be cached for a year (`immutable`) and a new release is never
hidden behind a stale copy. Hashes are computed once per process.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from starlette.responses import FileResponse

from hubstead.domain.errors import NotFound
from hubstead.protocols.http import Ctx
from hubstead.protocols.routing import Router
from hubstead.rendering import math as rendering_math

STATIC = Path(__file__).with_name("static")
router = Router()


@cache
def _digest(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


def asset(name: str) -> str:
    """The URL of a static file, with its content hash in the name."""
    stem, dot, suffix = name.rpartition(".")
    return f"/-/assets/{stem}.{_digest(name)}.{suffix}" if dot else f"/-/assets/{name}"


@router.route(
    "GET HEAD",
    r"/-/assets/(?P<stem>[A-Za-z0-9_-]+)\.(?P<digest>[0-9a-f]{12})\.(?P<suffix>[a-z0-9]+)",
)
def static_asset(ctx: Ctx, stem: str, digest: str, suffix: str):
    name = f"{stem}.{suffix}"
    path = STATIC / name
    if not path.is_file() or _digest(name) != digest:
        raise NotFound("No such asset")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=31536000, immutable"})


@router.route("GET", r"/-/static/katex/(?P<path>[A-Za-z0-9_./-]+)")
def katex_asset(ctx: Ctx, path: str):
    root = rendering_math.katex_dist().resolve()
    target = (root / path).resolve()
    if root not in target.parents or not target.is_file():
        raise NotFound("No such asset")
    return FileResponse(target, headers={"Cache-Control": "public, max-age=86400"})
