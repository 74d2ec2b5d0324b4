"""Uploads to the CAS, verified before anything is recorded.

A xorb must hash to its name (every chunk decompressed and hashed, in one pass: xet/xorb.py); a
shard may only reference xorbs already stored, and its verification hashes and file hashes must
match the chunks the server parsed itself. Xorb bytes go to the blob store, their chunk tables and
the shards' files to the database (shards themselves are not kept).

The SHA-256 a shard gives for a file (the LFS oid commits refer to) is the one claim the chunk
hashes do not prove: checking it means rebuilding and hashing the whole file, which would make a
2 % edit of a 1 GiB file cost as much as uploading it. The Hub takes the client's value (hf_xet
computes it while chunking); so does this server, where that is safe, and checks it from the
bytes where a false value could reach anyone but its uploader (`_settle_sha256`):

- a new oid for new content is taken on the uploader's word. Only repositories the uploader can
  write link to it (commits reference only oids linked to their own repository), so a false value
  misleads only readers of the uploader's own repositories, which the uploader could fill with
  anything anyway — and git-lfs, which checks the SHA-256 of what it downloads, notices;
- an oid already known with other content (a blob uploaded through LFS, or another Xet file), or
  content already known under another oid, is checked from the bytes before it is linked: a
  false claim is refused (400), a true one replaces the mapping it contradicts, so a first false
  claim cannot capture an oid someone else later uploads for real;
- an LFS upload, whose bytes are always hashed, takes the oid back from a Xet mapping
  (services/lfs.py, `LfsService.link`).
A mismatched size, the cheapest proof, is refused without reading anything.

Neither route tells whether someone else stored the same chunks (a side channel on private
files): a xorb upload is verified whether or not the xorb is stored and answers whether *this*
repository had uploaded it, and a shard may name only xorbs its token may know (`reach`: those
uploaded by, or used by files of, its source repositories), any other xorb being "not uploaded".
"""

from __future__ import annotations

import hashlib
import mmap
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Connection, insert, select, union, update
from sqlalchemy.exc import IntegrityError

from hubstead.domain.errors import BadRequest, HubError
from hubstead.services.xet.common import (
    CHUNKS,
    FILES,
    LFS,
    LINKS,
    TERMS,
    ChunkInfo,
    check_hex,
    chunks_of,
    decode_chunks,
)
from hubstead.services.xet.reach import REPOS, source_repos
from hubstead.services.xet.tokens import XetToken
from hubstead.storage.blobstore import BlobStore
from hubstead.storage.database import Database
from hubstead.storage.models import (
    LfsObject,
    RepoLfsObject,
    XetFile,
    XetXorb,
    XetXorbRepo,
)
from hubstead.xet import hashing
from hubstead.xet.shard import (
    FileEntry,
    ShardError,
    parse_shard,
    verify_cas_entry,
    verify_file_entry,
)
from hubstead.xet.xorb import ParsedXorb, XorbError, verify_xorb

# 64 MiB of chunk content, plus the chunk headers and the framing of incompressible chunks
MAX_XORB_BODY = 64 * 1024 * 1024 + 1024 * 1024
MAX_SHARD_BODY = 64 * 1024 * 1024
UPLOADERS = XetXorbRepo.__table__


@dataclass(frozen=True)
class ReceivedXorb:
    """A xorb body being received: the open temporary file and its path."""

    file: BinaryIO
    path: Path


class XetIngest:
    def __init__(self, db: Database, blobs: BlobStore):
        self.db = db
        self.blobs = blobs

    # -- xorbs --------------------------------------------------------------------------------

    @contextmanager
    def received_xorb(self) -> Iterator[ReceivedXorb]:
        """A temporary file on the store's scratch disk for a xorb body as it arrives: written
        while it streams in, verified from the page cache and renamed into place, so a 64 MiB
        xorb is never held (and re-copied) in memory whole. Removed afterwards unless stored."""
        fd, name = tempfile.mkstemp(dir=self.blobs.tmp_dir, prefix="xorb-")
        path = Path(name)
        received = ReceivedXorb(os.fdopen(fd, "wb"), path)
        try:
            yield received
        finally:
            received.file.close()
            path.unlink(missing_ok=True)

    def store_xorb(self, token: XetToken, xorb: str, received: ReceivedXorb) -> bool:
        """Verify and store a xorb (the body written to `received`, from `received_xorb`), and
        note that the token's repository uploaded it. True when this repository had not uploaded
        it before; the body is verified even when the bytes are stored already, so the answer
        proves possession and says nothing about other uploaders."""
        check_hex(xorb, "xorb hash")
        received.file.close()  # flushed: what arrived is in the page cache
        path = received.path
        size = path.stat().st_size
        if size > MAX_XORB_BODY:
            raise HubError("Xorb too large", status=413)
        if size == 0:
            raise BadRequest(f"Invalid xorb {xorb}: empty body")
        parsed = _verified(path, xorb)
        with self.db.engine.connect() as connection:
            stored = (
                connection.execute(select(XetXorb.hash).where(XetXorb.hash == xorb)).first()
                is not None
            )
        if not stored:
            self._store_xorb(xorb, path, size, parsed)
        return self._note_uploader(xorb, token.repo_row_id)

    def _store_xorb(self, xorb: str, received: Path, size: int, parsed: ParsedXorb) -> None:
        if parsed.footer is not None:  # serve chunk bytes only; the index is in the database
            size = parsed.chunk_bytes_len
            os.truncate(received, size)
        self.blobs.put_xorb_file(xorb, received)
        hexes = hashing.hashes_to_hex([c.hash for c in parsed.chunks])
        rows = [
            {
                "xorb_hash": xorb,
                "index": c.number,
                "chunk_hash": spelled,
                "unpacked_size": c.size,
                "serialized_start": c.offset,
                "serialized_end": c.end,
            }
            for c, spelled in zip(parsed.chunks, hexes)
        ]
        try:
            with self.db.session() as session:
                session.add(
                    XetXorb(
                        hash=xorb,
                        serialized_size=size,
                        unpacked_size=parsed.unpacked_length,
                        num_chunks=len(parsed.chunks),
                    )
                )
                session.flush()
                session.execute(insert(CHUNKS), rows)  # Core executemany: no ORM work per row
        except IntegrityError:
            pass  # stored concurrently by another request: same bytes

    def _note_uploader(self, xorb: str, repo_row_id: int) -> bool:
        try:
            with self.db.session() as session:
                if session.get(XetXorbRepo, (xorb, repo_row_id)) is not None:
                    return False
                session.add(XetXorbRepo(xorb_hash=xorb, repo_id=repo_row_id))
        except IntegrityError:
            return False  # noted concurrently by another request of this repository
        return True

    # -- shards -------------------------------------------------------------------------------

    def register_shard(self, token: XetToken, data: bytes) -> int:
        """Verify a shard against stored xorbs and register its files for the token's repository."""
        if len(data) > MAX_SHARD_BODY:
            raise HubError("Shard too large", status=413)
        try:
            shard = parse_shard(data)
        except (ShardError, ValueError) as error:
            raise BadRequest(f"Invalid shard: {error}") from None
        names = {hashing.hash_to_hex(t.xorb_hash) for f in shard.files for t in f.terms}
        names |= {hashing.hash_to_hex(x.xorb_hash) for x in shard.xorbs}
        with self.db.engine.connect() as connection:
            allowed = known_xorbs(connection, token, names)
            known = {name: chunks_of(connection, name) for name in names}
        missing = sorted(
            name for name, chunks in known.items() if not chunks or name not in allowed
        )
        if missing:
            raise BadRequest(f"Invalid shard: xorb {missing[0]} was not uploaded")
        by_raw = {
            hashing.hex_to_hash(name): list(
                zip(hashing.hex_to_hashes([c.hash for c in chunks]), [c.size for c in chunks])
            )
            for name, chunks in known.items()
        }
        try:
            for entry in shard.xorbs:
                # the stored chunk list hashes to its name: checked when the xorb was uploaded
                verify_cas_entry(entry, by_raw[entry.xorb_hash], check_hash=False)
            for file in shard.files:
                verify_file_entry(file, by_raw)
        except (ShardError, ValueError) as error:
            raise BadRequest(f"Invalid shard: {error}") from None
        for file in shard.files:
            self._register_file(token, file, known)
        return 1

    def _register_file(
        self, token: XetToken, file: FileEntry, known: dict[str, list[ChunkInfo]]
    ) -> None:
        file_hex = file.file_hash_hex
        sha256 = file.sha256_hex
        if sha256 is not None:
            self._settle_sha256(file, known, sha256)
        with self.db.session() as session:
            if session.get(XetFile, file_hex) is None:
                session.add(XetFile(hash=file_hex, size=file.size, sha256=sha256))
                session.flush()
                session.execute(
                    insert(TERMS),
                    [
                        {
                            "file_hash": file_hex,
                            "seq": seq,
                            "xorb_hash": hashing.hash_to_hex(t.xorb_hash),
                            "chunk_start": t.chunk_start,
                            "chunk_end": t.chunk_end,
                            "unpacked_size": t.unpacked_length,
                        }
                        for seq, t in enumerate(file.terms)
                    ],
                )
        if sha256 is None:
            return
        try:
            with self.db.session() as session:
                lfs = session.get(LfsObject, sha256)
                if lfs is None:
                    session.add(LfsObject(oid=sha256, size=file.size, xet_hash=file_hex))
                elif lfs.size != file.size:
                    raise BadRequest(
                        f"Invalid shard: {sha256} is known with size {lfs.size}, not {file.size}"
                    )
                else:  # either the same file, or this one was just checked from its bytes
                    lfs.xet_hash = file_hex
        except IntegrityError:
            pass  # registered concurrently; the link below still applies
        try:
            with self.db.session() as session:
                if session.get(RepoLfsObject, (token.repo_row_id, sha256)) is None:
                    session.add(RepoLfsObject(repo_id=token.repo_row_id, oid=sha256))
        except IntegrityError:
            pass

    def _settle_sha256(
        self, file: FileEntry, known: dict[str, list[ChunkInfo]], claimed: str
    ) -> None:
        """Take the claimed SHA-256 on trust when it names new content with a new oid; check it
        from the bytes when it contradicts what is known (module docstring). A checked claim
        that shows an earlier one false detaches the false oid from these bytes."""
        file_hex = file.file_hash_hex
        with self.db.engine.connect() as connection:
            oid = connection.execute(
                select(LFS.c.size, LFS.c.xet_hash).where(LFS.c.oid == claimed)
            ).first()
            earlier = connection.execute(
                select(FILES.c.sha256).where(FILES.c.hash == file_hex)
            ).scalar()
        if oid is not None and oid.size != file.size:
            raise BadRequest(
                f"Invalid shard: {claimed} is known with size {oid.size}, not {file.size}"
            )
        if (oid is None or oid.xet_hash == file_hex) and earlier in (None, claimed):
            return
        self._check_sha256(file, known, claimed)
        if earlier not in (None, claimed):
            with self.db.session() as session:
                session.execute(
                    update(XetFile).where(XetFile.hash == file_hex).values(sha256=claimed)
                )
                session.execute(
                    update(LfsObject)
                    .where(LfsObject.oid == earlier, LfsObject.xet_hash == file_hex)
                    .values(xet_hash=None)
                )

    def _check_sha256(
        self, file: FileEntry, known: dict[str, list[ChunkInfo]], claimed: str
    ) -> None:
        """Rebuild the file from the stored chunks and hash it (one ranged read per term;
        hashlib releases the GIL on large updates)."""
        digest = hashlib.sha256()
        for term in file.terms:
            xorb = hashing.hash_to_hex(term.xorb_hash)
            for data in decode_chunks(
                self.blobs, xorb, known[xorb][term.chunk_start : term.chunk_end]
            ):
                digest.update(data)
        if digest.hexdigest() != claimed:
            raise BadRequest(
                f"Invalid shard: file {file.file_hash_hex} does not have the SHA-256 {claimed}"
            )


def _verified(path: Path, xorb: str) -> ParsedXorb:
    """Verify the received xorb through a read-only map of its file (the pages just written).

    The map can only be closed once no slice of it is alive, and a verification error's
    traceback holds slices: the error is turned into a message first, which frees them."""
    with open(path, "rb") as source:
        view = mmap.mmap(source.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        try:
            return verify_xorb(view, xorb, max_bytes=MAX_XORB_BODY, keep_data=False)
        except (XorbError, ValueError) as error:
            problem = str(error)
        raise BadRequest(f"Invalid xorb {xorb}: {problem}")
    finally:
        try:
            view.close()
        except BufferError:  # an unexpected error's traceback still holds a slice
            pass  # the map is closed when that goes


def known_xorbs(connection: Connection, token: XetToken, names: set[str]) -> set[str]:
    """Those of `names` the token may cite: uploaded by one of its source repositories, or used
    by a file of one (what deduplication answered it)."""
    sources = source_repos(connection, token)
    found: set[str] = set()
    batch = sorted(names)
    for i in range(0, len(batch), 500):
        part = batch[i : i + 500]
        uploaded = (
            select(UPLOADERS.c.xorb_hash)
            .join(REPOS, REPOS.c.id == UPLOADERS.c.repo_id)
            .where(UPLOADERS.c.xorb_hash.in_(part), sources)
        )
        used = (
            select(TERMS.c.xorb_hash)
            .join(LFS, LFS.c.xet_hash == TERMS.c.file_hash)
            .join(LINKS, LINKS.c.oid == LFS.c.oid)
            .join(REPOS, REPOS.c.id == LINKS.c.repo_id)
            .where(TERMS.c.xorb_hash.in_(part), sources)
        )
        found.update(connection.execute(union(uploaded, used)).scalars())
    return found
