"""Self-authorising URLs for LFS transfers.

The Hub client sends LFS `PUT`s (and multipart completions) without an Authorization header, so
the URL itself must carry the permission: an HMAC over what it allows, with an expiry.
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
        if not signature or not expires or not expires.isdigit():
            raise Forbidden("Missing or malformed signature")
        if int(expires) < time.time():
            raise Forbidden("This signed URL has expired")
        if not hmac.compare_digest(self._mac(fields, int(expires)), signature):
            raise Forbidden("Invalid signature")

    def _mac(self, fields: tuple[object, ...], exp: int) -> str:
        message = "\x1f".join(str(field) for field in (*fields, exp)).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
