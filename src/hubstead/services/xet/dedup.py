"""Global deduplication: which stored xorbs hold a chunk, answered as a shard."""

from __future__ import annotations

import secrets
import time

from sqlalchemy import select

from hubstead.services.xet.common import (
    CHUNKS,
    TERMS,
    TERMS_OF_FILE,
    ChunkInfo,
    check_hex,
    chunks_of,
)
from hubstead.storage.database import Database
from hubstead.xet import hashing
from hubstead.xet.shard import CasChunk, CasEntry, dedup_response_shard

MAX_DEDUP_XORBS = 64  # xorbs described in one deduplication answer (up to ~4 GiB of a file)
DEDUP_SHARD_TTL = 7 * 24 * 3600


class GlobalDedup:
    def __init__(self, db: Database):
        self.db = db

    def dedup_shard(self, chunk_hex: str) -> bytes | None:
        """A shard describing the xorbs of a file that holds this chunk, chunk hashes keyed with
        a fresh key: the client recognises the chunks it has and learns nothing about others.

        The client samples few chunks (a file's first, then about one in a thousand), so one hit
        answers with every xorb of a file using that chunk: an edited copy of a large file is
        deduplicated as a whole. Only chunks the protocol makes eligible are answered (a file's
        first chunk, or a hash that is 0 modulo 1024), which keeps the index from being probed
        chunk by chunk.
        """
        check_hex(chunk_hex, "chunk hash")
        eligible = hashing.is_global_dedup_candidate(hashing.hex_to_hash(chunk_hex))
        with self.db.engine.connect() as connection:
            hits = connection.execute(
                select(CHUNKS.c.xorb_hash, CHUNKS.c.index)
                .where(CHUNKS.c.chunk_hash == chunk_hex)
                .limit(8)
            ).all()
            for hit in hits:
                condition = [TERMS.c.xorb_hash == hit.xorb_hash]
                if not eligible:
                    condition += [TERMS.c.seq == 0, TERMS.c.chunk_start == hit.index]
                owner = connection.execute(
                    select(TERMS.c.file_hash).where(*condition).limit(1)
                ).first()
                if owner is not None:
                    break
            else:
                return None
            xorbs = [hit.xorb_hash]
            for row in connection.execute(TERMS_OF_FILE, {"file": owner.file_hash}):
                if row.xorb_hash not in xorbs and len(xorbs) < MAX_DEDUP_XORBS:
                    xorbs.append(row.xorb_hash)
            entries = [cas_entry(xorb, chunks_of(connection, xorb)) for xorb in xorbs]
        now = int(time.time())
        return dedup_response_shard(entries, secrets.token_bytes(32), now, now + DEDUP_SHARD_TTL)


def cas_entry(xorb: str, chunks: list[ChunkInfo]) -> CasEntry:
    offset, listed = 0, []
    for chunk in chunks:
        listed.append(CasChunk(hashing.hex_to_hash(chunk.hash), offset, chunk.size))
        offset += chunk.size
    return CasEntry(hashing.hex_to_hash(xorb), tuple(listed), offset, chunks[-1].end)
