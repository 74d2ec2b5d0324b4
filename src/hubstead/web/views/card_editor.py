"""Editing the card in the browser (`{repo}/edit/{rev}/README.md`): live preview, linter,
completeness checklist.

The page is a form that works without JavaScript: its textarea posts the whole README with a
commit message, and the server commits it (`CommitService.commit`, which refuses a card whose
metadata has errors, as every commit does) or draws the page again with the service's message.
Its "Preview" button draws the page with the typed text rendered. With JavaScript (editor.js)
the preview is live: each pause in typing posts the text to `…/README.md/preview`, which answers
the server-rendered HTML (the card page's renderer: KaTeX, sanitizer) with the linter's
findings and the checklist, shown next to their lines.

Writers commit to the branch or open a pull request; anyone else who may see the repository
opens a pull request only, as on the Hub (proposing a change needs what an upload to a pull
request needs: the router's UPLOAD).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.responses import RedirectResponse, Response

from hubstead.domain.commit_ops import AddFile, CommitHeader, CommitRequest
from hubstead.domain.errors import EntryNotFound, HubError, PreconditionFailed, RevisionNotFound
from hubstead.protocols.http import Ctx, json_response, raw_path
from hubstead.protocols.routing import NeedFromBody, Router
from hubstead.protocols.urls import WEB
from hubstead.services.access import Need
from hubstead.web.templating import render
from hubstead.web.views.repo import Links, repo_context

router = Router(sessions=True)

EDIT = r"/edit/{rev:rev}/README\.md"
CARD = "README.md"
DEFAULT_SUMMARY = "Update README.md"
STALE_AGAIN = (
    "Your text is kept below: commit again to replace the newer version with it, or open the "
    "card in another tab to compare."
)


def edit_url(links: Links, rev: str) -> str:
    return f"{links.base}/edit/{quote(rev, safe='')}/{CARD}"


def _sign_in(ctx: Ctx) -> Response:
    return RedirectResponse(f"/login?next={quote(raw_path(ctx.request))}", status_code=303)


def _branch_head(ctx: Ctx, rev: str) -> str:
    """The head commit of branch `rev`: the card is edited on a branch, as on the Hub."""
    for branch in ctx.hub.refs.list(ctx.repo, include_prs=False)["branches"]:
        if branch["name"] == rev:
            return str(branch["targetCommit"])
    raise RevisionNotFound(f"No branch {rev} in {ctx.repo.id}: a card is edited on a branch")


def _current_text(ctx: Ctx, commit: str) -> str:
    """README.md at `commit` ('' when there is none yet: the editor creates it)."""
    try:
        content = ctx.hub.files.resolve(ctx.repo, commit, CARD).content
    except EntryNotFound:
        return ""
    return (content or b"").decode("utf-8", "replace")


def _page(
    ctx: Ctx,
    rev: str,
    text: str,
    parent: str,
    *,
    summary: str = "",
    description: str = "",
    target: str = "",
    error: str | None = None,
    status: int = 200,
) -> Response:
    context = repo_context(ctx, "card")
    links: Links = context["links"]
    preview = ctx.hub.cards.preview(ctx.repo, text, rev)
    can_write = context["can_write"]
    return render(
        ctx,
        "repo/edit_card.html",
        status=status,
        **context,
        rev=rev,
        text=text,
        parent=parent,
        summary=summary,
        description=description,
        target=target
        if can_write and target in ("branch", "pr")
        else ("branch" if can_write else "pr"),
        error=error,
        preview=preview,
        state={key: value for key, value in preview.to_json().items() if key != "html"},
        action=edit_url(links, rev),
        preview_url=edit_url(links, rev) + "/preview",
    )


@router.repo_route("GET", EDIT, form=WEB, need=Need.READ)
def edit_page(ctx: Ctx, rev: str) -> Response:
    if ctx.principal is None:
        return _sign_in(ctx)
    head = _branch_head(ctx, rev)
    return _page(ctx, rev, _current_text(ctx, head), head)


def _submitted_text(ctx: Ctx, head: str) -> str:
    """The textarea's text: browsers send CRLF line ends; the README keeps the ones it had."""
    text = (ctx.form_value("content") or "").replace("\r\n", "\n")
    return text.replace("\n", "\r\n") if "\r\n" in _current_text(ctx, head) else text


def _save_need(ctx: Ctx, params: dict[str, str]) -> Need:
    """A preview needs only to see the repository; a commit to the branch needs write access;
    a pull request what proposing a change needs (any reader with a write token)."""
    action, target = ctx.form_value("action"), ctx.form_value("target")
    if action == "preview":
        return Need.READ
    return Need.WRITE if target == "branch" else Need.UPLOAD


@router.repo_route("POST", EDIT, form=WEB, need=NeedFromBody(_save_need))
def save(ctx: Ctx, rev: str) -> Response:
    """Commit the README (to the branch or as a pull request), or draw the form again: with its
    preview (no JavaScript), or with the commit service's refusal and the text kept."""
    principal = ctx.principal
    if principal is None:
        return _sign_in(ctx)
    head = _branch_head(ctx, rev)
    text = _submitted_text(ctx, head)
    parent = ctx.form_value("parent") or head
    form: dict[str, Any] = {
        "summary": (ctx.form_value("summary") or "").strip(),
        "description": (ctx.form_value("description") or "").strip(),
        "target": ctx.form_value("target") or "",
    }
    if ctx.form_value("action") == "preview":
        return _page(ctx, rev, text, parent, **form)
    header = CommitHeader(form["summary"] or DEFAULT_SUMMARY, form["description"], parent)
    request = CommitRequest(header, [AddFile(CARD, text.encode())])
    try:
        result = ctx.hub.commits.commit(
            ctx.repo, principal, rev, request, form["target"] != "branch"
        )
    except PreconditionFailed as error:
        # the branch moved since the page was drawn: say so, and let a second commit (made
        # knowingly) replace the newer version with the text kept here
        message = f"{error.message} {STALE_AGAIN}"
        return _page(ctx, rev, text, head, **form, error=message, status=error.status)
    except HubError as error:
        return _page(ctx, rev, text, parent, **form, error=error.message, status=error.status)
    links = Links(ctx.repo)
    if result.pr_num is not None:
        return RedirectResponse(links.discussion(result.pr_num), status_code=303)
    on_default = rev == ctx.repo.default_branch()
    return RedirectResponse(links.page() if on_default else links.blob(rev, CARD), status_code=303)


@router.repo_route("POST", EDIT + "/preview", form=WEB, need=Need.READ)
def preview(ctx: Ctx, rev: str) -> Response:
    """The live preview (editor.js, with the X-CSRF-Token header): `{"content": README}` →
    the rendered body, the findings and the checklist as JSON."""
    if ctx.principal is None:
        return json_response({"error": "Sign in to preview a card"}, 401)
    body = ctx.json_object()
    content = body.get("content") if isinstance(body, dict) else None
    if not isinstance(content, str):
        return json_response({"error": "'content' must be a string"}, 400)
    return json_response(ctx.hub.cards.preview(ctx.repo, content, rev).to_json())
