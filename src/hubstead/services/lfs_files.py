"""A repository's LFS storage: list its objects, delete some for good, copy some to another repo.

An object belongs to a repository through its `repo_lfs_objects` link (see services/lfs.py).
Permanently deleting an object removes that link: from then on it cannot be downloaded from this
repository nor committed again without uploading its bytes anew, and `hubstead gc` frees the
bytes once no repository links the object. With `rewriteHistory` (what the client sends by
default) every ref is also rewritten without the pointer files naming the object, as on the Hub;
without it those files stay and their downloads answer 404 EntryNotFound (the Hub leaves them to
the user too).

Duplicating links objects of a source repository to a target one (the client's cross-repository
`CommitOperationCopy`). It is allowed only to someone who may read the source, for objects
linked to the source, and into a target they could upload to anyway: knowing a hash is never
enough to reach someone else's bytes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select

from hubstead.services.lfs import LfsService
from hubstead.services.repos import RepoHandle, RepoService
from hubstead.storage.database import Database
from hubstead.storage.gitrepo import GitRepo
from hubstead.storage.models import LfsObject, RepoLfsObject

MAX_PAGE = 1000
MAX_BATCH = 1000


@dataclass(frozen=True)
class LfsFileInfo:
    oid: str
    size: int
    pushed_at: dt.datetime
    xet_hash: str | None
    filename: str  # a path that pointed at it ("" when no ref reaches it any more)
    ref: str | None  # the first ref (main first) whose history holds it


@dataclass(frozen=True)
class DuplicationFailure:
    oid: str
    error: str


class LfsFileService:
    def __init__(self, db: Database, lfs: LfsService, repos: RepoService):
        self.db = db
        self.lfs = lfs
        self.repos = repos

    def page(
        self, handle: RepoHandle, after: str | None, limit: int
    ) -> tuple[list[LfsFileInfo], str | None]:
        """One page of the objects linked to the repository, by oid; the cursor of the next page.

        Where each object sits (path and ref) is read from git, since the link only records
        that the bytes were received: one pass over the history serves the whole page."""
        query = (
            select(LfsObject.oid, LfsObject.size, LfsObject.xet_hash, RepoLfsObject.pushed_at)
            .join(RepoLfsObject, RepoLfsObject.oid == LfsObject.oid)
            .where(RepoLfsObject.repo_id == handle.row.id)
            .order_by(LfsObject.oid)
            .limit(limit + 1)
        )
        if after:
            query = query.where(LfsObject.oid > after)
        with self.db.session() as session:
            rows = session.execute(query).all()
        more, rows = len(rows) > limit, rows[:limit]
        locations = handle.git.lfs_pointer_locations(_refs_in_order(handle.git)) if rows else {}
        files = [
            LfsFileInfo(
                row.oid, row.size, row.pushed_at, row.xet_hash, *locations.get(row.oid, ("", None))
            )
            for row in rows
        ]
        return files, (rows[-1].oid if more else None)

    def delete(self, handle: RepoHandle, oids: list[str], rewrite_history: bool) -> list[str]:
        """Unlink `oids` from the repository (those it held are returned) and, if asked, rewrite
        every ref without their pointer files. Unlinking comes first, so no commit can reference
        them again while the history is rewritten."""
        with self.db.session() as session:
            unlinked = (
                session.execute(
                    delete(RepoLfsObject)
                    .where(RepoLfsObject.repo_id == handle.row.id, RepoLfsObject.oid.in_(oids))
                    .returning(RepoLfsObject.oid)
                )
                .scalars()
                .all()
            )
        # committed: no process may serve them from its resolve cache any more
        self.repos.git.restamp(handle.row.storage_key)
        if rewrite_history:
            with self.repos.ref_lock(handle.row.id):
                for ref, commit in handle.git.remove_lfs_pointers(set(oids)).items():
                    self.repos.record_ref(handle.row.id, ref, commit)
        return sorted(unlinked)

    def duplicate(
        self, source: RepoHandle, target: RepoHandle, oids: list[str]
    ) -> list[DuplicationFailure]:
        """Link to `target` those of `oids` that are linked to `source` (the caller was checked to
        read `source` and upload to `target`); the others are reported as failures."""
        available = self.lfs.repo_objects(source.row.id, list(dict.fromkeys(oids)))
        failures = []
        for oid in dict.fromkeys(oids):
            stored = available.get(oid)
            if stored is None:
                failures.append(
                    DuplicationFailure(oid, f"LFS object {oid} is not stored in {source.id}")
                )
            else:
                self.lfs.link(target.row.id, oid, stored.size)
        return failures


def _refs_in_order(git: GitRepo) -> list[str]:
    """main first (what the Hub reports objects pushed to it as), then branches, tags, pull
    requests in number order, and converted refs."""
    branches = [f"refs/heads/{name}" for name in git.refs("refs/heads/")]
    branches.sort(key=lambda ref: ref != "refs/heads/main")
    prs = sorted(
        git.refs("refs/pr/"),
        key=lambda name: (not name.isdigit(), int(name) if name.isdigit() else 0, name),
    )
    return [
        *branches,
        *(f"refs/tags/{name}" for name in git.refs("refs/tags/")),
        *(f"refs/pr/{name}" for name in prs),
        *(f"refs/convert/{name}" for name in git.refs("refs/convert/")),
    ]
