"""Duplicating a repository: a new repository with the source's whole git history and files.

Branches and tags are fetched into a fresh bare repository (git copies the objects; pull
request refs stay behind, since discussions are not copied). Large files are not copied either:
the LFS objects the copied history points at, and that the source holds, are linked to the new
repository (Xet files included, they are reached through the same links). Objects the source
merely received but never committed are not linked, so a duplicate gives access to exactly the
bytes its reader could already download. Likes, downloads, discussions and the gate are not
copied, as on the Hub.
"""

from __future__ import annotations

import subprocess
import uuid

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from hubstead.domain.errors import HubError
from hubstead.domain.repo_ids import RepoId
from hubstead.services import access
from hubstead.services.lfs import available_objects
from hubstead.services.principal import Principal
from hubstead.services.repos import RepoExists, RepoHandle, RepoService, _drop_redirect, claim_name
from hubstead.storage.blobstore import BlobStore
from hubstead.storage.database import Database
from hubstead.storage.models import RepoLfsObject, RepoRef, Repository, utcnow

COPIED_REFS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")


class RepoDuplicator:
    def __init__(self, db: Database, repos: RepoService, blobs: BlobStore):
        self.db = db
        self.repos = repos
        self.blobs = blobs

    def duplicate(
        self, principal: Principal | None, source: RepoHandle, target: RepoId, private: bool | None
    ) -> RepoHandle:
        """Copy `source` (which the caller may read and download) to `target`, a name in a
        namespace they may write to. `private=None` keeps the source's visibility."""
        principal = access.require_write_token(principal)
        repo_type = source.type
        with self.db.session() as session:
            target = RepoId(claim_name(session, principal, repo_type, target).name, target.name)

        key = uuid.uuid4().hex
        store = self.repos.git
        git = store.init(key)
        try:
            fetched = subprocess.run(
                [
                    "git",
                    "--git-dir",
                    str(git.path),
                    "fetch",
                    "--quiet",
                    "--no-tags",
                    "--no-write-fetch-head",
                    str(source.git.path),
                    *COPIED_REFS,
                ],
                capture_output=True,
            )
            if fetched.returncode != 0:
                raise HubError(f"Could not copy the history of {source.id}", status=500)
            refs = {f"refs/heads/{name}": sha for name, sha in git.refs("refs/heads/").items()}
            refs.update({f"refs/tags/{name}": sha for name, sha in git.refs("refs/tags/").items()})
            pointed = git.lfs_pointer_locations(list(refs))
            linked = available_objects(self.db, self.blobs, source.row.id, list(pointed))
            row = self._insert(source, target, key, private, refs, sorted(linked))
        except BaseException:
            store.delete(key)
            raise
        for ref, sha in refs.items():
            for listener in self.repos.ref_listeners:
                listener(row.id, ref, sha)
        return RepoHandle(row=row, store=store)

    def _insert(
        self,
        source: RepoHandle,
        target: RepoId,
        key: str,
        private: bool | None,
        refs: dict[str, str],
        oids: list[str],
    ) -> Repository:
        now = utcnow()
        try:
            with self.db.session() as session:
                row = Repository(
                    storage_key=key,
                    type=source.row.type,
                    namespace=target.namespace,
                    name=target.name,
                    private=source.row.private if private is None else private,
                    head_sha=refs.get("refs/heads/main"),
                    created_at=now,
                    last_modified=now,
                )
                session.add(row)
                _drop_redirect(session, source.type, target)
                session.flush()
                self.repos.index.added(session, row.type, bool(row.private))
                session.add_all(
                    RepoRef(repo_id=row.id, ref=ref, target=sha, updated_at=now)
                    for ref, sha in refs.items()
                )
                for start in range(0, len(oids), 500):
                    session.execute(
                        insert(RepoLfsObject),
                        [
                            {"repo_id": row.id, "oid": oid, "pushed_at": now}
                            for oid in oids[start : start + 500]
                        ],
                    )
        except IntegrityError:
            # the same name was taken meanwhile (a create or another duplicate won the race)
            raise RepoExists(source.type, target) from None
        return row
