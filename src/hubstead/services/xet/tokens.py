"""Access to the CAS: short-lived Xet tokens per repository (read or write scope), and fetch URLs
that grant one byte range of one xorb. Both are signed by the hub's UrlSigner."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass

from hubstead.domain.errors import Forbidden, Unauthorized
from hubstead.services.signing import UrlSigner, plain_number
from hubstead.services.xet.common import parse_byte_range

TOKEN_TTL = 3600


@dataclass(frozen=True)
class XetToken:
    repo_row_id: int
    scope: str  # "read" | "write"
    expires: int
    user_id: int | None = None  # who asked for it (None: anonymous); deduplication scope


class XetTokens:
    """`xet_<base64url JSON [repo row id, scope, expires, user id]>.<signature>`: opaque to
    hf_xet, which sends it back as a bearer token; the signature covers every field. The user
    (0 for anonymous) decides which repositories' xorbs the token deduplicates against
    (`services/xet/reach.py`). Tokens of three fields, minted before the user was carried, are
    still accepted for their hour, as anonymous ones."""

    def __init__(self, signer: UrlSigner):
        self.signer = signer

    def issue_token(
        self, repo_row_id: int, scope: str, user_id: int | None = None
    ) -> tuple[str, int]:
        user = user_id or 0
        expires, signature = self.signer.sign(
            "xet-token", repo_row_id, scope, user, expires=int(time.time()) + TOKEN_TTL
        )
        body = (
            base64.urlsafe_b64encode(json.dumps([repo_row_id, scope, expires, user]).encode())
            .decode()
            .rstrip("=")
        )
        return f"xet_{body}.{signature}", expires

    def check_token(self, authorization: str | None, scope: str) -> XetToken:
        """The token of a CAS request; 401 when missing or invalid, 403 when its scope is short."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.startswith("xet_") or "." not in token:
            raise Unauthorized("A Xet access token is required")
        body, _, signature = token[4:].rpartition(".")
        try:
            fields = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except (ValueError, TypeError):
            raise Unauthorized("Invalid Xet access token") from None
        if not isinstance(fields, list) or len(fields) not in (3, 4):
            raise Unauthorized("Invalid Xet access token")
        repo_row_id, granted, expires, *user = fields
        signed = (repo_row_id, granted, *user)
        if not (
            isinstance(repo_row_id, int)
            and isinstance(granted, str)
            and isinstance(expires, int)
            and all(isinstance(u, int) for u in user)
        ) or not self.signer.matches(signature, expires, "xet-token", *signed):
            raise Unauthorized("Invalid Xet access token")
        if expires < time.time():
            raise Unauthorized("Expired Xet access token")
        if scope == "write" and granted != "write":
            raise Forbidden("This Xet token has read access only")
        return XetToken(repo_row_id, granted, expires, user[0] or None if user else None)

    def sign_fetch(self, xorb: str, byte_range: str, expires: int) -> str:
        """A fetch URL grants one byte range of one xorb: xorbs may hold chunks of several
        files (and, through deduplication, of several repositories), so the whole xorb is never
        handed out."""
        return self.signer.sign("xet-fetch", xorb, byte_range, expires=expires)[1]

    def check_fetch(
        self,
        xorb: str,
        byte_range: str | None,
        expires: str | None,
        signature: str | None,
        requested: str | None,
    ) -> None:
        if not plain_number(expires) or not signature or not byte_range:
            raise Forbidden("Missing or malformed signature")
        if int(expires) < time.time():
            raise Forbidden("This fetch URL has expired")
        if not self.signer.matches(signature, int(expires), "xet-fetch", xorb, byte_range):
            raise Forbidden("Invalid signature")
        first, _, last = byte_range.partition("-")
        start, end = parse_byte_range(requested, 1 << 62) if requested else (0, 0)
        if not requested or start < int(first) or end - 1 > int(last):
            raise Forbidden(f"This URL grants bytes {byte_range} only")
