"""The Git LFS API: batch negotiation and verify (authenticated), and the transfers themselves
(authorised by the signature in their URL, because the Hub client sends them without auth)."""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from hubstead.domain.errors import BadRequest, HubError, NotFound
from hubstead.domain.hashing import is_sha256
from hubstead.protocols.http import Ctx, json_response
from hubstead.protocols.objects import large_file_response
from hubstead.protocols.routing import NeedFromBody, Router
from hubstead.protocols.schemas import (
    LfsBatch,
    LfsCompletion,
    LfsObject,
    ascii_digits,
    parse_body,
)
from hubstead.protocols.urls import GIT
from hubstead.protocols.xet_upload import batch_upload_action
from hubstead.services.access import Need

router = Router()
LFS_JSON = "application/vnd.git-lfs+json"
LFS_OBJECTS = "/info/lfs/objects"
OBJECT = "/-/lfs/{repo:int}/{oid:sha256}"
BODY_CUT = "The request body ended early or is malformed (a bad chunk size, a cut connection)"


def _batch_need(ctx: Ctx, params: dict[str, str]) -> Need:
    """The batch request does not say whether uploaded objects are for a branch or a pull request
    (the client omits `ref` for the latter), so uploads need what a pull request needs. Download
    URLs hand out file contents: the gate of a gated repository applies."""
    body = ctx.json_object()
    return (
        Need.UPLOAD
        if isinstance(body, dict) and body.get("operation") == "upload"
        else Need.DOWNLOAD
    )


@router.repo_route(
    "POST", LFS_OBJECTS + "/batch", form=GIT, need=NeedFromBody(_batch_need, floor=Need.DOWNLOAD)
)
def batch(ctx: Ctx) -> Response:
    handle = ctx.repo
    body = parse_body(ctx, LfsBatch)
    if body.hash_algo != "sha256":
        raise BadRequest("Only the sha256 hash algorithm is supported")
    # Offer Xet only to those that ask for it: huggingface_hub 0.3x-1.19 with hf_xet (and Xet not
    # disabled) lists "xet" in `transfers`; git-lfs without the git-xet agent never does.
    xet_upload = None
    if body.operation == "upload" and "xet" in (body.transfers or []):
        ref = body.ref.model_dump() if body.ref is not None else None
        xet_upload = batch_upload_action(ctx, handle, ref)
    result = ctx.hub.lfs.batch(
        handle, body.operation, body.objects, ctx.urls, xet_upload=xet_upload
    )
    return json_response(result, headers={"Content-Type": LFS_JSON})


@router.repo_route("POST", LFS_OBJECTS + "/verify", form=GIT, need=Need.READ, name="lfs.verify")
def verify(ctx: Ctx) -> Response:
    ctx.hub.lfs.verify(ctx.repo, parse_body(ctx, LfsObject).model_dump())
    return json_response({"message": "ok"}, headers={"Content-Type": LFS_JSON})


def _signed_args(request: Request, repo: str, oid: str) -> tuple[int, int]:
    if not is_sha256(oid) or ascii_digits(repo) is None:
        raise NotFound("Unknown object")
    size = ascii_digits(request.query_params.get("size"))  # 18 digits at most: within BIGINT
    if size is None:
        raise BadRequest("Missing 'size'")
    return int(repo), int(size)


@router.route("PUT", OBJECT, name="lfs.upload")
async def upload(ctx: Ctx, repo: str, oid: str) -> Response:
    """The object's bytes, streamed to the blob store while hashed (never held in memory)."""
    repo_id, size = _signed_args(ctx.request, repo, oid)
    q = ctx.query
    ctx.hub.signer.verify(q.get("sig"), ascii_digits(q.get("exp")), "upload", repo_id, oid, size)
    try:
        await ctx.hub.lfs.upload(repo_id, oid, size, ctx.request.stream())
    except ClientDisconnect:  # what the server reports for a malformed chunked body too
        raise BadRequest(BODY_CUT) from None
    return Response(status_code=200)


@router.route("PUT", OBJECT + "/part/{number:int}", name="lfs.part")
async def upload_part(ctx: Ctx, repo: str, oid: str, number: str) -> Response:
    repo_id, size = _signed_args(ctx.request, repo, oid)
    part = ascii_digits(number)
    if part is None:
        raise BadRequest(f"Invalid part number {number[:20]}")
    q = ctx.query
    ctx.hub.signer.verify(
        q.get("sig"), ascii_digits(q.get("exp")), "part", repo_id, oid, size, int(part)
    )
    try:
        etag = await ctx.hub.lfs.upload_part(repo_id, oid, size, int(part), ctx.request.stream())
    except ClientDisconnect:
        raise BadRequest(BODY_CUT) from None
    return Response(status_code=200, headers={"ETag": f'"{etag}"'})


@router.route("POST", OBJECT + "/complete", name="lfs.complete")
def complete(ctx: Ctx, repo: str, oid: str) -> Response:
    repo_id, size = _signed_args(ctx.request, repo, oid)
    q = ctx.query
    upload_id = q.get("upload") or ""
    ctx.hub.signer.verify(
        q.get("sig"), ascii_digits(q.get("exp")), "complete", repo_id, oid, size, upload_id
    )
    body = parse_body(ctx, LfsCompletion)
    if body.oid not in (None, oid):
        raise BadRequest("The completion body does not match this object")
    parts = [part.model_dump() for part in body.parts]
    ctx.hub.lfs.complete_multipart(repo_id, oid, size, parts, upload_id)
    return json_response({"message": "ok"})


@router.route("GET HEAD", OBJECT, name="lfs.download")
def download(ctx: Ctx, repo: str, oid: str) -> Response:
    if ascii_digits(repo) is None:
        raise NotFound("Unknown object")
    q = ctx.query
    ctx.hub.signer.verify(q.get("sig"), ascii_digits(q.get("exp")), "download", int(repo), oid)
    blobs = ctx.hub.blobs
    path = blobs.local_path(oid)
    xet_hash = ctx.hub.files.xet_hash(oid) if path is None else None
    # a bucket in proxy delivery: streamed from there (its size is one HEAD)
    stored_size = blobs.size(oid) if path is None and xet_hash is None and blobs.remote else None
    if path is None and xet_hash is None and stored_size is None:
        raise HubError("Object missing from storage", status=404)
    if path is not None:
        size = path.stat().st_size
    elif stored_size is not None:
        size = stored_size
    else:
        size = ctx.hub.xet.file_size(None, xet_hash)
    return large_file_response(
        ctx.hub,
        ctx.request,
        size,
        path,
        xet_hash,
        {"ETag": f'"{oid}"'},
        oid if stored_size is not None else None,
    )
