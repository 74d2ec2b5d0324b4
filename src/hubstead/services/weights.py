"""Safetensors headers: a sharded model's in one answer (`get_sharded_safetensors_metadata`),
and each file's parameter counts, kept by content.

A safetensors file starts with an 8-byte little-endian length and that many bytes of JSON (the
tensors' dtypes, shapes and offsets). The index file (`model.safetensors.index.json`) maps each
tensor to its shard, a path relative to the index's folder. Only the headers are read, from git,
the blob store or Xet, never whole shards, and only up to the hub's cap
(`HUBSTEAD_MAX_SAFETENSORS_HEADER_BYTES`): the format allows 100 MB of JSON, which costs seconds
and hundreds of MB to parse in Python, for no real model (a header takes some 100 bytes per
tensor).
"""

from __future__ import annotations

import json
import posixpath
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable

from hubstead.domain.errors import BadRequest, EntryNotFound, HubError, PayloadTooLarge
from hubstead.domain.paths import validate_path
from hubstead.domain.tags.safetensors_summary import DEFAULT_MAX_HEADER_BYTES, parameter_counts
from hubstead.services.files import FileService, ResolvedFile
from hubstead.services.repos import RepoHandle
from hubstead.services.xet import XetService

MAX_INDEX_BYTES = 20 * 1024 * 1024
MAX_SHARDS = 2048
COUNTS_KEPT = 16_384  # files whose parameter counts a process keeps (a few hundred bytes each)

# Reads bytes [start, end) of one file.
Reader = Callable[[int, int], bytes]


class Unreadable(Exception):
    """A file's bytes are not in the store (yet): nothing is known of it, nothing is kept."""


def read_header(read: Reader, size: int, max_bytes: int, path: str = "the file") -> dict:
    """The JSON header of a safetensors file of `size` bytes. A header over `max_bytes` is
    refused unread (413); one that is not a safetensors header is a 400."""
    if size < 8:
        raise BadRequest(
            f"{path} is not a safetensors file: it is shorter than its 8-byte header length"
        )
    (length,) = struct.unpack("<Q", read(0, 8))
    if 8 + length > size:
        raise BadRequest(
            f"{path} is not a safetensors file: its header length ({length}) is invalid"
        )
    if length > max_bytes:
        raise PayloadTooLarge(
            f"{path} has a safetensors header of {length:,} bytes, "
            f"more than the {max_bytes:,} this hub reads"
        )
    try:
        header = json.loads(read(8, 8 + length))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest(f"{path} is not a safetensors file: its header is not JSON") from None
    if not isinstance(header, dict):
        raise BadRequest(f"{path} is not a safetensors file: its header is not a JSON object")
    return header


class ParameterCounts:
    """Parameters per dtype of safetensors files, kept by content (`content_key`: an LFS
    object's SHA-256 or a git blob's id), so a header is read and parsed once per process however
    many commits and old revisions show the file: a commit to a repository with a large header
    used to parse it again to refresh the card, and `model_info` at an old revision on every call.
    A header past the cap, or not valid, has unknown counts (None), kept as well."""

    def __init__(self, max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES, kept: int = COUNTS_KEPT):
        self.max_header_bytes = max_header_bytes
        self.kept = kept
        self.headers_read = 0  # the headers this process read (what the cache spared is the rest)
        self._counts: OrderedDict[str, dict[str, int] | None] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, content_key: str, size: int, read: Reader) -> dict[str, int] | None:
        """The file's counts, from the cache or from its header (`read`, which may raise
        Unreadable: unknown, and not kept)."""
        with self._lock:
            if content_key in self._counts:
                self._counts.move_to_end(content_key)
                return self._counts[content_key]
        try:
            self.headers_read += 1
            counts = parameter_counts(read_header(read, size, self.max_header_bytes), size)
        except HubError:  # past the cap, or not a safetensors file: its parameters are unknown
            counts = None
        except Unreadable:
            return None
        with self._lock:
            self._counts[content_key] = counts
            while len(self._counts) > self.kept:
                self._counts.popitem(last=False)
        return counts


class WeightsService:
    def __init__(
        self, files: FileService, xet: XetService, max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    ):
        self.files = files
        self.xet = xet
        self.max_header_bytes = max_header_bytes

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
        return read_header(
            lambda start, end: self._read(resolved, start, end),
            resolved.entry.size,
            self.max_header_bytes,
            path,
        )

    def _read(self, resolved: ResolvedFile, start: int, end: int) -> bytes:
        return self.files.read_range(resolved, start, end)
