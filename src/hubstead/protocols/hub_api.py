"""The Hub REST API (`/api/…`): thin handlers that translate HTTP to service calls."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

from starlette.responses import Response

from hubstead.domain.avatars import avatar_url
from hubstead.domain.cards import hub_message, validate_card_text
from hubstead.domain.commit_ops import parse_json_commit, parse_ndjson_commit
from hubstead.domain.errors import BadRequest, InvalidName, NotFound, RepoNotFound, Unauthorized
from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.protocols import wire
from hubstead.protocols.http import (
    REPO_ID,
    REPO_TYPE,
    REVISION,
    Ctx,
    Router,
    json_response,
    next_link,
    open_repo,
    open_repo_for_upload,
)
from hubstead.services import access
from hubstead.services.discovery import MAX_PAGE, SORT_ALIASES, SORTS, ListQuery, parse_parameter_range
from hubstead.services.repos import RepoExists, RepoHandle

router = Router()
API_REPO = rf"/api/{REPO_TYPE}/{REPO_ID}"
TREE_PAGE = 1000
TREE_PAGE_EXPANDED = 50
COMMITS_PAGE = 50


def _repo(ctx: Ctx, rtype: str, ns: str, name: str, need: str = "read") -> RepoHandle:
    return open_repo(ctx, RepoType.from_plural(rtype), ns, name, need)


def _repo_url(ctx: Ctx, repo_type: RepoType, repo_id: RepoId) -> str:
    return f"{ctx.base_url}/{repo_type.url_prefix}{repo_id}"


def _cursor(ctx: Ctx) -> int:
    raw = ctx.query.get("cursor")
    if not raw:
        return 0
    try:
        return int(base64.urlsafe_b64decode(raw.encode() + b"==").decode())
    except ValueError:
        raise BadRequest("Invalid cursor") from None


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")


def _expand(ctx: Ctx, repo_type: RepoType) -> list[str]:
    values = ctx.query.getlist("expand") + ctx.query.getlist("expand[]")
    allowed = wire.EXPAND_PROPERTIES[repo_type]
    for value in values:
        if value not in allowed:
            raise BadRequest(f'"expand" must be one of [{", ".join(allowed)}]')
    return values


# -- accounts ---------------------------------------------------------------------------------


@router.route("GET", r"/api/whoami-v2")
def whoami(ctx: Ctx):
    if ctx.principal is None:
        raise _unauthorized()
    return json_response(ctx.hub.accounts.whoami(ctx.principal, ctx.base_url))


def _unauthorized() -> Unauthorized:
    return Unauthorized("You must be signed in: send 'Authorization: Bearer <token>'")


# -- repository CRUD --------------------------------------------------------------------------


@router.route("POST", r"/api/repos/create")
def create_repo(ctx: Ctx):
    body = ctx.json()
    repo_type = RepoType.parse(body.get("type"))
    name = body.get("name")
    namespace = body.get("organization")
    if not isinstance(name, str):
        raise BadRequest("'name' is required")
    if "/" in name and not namespace:
        namespace, name = name.split("/", 1)
    if ctx.principal is None:
        raise _unauthorized()
    repo_id = RepoId.create(namespace or ctx.principal.name, name)
    private = body.get("private")
    if body.get("visibility") is not None:
        private = body["visibility"] != "public"
    try:
        # no `private` nor `visibility` (None): the namespace's default decides
        handle = ctx.hub.repos.create(ctx.principal, repo_type, repo_id, None if private is None else bool(private))
    except RepoExists as exists:
        return json_response({"error": exists.message, "url": _repo_url(ctx, repo_type, exists.repo_id)}, 409,
                             headers={"X-Error-Message": exists.message})
    url = _repo_url(ctx, repo_type, handle.id)  # the stored spelling of the id
    return json_response({"url": url, "name": str(handle.id), "id": str(handle.id)})


@router.route("DELETE", r"/api/repos/delete")
def delete_repo(ctx: Ctx):
    body = ctx.json()
    repo_type = RepoType.parse(body.get("type"))
    name, namespace = body.get("name"), body.get("organization")
    if not isinstance(name, str):
        raise BadRequest("'name' is required")
    if "/" in name and not namespace:
        namespace, name = name.split("/", 1)
    if ctx.principal is None:
        raise RepoNotFound(status=401)
    try:
        repo_id = RepoId.create(namespace or ctx.principal.name, name)
    except InvalidName:
        raise access.not_found(ctx.principal) from None
    ctx.hub.repos.delete(ctx.principal, repo_type, repo_id)
    return json_response({})


@router.route("POST", r"/api/repos/move")
def move_repo(ctx: Ctx):
    body = ctx.json()
    repo_type = RepoType.parse(body.get("type"))
    try:
        source = RepoId.parse(str(body.get("fromRepo")))
    except InvalidName:
        raise access.not_found(ctx.principal) from None
    target = RepoId.parse(str(body.get("toRepo")))
    moved = ctx.hub.repos.move(ctx.principal, repo_type, source, target)
    return json_response({"url": _repo_url(ctx, repo_type, moved)})


@router.route("PUT", rf"{API_REPO}/settings")
def update_settings(ctx: Ctx, rtype: str, ns: str, name: str):
    body = ctx.json()
    private = body.get("private")
    if body.get("visibility") is not None:
        if body["visibility"] not in ("public", "private"):
            raise BadRequest("'visibility' must be 'public' or 'private'")
        private = body["visibility"] == "private"
    if private is not None and not isinstance(private, bool):
        raise BadRequest("'private' must be a boolean")
    repo_type = RepoType.from_plural(rtype)
    row = ctx.hub.repos.update_settings(ctx.principal, repo_type, RepoId.create(ns, name), private, body.get("gated"))
    return json_response({"private": row.private, "gated": row.gated or False})


# -- repository info and listing --------------------------------------------------------------


@router.route("GET", rf"/api/{REPO_TYPE}")
def list_repos(ctx: Ctx, rtype: str):
    """The Hub's listing: tag filters (AND), author, id search, gated, sort, cursor pages."""
    repo_type = RepoType.from_plural(rtype)
    q = ctx.query
    expand = _expand(ctx, repo_type)
    if expand and (ctx.flag("full") or ctx.flag("cardData") or ctx.flag("config")):
        raise BadRequest("'expand' cannot be combined with 'full', 'cardData' or 'config'")
    tags = [t for t in q.getlist("filter") if t]
    for param, prefix in (("library", ""), ("language", ""), ("license", "license:"), ("dataset", "dataset:"), ("other", "")):
        tags += [prefix + v if prefix and not v.startswith(prefix) else v for v in q.getlist(param) if v]
    if repo_type is not RepoType.MODEL and q.get("pipeline_tag"):
        tags.append(f"task_categories:{q['pipeline_tag']}")
    limit = q.get("limit", "")
    sort = q.get("sort") or None
    direction = q.get("direction")  # not sent by current clients; "-1" (descending) by older ones
    query = ListQuery(
        repo_type=repo_type,
        tags=tags,
        pipeline_tag=q.get("pipeline_tag") if repo_type is RepoType.MODEL else None,
        author=q.get("author") or None,
        search=" ".join(q.getlist("search")).strip() or None,
        gated=None if q.get("gated") is None else q.get("gated", "").lower() == "true",
        apps=[app.strip() for value in q.getlist("apps") for app in value.split(",") if app.strip()],
        num_parameters=parse_parameter_range(q["num_parameters"]) if q.get("num_parameters") else None,
        inference_served=bool(q.get("inference") == "warm" or [p for p in q.getlist("inference_provider") if p]),
        sort=sort,
        descending=direction == "-1" if sort in (None, "id") else direction != "1",
        limit=int(limit) if limit.isdigit() else MAX_PAGE,
        cursor=q.get("cursor") or None,
    )
    rows, cursor = ctx.hub.discovery.list(ctx.principal, query)
    headers = {"Link": next_link(ctx, cursor=cursor)} if cursor else {}
    full = ctx.flag("full")
    with_card_data = full or ctx.flag("cardData") or "cardData" in expand
    with_config = full or ctx.flag("config") or "config" in expand
    extra = tuple(key for key, wanted in (("cardData", ctx.flag("cardData")), ("config", ctx.flag("config"))) if wanted)
    # the field a listing is sorted by is always in its items, so that the order can be seen
    extra += tuple(key for key in (SORT_ALIASES.get(sort or "", sort),) if key in SORTS and key != "id")
    cards = ctx.hub.cards.stored_many([row.id for row in rows])
    items = []
    for row in rows:
        item = wire.repo_summary(row)
        item["sha"] = row.head_sha
        item.update(wire.card_fields(row.type, cards.get(row.id), with_card_data=with_card_data, with_config=with_config))
        if full or "siblings" in expand:
            item["siblings"] = [{"rfilename": path} for path in ctx.hub.repos.head_files(row)]
        items.append(wire.listing_item(item, repo_type, expand, full, extra))
    return json_response(items, headers=headers)


@router.route("GET", r"/api/(?P<rtype>models|datasets)-tags-by-type")
def tags_by_type(ctx: Ctx, rtype: str):
    """Facet counts for the filter sidebar: tags by kind, most used first."""
    return json_response(ctx.hub.discovery.facets(ctx.principal, RepoType.from_plural(rtype)))


@router.route("GET", r"/api/search/full-text")
def full_text_search(ctx: Ctx):
    """Full-text search over ids and card text (SQLite FTS5 or PostgreSQL), best match first."""
    q = ctx.query
    repo_type = RepoType.parse(q.get("type")) if q.get("type") else None
    limit = q.get("limit", "20")
    hits = ctx.hub.discovery.full_text(ctx.principal, q.get("q", ""), repo_type, int(limit) if limit.isdigit() else 20)
    return json_response({
        "hits": [{"repoId": f"{row.namespace}/{row.name}", "repoType": row.type, "score": round(float(score), 6)}
                 for row, score in hits],
        "numHits": len(hits),
    })


@router.route("POST DELETE", rf"{API_REPO}/like")
def like(ctx: Ctx, rtype: str, ns: str, name: str):
    handle = _repo(ctx, rtype, ns, name)
    if ctx.request.method == "POST":
        ctx.hub.counters.like(ctx.principal, handle)
    else:
        ctx.hub.counters.unlike(ctx.principal, handle)
    return json_response({})


@router.route("GET", rf"{API_REPO}/likers")
def likers(ctx: Ctx, rtype: str, ns: str, name: str):
    handle = _repo(ctx, rtype, ns, name)
    return json_response([{"user": user.name, "fullname": user.fullname or user.name,
                           "avatarUrl": avatar_url(user.avatar_url, user.name, ctx.base_url), "type": "user"}
                          for user in ctx.hub.counters.likers(handle)])


@router.route("GET", r"/api/users/(?P<user>[^/]+)/likes")
def user_likes(ctx: Ctx, user: str):
    ctx.hub.profiles.account(user, "user")  # 404 for someone who does not exist
    likes = [
        {"createdAt": wire.iso(when), "repo": {"name": f"{row.namespace}/{row.name}", "type": row.type}}
        for when, row in ctx.hub.counters.liked_by(user)
        if access.can_read(ctx.principal, row.namespace, row.private)
    ]
    return json_response(likes)


@router.route("GET", rf"{API_REPO}(?:/revision/{REVISION})?")
def repo_info(ctx: Ctx, rtype: str, ns: str, name: str, rev: str = "main"):
    handle = _repo(ctx, rtype, ns, name)
    expand = _expand(ctx, handle.type)
    commit = handle.git.resolve(rev)
    info = wire.repo_info(handle, commit, blobs=ctx.flag("blobs"), card=ctx.hub.cards.for_commit(handle, commit))
    if expand:
        info = {key: info.get(key) for key in ("_id", "id", *expand) if key in info or key in expand}
    return json_response(info)


@router.route("GET", rf"{API_REPO}/auth-check(?:/write)?")
def auth_check(ctx: Ctx, rtype: str, ns: str, name: str):
    """Read access means the files can be downloaded: a gated repository answers GatedRepo."""
    need = "write" if ctx.request.url.path.endswith("/write") else "download"
    _repo(ctx, rtype, ns, name, need)
    return json_response({})


# -- files ------------------------------------------------------------------------------------


@router.route("GET", rf"{API_REPO}/tree/{REVISION}(?:/(?P<path>.*))?")
def list_tree(ctx: Ctx, rtype: str, ns: str, name: str, rev: str, path: str = ""):
    handle = _repo(ctx, rtype, ns, name)
    commit = handle.git.resolve(rev)
    entries = handle.git.list_tree(commit, path.strip("/"), recursive=ctx.flag("recursive"))
    expand = ctx.flag("expand")
    page = TREE_PAGE_EXPANDED if expand else TREE_PAGE
    limit = ctx.query.get("limit")
    if limit and limit.isdigit():
        page = max(1, min(page, int(limit)))
    offset = _cursor(ctx)
    chunk = entries[offset : offset + page]
    last = handle.git.last_commits(commit, [e.path for e in chunk]) if expand else {}
    xet = ctx.hub.files.xet_hashes(chunk)
    headers = {}
    if offset + page < len(entries):
        headers["Link"] = next_link(ctx, cursor=_encode_cursor(offset + page))
    return json_response([wire.tree_entry(e, last.get(e.path), xet.get(e.path)) for e in chunk], headers=headers)


@router.route("POST", rf"{API_REPO}/paths-info/{REVISION}")
def paths_info(ctx: Ctx, rtype: str, ns: str, name: str, rev: str):
    handle = _repo(ctx, rtype, ns, name)
    content_type = ctx.request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        body = ctx.json()
        paths, expand = body.get("paths") or [], bool(body.get("expand"))
    else:
        form = parse_qs(ctx.body.decode("utf-8", "replace"))
        paths, expand = form.get("paths", []), form.get("expand", ["false"])[0].lower() == "true"
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise BadRequest("'paths' must be a list of strings")
    commit, entries = ctx.hub.files.paths_info(handle, rev, paths)
    last = handle.git.last_commits(commit, [e.path for e in entries]) if expand else {}
    xet = ctx.hub.files.xet_hashes(entries)
    return json_response([wire.tree_entry(e, last.get(e.path), xet.get(e.path)) for e in entries])


# -- refs and history -------------------------------------------------------------------------


@router.route("GET", rf"{API_REPO}/refs")
def list_refs(ctx: Ctx, rtype: str, ns: str, name: str):
    handle = _repo(ctx, rtype, ns, name)
    return json_response(ctx.hub.refs.list(handle, include_prs=ctx.flag("include_prs")))


@router.route("POST DELETE", rf"{API_REPO}/branch/(?P<branch>.+)")
def branch(ctx: Ctx, rtype: str, ns: str, name: str, branch: str):
    handle = _repo(ctx, rtype, ns, name, "write")
    if ctx.request.method == "DELETE":
        ctx.hub.refs.delete_branch(handle, branch)
    else:
        body = ctx.json() if ctx.body else {}
        ctx.hub.refs.create_branch(handle, branch, body.get("startingPoint"))
    return json_response({})


@router.route("POST DELETE", rf"{API_REPO}/tag/(?P<tag>.+)")
def tag(ctx: Ctx, rtype: str, ns: str, name: str, tag: str):
    handle = _repo(ctx, rtype, ns, name, "write")
    if ctx.request.method == "DELETE":
        ctx.hub.refs.delete_tag(handle, tag)
        return json_response({})
    body = ctx.json()
    new_tag = body.get("tag")
    if not isinstance(new_tag, str):
        raise BadRequest("'tag' is required")
    account = ctx.hub.accounts.account(ctx.principal.name)
    ctx.hub.refs.create_tag(handle, ctx.principal, tag, new_tag, body.get("message"), account.email if account else None)
    return json_response({})


@router.route("GET", rf"{API_REPO}/commits/{REVISION}")
def list_commits(ctx: Ctx, rtype: str, ns: str, name: str, rev: str):
    handle = _repo(ctx, rtype, ns, name)
    commit = handle.git.resolve(rev)
    limit = ctx.query.get("limit")
    size = max(1, min(1000, int(limit))) if limit and limit.isdigit() else COMMITS_PAGE
    page = ctx.query.get("p", "0")
    start = int(page) * size if page.isdigit() else 0
    formatted = "formatted" in ctx.query.getlist("expand[]") + ctx.query.getlist("expand")
    items, total = [], 0
    for index, info in enumerate(handle.git.log(commit)):
        total += 1
        if start <= index < start + size:
            items.append(wire.commit_item(info, formatted))
    headers = {"X-Total-Count": str(total)}
    if start + size < total:
        headers["Link"] = next_link(ctx, p=int(page) + 1 if page.isdigit() else 1)
    return json_response(items, headers=headers)


# -- uploads ----------------------------------------------------------------------------------


@router.route("POST", r"/api/validate-yaml")
def validate_yaml(ctx: Ctx):
    body = ctx.json()
    content = body.get("content", "")
    if not isinstance(content, str):
        return json_response({"errors": [{"message": "'content' must be a string"}], "warnings": []}, 400)
    repo_type = RepoType.parse(body.get("repoType")).value
    result = validate_card_text(content, repo_type)
    errors = [hub_message(m) for m in result.errors]
    warnings = [hub_message(m, "Warning") for m in result.warnings]
    status = 400 if errors else 200
    accept = ctx.request.headers.get("accept", "")
    if "text/plain" in accept and "json" not in accept:
        # `ModelCard.validate()` asks for text and raises ValueError with the body verbatim
        lines = "\n".join(f"- {message}" for message in errors + warnings)
        return Response(lines, status_code=status, media_type="text/plain; charset=utf-8")
    payload = {"errors": [{"message": m} for m in errors], "warnings": [{"message": m} for m in warnings]}
    return json_response(payload, status)


def _writer_for(ctx: Ctx, rtype: str, ns: str, name: str, rev: str) -> RepoHandle:
    """A pull request's author may push to its `refs/pr/N` without write access to the
    repository; the commit service checks who they are."""
    for_pull_request = ctx.flag("create_pr") or rev.startswith("refs/pr/")
    return open_repo_for_upload(ctx, RepoType.from_plural(rtype), ns, name, for_pull_request=for_pull_request)


@router.route("POST", rf"{API_REPO}/preupload/{REVISION}")
def preupload(ctx: Ctx, rtype: str, ns: str, name: str, rev: str):
    handle = _writer_for(ctx, rtype, ns, name, rev)
    body = ctx.json()
    revision = "main" if rev in ("None", "") else rev
    result = ctx.hub.files.preupload(handle, revision, body.get("files"), body.get("gitIgnore"))
    return json_response(result)


@router.route("POST", rf"{API_REPO}/commit/{REVISION}")
def commit(ctx: Ctx, rtype: str, ns: str, name: str, rev: str):
    handle = _writer_for(ctx, rtype, ns, name, rev)
    if ctx.request.headers.get("content-type", "").startswith("application/json"):
        request = parse_json_commit(ctx.json())
    else:
        request = parse_ndjson_commit(ctx.body)
    create_pr = ctx.flag("create_pr")
    result = ctx.hub.commits.commit(handle, ctx.principal, rev, request, create_pr)
    url = _repo_url(ctx, handle.type, handle.id)
    data = {"success": True, "commitOid": result.oid, "commitUrl": f"{url}/commit/{result.oid}",
            "commitMessage": request.header.summary, "hookOutput": ""}
    if result.pr_num is not None:
        data["pullRequestUrl"] = f"{url}/discussions/{result.pr_num}"
    return json_response(data)


# -- anything else under a repository --------------------------------------------------------


@router.route("GET POST PUT DELETE HEAD", rf"/api/{REPO_TYPE}/(?P<rest>.+)")
def unknown_repo_route(ctx: Ctx, rtype: str, rest: str):
    """A single-segment id or an unknown sub-route: answer like the Hub, without leaking."""
    parts = rest.split("/")
    if len(parts) >= 2:
        _repo(ctx, rtype, parts[0], parts[1])
        raise NotFound(f"Unknown route: {ctx.request.url.path}")
    raise access.not_found(ctx.principal)


@router.route("GET", r"/api/agent-harnesses")
def agent_harnesses(ctx: Ctx):
    """The `hf` CLI asks which coding-agent harnesses the hub knows (to label its user agent):
    this hub knows none, which is a valid answer and saves a 404 on every command."""
    return json_response({"standardEnvVars": [], "harnesses": {}})


@router.route("GET POST PUT PATCH DELETE HEAD", r"/api/.*")
def unknown_api_route(ctx: Ctx):
    """Any other `/api/…` path is not an endpoint of this hub: a plain 404, not a repository
    lookup (which would answer 401 "Repository not found" to anonymous callers)."""
    raise NotFound("Not Found")


unknown_api_route.is_fallback = True  # type: ignore[attr-defined]
