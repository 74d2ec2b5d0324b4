"""Xet: the hub's token routes and the CAS API the `hf_xet` client talks to (mounted at /cas).

Optional CAS routes this server does not offer (xorb upload grants, NDJSON shard upload, v2
reconstructions, global deduplication queries) answer 404, which the client reads as "use the
other route" or "no deduplication"; never 500, which it would retry for minutes.
"""

from __future__ import annotations

import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from hubstead.domain.errors import HubError, NotFound
from hubstead.domain.repo_ids import RepoType
from hubstead.hub import Hub
from hubstead.protocols.http import (
    REPO_ID,
    REPO_TYPE,
    REVISION,
    Ctx,
    Router,
    base_url,
    json_response,
    open_repo,
    open_repo_for_upload,
    read_body,
)

router = Router()
CAS = "/cas"


def cas_url(hub: Hub, request: Request) -> str:
    return base_url(hub, request) + CAS


@router.route("GET", rf"/api/{REPO_TYPE}/{REPO_ID}/xet-(?P<scope>read|write)-token/{REVISION}")
def xet_token(ctx: Ctx, rtype: str, ns: str, name: str, scope: str, rev: str):
    """Mint a CAS token for one repository. The JSON body is read by hf_xet, the X-Xet-* headers
    by huggingface_hub: both are sent."""
    repo_type = RepoType.from_plural(rtype)
    if scope == "read":
        handle = open_repo(ctx, repo_type, ns, name, "read")
        handle.git.resolve(rev)
    else:
        handle = open_repo_for_upload(ctx, repo_type, ns, name, for_pull_request=ctx.flag("create_pr"))
        if rev not in ("None", "") and not ctx.flag("create_pr"):
            handle.git.resolve(rev)
    token, expires = ctx.hub.xet.issue_token(handle.row.id, scope)
    url = cas_url(ctx.hub, ctx.request)
    headers = {"X-Xet-Cas-Url": url, "X-Xet-Access-Token": token, "X-Xet-Token-Expiration": str(expires)}
    return json_response({"casUrl": url, "accessToken": token, "exp": expires}, headers=headers)


@router.route("POST", rf"{CAS}/v1/xorbs/(?P<prefix>[^/]+)/(?P<xorb>[0-9a-f]{{64}})")
async def upload_xorb(hub: Hub, request: Request, prefix: str, xorb: str) -> Response:
    hub.xet.check_token(request.headers.get("authorization"), "write")
    data = await read_body(request)
    inserted = await run_in_threadpool(hub.xet.store_xorb, xorb, data)
    return json_response({"was_inserted": inserted})


@router.route("POST", rf"{CAS}/v1/shards")
async def upload_shard(hub: Hub, request: Request) -> Response:
    token = hub.xet.check_token(request.headers.get("authorization"), "write")
    data = await read_body(request)
    result = await run_in_threadpool(hub.xet.register_shard, token, data)
    return json_response({"result": result})


@router.route("GET", rf"{CAS}/v1/reconstructions/(?P<file>[0-9a-f]{{64}})")
def reconstruction(ctx: Ctx, file: str):
    token = ctx.hub.xet.check_token(ctx.request.headers.get("authorization"), "read")
    base = cas_url(ctx.hub, ctx.request)
    expires = int(time.time()) + 3600

    def fetch_url(xorb: str, start: int, end: int) -> str:
        byte_range = f"{start}-{end}"
        return f"{base}/fetch/{xorb}?r={byte_range}&exp={expires}&sig={ctx.hub.xet.sign_fetch(xorb, byte_range, expires)}"

    return json_response(ctx.hub.xet.reconstruction(token, file, ctx.request.headers.get("range"), fetch_url))


@router.route("GET", rf"{CAS}/fetch/(?P<xorb>[0-9a-f]{{64}})")
def fetch(ctx: Ctx, xorb: str):
    """Serialized xorb bytes; the client sends no Authorization, the URL's signature is the key."""
    q = ctx.query
    ctx.hub.xet.check_fetch(xorb, q.get("r"), q.get("exp"), q.get("sig"), ctx.request.headers.get("range"))
    path = ctx.hub.blobs.xorb_path(xorb)
    if not path.is_file():
        raise NotFound(f"Unknown xorb {xorb}")
    return FileResponse(path, media_type="application/octet-stream")


@router.route("GET", rf"{CAS}/v1/chunks/(?P<prefix>[^/]+)/(?P<chunk>[0-9a-f]{{64}})")
def global_dedup(ctx: Ctx, prefix: str, chunk: str):
    """Which stored xorb holds this chunk: a shard, or 404 (the client then simply uploads)."""
    ctx.hub.xet.check_token(ctx.request.headers.get("authorization"), "read")
    shard = ctx.hub.xet.dedup_shard(chunk)
    if shard is None:
        raise HubError("Chunk not tracked", status=404)
    return Response(shard, media_type="application/octet-stream")


@router.route("POST", rf"{CAS}/v1/telemetry")
def telemetry(ctx: Ctx):
    return json_response({})


@router.route("GET POST PUT HEAD", rf"{CAS}/.*")
def unsupported(ctx: Ctx):
    raise HubError("Not supported by this CAS", status=404)
