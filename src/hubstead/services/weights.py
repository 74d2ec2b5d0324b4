"""The headers of a sharded safetensors model in one answer (`get_sharded_safetensors_metadata`).

A safetensors file starts with an 8-byte little-endian length and that many bytes of JSON (the
tensors' dtypes, shapes and offsets). The index file (`model.safetensors.index.json`) maps each
tensor to its shard, a path relative to the index's folder. Only the headers are read, from git,
the blob store or Xet, never whole shards.
"""

from __future__ import annotations

import json
import posixpath
import struct

from hubstead.domain.errors import BadRequest, EntryNotFound, PayloadTooLarge
from hubstead.domain.paths import validate_path
from hubstead.services.files import FileService, ResolvedFile
from hubstead.services.repos import RepoHandle
from hubstead.services.xet import XetService

MAX_INDEX_BYTES = 20 * 1024 * 1024
MAX_HEADER_BYTES = 100 * 1024 * 1024
MAX_SHARDS = 2048


class WeightsService:
    def __init__(self, files: FileService, xet: XetService):
        self.files = files
        self.xet = xet

    def sharded_metadata(self, handle: RepoHandle, revision: str, index_path: str) -> dict:
        """`{"index": the index without its weight_map, "headers": {shard: its JSON header}}`."""
        index_path = validate_path(index_path)
        index_file = self.files.resolve(handle, revision, index_path)
        if index_file.entry.size > MAX_INDEX_BYTES:
            raise PayloadTooLarge(f"{index_path} is larger than {MAX_INDEX_BYTES} bytes")
        try:
            index = json.loads(self._read(index_file, 0, index_file.entry.size))
        except (ValueError, UnicodeDecodeError):
            raise BadRequest(f"{index_path} is not valid JSON") from None
        weight_map = index.get("weight_map") if isinstance(index, dict) else None
        if not isinstance(weight_map, dict) or not all(
            isinstance(v, str) for v in weight_map.values()
        ):
            raise BadRequest(
                f"{index_path} is not a safetensors index: it needs a 'weight_map' of tensor → file"
            )
        shards = sorted(set(weight_map.values()))
        if len(shards) > MAX_SHARDS:
            raise PayloadTooLarge(f"{index_path} names more than {MAX_SHARDS} shards")
        folder = posixpath.dirname(index_path)
        # pinned to the index's commit: a concurrent commit cannot mix two versions of the model
        commit = index_file.commit
        headers = {
            shard: self.header(handle, commit, posixpath.join(folder, shard) if folder else shard)
            for shard in shards
        }
        return {
            "index": {key: value for key, value in index.items() if key != "weight_map"},
            "headers": headers,
        }

    def header(self, handle: RepoHandle, revision: str, path: str) -> dict:
        try:
            resolved = self.files.resolve(handle, revision, validate_path(path))
        except EntryNotFound as missing:
            raise EntryNotFound(
                f"Shard {path} named by the index does not exist", headers=missing.headers
            ) from None
        size = resolved.entry.size
        if size < 8:
            raise BadRequest(
                f"{path} is not a safetensors file: it is shorter than its 8-byte header length"
            )
        (length,) = struct.unpack("<Q", self._read(resolved, 0, 8))
        if length > MAX_HEADER_BYTES or 8 + length > size:
            raise BadRequest(
                f"{path} is not a safetensors file: its header length ({length}) is invalid"
            )
        try:
            header = json.loads(self._read(resolved, 8, 8 + length))
        except (ValueError, UnicodeDecodeError):
            raise BadRequest(f"{path} is not a safetensors file: its header is not JSON") from None
        if not isinstance(header, dict):
            raise BadRequest(f"{path} is not a safetensors file: its header is not a JSON object")
        return header

    def _read(self, resolved: ResolvedFile, start: int, end: int) -> bytes:
        if resolved.content is not None:
            return resolved.content[start:end]
        if resolved.blob_path is not None:
            with open(resolved.blob_path, "rb") as handle:
                handle.seek(start)
                return handle.read(end - start)
        return b"".join(self.xet.stream(resolved.xet_hash, resolved.entry.size, start, end))
