"""Reading files out of a revision: resolve, tree listings, paths-info, and the preupload policy."""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import Row, bindparam, select

from hubstead.domain.errors import BadRequest, EntryNotFound, PayloadTooLarge
from hubstead.domain.paths import validate_path
from hubstead.domain.upload_policy import is_ignored, lfs_patterns, upload_mode
from hubstead.services.repos import RepoHandle
from hubstead.services.resolve_cache import MAX_CACHED_CONTENT, ResolveCache
from hubstead.services.xet import XetService
from hubstead.storage.blobstore import BlobStore
from hubstead.storage.database import Database
from hubstead.storage.gitrepo import CommitInfo, TreeEntry
from hubstead.storage.models import LfsObject, RepoLfsObject

MAX_PREUPLOAD_FILES = 1000
MAX_PATHS_INFO = 1000
TREE_PAGE = 1000
TREE_PAGE_EXPANDED = 50  # each entry of an expanded page walks history for its last commit


_LFS = LfsObject.__table__
_XET_HASH = select(_LFS.c.xet_hash).where(_LFS.c.oid == bindparam("oid"))
_LINKS = RepoLfsObject.__table__
_LINKED_OBJECT = (
    select(_LFS.c.xet_hash)
    .join(_LINKS, _LINKS.c.oid == _LFS.c.oid)
    .where(_LFS.c.oid == bindparam("oid"), _LINKS.c.repo_id == bindparam("repo"))
)


@dataclass(frozen=True)
class ResolvedFile:
    commit: str
    entry: TreeEntry
    blob_path: Path | None  # the LFS object on local disk
    content: bytes | None  # the git blob of a regular file
    xet_hash: str | None = (
        None  # the Xet file holding the bytes, when they were uploaded through Xet
    )
    # the LFS object's file status (size, mtime: the answer's headers without a thread hop);
    # blob files are immutable, named by their content
    blob_stat: os.stat_result | None = None
    in_store: bool = False  # the bytes are a blob of a remote store (a bucket), not on this disk


@dataclass(frozen=True)
class TreePage:
    """One page of a folder listing, with what `expand` and the Xet index add to its entries."""

    entries: list[TreeEntry]
    last_commits: dict[str, CommitInfo]  # by path, when expanded
    xet_hashes: dict[str, str]  # by path
    next_offset: int | None  # where the next page starts, None on the last page


def tree_page_size(expand: bool, limit: str | None) -> int:
    page = TREE_PAGE_EXPANDED if expand else TREE_PAGE
    if limit and limit.isdigit():
        page = max(1, min(page, int(limit)))
    return page


class FileService:
    def __init__(
        self, db: Database, blobs: BlobStore, xet: XetService, cache: ResolveCache | None = None
    ):
        self.db = db
        self.blobs = blobs
        self.xet = xet
        self.cache = cache or ResolveCache(0)

    def xet_hash(self, oid: str) -> str | None:
        with self.db.engine.connect() as connection:
            row = connection.execute(_XET_HASH, {"oid": oid}).first()
        return row.xet_hash if row is not None else None

    def _linked_object(self, repo_row_id: int, oid: str) -> Row | None:
        """The object's row (its Xet hash) if it is linked to this repository, else None."""
        with self.db.engine.connect() as connection:
            return connection.execute(_LINKED_OBJECT, {"oid": oid, "repo": repo_row_id}).first()

    def xet_hashes(self, entries: list[TreeEntry]) -> dict[str, str]:
        """Xet hashes of the LFS files among `entries`, by path (for `xetHash` in listings)."""
        oids = {e.lfs.oid: e.path for e in entries if e.lfs is not None}
        if not oids:
            return {}
        found: dict[str, str] = {}
        with self.db.engine.connect() as connection:
            batch = list(oids)
            for i in range(0, len(batch), 500):
                rows = connection.execute(
                    select(_LFS.c.oid, _LFS.c.xet_hash).where(
                        _LFS.c.oid.in_(batch[i : i + 500]), _LFS.c.xet_hash.is_not(None)
                    )
                )
                found.update({row.oid: row.xet_hash for row in rows})
        return {
            e.path: found[e.lfs.oid] for e in entries if e.lfs is not None and e.lfs.oid in found
        }

    def resolve(self, handle: RepoHandle, revision: str, path: str) -> ResolvedFile:
        """The file at `path` in `revision`; EntryNotFound carries the commit for the client cache.

        The revision is resolved every time (a ref changed by any process is seen at once);
        what the commit holds at `path` comes from the resolve cache when the handle carries
        its repository's change token (services/resolve_cache.py). Only found files are kept,
        and not those a bucket store reads from its local fallback: `hubstead storage migrate`
        moves them into the bucket, and deletes the local copy, without any change the token
        would record.
        """
        commit = handle.git.resolve(revision)
        if handle.stamp is None:
            return self._resolve(handle, commit, path)
        key = (handle.row.storage_key, handle.stamp, commit, path)
        found = self.cache.file(key)
        if found is None:
            found = self._resolve(handle, commit, path)
            if found.blob_path is not None and self.blobs.remote:
                return found  # a local copy still being migrated into the bucket
            if found.content is not None and len(found.content) > MAX_CACHED_CONTENT:
                self.cache.keep_file(key, replace(found, content=None))
            else:
                self.cache.keep_file(key, found)
        elif found.content is None and found.entry.lfs is None:  # too large to keep: read it
            found = replace(found, content=handle.git.read_blob(found.entry.oid))
        return found

    def _resolve(self, handle: RepoHandle, commit: str, path: str) -> ResolvedFile:
        git = handle.git
        entry = git.entry(commit, path) if path else None
        if entry is None or entry.type != "file":
            raise EntryNotFound(f"Entry not found: {path}", headers={"X-Repo-Commit": commit})
        if entry.lfs is not None:
            linked = self._linked_object(handle.row.id, entry.lfs.oid)
            if linked is None:
                # Permanently deleted from this repository (or never uploaded to it): a pointer
                # alone never grants another repository's bytes.
                raise EntryNotFound(
                    f"The LFS object of {path} is not stored in this repository",
                    headers={"X-Repo-Commit": commit},
                )
            blob = self.blobs.local_path(entry.lfs.oid)
            blob_stat = _stat(blob) if blob is not None else None
            xet_hash = linked.xet_hash
            # a bucket is not asked on every resolve: the object row says the bytes are stored
            in_store = blob_stat is None and xet_hash is None and self.blobs.remote
            if blob_stat is None and xet_hash is None and not in_store:
                raise EntryNotFound(
                    f"The LFS object of {path} is missing from storage",
                    headers={"X-Repo-Commit": commit},
                )
            return ResolvedFile(
                commit,
                entry,
                blob if blob_stat else None,
                None,
                xet_hash,
                blob_stat=blob_stat,
                in_store=in_store,
            )
        return ResolvedFile(commit, entry, None, git.read_blob(entry.oid))

    def read_range(self, found: ResolvedFile, start: int, end: int) -> bytes:
        """Bytes [start, end) of a resolved file, wherever they are stored."""
        if found.content is not None:
            return found.content[start:end]
        if found.entry.lfs is not None and (found.blob_path is not None or found.in_store):
            return self.blobs.read_range(found.entry.lfs.oid, start, end)
        if found.xet_hash is None or end <= start:
            return b""
        return b"".join(self.xet.stream(found.xet_hash, found.entry.size, start, end))

    def tree_page(
        self,
        handle: RepoHandle,
        revision: str,
        path: str,
        recursive: bool,
        expand: bool,
        offset: int,
        size: int,
    ) -> TreePage:
        """Entries `offset` to `offset + size` of the folder at `path`; only those are read."""
        commit = handle.git.resolve(revision)
        entries, more = handle.git.list_tree_page(commit, path.strip("/"), recursive, offset, size)
        last = handle.git.last_commits(commit, [e.path for e in entries]) if expand else {}
        return TreePage(entries, last, self.xet_hashes(entries), offset + size if more else None)

    def paths_info(
        self, handle: RepoHandle, revision: str, paths: list[str]
    ) -> tuple[str, list[TreeEntry]]:
        if len(paths) > MAX_PATHS_INFO:
            raise PayloadTooLarge(f"Too many paths: at most {MAX_PATHS_INFO} per request")
        commit = handle.git.resolve(revision)
        found = []
        for path in dict.fromkeys(paths):
            path = path.strip("/")
            entry = handle.git.entry(commit, validate_path(path)) if path else None
            if entry is not None:
                found.append(entry)
        return commit, found

    def preupload(
        self, handle: RepoHandle, revision: str, files: object, gitignore: str | None
    ) -> dict:
        if not isinstance(files, list):
            raise BadRequest("'files' must be a list")
        if len(files) > MAX_PREUPLOAD_FILES:
            raise PayloadTooLarge(f"Too many files: at most {MAX_PREUPLOAD_FILES} per request")
        git = handle.git
        commit = git.resolve(revision)
        patterns = lfs_patterns(
            (git.read_file(commit, ".gitattributes") or b"").decode("utf-8", "replace")
        )
        if gitignore is None:
            gitignore = (git.read_file(commit, ".gitignore") or b"").decode("utf-8", "replace")
        answers = []
        for item in files:
            if not isinstance(item, dict) or not isinstance(item.get("path"), str):
                raise BadRequest("Each file needs a 'path'")
            path = validate_path(item["path"])
            size = item.get("size", 0)
            if not isinstance(size, int) or size < 0:
                raise BadRequest(f"Invalid size for {path!r}")
            try:
                sample = base64.b64decode(item.get("sample") or "", validate=True)
            except binascii.Error:
                raise BadRequest(f"Invalid base64 sample for {path!r}") from None
            existing = git.entry(commit, path)
            oid = None
            if existing is not None and existing.type == "file":
                oid = existing.lfs.oid if existing.lfs else existing.oid
            answers.append(
                {
                    "path": path,
                    "uploadMode": upload_mode(path, size, sample, patterns),
                    "shouldIgnore": is_ignored(path, gitignore),
                    "oid": oid,
                }
            )
        return {"files": answers, "commitOid": commit}


def _stat(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
