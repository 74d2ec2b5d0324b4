"""History and uploads: the commit log, card validation, preupload and the commit itself.

A commit's NDJSON body can be large (files inlined as base64): it is spooled to a temporary file
as it arrives and parsed line by line, so neither the body nor its base64 text is held whole.
"""

from __future__ import annotations

from starlette.responses import Response

from hubstead.domain.cards import hub_message, validate_card_text
from hubstead.domain.errors import BadRequest
from hubstead.domain.repo_ids import RepoType
from hubstead.domain.revisions import check_revision
from hubstead.protocols import wire
from hubstead.protocols.http import Ctx, json_response
from hubstead.protocols.routing import Body, GiB, Router, upload_need
from hubstead.protocols.schemas import (
    MAX_BIGINT,
    Preupload,
    ValidateYaml,
    ascii_digits,
    parse_body,
    parse_json_commit,
    parse_ndjson_commit,
    query_int,
)
from hubstead.services.access import Need
from hubstead.services.commits import history_page_size

router = Router()
COMMIT_BODY = Body(
    limit=2 * GiB, spool=True
)  # the client inlines small files (up to ~100 MB of base64 each)


@router.repo_route("GET", "/commits/{rev:rev}", need=Need.READ)
def list_commits(ctx: Ctx, rev: str) -> Response:
    size = history_page_size(ascii_digits(ctx.query.get("limit")))
    page_number = query_int(ctx, "p", 0, MAX_BIGINT // max(size, 1))
    formatted = "formatted" in ctx.query.getlist("expand[]") + ctx.query.getlist("expand")
    page = ctx.hub.commits.history(ctx.repo, rev, page_number, size)
    headers = {"X-Total-Count": str(page.total)}
    if page.has_next:
        headers["Link"] = ctx.next_link(p=page_number + 1)
    return json_response(
        [wire.commit_item(info, formatted) for info in page.commits], headers=headers
    )


@router.route("POST", r"/api/validate-yaml")
def validate_yaml(ctx: Ctx) -> Response:
    try:
        body = parse_body(ctx, ValidateYaml)
    except BadRequest as refusal:  # also in the shape of a validation answer, which tools read
        raise refusal.with_body(
            {"errors": [{"message": refusal.message}], "warnings": []}
        ) from None
    repo_type = RepoType.parse(body.repoType).value
    result = validate_card_text(body.content, repo_type)
    errors = [hub_message(m) for m in result.errors]
    warnings = [hub_message(m, "Warning") for m in result.warnings]
    status = 400 if errors else 200
    accept = ctx.request.headers.get("accept", "")
    if "text/plain" in accept and "json" not in accept:
        # `ModelCard.validate()` asks for text and raises ValueError with the body verbatim
        lines = "\n".join(f"- {message}" for message in errors + warnings)
        return Response(lines, status_code=status, media_type="text/plain; charset=utf-8")
    payload = {
        "errors": [{"message": m} for m in errors],
        "warnings": [{"message": m} for m in warnings],
    }
    return json_response(payload, status)


@router.repo_route("POST", "/preupload/{rev:rev}", need=upload_need)
def preupload(ctx: Ctx, rev: str) -> Response:
    body = parse_body(ctx, Preupload)
    revision = "main" if rev in ("None", "") else rev
    files = [item.model_dump() for item in body.files]
    return json_response(ctx.hub.files.preupload(ctx.repo, revision, files, body.gitIgnore))


@router.repo_route("POST", "/commit/{rev:rev}", need=upload_need, body=COMMIT_BODY)
def commit(ctx: Ctx, rev: str) -> Response:
    check_revision(rev)
    if ctx.request.headers.get("content-type", "").startswith("application/json"):
        request = parse_json_commit(ctx.json_object())
    else:
        request = parse_ndjson_commit(ctx.body_lines())
    principal = ctx.principal
    assert principal is not None  # WRITE and UPLOAD both need a signed-in caller
    handle = ctx.repo
    result = ctx.hub.commits.commit(handle, principal, rev, request, ctx.flag("create_pr"))
    data = {
        "success": True,
        "commitOid": result.oid,
        "commitUrl": ctx.url_for("repo.commit", repo=handle, oid=result.oid),
        "commitMessage": request.header.summary,
        "hookOutput": "",
    }
    if result.pr_num is not None:
        data["pullRequestUrl"] = ctx.url_for("repo.discussion", repo=handle, num=result.pr_num)
    return json_response(data)
