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
from starlette.responses import FileResponse, PlainTextResponse

from hubstead.domain.errors import BadRequest, NotFound, RepoNotFound, Unauthorized
from hubstead.domain.repo_ids import RepoId
from hubstead.domain.revisions import check_revision
from hubstead.protocols.http import Ctx, conflict_with_url, json_response
from hubstead.protocols.routing import Body, Router, read_body
from hubstead.protocols.schemas import RepoDuplicate, parse_body
from hubstead.protocols.urls import API_DATASETS, API_MODELS, RepoName
from hubstead.services.access import Need
from hubstead.services.attachments import VIDEO_LIMIT
from hubstead.services.repos import RepoExists

router = Router()
ATTACHMENT_BODY = Body(
    limit=VIDEO_LIMIT,
    too_large=f"Attachments must be smaller than {VIDEO_LIMIT // (1024 * 1024)} MB",
)
SPACE_RUNTIME_OPTIONS = ("hardware", "sleepTimeSeconds", "secrets", "variables", "volumes")
KERNELS_UNSUPPORTED = "Kernel repositories are not supported on this hub"


# -- duplication ------------------------------------------------------------------------------


@router.repo_route("POST", "/duplicate", need=Need.DOWNLOAD)
def duplicate_repo(ctx: Ctx):
    """The body is `{"repository": "namespace/name", "visibility"?: "public" | "private"}`; the
    caller must be able to download the source and create repositories in the namespace."""
    source = ctx.repo
    repo_type = source.type
    if ctx.principal is None:
        raise Unauthorized("You must be signed in to duplicate a repository")
    body = parse_body(ctx, RepoDuplicate)
    target_id = RepoId.parse(body.repository)
    private = body.private
    if body.visibility is not None:
        private = body.visibility == "private"
    runtime = [key for key in SPACE_RUNTIME_OPTIONS if getattr(body, key) is not None]
    if runtime:
        raise BadRequest(
            f"Spaces are stored but not run on this hub: {', '.join(runtime)} cannot be set"
        )
    if body.resourceGroupId is not None:
        raise BadRequest("Resource groups are not supported on this hub")
    try:
        handle = ctx.hub.duplicator.duplicate(ctx.principal, source, target_id, private)
    except RepoExists as exists:
        return conflict_with_url(
            exists.message, ctx.url_for("repo.page", repo=RepoName(repo_type, exists.repo_id))
        )
    return json_response({"url": ctx.url_for("repo.page", repo=handle), "filesCopyPending": False})


# -- safetensors ------------------------------------------------------------------------------


@router.repo_route("GET", "/safetensors-metadata/{path:path}", form=API_MODELS, need=Need.DOWNLOAD)
def sharded_safetensors_metadata(ctx: Ctx, path: str):
    """The index (less its weight_map) and every shard's header, on `main` (or `?revision=`)."""
    revision = check_revision(ctx.query.get("revision") or "main")
    return json_response(ctx.hub.weights.sharded_metadata(ctx.repo, revision, path))


# -- attachments ------------------------------------------------------------------------------


@router.route("POST", r"/uploads")
async def upload_attachment(ctx: Ctx):
    """The bytes are the body, their type the Content-Type; answers the file's URL as text.

    The caller is checked before the body (up to 50 MB) is read, so an anonymous or read-only
    caller cannot make the hub take in a body it will refuse."""
    principal = await run_in_threadpool(lambda: ctx.principal)
    ctx.hub.attachments.check_uploader(principal)
    await read_body(ctx, ATTACHMENT_BODY)
    content_type = ctx.request.headers.get("content-type", "")
    name = await run_in_threadpool(ctx.hub.attachments.store, principal, content_type, ctx.body)
    return PlainTextResponse(ctx.url_for("attachment", file=name))


@router.route("GET HEAD", r"/-/uploads/{file}", name="attachment")
def attachment(ctx: Ctx, file: str):
    path, content_type = ctx.hub.attachments.open(file)
    return FileResponse(
        path,
        media_type=content_type,
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",  # named by content: never changes
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


# -- features this hub does not have ----------------------------------------------------------


@router.route("GET POST PUT DELETE HEAD", r"/api/kernels(?:/.*)?")
def kernels_api(ctx: Ctx):
    """No kernel repository exists here: `kernel_info` raises RepositoryNotFoundError with this
    message, and `repo_exists(..., repo_type="kernel")` is False."""
    raise RepoNotFound(KERNELS_UNSUPPORTED)


@router.route("GET HEAD", r"/kernels/[^/]+/[^/]+/resolve/.*")
def kernels_resolve(ctx: Ctx):
    raise RepoNotFound(KERNELS_UNSUPPORTED)


@router.repo_route("GET", "/leaderboard", form=API_DATASETS, need=Need.READ)  # unseen stays unseen
def dataset_leaderboard(ctx: Ctx):
    raise NotFound("Dataset leaderboards are not supported on this hub")


@router.route("GET", r"/api/spaces/templates")
def space_templates(ctx: Ctx):
    """This hub offers no Space templates: an empty list, which `list_space_templates` reads."""
    return json_response({"templates": []})


@router.route("GET", r"/api/spaces/semantic-search")
def space_semantic_search(ctx: Ctx):
    raise BadRequest(
        "Semantic search of Spaces is not supported on this hub: list Spaces with ?search= instead"
    )


@router.route("GET", r"/api/agent-harnesses")
def agent_harnesses(ctx: Ctx):
    """The `hf` CLI asks which coding-agent harnesses the hub knows (to label its user agent):
    this hub knows none, which is a valid answer and saves a 404 on every command."""
    return json_response({"standardEnvVars": [], "harnesses": {}})
