"""Files of a revision: folder listings (`tree`) and `paths-info`."""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.responses import Response

from hubstead.domain.errors import BadRequest
from hubstead.protocols import wire
from hubstead.protocols.http import Ctx, decode_offset, encode_offset, json_response
from hubstead.protocols.routing import Router
from hubstead.protocols.schemas import PathsInfo, ascii_digits, parse_body
from hubstead.services.access import Need
from hubstead.services.files import tree_page_size

router = Router()


@router.repo_route("GET", r"/tree/{rev:rev}(?:/{path:any})?", need=Need.READ)
def list_tree(ctx: Ctx, rev: str, path: str = "") -> Response:
    expand = ctx.flag("expand")
    size = tree_page_size(expand, ascii_digits(ctx.query.get("limit")))
    page = ctx.hub.files.tree_page(
        ctx.repo,
        rev,
        path,
        ctx.flag("recursive"),
        expand,
        decode_offset(ctx.query.get("cursor")),
        size,
    )
    headers = (
        {"Link": ctx.next_link(cursor=encode_offset(page.next_offset))}
        if page.next_offset is not None
        else {}
    )
    scans = ctx.hub.pickle_scans.file_statuses(page.entries) if expand else {}
    entries = [
        wire.tree_entry(
            e,
            page.last_commits.get(e.path),
            page.xet_hashes.get(e.path),
            wire.security_file_status(e, scans) if expand else None,
        )
        for e in page.entries
    ]
    return json_response(entries, headers=headers)


@router.repo_route("POST", "/paths-info/{rev:rev}", need=Need.READ)
def paths_info(ctx: Ctx, rev: str) -> Response:
    content_type = ctx.request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        body = parse_body(ctx, PathsInfo)
        paths, expand = body.paths or [], bool(body.expand)
    else:
        form = parse_qs(ctx.body.decode("utf-8", "replace"))
        paths, expand = form.get("paths", []), form.get("expand", ["false"])[0].lower() == "true"
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise BadRequest("'paths' must be a list of strings")
    commit, entries = ctx.hub.files.paths_info(ctx.repo, rev, paths)
    last = ctx.repo.git.last_commits(commit, [e.path for e in entries]) if expand else {}
    xet = ctx.hub.files.xet_hashes(entries)
    scans = ctx.hub.pickle_scans.file_statuses(entries) if expand else {}
    return json_response(
        [
            wire.tree_entry(
                e,
                last.get(e.path),
                xet.get(e.path),
                wire.security_file_status(e, scans) if expand else None,
            )
            for e in entries
        ]
    )
