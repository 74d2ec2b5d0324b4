"""What every handler sees (`Ctx`), who is calling (`authenticate`), and the Hub's answer formats."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from typing import IO, Any
from urllib.parse import parse_qs, urlencode

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hubstead.domain.client_address import client_address
from hubstead.domain.errors import BadRequest, HubError, InvalidCredentials
from hubstead.hub import Hub
from hubstead.protocols.urls import BoundUrls, UrlMap
from hubstead.services.principal import Principal
from hubstead.services.repos import RepoHandle

_UNSET: Any = object()


SESSION_COOKIE = "hubstead_session"
CSRF_COOKIE = "hubstead_csrf"


class Ctx:
    """One request as a handler sees it: the hub, the request, its body (read by the router
    within the route's limit), its caller (authenticated on first use), the repository the
    route resolved, and the hub's URLs as this request reaches them."""

    def __init__(self, hub: Hub, request: Request, urls: UrlMap) -> None:
        self.hub = hub
        self.request = request
        self._url_map = urls
        self.body: bytes = b""
        self.body_file: IO[bytes] | None = None  # a spooled body (routes declared with spool)
        self._repo: RepoHandle | None = None
        self._principal: Principal | None = _UNSET
        self._urls: BoundUrls | None = None
        self._json: Any = _UNSET
        self._form: dict[str, list[str]] | None = None
        # a web page's route: with no Authorization header, the browser's session signs it in
        self.use_session = False
        self.new_csrf_secret: str | None = None  # set a CSRF cookie on the response

    @property
    def principal(self) -> Principal | None:
        if self._principal is _UNSET:
            header = self.request.headers.get("authorization")
            if header is None and self.use_session:
                cookie = self.request.cookies.get(SESSION_COOKIE)
                self._principal = self.hub.sessions.principal(cookie)
            else:
                self._principal = authenticate(self.hub, header)
        return self._principal

    @property
    def csrf_secret(self) -> str | None:
        """The browser's CSRF cookie (made now, and set on the response, if it has none)."""
        secret = self.request.cookies.get(CSRF_COOKIE) or self.new_csrf_secret
        if not secret:
            secret = self.new_csrf_secret = self.hub.sessions.new_csrf_secret()
        return secret

    def csrf_token(self) -> str:
        """What a form of this page carries as `csrf_token`."""
        secret = self.csrf_secret
        assert secret is not None
        return self.hub.sessions.csrf_token(secret)

    def form_value(self, name: str) -> str | None:
        """One field of an urlencoded form body (None: absent)."""
        if self._form is None:
            try:
                self._form = parse_qs(self.body.decode(), keep_blank_values=True)
            except UnicodeDecodeError:
                self._form = {}
        values = self._form.get(name)
        return values[0] if values else None

    @property
    def client_address(self) -> str | None:
        """The address the request came from (per-address limits, the audit log): the
        connection's, or the client's that trusted proxies forwarded (HUBSTEAD_TRUSTED_PROXIES)."""
        client = self.request.client
        return client_address(
            client.host if client else None,
            self.request.headers.getlist("x-forwarded-for"),
            self.hub.trusted_proxies,
        )

    @property
    def secure(self) -> bool:
        """Whether the browser reached the hub over HTTPS (cookies are `Secure` then)."""
        public = self.hub.settings.public_url or ""
        return self.request.url.scheme == "https" or public.startswith("https://")

    @property
    def repo(self) -> RepoHandle:
        """The repository of a repository route, resolved by the router before the handler ran."""
        if self._repo is None:
            raise RuntimeError("this route resolves no repository")
        return self._repo

    def set_repo(self, handle: RepoHandle) -> None:
        self._repo = handle

    @property
    def query(self) -> QueryParams:
        return self.request.query_params

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("1", "true", "yes")

    def json(self) -> Any:
        """The body as JSON ({} when empty), parsed once however often a route asks."""
        if self._json is _UNSET:
            if self.body_file is not None:
                self.body_file.seek(0)
                raw = self.body_file.read()
            else:
                raw = self.body
            try:
                self._json = json.loads(raw or b"{}")
            except (ValueError, RecursionError):  # ValueError: also a 5000-digit number
                raise BadRequest("The request body is not valid JSON") from None
        return self._json

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object ({} when empty; `null` counts as empty, as the client
        sends it for a call without arguments); any other JSON value is refused."""
        body = self.json()
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object")
        return body

    def body_lines(self) -> Iterator[bytes]:
        """The body one line at a time, from memory or from its spool file."""
        if self.body_file is None:
            yield from self.body.split(b"\n")
            return
        self.body_file.seek(0)
        yield from self.body_file

    def has_body(self) -> bool:
        if self.body_file is not None:
            self.body_file.seek(0, 2)
            return self.body_file.tell() > 0
        return bool(self.body.strip())

    @property
    def base_url(self) -> str:
        return base_url(self.hub, self.request)

    @property
    def urls(self) -> BoundUrls:
        """The URL builder services receive (`services.urls.Links`)."""
        if self._urls is None:
            self._urls = self._url_map.bind(self.base_url)
        return self._urls

    def url_for(self, name: str, /, query: dict[str, Any] | None = None, **params: Any) -> str:
        """The absolute URL of a named route or link (`protocols.urls`)."""
        return self.urls.url_for(name, query, **params)

    def next_link(self, **changes: Any) -> str:
        """An absolute `Link: <…>; rel="next"` for the same request with changed query params."""
        params = [(k, v) for k, v in self.query.multi_items() if k not in changes]
        params += [(k, str(v)) for k, v in changes.items()]
        return f'<{self.base_url}{raw_path(self.request)}?{urlencode(params)}>; rel="next"'


def raw_path(request: Request) -> str:
    """The path as sent, `%2F` and all: routes match it, redirects and links reuse it."""
    raw = request.scope.get("raw_path") or request.scope["path"].encode()
    return raw.decode("latin-1").split("?", 1)[0]


_PLAIN_HOST = re.compile(r"(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?")
_EVERY_INTERFACE = frozenset({"", "0.0.0.0", "::", "[::]"})


def base_url(hub: Hub, request: Request) -> str:
    """The start of every absolute URL the hub hands out (Link pagination, repo URLs, LFS
    hrefs): the configured public URL; without one, the address the hub listens on. A request's
    `Host` header is a caller's say, so it is used only when the hub listens on every interface
    (and no public URL says better), and only if it is a plain host and port."""
    settings = hub.settings
    if settings.public_url:
        return settings.public_url.rstrip("/")
    if settings.host not in _EVERY_INTERFACE:
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        return f"http://{host}:{settings.port}"
    header = request.headers.get("host", "")
    if _PLAIN_HOST.fullmatch(header):
        return f"http://{header}"
    return f"http://127.0.0.1:{settings.port}"


def authenticate(hub: Hub, header: str | None) -> Principal | None:
    """Bearer tokens (the Hub clients) and Basic auth with a token as the password (git,
    git-lfs; the user name is ignored). A password over Basic auth is refused, as on the Hub:
    passwords sign in browsers only."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return hub.accounts.authenticate(value)
    if scheme.lower() == "basic":
        try:
            _user, _, secret = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidCredentials() from None
        return hub.accounts.authenticate_basic(secret)
    raise InvalidCredentials()


def _header_safe(message: str) -> str:
    """A message fit for a header: one line, Latin-1, no control characters (a NUL copied from
    a request's path would make the server drop the whole answer)."""
    text = " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", message).split())
    return text.encode("latin-1", "replace").decode("latin-1")[:1000]


def error_response(error: HubError, method: str, extra: dict[str, Any] | None = None) -> Response:
    """The Hub's error format: status, X-Error-Code, X-Error-Message and a JSON `error`."""
    headers = {"X-Error-Message": _header_safe(error.message), **error.headers}
    if error.code:
        headers["X-Error-Code"] = error.code
    if method == "HEAD":
        return Response(status_code=error.status, headers=headers)
    return JSONResponse(
        {"error": error.message, **error.extra, **(extra or {})},
        status_code=error.status,
        headers=headers,
    )


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(data, separators=(",", ":")).encode(),
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


def conflict_with_url(message: str, url: str) -> Response:
    """409 for a repository that already exists, with its URL (what `exist_ok` reads)."""
    return json_response({"error": message, "url": url}, 409, headers={"X-Error-Message": message})


# Opaque page cursors (tree pages, access-request lists): the offset, base64-encoded.


def decode_offset(raw: str | None) -> int:
    """The offset an opaque `cursor` of a tree page carries (0 for the first page)."""
    if not raw:
        return 0
    try:
        offset = int(base64.urlsafe_b64decode(raw.encode() + b"==").decode())
    except ValueError:
        offset = -1
    if offset < 0:
        raise BadRequest("Invalid cursor")
    return offset


def encode_offset(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")
