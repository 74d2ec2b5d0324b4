"""The hub's one signing scheme: HMAC-SHA256 over what a URL or token allows, with an expiry.

The Hub client sends LFS `PUT`s (and multipart completions) without an Authorization header, so
the URL itself must carry the permission; `hf_xet` fetches xorb ranges the same way, and its
access tokens are signed by the same key. Every signature starts with a field naming its
purpose ("upload", "download", "xet-token", "xet-fetch", …), so one can never stand for another.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from hubstead.domain.errors import Forbidden


class UrlSigner:
    def __init__(self, secret: str, ttl: int):
        self._key = secret.encode()
        self.ttl = ttl

    def sign(self, *fields: object, expires: int | None = None) -> tuple[int, str]:
        exp = expires if expires is not None else int(time.time()) + self.ttl
        return exp, self._mac(fields, exp)

    def verify(self, signature: str | None, expires: str | None, *fields: object) -> None:
        """Raise 403 unless `signature` is ours for exactly these fields and has not expired."""
        if not signature or not plain_number(expires):
            raise Forbidden("Missing or malformed signature")
        if int(expires) < time.time():
            raise Forbidden("This signed URL has expired")
        if not self.matches(signature, int(expires), *fields):
            raise Forbidden("Invalid signature")

    def matches(self, signature: str, expires: int, *fields: object) -> bool:
        """Whether `signature` is ours for exactly these fields and expiry (expiry not checked)."""
        return hmac.compare_digest(
            self._mac(fields, expires).encode(), signature.encode("utf-8", "replace")
        )

    def _mac(self, fields: tuple[object, ...], exp: int) -> str:
        message = "\x1f".join(str(field) for field in (*fields, exp)).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


def plain_number(value: str | None) -> bool:
    """ASCII digits of a time that fits (`"²".isdigit()` is true, and `int("²")` fails)."""
    return bool(value) and value.isascii() and value.isdigit() and len(value) <= 12
