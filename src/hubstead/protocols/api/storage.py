"""Storage routes of the Hub API: super-squash, and listing, deleting and duplicating LFS files.

`HfApi.super_squash_history`, `list_lfs_files`, `permanently_delete_lfs_files` and the
cross-repository `CommitOperationCopy` of `create_commit` (`_duplicate_lfs_files`) call these.
All but duplication change or reveal what a repository stores, so they need write access.
"""

from __future__ import annotations

from hubstead.domain.errors import BadRequest, InvalidName
from hubstead.domain.hashing import is_sha256
from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.domain.revisions import check_revision
from hubstead.protocols.http import Ctx, json_response
from hubstead.protocols.routing import Router, open_repo
from hubstead.protocols.schemas import (
    LfsFilesDelete,
    LfsFilesDuplicate,
    RepoRef,
    SuperSquash,
    lenient_int,
    parse_body,
)
from hubstead.services import access
from hubstead.services.access import Need
from hubstead.services.lfs_files import MAX_BATCH, MAX_PAGE, LfsFileInfo
from hubstead.services.repos import RepoHandle, iso

router = Router()


@router.repo_route("POST", "/super-squash/{branch:path}", need=Need.WRITE)
def super_squash(ctx: Ctx, branch: str):
    handle = ctx.repo
    check_revision(branch, "branch name")
    message = (parse_body(ctx, SuperSquash).message or "").strip()
    message = message or f"Super-squash branch '{branch}'"
    account = ctx.hub.accounts.account(ctx.principal.name)
    commit = ctx.hub.refs.super_squash(
        handle, ctx.principal, branch, message + "\n", account.email if account else None
    )
    return json_response({"commitOid": commit})


@router.repo_route("GET", "/lfs-files", need=Need.WRITE)
def list_lfs_files(ctx: Ctx):
    handle = ctx.repo
    cursor = ctx.query.get("cursor") or None
    if cursor is not None and not is_sha256(cursor):
        raise BadRequest("Invalid cursor")
    size = max(1, min(MAX_PAGE, lenient_int(ctx.query.get("limit"), MAX_PAGE)))
    files, next_cursor = ctx.hub.lfs_files.page(handle, cursor, size)
    headers = {"Link": ctx.next_link(cursor=next_cursor)} if next_cursor else {}
    return json_response([_lfs_file(item) for item in files], headers=headers)


def _lfs_file(item: LfsFileInfo) -> dict:
    """What `LFSFileInfo` reads: `fileOid` (what deletion takes), `oid`, `size`, `pushedAt`,
    `filename` and `ref` (None when no ref reaches the object any more); `xetHash` when known."""
    data = {
        "fileOid": item.oid,
        "oid": item.oid,
        "size": item.size,
        "pushedAt": iso(item.pushed_at),
        "filename": item.filename,
        "ref": item.ref,
    }
    if item.xet_hash is not None:
        data["xetHash"] = item.xet_hash
    return data


@router.repo_route("POST", "/lfs-files/batch", need=Need.WRITE)
def delete_lfs_files(ctx: Ctx):
    handle = ctx.repo
    deletions = parse_body(ctx, LfsFilesDelete).deletions
    oids = _oids(deletions.sha, "'deletions.sha'")
    deleted = ctx.hub.lfs_files.delete(handle, oids, deletions.rewriteHistory)
    return json_response({"deleted": deleted})


@router.repo_route("POST", "/lfs-files/duplicate", need=Need.DOWNLOAD)  # a copy hands out the files
def duplicate_lfs_files(ctx: Ctx):
    """Called on the source repository, naming the target: the caller must read the source and
    be able to upload to the target (read access and a write token, as for LFS uploads)."""
    source = ctx.repo
    body = parse_body(ctx, LfsFilesDuplicate)
    target = _target(ctx, body.target)
    oids = _oids([item.sha256 for item in body.files], "'files[].sha256'")
    failures = ctx.hub.lfs_files.duplicate(source, target, oids)
    return json_response({"failed": [{"sha256": f.oid, "error": f.error} for f in failures]})


def _target(ctx: Ctx, target: RepoRef) -> RepoHandle:
    """The target named in the body: resolved with the router's rules, then a write token (the
    links it gets are checked by the service: only objects the caller could upload anyway)."""
    repo_type = RepoType.parse(target.type)
    try:
        repo_id = RepoId.parse(target.name)
    except InvalidName:
        raise access.not_found(ctx.principal) from None
    handle = open_repo(ctx, repo_type, repo_id.namespace, repo_id.name, Need.READ)
    access.require_write_token(ctx.principal)
    return handle


def _oids(values: object, what: str) -> list[str]:
    if not isinstance(values, list) or len(values) > MAX_BATCH:
        raise BadRequest(f"{what} must be a list of at most {MAX_BATCH} SHA-256 ids")
    for value in values:
        if not isinstance(value, str) or not is_sha256(value):
            raise BadRequest(f"{what}: {value!r} is not a SHA-256 id")
    return list(dict.fromkeys(values))
