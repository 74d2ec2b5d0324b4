"""Uploading files from the browser (`{repo}/upload/{rev}[/{folder}]`).

The page (upload.js) does what huggingface_hub does, through web routes of this module that call
the same services as the API, with the session cookie and the `X-CSRF-Token` header:

1. `-/preupload`: which files go to LFS and which stay in git (`FileService.preupload`, the
   API's preupload), from each file's size and first 512 bytes;
2. `-/lfs`: the LFS batch answer for the LFS files (`LfsService.batch`), whose signed URLs the
   browser PUTs the bytes to, one request per part past the multipart threshold, so that large
   files go from the browser straight to the LFS upload routes and the blob store, never through
   this process' memory; then `-/verify` checks each object arrived;
3. `-/commit`: the commit, in the API's NDJSON form, with the small (regular) files inline in
   base64 and the LFS files as references (`CommitService.commit`). The body is spooled to a
   temporary file past a megabyte (`COMMIT_BODY`) and refused past its limit.

Writers commit to the branch or to a new branch; anyone else who may see the repository opens a
pull request, as on the Hub. A failed commit leaves the repository as it was: a new branch made
for it is deleted again, and uploaded LFS objects nobody references are not part of any revision.

The page needs JavaScript (files are hashed and sent by the browser); without it, it says so and
shows the `hf upload` command that does the same.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.responses import FileResponse, RedirectResponse, Response

from hubstead.domain.commit_ops import AddFile, AddLfsFile, CommitRequest
from hubstead.domain.errors import BadRequest, HubError, NotFound
from hubstead.protocols.http import Ctx, json_response, raw_path
from hubstead.protocols.routing import SMALL_BODY, Body, Handler, MiB, NeedRule, Router
from hubstead.protocols.schemas import parse_ndjson_commit
from hubstead.protocols.urls import WEB
from hubstead.services.access import Need
from hubstead.services.commits import CommitResult
from hubstead.settings import math_settings_from_env
from hubstead.web.templating import render
from hubstead.web.views.repo import Links, repo_context

router = Router(sessions=True)

COMMIT_LIMIT = 64 * MiB
COMMIT_BODY = Body(
    limit=COMMIT_LIMIT,
    spool=True,
    too_large=(
        "The small files sent inside the commit add up to more than 64 MB: "
        "upload them in several commits"
    ),
)
JSON_BODY = Body(limit=SMALL_BODY)  # the file list of a preupload, an LFS batch, a verify
MODES = ("direct", "branch", "pr")
UPLOAD = "/upload/{rev:rev}"

# hash-wasm's SHA-256 (an npm package, package.json): the browser hashes LFS files in slices.
HASH_WASM_SCRIPT = "sha256.umd.min.js"
# a wheel carries a copy here (setup.py copies it from node_modules/hash-wasm/dist)
_PACKAGED_HASH_WASM = Path(__file__).resolve().parents[1] / "vendor" / "hash-wasm"
_CHECKOUT_HASH_WASM = Path(__file__).resolve().parents[4] / "node_modules" / "hash-wasm" / "dist"


def _mode(ctx: Ctx) -> str:
    mode = ctx.query.get("mode", "direct")
    if mode not in MODES:
        raise BadRequest(f"Unknown upload mode {mode!r}: one of {', '.join(MODES)}")
    return mode


def _commit_need(ctx: Ctx, params: dict[str, str]) -> Need:
    """A pull request needs what proposing a change needs (any reader, as on the Hub); a commit
    to the branch or to a new branch needs write access."""
    return Need.UPLOAD if _mode(ctx) == "pr" else Need.WRITE


def upload_route(path: str, need: NeedRule, body: Body = JSON_BODY) -> Callable[[Handler], Handler]:
    """A POST of the page's script: JSON in memory up to SMALL_BODY, unless `body` says more."""
    return router.repo_route("POST", UPLOAD + path, form=WEB, need=need, body=body)


# --------------------------------------------------------------------------- the hashing script


@cache
def hash_wasm_script() -> Path:
    """hash-wasm's sha256 script: in HUBSTEAD_NODE_MODULES when it is set, else the wheel's copy,
    else the checkout's node_modules. Missing is an error that says how to install it."""
    modules = math_settings_from_env().node_modules
    folders = (
        [modules / "hash-wasm" / "dist"]
        if modules is not None
        else [_PACKAGED_HASH_WASM, _CHECKOUT_HASH_WASM]
    )
    for folder in folders:
        if (folder / HASH_WASM_SCRIPT).is_file():
            return folder / HASH_WASM_SCRIPT
    looked = ", ".join(str(folder) for folder in folders)
    raise HubError(
        f"The hash-wasm npm package is missing (looked in {looked}): run `npm ci` in the checkout",
        status=500,
    )


@cache
def _hash_wasm_digest() -> str:
    return hashlib.sha256(hash_wasm_script().read_bytes()).hexdigest()[:12]


def hash_wasm_url() -> str:
    """Content-hashed, so it can be cached for good, like the other assets."""
    return f"/-/static/hash-wasm/sha256.{_hash_wasm_digest()}.js"


@router.route("GET HEAD", r"/-/static/hash-wasm/sha256\.(?P<digest>[0-9a-f]{12})\.js")
def hash_wasm_asset(ctx: Ctx, digest: str) -> Response:
    if digest != _hash_wasm_digest():
        raise NotFound("No such asset")
    return FileResponse(
        hash_wasm_script(),
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


# --------------------------------------------------------------------------- the page


def _branches(ctx: Ctx) -> list[str]:
    return [branch["name"] for branch in ctx.hub.refs.list(ctx.repo, include_prs=False)["branches"]]


@router.repo_route("GET", UPLOAD + "(?:/{path:any})?", form=WEB, need=Need.READ)
def upload_page(ctx: Ctx, rev: str, path: str = "") -> Response:
    if ctx.principal is None:
        return RedirectResponse(f"/login?next={quote(raw_path(ctx.request))}", status_code=303)
    if rev not in _branches(ctx):
        raise NotFound(f"No branch {rev} in {ctx.repo.id}: files are uploaded to a branch")
    context = repo_context(ctx, "files")
    links: Links = context["links"]
    action = f"{links.base}/upload/{quote(rev, safe='')}"
    return render(
        ctx,
        "repo/upload.html",
        **context,
        rev=rev,
        folder=path.strip("/"),
        action=action,
        tree_href=links.tree(rev, path.strip("/")),
        hash_wasm=hash_wasm_url(),
        commit_limit=COMMIT_LIMIT,
        endpoint=ctx.base_url,
    )


# --------------------------------------------------------------------------- 1. preupload


@upload_route("/-/preupload", Need.UPLOAD)
def preupload(ctx: Ctx, rev: str) -> Response:
    """LFS or regular for each file, as the API's preupload decides it (`commitOid`: the head
    the page saw, which the commit names as its parent)."""
    body = ctx.json_object()
    files = body.get("files") if isinstance(body, dict) else None
    return json_response(ctx.hub.files.preupload(ctx.repo, rev, files, None))


# --------------------------------------------------------------------------- 2. LFS


def _local(url: str, base: str) -> str:
    """A URL of this hub as a path: the browser sends it to the origin it loaded the page from."""
    return url[len(base) :] if url.startswith(base + "/") else url


@upload_route("/-/lfs", Need.UPLOAD)
def lfs_batch(ctx: Ctx, rev: str) -> Response:
    """The LFS batch answer for uploads: per object, nothing (already in this repository) or its
    signed upload URL (basic), or its parts' URLs and completion URL (multipart); the verify
    action is this page's `-/verify`, which the session may call."""
    body = ctx.json_object()
    objects = body.get("objects") if isinstance(body, dict) else None
    if not isinstance(objects, list):
        raise BadRequest("'objects' must be a list")
    answer = ctx.hub.lfs.batch(ctx.repo, "upload", objects, ctx.urls)
    base = ctx.base_url
    verify = f"{Links(ctx.repo).base}/upload/{quote(rev, safe='')}/-/verify"
    for item in answer["objects"]:
        actions = item.get("actions")
        if not actions:
            continue
        upload = actions["upload"]
        upload["href"] = _local(upload["href"], base)
        header = upload.get("header") or {}
        for key, value in header.items():
            if key.isdigit():
                header[key] = _local(value, base)
        actions["verify"] = {"href": verify}
    return json_response(answer)


@upload_route("/-/verify", Need.UPLOAD)
def lfs_verify(ctx: Ctx, rev: str) -> Response:
    ctx.hub.lfs.verify(ctx.repo, ctx.json_object())
    return json_response({"message": "ok"})


# --------------------------------------------------------------------------- 3. the commit


def _added_files(ctx: Ctx) -> CommitRequest:
    """The NDJSON commit, read line by line from its spool file: files added, nothing else."""
    request = parse_ndjson_commit(ctx.body_lines())
    if not request.operations:
        raise BadRequest("Choose at least one file to upload")
    if not all(isinstance(op, AddFile | AddLfsFile) for op in request.operations):
        raise BadRequest("This page adds files only: delete files from the file's page")
    return request


def _commit_to_new_branch(ctx: Ctx, branch: str, rev: str, request: CommitRequest) -> CommitResult:
    """Branch off `rev`, then commit; a branch whose commit failed is deleted again."""
    principal = ctx.principal
    assert principal is not None  # Need.WRITE
    if not branch:
        raise BadRequest("Name the new branch")
    ctx.hub.refs.create_branch(ctx.repo, branch, rev)
    try:
        return ctx.hub.commits.commit(ctx.repo, principal, branch, request, False)
    except HubError:
        ctx.hub.refs.delete_branch(ctx.repo, branch)
        raise


@upload_route("/-/commit", _commit_need, COMMIT_BODY)
def commit(ctx: Ctx, rev: str) -> Response:
    """The commit (`mode=direct`), on a new branch (`mode=branch&branch=…`) or as a pull
    request (`mode=pr`); answers where to go next."""
    principal = ctx.principal
    assert principal is not None  # WRITE and UPLOAD both need a signed-in caller
    request = _added_files(ctx)
    mode = _mode(ctx)
    links = Links(ctx.repo)
    target = rev
    if mode == "branch":
        target = (ctx.query.get("branch") or "").strip()
        result = _commit_to_new_branch(ctx, target, rev, request)
    else:
        result = ctx.hub.commits.commit(ctx.repo, principal, rev, request, mode == "pr")
    data: dict[str, Any] = {
        "commitOid": result.oid,
        "commitUrl": links.commit(result.oid),
        "branch": None if result.pr_num is not None else target,
        "url": links.tree(target, (ctx.query.get("folder") or "").strip("/")),
    }
    if result.pr_num is not None:
        data["pullRequestNum"] = result.pr_num
        data["url"] = data["pullRequestUrl"] = links.discussion(result.pr_num)
    return json_response(data)
