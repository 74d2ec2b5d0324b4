"""Xet: the hub's token routes and the CAS API the `hf_xet` client talks to (mounted at /cas).

Optional CAS routes this server does not offer (xorb upload grants, NDJSON shard upload, v2
reconstructions, global deduplication queries) answer 404, which the client reads as "use the
other route" or "no deduplication"; never 500, which it would retry for minutes.
"""

from __future__ import annotations

import time
from urllib.parse import quote

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
from hubstead.services.repos import RepoHandle

router = Router()
CAS = "/cas"
V1 = "(?:/v1)?"  # hf_xet 1.2 and older call the CAS routes without /v1 (up to 1.5, /shards too)


def cas_url(hub: Hub, request: Request) -> str:
    return base_url(hub, request) + CAS


@router.route("GET", rf"/api/{REPO_TYPE}/{REPO_ID}/xet-(?P<scope>read|write)-token/{REVISION}")
def xet_token(ctx: Ctx, rtype: str, ns: str, name: str, scope: str, rev: str):
    """Mint a CAS token for one repository. The JSON body is read by hf_xet, the X-Xet-* headers
    by huggingface_hub: both are sent."""
    repo_type = RepoType.from_plural(rtype)
    if scope == "read":
        handle = open_repo(ctx, repo_type, ns, name, "download")  # a read token reads every file
        handle.git.resolve(rev)
    else:
        # a pull request's author may upload to its refs/pr/N (the commit checks who they are)
        for_pull_request = ctx.flag("create_pr") or rev.startswith("refs/pr/")
        handle = open_repo_for_upload(ctx, repo_type, ns, name, for_pull_request=for_pull_request)
        if rev not in ("None", "") and not ctx.flag("create_pr"):
            handle.git.resolve(rev)
    token, expires = ctx.hub.xet.issue_token(handle.row.id, scope)
    url = cas_url(ctx.hub, ctx.request)
    headers = {"X-Xet-Cas-Url": url, "X-Xet-Access-Token": token, "X-Xet-Token-Expiration": str(expires)}
    return json_response({"casUrl": url, "accessToken": token, "exp": expires}, headers=headers)


def batch_upload_action(ctx: Ctx, handle: RepoHandle, ref: object) -> dict:
    """The upload action of an LFS batch answered with transfer "xet": `href` is the write-token
    route (the git-xet transfer agent refreshes its token there), the headers carry the CAS URL
    and a first token. huggingface_hub 0.3x and 1.x up to 1.19 offer "xet" in the batch request
    and look only at the answer's `transfer`; their Xet upload then asks the token route itself."""
    name = ref.get("name") if isinstance(ref, dict) else None
    revision = name.removeprefix("refs/heads/") if isinstance(name, str) and name else "main"
    token, expires = ctx.hub.xet.issue_token(handle.row.id, "write")
    # The batch lets readers with a write token upload (for pull requests): so does the route.
    href = f"{ctx.base_url}/api/{handle.type.plural}/{handle.id}/xet-write-token/{quote(revision, safe='')}?create_pr=1"
    headers = {"X-Xet-Cas-Url": cas_url(ctx.hub, ctx.request), "X-Xet-Access-Token": token,
               "X-Xet-Token-Expiration": str(expires)}
    return {"href": href, "header": headers, "expires_in": max(0, expires - int(time.time()))}


@router.route("POST", rf"{CAS}{V1}/xorbs/(?P<prefix>[^/]+)/(?P<xorb>[0-9a-f]{{64}})")
async def upload_xorb(hub: Hub, request: Request, prefix: str, xorb: str) -> Response:
    hub.xet.check_token(request.headers.get("authorization"), "write")
    data = await read_body(request)
    inserted = await run_in_threadpool(hub.xet.store_xorb, xorb, data)
    return json_response({"was_inserted": inserted})


@router.route("POST", rf"{CAS}{V1}/shards")
async def upload_shard(hub: Hub, request: Request) -> Response:
    token = hub.xet.check_token(request.headers.get("authorization"), "write")
    data = await read_body(request)
    result = await run_in_threadpool(hub.xet.register_shard, token, data)
    return json_response({"result": result})


@router.route("GET", rf"{CAS}{V1}/reconstructions/(?P<file>[0-9a-f]{{64}})")
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


@router.route("GET", rf"{CAS}{V1}/chunks/(?P<prefix>[^/]+)/(?P<chunk>[0-9a-f]{{64}})")
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
