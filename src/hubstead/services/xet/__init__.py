"""Xet storage: the content-addressed chunk store that the `hf_xet` client talks to.

Uploads arrive as xorbs (containers of compressed chunks) and shards (which files are made of
which chunk ranges); both are verified before anything is recorded (`ingest`). Access is by
short-lived tokens the hub mints per repository, read or write scope, and by fetch URLs that
grant one byte range of one xorb (`tokens`, signed by the hub's UrlSigner). `dedup` answers
global deduplication queries from the xorbs the token may know about (`reach`), `reconstruction` tells clients how to rebuild a file and rebuilds
it on the server for those without Xet.

`XetService` is the facade the protocols and the other services use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from hubstead.services.signing import UrlSigner
from hubstead.services.xet.common import ChunkInfo, parse_byte_range
from hubstead.services.xet.dedup import MAX_DEDUP_XORBS, GlobalDedup
from hubstead.services.xet.ingest import MAX_SHARD_BODY, MAX_XORB_BODY, ReceivedXorb, XetIngest
from hubstead.services.xet.reconstruction import Piece, Plan, Reconstructor
from hubstead.services.xet.tokens import TOKEN_TTL, XetToken, XetTokens
from hubstead.storage.blobstore import BlobStore
from hubstead.storage.database import Database

__all__ = [
    "MAX_DEDUP_XORBS",
    "MAX_SHARD_BODY",
    "MAX_XORB_BODY",
    "TOKEN_TTL",
    "ChunkInfo",
    "GlobalDedup",
    "Piece",
    "Plan",
    "ReceivedXorb",
    "Reconstructor",
    "XetIngest",
    "XetService",
    "XetToken",
    "XetTokens",
    "parse_byte_range",
]


class XetService:
    def __init__(self, db: Database, blobs: BlobStore, signer: UrlSigner):
        self.tokens = XetTokens(signer)
        self.ingest = XetIngest(db, blobs)
        self.dedup = GlobalDedup(db)
        self.reconstructor = Reconstructor(db, blobs)

    # -- tokens and fetch URLs ----------------------------------------------------------------

    def issue_token(
        self, repo_row_id: int, scope: str, user_id: int | None = None
    ) -> tuple[str, int]:
        return self.tokens.issue_token(repo_row_id, scope, user_id)

    def check_token(self, authorization: str | None, scope: str) -> XetToken:
        return self.tokens.check_token(authorization, scope)

    def sign_fetch(self, xorb: str, byte_range: str, expires: int) -> str:
        return self.tokens.sign_fetch(xorb, byte_range, expires)

    def check_fetch(
        self,
        xorb: str,
        byte_range: str | None,
        expires: str | None,
        signature: str | None,
        requested: str | None,
    ) -> None:
        self.tokens.check_fetch(xorb, byte_range, expires, signature, requested)

    # -- uploads ------------------------------------------------------------------------------

    def received_xorb(self) -> AbstractContextManager[ReceivedXorb]:
        return self.ingest.received_xorb()

    def store_xorb(self, token: XetToken, xorb: str, received: ReceivedXorb) -> bool:
        return self.ingest.store_xorb(token, xorb, received)

    def register_shard(self, token: XetToken, data: bytes) -> int:
        return self.ingest.register_shard(token, data)

    # -- global deduplication -----------------------------------------------------------------

    def dedup_shard(self, token: XetToken, chunk_hex: str) -> bytes | None:
        return self.dedup.dedup_shard(token, chunk_hex)

    # -- reading files back -------------------------------------------------------------------

    def file_size(self, token: XetToken | None, file_hex: str) -> int:
        return self.reconstructor.file_size(token, file_hex)

    def plan(self, file_hex: str, size: int, start: int, end: int) -> Plan:
        return self.reconstructor.plan(file_hex, size, start, end)

    def reconstruction(
        self,
        token: XetToken,
        file_hex: str,
        range_header: str | None,
        fetch_url: Callable[[str, int, int], str],
    ) -> dict[str, Any]:
        return self.reconstructor.reconstruction(token, file_hex, range_header, fetch_url)

    def stream(self, file_hex: str, size: int, start: int, end: int) -> Iterator[bytes]:
        return self.reconstructor.stream(file_hex, size, start, end)
