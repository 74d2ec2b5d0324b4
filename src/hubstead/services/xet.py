"""Xet storage: the content-addressed chunk store that the `hf_xet` client talks to.

Uploads arrive as xorbs (containers of compressed chunks) and shards (which files are made of
which chunk ranges). Both are verified before anything is recorded: a xorb must hash to its
name, a shard may only reference xorbs already stored, its verification hashes and file hashes
must match the chunks, and the SHA-256 it claims for each file is recomputed from the bytes,
so a shard can never attach the wrong content to a SHA-256 that commits refer to.

Access is by short-lived tokens the hub mints per repository (read or write scope).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Iterator

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from hubstead.domain.byte_ranges import parse_range
from hubstead.domain.errors import BadRequest, Forbidden, HubError, NotFound, Unauthorized
from hubstead.storage.blobstore import LocalBlobStore
from hubstead.storage.database import Database
from hubstead.storage.models import LfsObject, RepoLfsObject, XetChunk, XetFile, XetFileTerm, XetXorb
from hubstead.xet import hashing
from hubstead.xet.shard import (
    CasChunk,
    CasEntry,
    ShardError,
    dedup_response_shard,
    parse_shard,
    verify_cas_entry,
    verify_file_entry,
)
from hubstead.xet.xorb import CHUNK_HEADER_LEN, XorbError, decompress_chunk, parse_chunk_header, verify_xorb

TOKEN_TTL = 3600
# 64 MiB of chunk content, plus the chunk headers and the framing of incompressible chunks
MAX_XORB_BODY = 64 * 1024 * 1024 + 1024 * 1024
MAX_SHARD_BODY = 64 * 1024 * 1024
MAX_DEDUP_XORBS = 64  # xorbs described in one deduplication answer (up to ~4 GiB of a file)

_CHUNKS = XetChunk.__table__
_TERMS = XetFileTerm.__table__
_FILES = XetFile.__table__
_LFS = LfsObject.__table__
_LINKS = RepoLfsObject.__table__
_CHUNKS_OF_XORB = select(_CHUNKS).where(_CHUNKS.c.xorb_hash == bindparam("xorb")).order_by(_CHUNKS.c.index)
_FILE_IN_REPO = (
    select(_FILES.c.hash, _FILES.c.size)
    .join(_LFS, _LFS.c.xet_hash == _FILES.c.hash)
    .join(_LINKS, _LINKS.c.oid == _LFS.c.oid)
    .where(_FILES.c.hash == bindparam("file"), _LINKS.c.repo_id == bindparam("repo"))
    .limit(1)
)
_TERMS_OF_FILE = select(_TERMS).where(_TERMS.c.file_hash == bindparam("file")).order_by(_TERMS.c.seq)


@dataclass(frozen=True)
class XetToken:
    repo_row_id: int
    scope: str  # "read" | "write"
    expires: int


@dataclass(frozen=True)
class ChunkInfo:
    hash: str
    size: int
    start: int  # serialized offset of the chunk header in the xorb
    end: int  # serialized offset just past the chunk's payload


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


class XetService:
    def __init__(self, db: Database, blobs: LocalBlobStore, secret: str):
        self.db = db
        self.blobs = blobs
        self._key = hashlib.sha256(b"hubstead-xet\x00" + secret.encode()).digest()

    # -- tokens -------------------------------------------------------------------------------

    def issue_token(self, repo_row_id: int, scope: str) -> tuple[str, int]:
        expires = int(time.time()) + TOKEN_TTL
        body = base64.urlsafe_b64encode(json.dumps([repo_row_id, scope, expires]).encode()).decode().rstrip("=")
        return f"xet_{body}.{self._mac(body)}", expires

    def check_token(self, authorization: str | None, scope: str) -> XetToken:
        """The token of a CAS request; 401 when missing or invalid, 403 when its scope is short."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.startswith("xet_") or "." not in token:
            raise Unauthorized("A Xet access token is required")
        body, _, mac = token[4:].rpartition(".")
        if not hmac.compare_digest(self._mac(body), mac):
            raise Unauthorized("Invalid Xet access token")
        try:
            repo_row_id, granted, expires = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except (ValueError, TypeError):
            raise Unauthorized("Invalid Xet access token") from None
        if expires < time.time():
            raise Unauthorized("Expired Xet access token")
        if scope == "write" and granted != "write":
            raise Forbidden("This Xet token has read access only")
        return XetToken(repo_row_id, granted, expires)

    def _mac(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()

    def sign_fetch(self, xorb: str, byte_range: str, expires: int) -> str:
        """A fetch URL grants one byte range of one xorb: xorbs may hold chunks of several
        files (and, through deduplication, of several repositories), so the whole xorb is never
        handed out."""
        return self._mac(f"fetch:{xorb}:{byte_range}:{expires}")

    def check_fetch(self, xorb: str, byte_range: str | None, expires: str | None, signature: str | None,
                    requested: str | None) -> None:
        if not expires or not expires.isdigit() or not signature or not byte_range:
            raise Forbidden("Missing or malformed signature")
        if int(expires) < time.time():
            raise Forbidden("This fetch URL has expired")
        if not hmac.compare_digest(self.sign_fetch(xorb, byte_range, int(expires)), signature):
            raise Forbidden("Invalid signature")
        first, _, last = byte_range.partition("-")
        start, end = parse_byte_range(requested, 1 << 62) if requested else (0, 0)
        if not requested or start < int(first) or end - 1 > int(last):
            raise Forbidden(f"This URL grants bytes {byte_range} only")

    # -- xorbs --------------------------------------------------------------------------------

    def store_xorb(self, xorb: str, data: bytes) -> bool:
        """Verify and store a xorb; False when it was already stored (content-addressed)."""
        _check_hex(xorb, "xorb hash")
        if len(data) > MAX_XORB_BODY:
            raise HubError("Xorb too large", status=413)
        with self.db.engine.connect() as connection:
            if connection.execute(select(XetXorb.hash).where(XetXorb.hash == xorb)).first() is not None:
                return False
        try:
            parsed = verify_xorb(data, xorb, max_bytes=MAX_XORB_BODY)
        except (XorbError, ValueError) as error:
            raise BadRequest(f"Invalid xorb {xorb}: {error}") from None
        if parsed.footer is not None:
            data = data[: parsed.chunk_bytes_len]  # serve chunk bytes only; the index is in the database
        self.blobs.put_xorb(xorb, data)
        rows = [
            {"xorb_hash": xorb, "index": c.index, "chunk_hash": hashing.hash_to_hex(c.hash), "unpacked_size": c.size,
             "serialized_start": c.offset, "serialized_end": c.end}
            for c in parsed.chunks
        ]
        try:
            with self.db.session() as session:
                session.add(XetXorb(hash=xorb, serialized_size=len(data), unpacked_size=parsed.unpacked_length,
                                    num_chunks=len(parsed.chunks)))
                session.flush()
                session.execute(insert(XetChunk), rows)
        except IntegrityError:
            return False  # stored concurrently by another request: same bytes
        return True

    def _chunks(self, connection, xorb: str) -> list[ChunkInfo]:
        return [
            ChunkInfo(row.chunk_hash, row.unpacked_size, row.serialized_start, row.serialized_end)
            for row in connection.execute(_CHUNKS_OF_XORB, {"xorb": xorb})
        ]

    # -- global deduplication ------------------------------------------------------------------

    def dedup_shard(self, chunk_hex: str) -> bytes | None:
        """A shard describing the xorbs of a file that holds this chunk, chunk hashes keyed with
        a fresh key: the client recognises the chunks it has and learns nothing about others.

        The client samples few chunks (a file's first, then about one in a thousand), so one hit
        answers with every xorb of a file using that chunk: an edited copy of a large file is
        deduplicated as a whole. Only chunks the protocol makes eligible are answered (a file's
        first chunk, or a hash that is 0 modulo 1024), which keeps the index from being probed
        chunk by chunk.
        """
        _check_hex(chunk_hex, "chunk hash")
        eligible = hashing.is_global_dedup_candidate(hashing.hex_to_hash(chunk_hex))
        with self.db.engine.connect() as connection:
            hits = connection.execute(
                select(_CHUNKS.c.xorb_hash, _CHUNKS.c.index).where(_CHUNKS.c.chunk_hash == chunk_hex).limit(8)
            ).all()
            for hit in hits:
                condition = [_TERMS.c.xorb_hash == hit.xorb_hash]
                if not eligible:
                    condition += [_TERMS.c.seq == 0, _TERMS.c.chunk_start == hit.index]
                owner = connection.execute(select(_TERMS.c.file_hash).where(*condition).limit(1)).first()
                if owner is not None:
                    break
            else:
                return None
            xorbs = [hit.xorb_hash]
            for row in connection.execute(_TERMS_OF_FILE, {"file": owner.file_hash}):
                if row.xorb_hash not in xorbs and len(xorbs) < MAX_DEDUP_XORBS:
                    xorbs.append(row.xorb_hash)
            entries = [self._cas_entry(xorb, self._chunks(connection, xorb)) for xorb in xorbs]
        now = int(time.time())
        return dedup_response_shard(entries, secrets.token_bytes(32), now, now + 7 * 24 * 3600)

    @staticmethod
    def _cas_entry(xorb: str, chunks: list[ChunkInfo]) -> CasEntry:
        offset, listed = 0, []
        for chunk in chunks:
            listed.append(CasChunk(hashing.hex_to_hash(chunk.hash), offset, chunk.size))
            offset += chunk.size
        return CasEntry(hashing.hex_to_hash(xorb), tuple(listed), offset, chunks[-1].end)

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
            known = {name: self._chunks(connection, name) for name in names}
        missing = sorted(name for name, chunks in known.items() if not chunks)
        if missing:
            raise BadRequest(f"Invalid shard: xorb {missing[0]} was not uploaded")
        by_raw = {hashing.hex_to_hash(name): [(hashing.hex_to_hash(c.hash), c.size) for c in chunks] for name, chunks in known.items()}
        try:
            for entry in shard.xorbs:
                verify_cas_entry(entry, by_raw[entry.xorb_hash])
            for file in shard.files:
                verify_file_entry(file, by_raw)
        except (ShardError, ValueError) as error:
            raise BadRequest(f"Invalid shard: {error}") from None
        for file in shard.files:
            self._register_file(token, file, known)
        return 1

    def _register_file(self, token: XetToken, file, known: dict[str, list[ChunkInfo]]) -> None:
        file_hex = file.file_hash_hex
        sha256 = file.sha256_hex
        if sha256 is not None:
            self._check_sha256(file, known, sha256)
        with self.db.session() as session:
            if session.get(XetFile, file_hex) is None:
                session.add(XetFile(hash=file_hex, size=file.size, sha256=sha256))
                session.flush()
                session.execute(insert(XetFileTerm), [
                    {"file_hash": file_hex, "seq": seq, "xorb_hash": hashing.hash_to_hex(t.xorb_hash),
                     "chunk_start": t.chunk_start, "chunk_end": t.chunk_end, "unpacked_size": t.unpacked_length}
                    for seq, t in enumerate(file.terms)
                ])
        if sha256 is None:
            return
        try:
            with self.db.session() as session:
                lfs = session.get(LfsObject, sha256)
                if lfs is None:
                    session.add(LfsObject(oid=sha256, size=file.size, xet_hash=file_hex))
                elif lfs.size != file.size:
                    raise BadRequest(f"Invalid shard: {sha256} is known with size {lfs.size}, not {file.size}")
                elif lfs.xet_hash is None:
                    lfs.xet_hash = file_hex
        except IntegrityError:
            pass  # registered concurrently; the link below still applies
        try:
            with self.db.session() as session:
                if session.get(RepoLfsObject, (token.repo_row_id, sha256)) is None:
                    session.add(RepoLfsObject(repo_id=token.repo_row_id, oid=sha256))
        except IntegrityError:
            pass

    def _check_sha256(self, file, known: dict[str, list[ChunkInfo]], claimed: str) -> None:
        """Recompute the file's SHA-256 from the stored chunks: commits name files by it."""
        digest = hashlib.sha256()
        for term in file.terms:
            chunks = known[hashing.hash_to_hex(term.xorb_hash)][term.chunk_start : term.chunk_end]
            for data in self._decode(hashing.hash_to_hex(term.xorb_hash), chunks):
                digest.update(data)
        if digest.hexdigest() != claimed:
            raise BadRequest(f"Invalid shard: file {file.file_hash_hex} does not have the SHA-256 {claimed}")

    def _decode(self, xorb: str, chunks: list[ChunkInfo]) -> Iterator[bytes]:
        """Decompressed contents of consecutive chunks of a stored xorb."""
        if not chunks:
            return
        base = chunks[0].start
        raw = self.blobs.read_xorb_range(xorb, base, chunks[-1].end)
        for chunk in chunks:
            header = parse_chunk_header(raw, chunk.start - base)
            payload = raw[chunk.start - base + CHUNK_HEADER_LEN : chunk.end - base]
            yield decompress_chunk(header, payload)

    # -- reconstruction -----------------------------------------------------------------------

    def file_size(self, token: XetToken | None, file_hex: str) -> int:
        """Size of a file the token's repository holds (any file when token is None)."""
        _check_hex(file_hex, "file hash")
        with self.db.engine.connect() as connection:
            if token is None:
                row = connection.execute(select(_FILES.c.size).where(_FILES.c.hash == file_hex)).first()
            else:
                row = connection.execute(_FILE_IN_REPO, {"file": file_hex, "repo": token.repo_row_id}).first()
        if row is None:
            raise NotFound(f"Unknown file {file_hex}")
        return row.size

    def plan(self, file_hex: str, size: int, start: int, end: int) -> Plan:
        """Which chunk ranges rebuild bytes [start, end) of a file, trimmed to whole chunks."""
        pieces: list[Piece] = []
        skip = None
        cumulative = 0
        with self.db.engine.connect() as connection:
            terms = connection.execute(_TERMS_OF_FILE, {"file": file_hex}).all()
            for term in terms:
                length = term.unpacked_size
                if cumulative + length <= start:
                    cumulative += length
                    continue
                if cumulative >= end:
                    break
                chunks = self._chunks(connection, term.xorb_hash)
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
                pieces.append(Piece(term.xorb_hash, first, last, length, chunks[first].start, chunks[last - 1].end))
                cumulative += length
        return Plan(pieces, skip or 0, max(0, end - start))

    def reconstruction(self, token: XetToken, file_hex: str, range_header: str | None, fetch_url) -> dict:
        """The v1 reconstruction answer for (a range of) a file."""
        size = self.file_size(token, file_hex)
        start, end = parse_byte_range(range_header, size)
        if size == 0:
            return {"offset_into_first_range": 0, "terms": [], "fetch_info": {}}
        plan = self.plan(file_hex, size, start, end)
        fetch_info: dict[str, list[dict]] = {}
        for piece in plan.pieces:
            fetch_info.setdefault(piece.xorb, []).append({
                "range": {"start": piece.start, "end": piece.end},
                "url": fetch_url(piece.xorb, piece.byte_start, piece.byte_end - 1),
                "url_range": {"start": piece.byte_start, "end": piece.byte_end - 1},
            })
        terms = [{"hash": p.xorb, "unpacked_length": p.unpacked, "range": {"start": p.start, "end": p.end}} for p in plan.pieces]
        return {"offset_into_first_range": plan.skip, "terms": terms, "fetch_info": fetch_info}

    def stream(self, file_hex: str, size: int, start: int, end: int) -> Iterator[bytes]:
        """The bytes [start, end) of a file, rebuilt on the server (for plain HTTP clients)."""
        plan = self.plan(file_hex, size, start, end)
        skip, remaining = plan.skip, plan.length
        with self.db.engine.connect() as connection:
            chunk_tables = {p.xorb: self._chunks(connection, p.xorb) for p in plan.pieces}
        for piece in plan.pieces:
            for data in self._decode(piece.xorb, chunk_tables[piece.xorb][piece.start : piece.end]):
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


def parse_byte_range(header: str | None, size: int) -> tuple[int, int]:
    """The CAS is strict where resolve is lenient: a Range it cannot read is a 400, not the
    whole file (hf_xet always sends one well-formed range)."""
    if not header:
        return 0, size
    parsed = parse_range(header, size)
    if parsed is None:
        raise BadRequest(f"Unsupported Range header: {header}")
    return parsed


def _check_hex(value: str, what: str) -> None:
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise BadRequest(f"Invalid {what}: {value!r}")
