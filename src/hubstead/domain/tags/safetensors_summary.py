"""The ``safetensors`` field: parameter counts per dtype, from the files' JSON headers."""

from __future__ import annotations

from hubstead.domain.tags.snapshot import JsonObject


def summarize_safetensors(headers: list[JsonObject]) -> JsonObject:
    """Parameter count per dtype over all shards (the ``safetensors`` field of the API).

    Each header is the parsed JSON header of one file: tensor name → {dtype, shape,
    data_offsets}, plus an optional ``__metadata__`` entry that is not a tensor.
    """
    per_dtype: dict[str, int] = {}
    for header in headers:
        for name, tensor in header.items():
            if name == "__metadata__" or not isinstance(tensor, dict):
                continue
            count = 1
            for dim in tensor.get("shape", []):
                count *= int(dim)
            dtype = str(tensor.get("dtype"))
            per_dtype[dtype] = per_dtype.get(dtype, 0) + count
    return {"parameters": per_dtype, "total": sum(per_dtype.values())}
