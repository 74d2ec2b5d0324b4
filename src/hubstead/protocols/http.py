"""Plumbing shared by every protocol: routing on the raw path, the Hub's error format, auth.

Routing uses the *raw* request path because the Hub's clients put `%2F`-encoded revisions such
as `refs%2Fpr%2F1` inside one path segment, which a decoded path would split in two.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import unquote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hubstead.domain.errors import (
    BadRequest,
    Forbidden,
    HubError,
    InvalidCredentials,
    InvalidName,
    PayloadTooLarge,
    RepoNotFound,
)
from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.hub import Hub
from hubstead.services import access
from hubstead.services.accounts import Principal
from hubstead.services.repos import RepoHandle

MAX_BODY = 2 * 1024 * 1024 * 1024  # a commit may inline up to ~100 MB of base64 per the client

# Building blocks of route patterns.
REPO_TYPE = r"(?P<rtype>models|datasets|spaces)"
REPO_ID = r"(?P<ns>[^/]+)/(?P<name>[^/]+)"
REVISION = r"(?P<rev>refs/pr/\d+|refs/convert/[^/]+|[^/]+)"
URL_PREFIX = r"(?:(?P<prefix>datasets|spaces)/)?"


@dataclass
class Ctx:
    """What a synchronous handler sees: the request, its body and its (lazy) caller."""

    hub: Hub
    request: Request
    body: bytes = b""
    _principal: Any = field(default=..., repr=False)

    @property
    def principal(self) -> Principal | None:
        if self._principal is ...:
            self._principal = authenticate(self.hub, self.request.headers.get("authorization"))
        return self._principal

    @property
    def query(self):
        return self.request.query_params

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("1", "true", "yes")

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BadRequest("The request body is not valid JSON") from None

    @property
    def base_url(self) -> str:
        return base_url(self.hub, self.request)


def base_url(hub: Hub, request: Request) -> str:
    """Absolute URLs are required by the client (Link pagination, repo URLs, LFS hrefs)."""
    if hub.settings.public_url:
        return hub.settings.public_url.rstrip("/")
    host = request.headers.get("host") or f"{hub.settings.host}:{hub.settings.port}"
    return f"{request.url.scheme}://{host}"


def authenticate(hub: Hub, header: str | None) -> Principal | None:
    """Bearer tokens (the Hub clients) and Basic auth with a token or password (git, git-lfs)."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return hub.accounts.authenticate(value)
    if scheme.lower() == "basic":
        try:
            user, _, secret = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidCredentials() from None
        if secret.startswith("hf_"):
            return hub.accounts.authenticate(secret)
        return hub.accounts.authenticate_password(user, secret)
    raise InvalidCredentials()


def find_repo(
    hub: Hub, principal: Principal | None, repo_type: RepoType, ns: str, name: str, need: str, base: str = ""
) -> RepoHandle:
    """The repository named in a URL, if `principal` may `need` it; an invalid name is simply
    a repository that does not exist.

    `need="download"` is read access plus the gate of a gated repository: every route that
    hands out file contents asks for it, so the gate is decided here and nowhere else. `base`
    (the hub's URL) goes into the refusal, which tells where to ask for access.
    """
    try:
        repo_id = RepoId.create(ns, name)
    except InvalidName:
        raise access.not_found(principal) from None
    if need != "download":
        return hub.repos.get(repo_type, repo_id, principal, need)
    handle = hub.repos.get(repo_type, repo_id, principal, "read")
    hub.gating.check_download(handle, principal, f"{base}/{repo_type.url_prefix}{handle.id}")
    return handle


def open_repo(ctx: Ctx, repo_type: RepoType, ns: str, name: str, need: str = "read") -> RepoHandle:
    """The repository named in the URL, if the request's caller may `need` it."""
    return find_repo(ctx.hub, ctx.principal, repo_type, ns, name, need, ctx.base_url)


def open_repo_for_upload(ctx: Ctx, repo_type: RepoType, ns: str, name: str, for_pull_request: bool) -> RepoHandle:
    """Write access, or, for changes proposed as a pull request, read access and a write token
    (as on the Hub, anyone who can read a repository may open a pull request on it).

    On a gated repository a pull request needs access to the files too: the Hub opens the
    community tab with the files, and the Xet token of an upload could read them back."""
    if not for_pull_request:
        return open_repo(ctx, repo_type, ns, name, "write")
    handle = open_repo(ctx, repo_type, ns, name, "download")
    if ctx.principal is None:
        raise RepoNotFound(status=401)
    if not ctx.principal.can_write:
        raise Forbidden("This token has read access only: a write token is needed to upload or open a pull request")
    return handle


Handler = Callable[..., Any]


class Router:
    def __init__(self) -> None:
        self.routes: list[tuple[frozenset[str], re.Pattern[str], Handler, frozenset[str]]] = []

    def route(self, methods: str, pattern: str, inline: str = "") -> Callable[[Handler], Handler]:
        """Register a handler. Sync handlers run in the thread pool, except for the methods in
        `inline`: those are short enough (a few indexed lookups) that a thread hop would cost
        more than it saves, so they run on the event loop."""

        def register(handler: Handler) -> Handler:
            self.routes.append((frozenset(methods.split()), re.compile(pattern), handler, frozenset(inline.split())))
            return handler

        return register

    def include(self, other: "Router") -> None:
        self.routes.extend(other.routes)

    async def dispatch(self, hub: Hub, request: Request) -> Response:
        raw = request.scope.get("raw_path") or request.scope["path"].encode()
        path = raw.decode("latin-1").split("?", 1)[0]
        method_mismatch = False
        for methods, pattern, handler, inline in self.routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if method_mismatch and getattr(handler, "is_fallback", False):
                break  # the path exists with other methods: 405, not the catch-all's answer
            if request.method not in methods:
                method_mismatch = True
                continue
            params = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
            if inspect.iscoroutinefunction(handler):
                return await handler(hub, request, **params)
            body = await read_body(request) if request.method in ("POST", "PUT", "PATCH", "DELETE") else b""
            if request.method in inline:
                return handler(Ctx(hub, request, body), **params)
            return await run_in_threadpool(handler, Ctx(hub, request, body), **params)
        if method_mismatch:
            raise HubError("Method not allowed", status=405)
        raise HubError("Not Found", status=404)


async def read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise PayloadTooLarge("Request body too large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise PayloadTooLarge("Request body too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _header_safe(message: str) -> str:
    text = " ".join(message.split())
    return text.encode("latin-1", "replace").decode("latin-1")[:1000]


def error_response(error: HubError, method: str, extra: dict | None = None) -> Response:
    """The Hub's error format: status, X-Error-Code, X-Error-Message and a JSON `error`."""
    headers = {"X-Error-Message": _header_safe(error.message), **error.headers}
    if error.code:
        headers["X-Error-Code"] = error.code
    if method == "HEAD":
        return Response(status_code=error.status, headers=headers)
    return JSONResponse({"error": error.message, **(extra or {})}, status_code=error.status, headers=headers)


def json_response(data: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        json.dumps(data, separators=(",", ":")).encode(),
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


def next_link(ctx: Ctx, **changes: Any) -> str:
    """An absolute `Link: <…>; rel="next"` for the same request with changed query params."""
    params = [(k, v) for k, v in ctx.query.multi_items() if k not in changes]
    params += [(k, str(v)) for k, v in changes.items()]
    raw = ctx.request.scope.get("raw_path") or ctx.request.scope["path"].encode()
    path = raw.decode("latin-1").split("?", 1)[0]
    return f'<{ctx.base_url}{path}?{urlencode(params)}>; rel="next"'

