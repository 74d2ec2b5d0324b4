"""Reading Xet files back: which chunk ranges make (a range of) a file, the v1 reconstruction
answer hf_xet downloads from, and the bytes rebuilt on the server for plain HTTP clients."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select

from hubstead.domain.errors import NotFound
from hubstead.services.xet.common import (
    FILES,
    LFS,
    LINKS,
    TERMS_OF_FILE,
    check_hex,
    chunks_of,
    decode_chunks,
    parse_byte_range,
)
from hubstead.services.xet.tokens import XetToken
from hubstead.storage.blobstore import BlobStore
from hubstead.storage.database import Database

FETCH_URL_TTL = 3600

_FILE_IN_REPO = (
    select(FILES.c.hash, FILES.c.size)
    .join(LFS, LFS.c.xet_hash == FILES.c.hash)
    .join(LINKS, LINKS.c.oid == LFS.c.oid)
    .where(FILES.c.hash == bindparam("file"), LINKS.c.repo_id == bindparam("repo"))
    .limit(1)
)


@dataclass(frozen=True)
class Piece:
    """Chunks [start, end) of a xorb that a reconstruction uses, trimmed to the asked range."""

    xorb: str
    start: int
    end: int
    unpacked: int
    byte_start: int
    byte_end: int  # exclusive


@dataclass(frozen=True)
class Plan:
    pieces: list[Piece]
    skip: int  # bytes to drop from the first piece (offset_into_first_range)
    length: int  # bytes the caller asked for


class Reconstructor:
    def __init__(self, db: Database, blobs: BlobStore):
        self.db = db
        self.blobs = blobs

    def file_size(self, token: XetToken | None, file_hex: str) -> int:
        """Size of a file the token's repository holds (any file when token is None)."""
        check_hex(file_hex, "file hash")
        with self.db.engine.connect() as connection:
            if token is None:
                row = connection.execute(
                    select(FILES.c.size).where(FILES.c.hash == file_hex)
                ).first()
            else:
                row = connection.execute(
                    _FILE_IN_REPO, {"file": file_hex, "repo": token.repo_row_id}
                ).first()
        if row is None:
            raise NotFound(f"Unknown file {file_hex}")
        return int(row.size)

    def plan(self, file_hex: str, size: int, start: int, end: int) -> Plan:
        """Which chunk ranges rebuild bytes [start, end) of a file, trimmed to whole chunks."""
        pieces: list[Piece] = []
        skip = None
        cumulative = 0
        with self.db.engine.connect() as connection:
            terms = connection.execute(TERMS_OF_FILE, {"file": file_hex}).all()
            for term in terms:
                length = term.unpacked_size
                if cumulative + length <= start:
                    cumulative += length
                    continue
                if cumulative >= end:
                    break
                chunks = chunks_of(connection, term.xorb_hash)
                first, last = term.chunk_start, term.chunk_end
                while cumulative + chunks[first].size <= start:
                    cumulative += chunks[first].size
                    length -= chunks[first].size
                    first += 1
                while cumulative + length - chunks[last - 1].size >= end:
                    length -= chunks[last - 1].size
                    last -= 1
                if skip is None:
                    skip = start - cumulative
                pieces.append(
                    Piece(
                        term.xorb_hash,
                        first,
                        last,
                        length,
                        chunks[first].start,
                        chunks[last - 1].end,
                    )
                )
                cumulative += length
        return Plan(pieces, skip or 0, max(0, end - start))

    def reconstruction(
        self,
        token: XetToken,
        file_hex: str,
        range_header: str | None,
        fetch_url: Callable[[str, int, int], str],
    ) -> dict[str, Any]:
        """The v1 reconstruction answer for (a range of) a file. Each piece is fetched from a URL
        the blob store presigns where it can, else from `fetch_url(xorb, first, last)` (the hub's
        own signed /cas/fetch URL; `last` inclusive)."""
        size = self.file_size(token, file_hex)
        start, end = parse_byte_range(range_header, size)
        if size == 0:
            return {"offset_into_first_range": 0, "terms": [], "fetch_info": {}}
        plan = self.plan(file_hex, size, start, end)
        expires = int(time.time()) + FETCH_URL_TTL
        fetch_info: dict[str, list[dict[str, Any]]] = {}
        for piece in plan.pieces:
            url = self.blobs.presigned_xorb_url(
                piece.xorb, (piece.byte_start, piece.byte_end), expires
            ) or fetch_url(piece.xorb, piece.byte_start, piece.byte_end - 1)
            fetch_info.setdefault(piece.xorb, []).append(
                {
                    "range": {"start": piece.start, "end": piece.end},
                    "url": url,
                    "url_range": {"start": piece.byte_start, "end": piece.byte_end - 1},
                }
            )
        terms = [
            {
                "hash": p.xorb,
                "unpacked_length": p.unpacked,
                "range": {"start": p.start, "end": p.end},
            }
            for p in plan.pieces
        ]
        return {"offset_into_first_range": plan.skip, "terms": terms, "fetch_info": fetch_info}

    def stream(self, file_hex: str, size: int, start: int, end: int) -> Iterator[bytes]:
        """The bytes [start, end) of a file, rebuilt on the server (for plain HTTP clients)."""
        plan = self.plan(file_hex, size, start, end)
        skip, remaining = plan.skip, plan.length
        with self.db.engine.connect() as connection:
            chunk_tables = {p.xorb: chunks_of(connection, p.xorb) for p in plan.pieces}
        for piece in plan.pieces:
            for data in decode_chunks(
                self.blobs, piece.xorb, chunk_tables[piece.xorb][piece.start : piece.end]
            ):
                if skip:
                    cut = min(skip, len(data))
                    data, skip = data[cut:], skip - cut
                if not data:
                    continue
                data = data[:remaining]
                remaining -= len(data)
                yield data
                if remaining <= 0:
                    return
