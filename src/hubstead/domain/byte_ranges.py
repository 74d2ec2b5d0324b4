"""HTTP Range headers: the single `bytes=a-b` form every client of the hub sends."""

from __future__ import annotations

import re

from hubstead.domain.errors import RangeNotSatisfiable

_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)\Z")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """A single `bytes=a-b` range as (start, end-exclusive), clamped to `size`.

    None means "the whole file": no header, or a multi-range or malformed one, which RFC 9110
    allows a server to ignore. A range starting at or past the end raises 416.
    """
    if not header:
        return None
    match = _RANGE_RE.match(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if first == "":
        if not last:
            return None
        length = int(last)
        if length == 0:
            raise _unsatisfiable(size)
        return max(0, size - length), size
    start = int(first)
    end = min(int(last) + 1, size) if last else size
    if start >= size or end <= start:
        raise _unsatisfiable(size)
    return start, end


def _unsatisfiable(size: int) -> RangeNotSatisfiable:
    return RangeNotSatisfiable(
        "Range not satisfiable", headers={"Content-Range": f"bytes */{size}"}
    )
