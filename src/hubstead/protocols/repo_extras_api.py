"""Repository extras of the Hub API, and clean answers for the Hub features this hub lacks.

- `POST /api/{type}s/{id}/duplicate` (`HfApi.duplicate_repo`): a copy with the whole history.
- `GET /api/models/{id}/safetensors-metadata/{index}` (`get_sharded_safetensors_metadata`).
- `POST /uploads` (`upload_attachment`) and `GET /-/uploads/{file}`, the URLs it returns.
- Features the Hub has and this hub does not (kernel repositories, dataset leaderboards, Space
  templates and semantic search) answer a 4xx in the Hub's format that says so, instead of a
  misleading "Repository not found" from the catch-all routes.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse

from hubstead.domain.errors import BadRequest, NotFound, PayloadTooLarge, RepoNotFound, Unauthorized
from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.hub import Hub
from hubstead.protocols.http import REPO_ID, REPO_TYPE, Ctx, Router, authenticate, base_url, json_response, open_repo
from hubstead.services.attachments import VIDEO_LIMIT
from hubstead.services.repos import RepoExists

router = Router()
API_REPO = rf"/api/{REPO_TYPE}/{REPO_ID}"
SPACE_RUNTIME_OPTIONS = ("hardware", "sleepTimeSeconds", "secrets", "variables", "volumes")
KERNELS_UNSUPPORTED = "Kernel repositories are not supported on this hub"


# -- duplication ------------------------------------------------------------------------------


@router.route("POST", rf"{API_REPO}/duplicate")
def duplicate_repo(ctx: Ctx, rtype: str, ns: str, name: str):
    """The body is `{"repository": "namespace/name", "visibility"?: "public" | "private"}`; the
    caller must be able to download the source and create repositories in the namespace."""
    repo_type = RepoType.from_plural(rtype)
    source = open_repo(ctx, repo_type, ns, name, "download")
    if ctx.principal is None:
        raise Unauthorized("You must be signed in to duplicate a repository")
    body = ctx.json() if ctx.body else {}
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    target = body.get("repository")
    if not isinstance(target, str):
        raise BadRequest("'repository' is required: the id of the new repository, 'namespace/name'")
    target_id = RepoId.parse(target)
    private = body.get("private")
    if private is not None and not isinstance(private, bool):
        raise BadRequest("'private' must be a boolean")
    visibility = body.get("visibility")
    if visibility is not None:
        if visibility not in ("public", "private"):
            raise BadRequest("'visibility' must be 'public' or 'private' ('protected' Spaces are not supported on this hub)")
        private = visibility == "private"
    runtime = [key for key in SPACE_RUNTIME_OPTIONS if body.get(key) is not None]
    if runtime:
        raise BadRequest(f"Spaces are stored but not run on this hub: {', '.join(runtime)} cannot be set")
    if body.get("resourceGroupId") is not None:
        raise BadRequest("Resource groups are not supported on this hub")
    try:
        handle = ctx.hub.duplicator.duplicate(ctx.principal, source, target_id, private)
    except RepoExists as exists:
        url = f"{ctx.base_url}/{repo_type.url_prefix}{exists.repo_id}"
        return json_response({"error": exists.message, "url": url}, 409, headers={"X-Error-Message": exists.message})
    return json_response({"url": f"{ctx.base_url}/{repo_type.url_prefix}{handle.id}", "filesCopyPending": False})


# -- safetensors ------------------------------------------------------------------------------


@router.route("GET", r"/api/models/(?P<ns>[^/]+)/(?P<name>[^/]+)/safetensors-metadata/(?P<path>.+)")
def sharded_safetensors_metadata(ctx: Ctx, ns: str, name: str, path: str):
    """The index (less its weight_map) and every shard's header, on `main` (or `?revision=`)."""
    handle = open_repo(ctx, RepoType.MODEL, ns, name, "download")
    return json_response(ctx.hub.weights.sharded_metadata(handle, ctx.query.get("revision") or "main", path))


# -- attachments ------------------------------------------------------------------------------


@router.route("POST", r"/uploads")
async def upload_attachment(hub: Hub, request: Request):
    """The bytes are the body, their type the Content-Type; answers the file's URL as text."""
    principal = await run_in_threadpool(authenticate, hub, request.headers.get("authorization"))
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > VIDEO_LIMIT:
        raise PayloadTooLarge(f"Attachments must be smaller than {VIDEO_LIMIT // (1024 * 1024)} MB")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > VIDEO_LIMIT:
            raise PayloadTooLarge(f"Attachments must be smaller than {VIDEO_LIMIT // (1024 * 1024)} MB")
        chunks.append(chunk)
    name = await run_in_threadpool(hub.attachments.store, principal, request.headers.get("content-type", ""), b"".join(chunks))
    return PlainTextResponse(f"{base_url(hub, request)}/-/uploads/{name}")


@router.route("GET HEAD", r"/-/uploads/(?P<file>[^/]+)")
def attachment(ctx: Ctx, file: str):
    path, content_type = ctx.hub.attachments.open(file)
    return FileResponse(path, media_type=content_type, headers={
        "Cache-Control": "public, max-age=31536000, immutable",  # named by content: never changes
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    })


# -- features this hub does not have ----------------------------------------------------------


@router.route("GET POST PUT DELETE HEAD", r"/api/kernels(?:/.*)?")
def kernels_api(ctx: Ctx):
    """No kernel repository exists here: `kernel_info` raises RepositoryNotFoundError with this
    message, and `repo_exists(..., repo_type="kernel")` is False."""
    raise RepoNotFound(KERNELS_UNSUPPORTED)


@router.route("GET HEAD", r"/kernels/[^/]+/[^/]+/resolve/.*")
def kernels_resolve(ctx: Ctx):
    raise RepoNotFound(KERNELS_UNSUPPORTED)


@router.route("GET", r"/api/datasets/(?P<ns>[^/]+)/(?P<name>[^/]+)/leaderboard")
def dataset_leaderboard(ctx: Ctx, ns: str, name: str):
    open_repo(ctx, RepoType.DATASET, ns, name)  # a repository the caller may not see stays unseen
    raise NotFound("Dataset leaderboards are not supported on this hub")


@router.route("GET", r"/api/spaces/templates")
def space_templates(ctx: Ctx):
    """This hub offers no Space templates: an empty list, which `list_space_templates` reads."""
    return json_response({"templates": []})


@router.route("GET", r"/api/spaces/semantic-search")
def space_semantic_search(ctx: Ctx):
    raise BadRequest("Semantic search of Spaces is not supported on this hub: list Spaces with ?search= instead")
