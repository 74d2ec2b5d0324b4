"""The Git LFS API: batch negotiation and verify (authenticated), and the transfers themselves
(authorised by the signature in their URL, because the Hub client sends them without auth)."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from hubstead.domain.errors import BadRequest, HubError, NotFound
from hubstead.domain.hashing import is_sha256
from hubstead.domain.repo_ids import RepoType
from hubstead.hub import Hub
from hubstead.protocols import xet_api
from hubstead.protocols.http import URL_PREFIX, Ctx, Router, json_response, open_repo, open_repo_for_upload, read_body
from hubstead.protocols.objects import large_file_response

router = Router()
LFS_JSON = "application/vnd.git-lfs+json"
LFS_REPO = rf"/{URL_PREFIX}(?P<ns>[^/]+)/(?P<name>[^/]+?)(?:\.git)?/info/lfs/objects"


def _repo_type(prefix: str | None) -> RepoType:
    return RepoType.from_plural(prefix) if prefix else RepoType.MODEL


@router.route("POST", rf"{LFS_REPO}/batch")
def batch(ctx: Ctx, ns: str, name: str, prefix: str | None = None):
    body = ctx.json()
    operation = body.get("operation")
    if operation == "upload":
        # The batch request does not say whether the objects are for a branch or a pull request
        # (the client omits `ref` for the latter), so uploads need what a pull request needs.
        handle = open_repo_for_upload(ctx, _repo_type(prefix), ns, name, for_pull_request=True)
    else:
        # Download URLs hand out file contents: the gate of a gated repository applies.
        handle = open_repo(ctx, _repo_type(prefix), ns, name, "download")
    if body.get("hash_algo", "sha256") != "sha256":
        raise BadRequest("Only the sha256 hash algorithm is supported")
    # Offer Xet only to those that ask for it: huggingface_hub 0.3x-1.19 with hf_xet (and Xet not
    # disabled) lists "xet" in `transfers`; git-lfs without the git-xet agent never does.
    transfers = body.get("transfers")
    xet_upload = None
    if operation == "upload" and isinstance(transfers, list) and "xet" in transfers:
        xet_upload = xet_api.batch_upload_action(ctx, handle, body.get("ref"))
    result = ctx.hub.lfs.batch(handle, operation, body.get("objects"), ctx.base_url, xet_upload=xet_upload)
    return json_response(result, headers={"Content-Type": LFS_JSON})


@router.route("POST", rf"{LFS_REPO}/verify")
def verify(ctx: Ctx, ns: str, name: str, prefix: str | None = None):
    handle = open_repo(ctx, _repo_type(prefix), ns, name, "read")
    ctx.hub.lfs.verify(handle, ctx.json())
    return json_response({"message": "ok"}, headers={"Content-Type": LFS_JSON})


def _signed_args(request: Request, repo: str, oid: str) -> tuple[int, int]:
    if not is_sha256(oid) or not repo.isdigit():
        raise NotFound("Unknown object")
    size = request.query_params.get("size", "")
    if not size.isdigit():
        raise BadRequest("Missing 'size'")
    return int(repo), int(size)


@router.route("PUT", r"/-/lfs/(?P<repo>\d+)/(?P<oid>[0-9a-f]{64})")
async def upload(hub: Hub, request: Request, repo: str, oid: str) -> Response:
    repo_id, size = _signed_args(request, repo, oid)
    q = request.query_params
    hub.signer.verify(q.get("sig"), q.get("exp"), "upload", repo_id, oid, size)
    await hub.lfs.upload(repo_id, oid, size, request.stream())
    return Response(status_code=200)


@router.route("PUT", r"/-/lfs/(?P<repo>\d+)/(?P<oid>[0-9a-f]{64})/part/(?P<number>\d+)")
async def upload_part(hub: Hub, request: Request, repo: str, oid: str, number: str) -> Response:
    repo_id, size = _signed_args(request, repo, oid)
    q = request.query_params
    hub.signer.verify(q.get("sig"), q.get("exp"), "part", repo_id, oid, size, int(number))
    etag = await hub.lfs.upload_part(repo_id, oid, size, int(number), request.stream())
    return Response(status_code=200, headers={"ETag": f'"{etag}"'})


@router.route("POST", r"/-/lfs/(?P<repo>\d+)/(?P<oid>[0-9a-f]{64})/complete")
async def complete(hub: Hub, request: Request, repo: str, oid: str) -> Response:
    repo_id, size = _signed_args(request, repo, oid)
    q = request.query_params
    hub.signer.verify(q.get("sig"), q.get("exp"), "complete", repo_id, oid, size)
    try:
        body = json.loads(await read_body(request) or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest("The request body is not valid JSON") from None
    if not isinstance(body, dict) or body.get("oid", oid) != oid:
        raise BadRequest("The completion body does not match this object")
    from starlette.concurrency import run_in_threadpool

    await run_in_threadpool(hub.lfs.complete_multipart, repo_id, oid, size, body.get("parts") or [])
    return json_response({"message": "ok"})


@router.route("GET HEAD", r"/-/lfs/(?P<repo>\d+)/(?P<oid>[0-9a-f]{64})")
def download(ctx: Ctx, repo: str, oid: str):
    q = ctx.query
    ctx.hub.signer.verify(q.get("sig"), q.get("exp"), "download", int(repo), oid)
    path = ctx.hub.blobs.local_path(oid)
    xet_hash = ctx.hub.files.xet_hash(oid) if path is None else None
    if path is None and xet_hash is None:
        raise HubError("Object missing from storage", status=404)
    size = path.stat().st_size if path is not None else ctx.hub.xet.file_size(None, xet_hash)
    return large_file_response(ctx.hub, ctx.request, size, path, xet_hash, {"ETag": f'"{oid}"'})
