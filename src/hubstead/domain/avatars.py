"""Default avatars: a small identicon derived from the account name.

The Hub always answers with an avatar URL, and clients and pages show it as an image. Accounts
without one get `/avatars/{name}.svg`, a 5×5 mirrored grid whose pattern and colour come from
the SHA-256 of the name: the same name always gives the same picture, so it needs no storage,
no database lookup, and can be cached by anyone.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote

from hubstead.domain.errors import BadRequest

AVATAR_PREFIX = "/avatars/"
GRID = 5
CELL = 10
MAX_AVATAR_URL_LENGTH = 512


def default_avatar_path(name: str) -> str:
    return f"{AVATAR_PREFIX}{quote(name, safe='')}.svg"


def avatar_url(stored: str | None, name: str, base_url: str = "") -> str:
    """The URL to show: the account's own, else its identicon on this hub."""
    return stored or base_url + default_avatar_path(name)


def check_avatar_url(url: str) -> str:
    """An avatar is shown as an image in pages: only http(s) URLs, never `javascript:` or `data:`."""
    if len(url) > MAX_AVATAR_URL_LENGTH:
        raise BadRequest(f"The avatar URL is longer than {MAX_AVATAR_URL_LENGTH} characters")
    if not url.startswith(("https://", "http://")) or any(c.isspace() or c in "\"'<>" for c in url):
        raise BadRequest(f"Invalid avatar URL {url!r}: use an http:// or https:// URL")
    return url


def identicon_svg(name: str) -> str:
    """A deterministic SVG for `name`: bits of its hash fill the left half, mirrored to the right."""
    digest = hashlib.sha256(name.encode()).digest()
    hue = int.from_bytes(digest[:2], "big") % 360
    half = (GRID + 1) // 2
    cells = []
    for row in range(GRID):
        for col in range(half):
            if digest[2 + row * half + col] & 1:
                for x in {col, GRID - 1 - col}:
                    cells.append(
                        f'<rect x="{x * CELL}" y="{row * CELL}" width="{CELL}" height="{CELL}"/>'
                    )
    size = GRID * CELL
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="-5 -5 {size + 10} {size + 10}" width="120" height="120">'
        f'<rect x="-5" y="-5" width="{size + 10}" height="{size + 10}" fill="hsl({hue},25%,94%)"/>'
        f'<g fill="hsl({hue},55%,50%)">{"".join(cells)}</g></svg>'
    )
