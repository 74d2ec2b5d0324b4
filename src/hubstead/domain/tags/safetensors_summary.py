"""The ``safetensors`` field: parameter counts per dtype, from the files' JSON headers.

A file's counts are worked out once from its header (`parameter_counts`) and the repository's
summary adds them up (`summarize_counts`): a service can then keep the counts of each file by
its content, however many commits and revisions show the same file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from hubstead.domain.tags.snapshot import JsonObject

# How much of a header the hub reads (`HUBSTEAD_MAX_SAFETENSORS_HEADER_BYTES`): the format allows
# 100 MB, but a header takes some 100 bytes per tensor, so 16 MiB is 160,000 tensors in one file.
DEFAULT_MAX_HEADER_BYTES = 16 * 1024 * 1024
# The narrowest dtype safetensors knows takes 4 bits: a header claiming more parameters than
# two per byte of its file lies about its shapes (or would overflow the listing's column).
PARAMETERS_PER_BYTE = 2


def parameter_counts(header: JsonObject, file_size: int | None = None) -> dict[str, int] | None:
    """Parameters per dtype in one file's header: tensor name → {dtype, shape, data_offsets},
    plus an optional ``__metadata__`` entry that is not a tensor. None when a shape is not a list
    of non-negative integers, or (given the file's size) the total cannot fit in the file."""
    per_dtype: dict[str, int] = {}
    for name, tensor in header.items():
        if name == "__metadata__" or not isinstance(tensor, dict):
            continue
        shape = tensor.get("shape", [])
        if not isinstance(shape, list) or not all(_is_dimension(dim) for dim in shape):
            return None
        count = 1
        for dim in shape:
            count *= dim
        dtype = str(tensor.get("dtype"))
        per_dtype[dtype] = per_dtype.get(dtype, 0) + count
    if file_size is not None and sum(per_dtype.values()) > PARAMETERS_PER_BYTE * file_size:
        return None
    return per_dtype


def _is_dimension(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def summarize_counts(files: Iterable[Mapping[str, int]]) -> JsonObject:
    """The ``safetensors`` field from each file's counts: per dtype over all files, and the total."""
    per_dtype: dict[str, int] = {}
    for counts in files:
        for dtype, count in counts.items():
            per_dtype[dtype] = per_dtype.get(dtype, 0) + count
    return {"parameters": per_dtype, "total": sum(per_dtype.values())}


def summarize_safetensors(headers: list[JsonObject]) -> JsonObject:
    """Parameter count per dtype over all shards (the ``safetensors`` field of the API); a
    header whose shapes are not valid counts for nothing."""
    return summarize_counts(parameter_counts(header) or {} for header in headers)
