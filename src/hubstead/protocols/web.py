"""A plain page per repository: the rendered card and its tags, readable in a browser.

The full web UI is a later piece of work; until then this page shows what the hub derived.
KaTeX's stylesheet and fonts are served from the installed `katex` package.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from starlette.responses import FileResponse, HTMLResponse, RedirectResponse

from hubstead.domain.errors import NotFound
from hubstead.protocols.http import Ctx
from hubstead.protocols.routing import Router
from hubstead.protocols.urls import BLOB, WEB
from hubstead.rendering import math as rendering_math
from hubstead.services.access import Need

router = Router()


def katex_dist() -> Path:
    return (
        rendering_math.katex_dist()
    )  # HUBSTEAD_NODE_MODULES, else the installed package, else the checkout


@router.route("GET", r"/-/static/katex/(?P<path>[A-Za-z0-9_./-]+)")
def katex_asset(ctx: Ctx, path: str):
    root = katex_dist().resolve()
    target = (root / path).resolve()
    if root not in target.parents or not target.is_file():
        raise NotFound("No such asset")
    return FileResponse(target, headers={"Cache-Control": "public, max-age=86400"})


@router.route("GET", BLOB, name="repo.blob")
def blob(ctx: Ctx, ns: str, name: str, rev: str, path: str, prefix: str | None = None):
    """Links in cards point here; until the file viewer exists, it serves the file itself (the
    path as it came, so that whatever it names is what /resolve looks up)."""
    return RedirectResponse(
        f"/{prefix + '/' if prefix else ''}{ns}/{name}/resolve/{rev}/{path}", status_code=302
    )


@router.repo_route("GET", "/?", form=WEB, need=Need.READ)
def repo_page(ctx: Ctx):
    handle = ctx.repo
    repo_type = handle.type
    card = ctx.hub.cards.stored(handle.row.id)
    html = ctx.hub.cards.html(handle)
    tags = card.tags if card is not None else []
    chips = "".join(f'<li class="tag">{escape(str(tag))}</li>' for tag in tags)
    facts = []
    if card is not None and card.pipeline_tag:
        facts.append(f'<span class="fact">Task: {escape(card.pipeline_tag)}</span>')
    if card is not None and card.library_name:
        facts.append(f'<span class="fact">Library: {escape(card.library_name)}</span>')
    body = html if html is not None else '<p class="empty">No model card yet.</p>'
    title = escape(str(handle.id))
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Hubstead</title>
<link rel="stylesheet" href="/-/static/katex/katex.min.css">
<style>
body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1f2328;line-height:1.55}}
header h1{{font-size:1.5rem;margin:0 0 .5rem}} .kind{{color:#59636e;font-size:.9rem}}
ul.tags{{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.35rem}}
.tag{{background:#eef1f4;border-radius:1rem;padding:.1rem .6rem;font-size:.85rem}}
.fact{{margin-right:1rem;font-size:.9rem}} article{{border-top:1px solid #d1d9e0;margin-top:1rem;padding-top:1rem}}
table{{border-collapse:collapse}} td,th{{border:1px solid #d1d9e0;padding:.25rem .5rem}}
pre{{background:#f6f8fa;padding:.75rem;overflow:auto}} img{{max-width:100%}}
</style></head>
<body><header><div class="kind">{escape(repo_type.value)}</div><h1>{title}</h1>
<div>{"".join(facts)}</div><ul class="tags" aria-label="Tags">{chips}</ul></header>
<article class="card">{body}</article></body></html>"""
    return HTMLResponse(page)
