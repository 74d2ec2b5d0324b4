"""Garbage collection: storage that no repository references any more is freed.

Deleting a repository removes its links to LFS objects (the database cascades); this pass then
removes objects no repository links to, Xet files no object points at, and xorbs no file uses.
Only things older than the grace period are touched, so uploads in flight (a xorb waiting for
its shard, an object waiting for its commit) are never collected under their feet. On a bucket,
direct uploads never verified (staged objects, multipart uploads never completed) older than
the grace period are removed too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, exists, select

from hubstead.storage.blobstore import BlobStore
from hubstead.storage.database import Database
from hubstead.storage.models import LfsObject, RepoLfsObject, XetFile, XetFileTerm, XetXorb, utcnow


@dataclass(frozen=True)
class CollectedGarbage:
    lfs_objects: int
    xet_files: int
    xorbs: int
    bytes_freed: int
    staged_uploads: int = 0  # abandoned direct uploads removed from a bucket's staging area


def collect_garbage(db: Database, blobs: BlobStore, grace: dt.timedelta) -> CollectedGarbage:
    cutoff = utcnow() - grace
    freed = 0
    with db.session() as session:
        orphans = session.scalars(
            select(LfsObject.oid).where(
                LfsObject.created_at < cutoff, ~exists().where(RepoLfsObject.oid == LfsObject.oid)
            )
        ).all()
        for oid in orphans:
            size = blobs.size(oid)
            if size is not None:
                freed += size
                blobs.delete(oid)
        if orphans:
            session.execute(delete(LfsObject).where(LfsObject.oid.in_(orphans)))
    with db.session() as session:
        dead_files = session.scalars(
            select(XetFile.hash).where(
                XetFile.created_at < cutoff, ~exists().where(LfsObject.xet_hash == XetFile.hash)
            )
        ).all()
        if dead_files:
            session.execute(delete(XetFileTerm).where(XetFileTerm.file_hash.in_(dead_files)))
            session.execute(delete(XetFile).where(XetFile.hash.in_(dead_files)))
    with db.session() as session:
        dead_xorbs = session.execute(
            select(XetXorb.hash, XetXorb.serialized_size).where(
                XetXorb.created_at < cutoff, ~exists().where(XetFileTerm.xorb_hash == XetXorb.hash)
            )
        ).all()
        for xorb, size in dead_xorbs:
            session.execute(delete(XetXorb).where(XetXorb.hash == xorb))
            blobs.delete_xorb(xorb)
            freed += size
    direct = blobs.direct_uploads
    staged = direct.sweep(cutoff) if direct is not None else 0
    return CollectedGarbage(len(orphans), len(dead_files), len(dead_xorbs), freed, staged)
