"""The router: raw-path routes, the repository each route needs, and its request body.

Routing uses the *raw* request path because the Hub's clients put `%2F`-encoded revisions such
as `refs%2Fpr%2F1` inside one path segment, which a decoded path would split in two.

A repository route (`Router.repo_route`) declares what it does with the repository (`Need`); the
router parses the repository from the path, resolves it once (`open_repo`: name, redirect of a
renamed repository, privacy, token role, gate) and hands the handler `ctx.repo`. No handler
looks a repository of its URL up itself, so the rules of `services.access` apply everywhere
the same way.

Every route also declares how it takes its body (`Body`): read into memory up to a small limit,
spooled to a temporary file up to a large one, or streamed by the handler itself. A body over
the limit is refused with 413 before the handler runs, as soon as it passes the limit.

Nothing of a body is read before the router knows who is calling (an invalid token is refused)
and, on a repository route, whether the route lets them in: an anonymous or read-only caller is
refused having sent next to nothing, however large the body they offer. A need that only the
body can tell (`NeedFromBody`: an LFS batch's operation, a web form's button) has its least
possible need checked first, and the rest once the body is read.
"""

from __future__ import annotations

import inspect
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import IO, Any
from urllib.parse import unquote

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from hubstead.domain.errors import (
    BadRequest,
    Forbidden,
    HubError,
    InvalidName,
    PayloadTooLarge,
    Unauthorized,
)
from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.hub import Hub
from hubstead.protocols.http import CSRF_COOKIE, Ctx, raw_path
from hubstead.protocols.urls import API, REPO_GROUPS, SITE, Form, Template, UrlMap
from hubstead.services import access
from hubstead.services.access import Need
from hubstead.services.repos import RepoHandle

MiB, GiB = 1024 * 1024, 1024 * 1024 * 1024
SMALL_BODY = (
    8 * MiB
)  # JSON requests: repository settings, preupload, paths-info, LFS batch, comments
SPOOL_IN_MEMORY = 1 * MiB  # a spooled body moves to a temporary file past this size
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BODY_ENDED_EARLY = (
    "The request body ended early or is malformed (a bad chunk size, a cut connection)"
)
UPLOAD_TOKEN = (
    "This token has read access only: a write token is needed to upload or open a pull request"
)

Handler = Callable[..., Any]
NeedFunction = Callable[[Ctx, dict[str, str]], Need]


@dataclass(frozen=True)
class NeedFromBody:
    """A route's need that depends on its request body. `floor`, the least any body could need,
    is checked before the body is read (so a caller who may not even do that sends nothing);
    `rule` decides once the body is in. A plain function of a route's `need` must not read the
    body: it runs before the body is there."""

    rule: NeedFunction
    floor: Need = Need.READ


NeedRule = Need | NeedFunction | NeedFromBody
Refusal = Callable[[Ctx, HubError], HubError]


@dataclass(frozen=True)
class Body:
    """How a route takes its request body."""

    limit: int = SMALL_BODY
    # into a SpooledTemporaryFile (`ctx.body_file`), for large bodies parsed as a stream
    spool: bool = False
    # not read by the router: the (async) handler streams it to its destination
    stream: bool = False
    too_large: str = "Request body too large"


STREAMED = Body(stream=True)


@dataclass(frozen=True)
class RepoSpec:
    """What a repository route needs before its handler runs."""

    form: Form
    need: NeedRule
    signed_in: str | None = None  # refuse anonymous callers first, with this message (401)
    refusal: Refusal | None = None  # rewrites a refusal (git asks for credentials instead)
    cached: bool = False  # the row may come from the resolve cache (services/resolve_cache.py)


@dataclass(frozen=True)
class Route:
    methods: frozenset[str]
    template: Template
    handler: Handler
    inline: frozenset[str] = frozenset()
    body: Body = field(default_factory=Body)
    repo: RepoSpec | None = None
    fallback: bool = False
    sessions: bool = False  # a web page: a browser's session signs it in, forms need CSRF
    pattern: re.Pattern[str] = field(init=False)
    # decided once, not per request (dispatch reads both on every one)
    is_async: bool = field(init=False)
    label: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", re.compile(self.template.regex()))
        object.__setattr__(self, "is_async", inspect.iscoroutinefunction(self.handler))
        object.__setattr__(self, "label", self._label())

    def _label(self) -> str:
        """The route as metrics and logs name it: its template under its repository form
        (`web:/tree/{rev:rev}`), never the path itself, which may name a private repository."""
        form = self.template.form
        return f"{form.name}:{{repo}}{self.template.text}" if form else self.template.text


class Router:
    def __init__(self, sessions: bool = False) -> None:
        """`sessions`: its routes are web pages, for browsers (see `Route.sessions`)."""
        self.sessions = sessions
        self.routes: list[Route] = []
        self.urls = UrlMap(SITE.templates)

    def route(
        self,
        methods: str,
        path: str | Template,
        *,
        inline: str = "",
        body: Body | None = None,
        name: str | None = None,
        fallback: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Register a handler for `methods` on `path` (a template of `protocols.urls`).

        Sync handlers run in the thread pool, except for the methods in `inline`: those are
        short enough (a few indexed lookups) that a thread hop would cost more than it saves.
        Async handlers are for bodies or answers streamed on the event loop (`Body(stream=True)`).
        A `fallback` route yields to "405 Method Not Allowed" when an earlier route has the path.
        """
        template = path if isinstance(path, Template) else Template(path)
        return self._register(methods, template, inline, body, name, fallback, None)

    def repo_route(
        self,
        methods: str,
        path: str | Template,
        *,
        need: NeedRule,
        form: Form = API,
        signed_in: str | None = None,
        refusal: Refusal | None = None,
        inline: str = "",
        body: Body | None = None,
        name: str | None = None,
        cached: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Register a handler of one repository: `path` follows the repository's part of the URL
        in `form`; the handler runs with `ctx.repo` once the caller may `need` it. `need` may be
        a function of the request and the path parameters, for routes where it depends on them
        (a commit that opens a pull request needs less than one to a branch). `cached`: the
        repository's row may come from the process' resolve cache (the access rules still run
        on it); for a hot read route whose handler uses nothing of the row a commit changes."""
        template = (
            path
            if isinstance(path, Template) and path.form
            else Template(str(getattr(path, "text", path)), form)
        )
        spec = RepoSpec(template.form or form, need, signed_in, refusal, cached)
        return self._register(methods, template, inline, body, name, False, spec)

    def _register(
        self,
        methods: str,
        template: Template,
        inline: str,
        body: Body | None,
        name: str | None,
        fallback: bool,
        spec: RepoSpec | None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            chosen = body or (STREAMED if inspect.iscoroutinefunction(handler) else Body())
            self.routes.append(
                Route(
                    frozenset(methods.split()),
                    template,
                    handler,
                    frozenset(inline.split()),
                    chosen,
                    spec,
                    fallback,
                    self.sessions,
                )
            )
            if name is not None:
                self.urls.add(name, template)
            return handler

        return register

    def link(self, name: str, path: str | Template, form: Form | None = None) -> None:
        """Name a URL the hub hands out without serving it (a page of the Hub's web UI)."""
        self.urls.add(name, path if isinstance(path, Template) else Template(path, form))

    def include(self, other: Router) -> None:
        self.routes.extend(other.routes)
        self.urls.update(other.urls)

    def match(self, path: str, method: str) -> tuple[Route, dict[str, str]]:
        """The first route for the path and method; 405 if only other methods have the path
        (unless a fallback route matches first), else 404."""
        method_mismatch = False
        for route in self.routes:
            found = route.pattern.fullmatch(path)
            if found is None:
                continue
            if method_mismatch and route.fallback:
                break
            if method not in route.methods:
                method_mismatch = True
                continue
            return route, _decoded_params(found.groupdict())
        if method_mismatch:
            raise HubError("Method not allowed", status=405)
        raise HubError("Not Found", status=404)

    async def dispatch(self, hub: Hub, request: Request) -> Response:
        route, params = self.match(raw_path(request), request.method)
        request.scope["hubstead.route"] = route.label  # the metrics' and the log's route
        ctx = Ctx(hub, request, self.urls)
        ctx.use_session = route.sessions
        inline = request.method in route.inline
        try:
            resolved = False
            if request.method in BODY_METHODS and not route.body.stream:
                # who is calling and whether the route lets them in, before a byte of the body
                admission = partial(admit, ctx, route, params)
                resolved = admission() if inline else await run_in_threadpool(admission)
                await read_body(ctx, route.body)
            if route.sessions and request.method not in SAFE_METHODS:
                check_csrf(ctx)
            if route.is_async:
                if route.repo is not None and not resolved:
                    ctx.set_repo(await run_in_threadpool(resolve, ctx, route.repo, params))
                response: Response = await route.handler(ctx, **handler_params(route, params))
            else:
                call = partial(invoke, route, ctx, params, resolved)
                response = call() if inline else await run_in_threadpool(call)
            if ctx.new_csrf_secret is not None:  # a form was drawn for a browser without one
                response.set_cookie(
                    CSRF_COOKIE,
                    ctx.new_csrf_secret,
                    httponly=True,
                    samesite="lax",
                    secure=ctx.secure,
                )
            return response
        finally:
            if ctx.body_file is not None:
                ctx.body_file.close()


def admit(ctx: Ctx, route: Route, params: dict[str, str]) -> bool:
    """What is decided before a body is read: the caller (an invalid token is refused here) and,
    on a repository route, access to the repository (`NeedFromBody`: its floor). True when the
    repository is resolved for good, False when the body has yet to say what the route needs."""
    ctx.principal  # noqa: B018 - authenticates, or raises for credentials that are not valid
    if route.repo is None:
        return False
    ctx.set_repo(resolve(ctx, route.repo, params, body_read=False))
    return not isinstance(route.repo.need, NeedFromBody)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def _decoded_params(groups: dict[str, str | None]) -> dict[str, str]:
    """The path's parameters, percent-decoded. A control character in one (a NUL, a newline)
    names nothing a repository can hold (git's own tools would cut the name there), so the
    request is refused before a handler could act on a truncated name."""
    params = {key: unquote(value) for key, value in groups.items() if value is not None}
    for key, value in params.items():
        if _CONTROL_CHARACTERS.search(value):
            raise InvalidName(f"Invalid {key}: control characters are not allowed")
    return params


def check_csrf(ctx: Ctx) -> None:
    """A web form's POST carries the CSRF token of the browser's CSRF cookie (a form field
    `csrf_token`, or the `X-CSRF-Token` header for a script's request); else 403. Every form
    changes something, so a read token sent with one is refused, as on the API."""
    token = ctx.request.headers.get("x-csrf-token")
    if token is None and ctx.body:
        token = ctx.form_value("csrf_token")
    if not ctx.hub.sessions.csrf_valid(ctx.csrf_secret, token):
        raise Forbidden(
            "This form has expired or did not come from this site: reload the page and try again"
        )
    if ctx.principal is not None and not ctx.principal.can_write:
        raise Forbidden(access.READ_ONLY_TOKEN)


def invoke(route: Route, ctx: Ctx, params: dict[str, str], resolved: bool = False) -> Response:
    """Resolve the route's repository (unless `admit` did), then run its handler (in the thread
    pool, usually)."""
    if route.repo is not None and not resolved:
        ctx.set_repo(resolve(ctx, route.repo, params))
    response: Response = route.handler(ctx, **handler_params(route, params))
    return response


def handler_params(route: Route, params: dict[str, str]) -> dict[str, str]:
    """A repository route's handler gets `ctx.repo`, not the groups that named it."""
    if route.repo is None:
        return params
    return {k: v for k, v in params.items() if k not in REPO_GROUPS}


def resolve(
    ctx: Ctx, spec: RepoSpec, params: dict[str, str], *, body_read: bool = True
) -> RepoHandle:
    """The route's repository, if the caller may have what it needs (`body_read` False: what it
    needs at the least, before its body is read)."""
    need = route_need(ctx, spec.need, params, body_read)
    if spec.signed_in is not None and ctx.principal is None:
        raise Unauthorized(spec.signed_in)
    try:
        return open_repo(
            ctx, spec.form.repo_type(params), params["ns"], params["name"], need, spec.cached
        )
    except HubError as error:
        if spec.refusal is None:
            raise
        raise spec.refusal(ctx, error) from None


def route_need(ctx: Ctx, rule: NeedRule, params: dict[str, str], body_read: bool) -> Need:
    if isinstance(rule, NeedFromBody):
        return rule.rule(ctx, params) if body_read else rule.floor
    return rule(ctx, params) if callable(rule) else rule


def upload_need(ctx: Ctx, params: dict[str, str]) -> Need:
    """For routes that upload to a revision (`rev`): a change proposed as a pull request
    (`create_pr`, or to an open one's `refs/pr/N`) needs UPLOAD, which readers with a write token
    have; one to a branch needs WRITE. A pull request's author may push to its `refs/pr/N`
    without write access: the commit service checks who they are."""
    return (
        Need.UPLOAD if ctx.flag("create_pr") or params["rev"].startswith("refs/pr/") else Need.WRITE
    )


def open_repo(
    ctx: Ctx, repo_type: RepoType, namespace: str, name: str, need: Need, cached: bool = False
) -> RepoHandle:
    """The repository, if the caller may `need` it: the one place every rule is applied, in order.

    - An invalid name is a repository that does not exist; a private one the caller may not see
      answers like one that does not exist (anonymous 401, others 404, `RepoNotFound`); an old
      name of a renamed repository raises RepoMoved (a redirect).
    - WRITE and ADMIN take that role in the namespace and a write token (`access.check_role`).
    - DOWNLOAD and UPLOAD hand out or take file contents: the gate of a gated repository applies
      (its refusal names the page where to ask for access).
    - UPLOAD (a pull request, LFS uploads) also takes a signed-in caller with a write token: as on
      the Hub, anyone who can read a repository may propose a change to it.
    """
    try:
        repo_id = RepoId.create(namespace, name)
    except InvalidName:
        raise access.not_found(ctx.principal) from None
    handle = ctx.hub.repos.get(repo_type, repo_id, ctx.principal, need.role, cached=cached)
    if need in (Need.DOWNLOAD, Need.UPLOAD):
        ctx.hub.gating.check_download(
            handle, ctx.principal, lambda: ctx.url_for("repo.page", repo=handle)
        )
    if need is Need.UPLOAD:
        access.require_write_token(ctx.principal, UPLOAD_TOKEN)
    return handle


async def read_body(ctx: Ctx, body: Body, into: IO[bytes] | None = None) -> None:
    """Read the request body into `ctx.body` (or spool it into `ctx.body_file`: memory holds at
    most SPOOL_IN_MEMORY of it; or write it to `into`, a file the caller owns), refusing one
    larger than `body.limit` with 413: unread when its length says so, else as soon as what
    arrived passes the limit."""
    request = ctx.request
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > body.limit:
        raise PayloadTooLarge(body.too_large)
    sink = into
    if sink is None and body.spool:
        sink = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > body.limit:
                raise PayloadTooLarge(body.too_large)
            if sink is not None:
                sink.write(chunk)
            else:
                chunks.append(chunk)
    except BaseException as error:
        if sink is not None and into is None:
            sink.close()
        if isinstance(error, ClientDisconnect):  # the client hung up, or sent a bad chunk size
            raise BadRequest(BODY_ENDED_EARLY) from None
        raise
    if into is not None:
        return
    if sink is not None:
        ctx.body_file = sink
    else:
        ctx.body = b"".join(chunks)
