"""File downloads: `HEAD|GET /{prefix}{namespace}/{name}/resolve/{revision}/{path}`.

The client reads its metadata from the response it stops at: `X-Repo-Commit`, the ETag (the git
blob id for regular files, the SHA-256 for LFS files, as `X-Linked-Etag`) and the real size. LFS
bytes are streamed straight from the blob store (zero-copy where the server supports pathsend).
"""

from __future__ import annotations

import posixpath

from starlette.background import BackgroundTask
from starlette.responses import Response

from hubstead.domain.byte_ranges import parse_range
from hubstead.domain.gating import is_ungated_file
from hubstead.hub import Hub
from hubstead.protocols.http import Ctx
from hubstead.protocols.objects import large_file_response
from hubstead.protocols.routing import Router
from hubstead.protocols.urls import RESOLVE
from hubstead.services import access
from hubstead.services.access import Need
from hubstead.services.counters import is_query_file
from hubstead.services.files import ResolvedFile

QUERY_FILE_ENDINGS = (".json", ".yaml", ".gguf", ".safetensors", ".ckpt", ".bin", ".nemo")
# A repository's files are anyone's bytes served from the hub's origin: opened in a tab, an
# .html or .svg must not run script there (it would act with the visitor's session). The
# sandbox gives such a document an opaque origin and no scripts; nosniff keeps the browser
# from taking text/plain or octet-stream for a page. One constant: HEAD is a hot path.
# Pictures are served as pictures (the file viewer shows them with <img>, which never runs
# script, not even an SVG's); any other text is text/plain, never a page.
PICTURE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
    ".avif": "image/avif",
    ".svg": "image/svg+xml",
}
USER_FILE_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}

router = Router()


def _need(ctx: Ctx, params: dict[str, str]) -> Need:
    """The gate comes before the revision and the file are looked up: in a gated repository an
    unknown file is refused like any other, except the card and license the Hub keeps public."""
    return Need.READ if is_ungated_file(params["path"]) else Need.DOWNLOAD


@router.repo_route("GET HEAD", RESOLVE, need=_need, inline="HEAD", name="repo.resolve", cached=True)
def resolve(ctx: Ctx, rev: str, path: str) -> Response:
    handle = ctx.repo
    found = ctx.hub.files.resolve(handle, rev, path)
    response = _file_response(ctx, found)
    if _counts_as_download(ctx, path):
        response.background = BackgroundTask(_count_download, ctx.hub, handle.row.id, path)
    return response


@router.route(
    "GET HEAD",
    r"/(?:(?P<prefix>datasets|spaces)/)?{name}/resolve/{rev:rev}/{path:any}",
    inline="GET HEAD",
)
def resolve_without_namespace(
    ctx: Ctx, name: str, rev: str, path: str, prefix: str | None = None
) -> Response:
    """A one-segment repository id (the client still allows them) names no repository here:
    answer as for any missing repository, with the headers the client maps to
    RepositoryNotFoundError, instead of a bare 404."""
    raise access.not_found(ctx.principal)


def _counts_as_download(ctx: Ctx, path: str) -> bool:
    """huggingface_hub marks its HEAD and GET with X-HF-Download-Counter: count its HEAD, and the
    GET of every other client, so that one download counts once."""
    marked = "x-hf-download-counter" in ctx.request.headers
    if (ctx.request.method == "HEAD") != marked:
        return False
    return path.endswith(QUERY_FILE_ENDINGS)


def _count_download(hub: Hub, repo_row_id: int, path: str) -> None:
    card = hub.cards.stored(repo_row_id)
    if is_query_file(path, card.library_name if card is not None else None):
        hub.counters.count_download(repo_row_id)


def _file_response(ctx: Ctx, found: ResolvedFile) -> Response:
    size = found.entry.size
    headers = {
        **USER_FILE_HEADERS,
        "X-Repo-Commit": found.commit,
        "Accept-Ranges": "bytes",
        "Access-Control-Expose-Headers": "X-Repo-Commit, X-Linked-Etag, X-Linked-Size, ETag, Content-Range, X-Xet-Hash, Link",
        "Cache-Control": "private, max-age=0, must-revalidate",
    }
    if found.entry.lfs is not None:
        etag = f'"{found.entry.lfs.oid}"'
        headers.update({"ETag": etag, "X-Linked-Etag": etag, "X-Linked-Size": str(size)})
        if found.xet_hash is not None:
            # Clients with hf_xet download through the CAS; the token route authorises them.
            token_url = ctx.url_for("xet.read-token", repo=ctx.repo, rev=found.commit)
            headers["X-Xet-Hash"] = found.xet_hash
            headers["Link"] = f'<{token_url}>; rel="xet-auth"'
        return large_file_response(
            ctx.hub,
            ctx.request,
            size,
            found.blob_path,
            found.xet_hash,
            headers,
            found.blob_stat,
            found.entry.lfs.oid if found.in_store else None,
            found.entry.path,
        )
    headers["ETag"] = f'"{found.entry.oid}"'
    byte_range = parse_range(ctx.request.headers.get("range"), size)
    content = found.content or b""
    media_type = _media_type(found.entry.path, content)
    if byte_range is not None:
        start, end = byte_range
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        body, status = content[start:end], 206
    else:
        body, status = content, 200
    if ctx.request.method == "HEAD":
        headers["Content-Length"] = str(len(body))
        return Response(status_code=status, headers=headers, media_type=media_type)
    return Response(body, status_code=status, headers=headers, media_type=media_type)


def _media_type(path: str, content: bytes) -> str:
    picture = PICTURE_TYPES.get(posixpath.splitext(path)[1].lower())
    if picture is not None:
        return picture
    return "text/plain; charset=utf-8" if _is_text(content) else "application/octet-stream"


def _is_text(content: bytes) -> bool:
    if b"\x00" in content[:8000]:
        return False
    try:
        content[:8000].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
