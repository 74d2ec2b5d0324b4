"""Global deduplication: which stored xorbs hold a chunk, answered as a shard, to a caller who may
know it (`reach`: only from files of the token's source repositories)."""

from __future__ import annotations

import secrets
import time

from sqlalchemy import ColumnElement, Connection, select

from hubstead.services.xet.common import (
    CHUNKS,
    LFS,
    LINKS,
    TERMS,
    TERMS_OF_FILE,
    ChunkInfo,
    check_hex,
    chunks_of,
)
from hubstead.services.xet.reach import REPOS, source_repos
from hubstead.services.xet.tokens import XetToken
from hubstead.storage.database import Database
from hubstead.xet import hashing
from hubstead.xet.shard import CasChunk, CasEntry, dedup_response_shard

MAX_DEDUP_XORBS = 64  # xorbs described in one deduplication answer (up to ~4 GiB of a file)
DEDUP_SHARD_TTL = 7 * 24 * 3600


class GlobalDedup:
    def __init__(self, db: Database):
        self.db = db

    def dedup_shard(self, token: XetToken, chunk_hex: str) -> bytes | None:
        """A shard describing the xorbs of a file that holds this chunk, chunk hashes keyed with
        a fresh key: the client recognises the chunks it has and learns nothing about others.

        The client samples few chunks (a file's first, then about one in a thousand), so one hit
        answers with every xorb of a file using that chunk: an edited copy of a large file is
        deduplicated as a whole. Only chunks the protocol makes eligible are answered (a file's
        first chunk, or a hash that is 0 modulo 1024), which keeps the index from being probed
        chunk by chunk.

        The file must be one of the token's source repositories (`reach`) and must itself use
        the chunk, or the answer would tell that someone else stored it; an answer for a private
        file is a 404 like an unknown chunk. A xorb can also hold chunks of other files (one
        upload session packs several files together): the answer lists only the chunks that this
        file uses under their hash, the others under a random one, so that none of them can be
        recognised.
        """
        check_hex(chunk_hex, "chunk hash")
        eligible = hashing.is_global_dedup_candidate(hashing.hex_to_hash(chunk_hex))
        with self.db.engine.connect() as connection:
            sources = source_repos(connection, token)
            owner = self._owner(connection, chunk_hex, eligible, sources)
            if owner is None:
                return None
            file_hash, first_xorb = owner
            used: dict[str, set[int]] = {first_xorb: set()}
            for term in connection.execute(TERMS_OF_FILE, {"file": file_hash}):
                if term.xorb_hash not in used and len(used) >= MAX_DEDUP_XORBS:
                    continue
                used.setdefault(term.xorb_hash, set()).update(
                    range(term.chunk_start, term.chunk_end)
                )
            entries = [
                cas_entry(xorb, chunks_of(connection, xorb), indexes)
                for xorb, indexes in used.items()
            ]
        now = int(time.time())
        return dedup_response_shard(entries, secrets.token_bytes(32), now, now + DEDUP_SHARD_TTL)

    @staticmethod
    def _owner(
        connection: Connection, chunk_hex: str, eligible: bool, sources: ColumnElement[bool]
    ) -> tuple[str, str] | None:
        """(file, xorb): a file of a source repository whose terms use this chunk."""
        condition = [
            CHUNKS.c.chunk_hash == chunk_hex,
            TERMS.c.chunk_start <= CHUNKS.c.index,
            TERMS.c.chunk_end > CHUNKS.c.index,
        ]
        if not eligible:  # only as the first chunk of a file
            condition += [TERMS.c.seq == 0, TERMS.c.chunk_start == CHUNKS.c.index]
        owner = connection.execute(
            select(TERMS.c.file_hash, TERMS.c.xorb_hash)
            .select_from(CHUNKS)
            .join(TERMS, TERMS.c.xorb_hash == CHUNKS.c.xorb_hash)
            .join(LFS, LFS.c.xet_hash == TERMS.c.file_hash)
            .join(LINKS, LINKS.c.oid == LFS.c.oid)
            .join(REPOS, REPOS.c.id == LINKS.c.repo_id)
            .where(*condition, sources)
            .limit(1)
        ).first()
        return (owner.file_hash, owner.xorb_hash) if owner is not None else None


def cas_entry(xorb: str, chunks: list[ChunkInfo], shown: set[int]) -> CasEntry:
    """A xorb's chunk list; chunks not in `shown` get a random hash (their sizes stay: the
    indexes a client cites must still match the xorb)."""
    offset, listed = 0, []
    for index, chunk in enumerate(chunks):
        raw = hashing.hex_to_hash(chunk.hash) if index in shown else secrets.token_bytes(32)
        listed.append(CasChunk(raw, offset, chunk.size))
        offset += chunk.size
    return CasEntry(hashing.hex_to_hash(xorb), tuple(listed), offset, chunks[-1].end)
