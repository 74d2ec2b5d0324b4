"""Xet: the hub's token routes and the CAS API the `hf_xet` client talks to (mounted at /cas).

Optional CAS routes this server does not offer (xorb upload grants, NDJSON shard upload, v2
reconstructions, global deduplication queries) answer 404, which the client reads as "use the
other route" or "no deduplication"; never 500, which it would retry for minutes.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio.to_thread
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.responses import FileResponse, Response, StreamingResponse

from hubstead.domain.byte_ranges import parse_range
from hubstead.domain.errors import HubError, NotFound
from hubstead.protocols.accel import accel_redirect
from hubstead.protocols.http import Ctx, json_response
from hubstead.protocols.routing import STREAMED, Body, Router, read_body, upload_need
from hubstead.services.access import Need
from hubstead.services.xet import MAX_SHARD_BODY, MAX_XORB_BODY, parse_byte_range
from hubstead.storage.blobstore import BlobMissing

router = Router()
CAS = "/cas"
V1 = "(?:/v1)?"  # hf_xet 1.2 and older call the CAS routes without /v1 (up to 1.5, /shards too)
XORB_BODY = Body(limit=MAX_XORB_BODY, too_large="Xorb too large")
SHARD_BODY = Body(limit=MAX_SHARD_BODY, too_large="Shard too large")
READ_BLOCK = 4 * 1024 * 1024  # a part of a xorb is read in blocks this large
router.link("cas", CAS)


@router.repo_route("GET", "/xet-read-token/{rev:rev}", need=Need.DOWNLOAD, name="xet.read-token")
def xet_read_token(ctx: Ctx, rev: str) -> Response:
    """A read token reads every file: the gate applies."""
    ctx.repo.git.resolve(rev)
    return _token(ctx, "read")


@router.repo_route("GET", "/xet-write-token/{rev:rev}", need=upload_need, name="xet.write-token")
def xet_write_token(ctx: Ctx, rev: str) -> Response:
    """A pull request's author may upload to its refs/pr/N (the commit checks who they are)."""
    if rev not in ("None", "") and not ctx.flag("create_pr"):
        ctx.repo.git.resolve(rev)
    return _token(ctx, "write")


def _token(ctx: Ctx, scope: str) -> Response:
    """Mint a CAS token for the repository. The JSON body is read by hf_xet, the X-Xet-* headers
    by huggingface_hub: both are sent."""
    principal = ctx.principal
    token, expires = ctx.hub.xet.issue_token(
        ctx.repo.row.id, scope, principal.user_id if principal is not None else None
    )
    url = ctx.url_for("cas")
    headers = {
        "X-Xet-Cas-Url": url,
        "X-Xet-Access-Token": token,
        "X-Xet-Token-Expiration": str(expires),
    }
    return json_response({"casUrl": url, "accessToken": token, "exp": expires}, headers=headers)


@router.route("POST", rf"{CAS}{V1}/xorbs/{{prefix}}/{{xorb:sha256}}")
async def upload_xorb(ctx: Ctx, prefix: str, xorb: str) -> Response:
    """The token is checked before the body is read (at most a xorb's size), which goes
    straight to a scratch file (services/xet/ingest.py, `received_xorb`)."""
    token = ctx.hub.xet.check_token(ctx.request.headers.get("authorization"), "write")
    with ctx.hub.xet.received_xorb() as received:
        await read_body(ctx, XORB_BODY, into=received.file)
        inserted = await run_in_threadpool(ctx.hub.xet.store_xorb, token, xorb, received)
    return json_response({"was_inserted": inserted})


@router.route("POST", rf"{CAS}{V1}/shards")
async def upload_shard(ctx: Ctx) -> Response:
    token = ctx.hub.xet.check_token(ctx.request.headers.get("authorization"), "write")
    await read_body(ctx, SHARD_BODY)
    result = await run_in_threadpool(ctx.hub.xet.register_shard, token, ctx.body)
    return json_response({"result": result})


@router.route("GET", rf"{CAS}{V1}/reconstructions/{{file:sha256}}")
def reconstruction(ctx: Ctx, file: str) -> Response:
    token = ctx.hub.xet.check_token(ctx.request.headers.get("authorization"), "read")
    expires = int(time.time()) + 3600

    def fetch_url(xorb: str, start: int, end: int) -> str:
        byte_range = f"{start}-{end}"
        signature = ctx.hub.xet.sign_fetch(xorb, byte_range, expires)
        return ctx.url_for(
            "cas.fetch", {"r": byte_range, "exp": expires, "sig": signature}, xorb=xorb
        )

    return json_response(
        ctx.hub.xet.reconstruction(token, file, ctx.request.headers.get("range"), fetch_url)
    )


@router.route("GET", CAS + "/fetch/{xorb:sha256}", name="cas.fetch")
def fetch(ctx: Ctx, xorb: str):
    """Serialized xorb bytes; the client sends no Authorization, the URL's signature is the key."""
    q = ctx.query
    ctx.hub.xet.check_fetch(
        xorb, q.get("r"), q.get("exp"), q.get("sig"), ctx.request.headers.get("range")
    )
    blobs = ctx.hub.blobs
    path = blobs.xorb_local_path(xorb)
    if path is not None:
        settings = ctx.hub.settings
        sent_by_nginx = accel_redirect(
            settings.accel_redirect, settings.blobs_dir, ctx.request, path
        )
        return sent_by_nginx or xorb_range(path, ctx.request.headers.get("range"))
    if not blobs.remote:
        raise NotFound(f"Unknown xorb {xorb}")
    # a bucket in proxy delivery: the granted range, streamed from there
    start, end = parse_byte_range(ctx.request.headers.get("range"), 1 << 62)
    try:
        chunks = blobs.iter_xorb_range(xorb, start, end)
    except BlobMissing:
        raise NotFound(f"Unknown xorb {xorb}") from None
    return StreamingResponse(
        iterate_in_threadpool(chunks),
        status_code=206,
        headers={"Content-Range": f"bytes {start}-{end - 1}/*"},
        media_type="application/octet-stream",
    )


def xorb_range(path: Path, requested: str | None) -> Response:
    """The asked bytes of a stored xorb, as a 206.

    A range that covers the whole xorb (what a file uploaded in one piece fetches: each of its
    xorbs, entire) is a FileResponse with an explicit status, which Starlette hands to the server
    as ASGI `pathsend`: granian sends the file itself, without Python touching the bytes. ASGI has
    no ranged form of pathsend (granian offers one on its RSGI interface only), so a part of a
    xorb (what an edited file fetches from the xorbs it shares with its earlier version) is read
    with `pread` in 4 MiB blocks on a worker thread: one thread hop per block instead of
    Starlette's one per 64 KiB. Behind nginx, nginx sends either from the file itself
    (protocols/accel.py), before this is reached.
    """
    size = path.stat().st_size
    start, end = parse_range(requested, size) or (0, size)
    headers = {
        "Content-Range": f"bytes {start}-{end - 1}/{size}",
        "Content-Length": str(end - start),
        "Accept-Ranges": "bytes",
    }
    if start == 0 and end == size:
        return FileResponse(
            path, status_code=206, headers=headers, media_type="application/octet-stream"
        )
    return StreamingResponse(
        _read_blocks(path, start, end),
        status_code=206,
        headers=headers,
        media_type="application/octet-stream",
    )


async def _read_blocks(path: Path, start: int, end: int) -> AsyncIterator[bytes]:
    fd = os.open(path, os.O_RDONLY)
    try:
        while start < end:
            block = await anyio.to_thread.run_sync(
                os.pread, fd, min(READ_BLOCK, end - start), start
            )
            if not block:
                raise OSError(f"{path.name} ended before byte {end}")
            start += len(block)
            yield block
    finally:
        os.close(fd)


@router.route("GET", rf"{CAS}{V1}/chunks/{{prefix}}/{{chunk:sha256}}")
def global_dedup(ctx: Ctx, prefix: str, chunk: str):
    """Which stored xorb holds this chunk: a shard, or 404 (the client then simply uploads).
    Only files the token's caller could read answer (services/xet/reach.py)."""
    token = ctx.hub.xet.check_token(ctx.request.headers.get("authorization"), "read")
    shard = ctx.hub.xet.dedup_shard(token, chunk)
    if shard is None:
        raise HubError("Chunk not tracked", status=404)
    return Response(shard, media_type="application/octet-stream")


# Their bodies are never read (STREAMED): a route whose body the router reads first has the
# caller authenticated as a hub user, and the CAS's bearer is a Xet token, not a hub token.
@router.route("POST", rf"{CAS}/v1/telemetry", body=STREAMED)
def telemetry(ctx: Ctx):
    return json_response({})


@router.route("GET POST PUT HEAD", rf"{CAS}/.*", body=STREAMED)
def unsupported(ctx: Ctx):
    raise HubError("Not supported by this CAS", status=404)
