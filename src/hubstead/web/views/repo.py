"""The repository pages: the model or dataset card, files and versions, commits and their
diffs, and the community tab (a discussion's page; its forms post to `community.py`).

Everything is rendered on the server and works without JavaScript; `repo.js` only adds copy
buttons, and `widget.js` runs the model page's inference widget (web/widgets.py), whose form
and examples are on the page without it. Views read through services only.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import DiffLexer, TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound
from starlette.responses import RedirectResponse, Response

from hubstead.domain.cards.completeness import checklist
from hubstead.domain.cards.vocabulary import LICENSES, language_name
from hubstead.domain.errors import BadRequest, HubError, NotFound
from hubstead.domain.repo_ids import RepoType
from hubstead.domain.tags.library import KNOWN_LIBRARIES
from hubstead.domain.tags.model_index import eval_results
from hubstead.protocols.http import Ctx
from hubstead.protocols.routing import Router
from hubstead.protocols.schemas import query_int
from hubstead.protocols.urls import BLOB, SITE, WEB
from hubstead.services import access
from hubstead.services.access import Need
from hubstead.services.discussions import ListFilter
from hubstead.services.inference.availability import for_repo
from hubstead.services.model_tree import RELATIONS, relations_of
from hubstead.services.repos import RepoHandle
from hubstead.web.templating import render
from hubstead.web.widgets import Widget, build_widget

router = Router(sessions=True)


def page_route(path: Any, name: str | None = None) -> Any:
    """A GET page of one repository, in the web form, readable by whoever may see it. A private
    repository answers others exactly like a missing one (the router's rule: 404 for a signed-in
    caller, 401 "sign in" for an anonymous one, as the Hub does), as an HTML page."""
    return router.repo_route("GET", path, form=WEB, need=Need.READ, name=name)


TREE_PAGE_SIZE = 100
MAX_PAGE = 1_000_000  # ?p= past this is refused (400), not looked for
COMMITS_PAGE_SIZE = 30
MAX_VIEW_BYTES = 1_000_000  # text files larger than this are offered as a download only
MAX_TENSORS_SHOWN = 200
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".bmp", ".avif")
HIDDEN_TAG_PREFIXES = ("region:", "deploy:")
HIDDEN_TAGS = frozenset({"endpoints_compatible", "autotrain_compatible"})
_FORMATTER = HtmlFormatter(nowrap=True)


# --------------------------------------------------------------------------- links


@dataclass(frozen=True)
class Links:
    """The URLs of one repository's pages (paths, quoted as the routes expect them)."""

    handle: RepoHandle

    @property
    def base(self) -> str:
        return f"/{self.handle.type.url_prefix}{self.handle.id}"

    def page(self) -> str:
        return self.base

    def tree(self, rev: str, path: str = "") -> str:
        suffix = f"/{quote(path)}" if path else ""
        return f"{self.base}/tree/{quote(rev, safe='')}{suffix}"

    def files(self) -> str:
        """The "Files and versions" tab: the default branch's tree."""
        return self.tree(self.handle.default_branch())

    def blob(self, rev: str, path: str) -> str:
        return f"{self.base}/blob/{quote(rev, safe='')}/{quote(path)}"

    def resolve(self, rev: str, path: str, download: bool = False) -> str:
        url = f"{self.base}/resolve/{quote(rev, safe='')}/{quote(path)}"
        return url + "?download=true" if download else url

    def commits(self, rev: str, page: int = 0) -> str:
        url = f"{self.base}/commits/{quote(rev, safe='')}"
        return f"{url}?p={page}" if page else url

    def commit(self, oid: str) -> str:
        return f"{self.base}/commit/{oid}"

    def discussions(self, page: int = 0) -> str:
        url = f"{self.base}/discussions"
        return f"{url}?p={page}" if page else url

    def discussion(self, num: int) -> str:
        return f"{self.base}/discussions/{num}"

    def og_image(self) -> str:
        return f"{self.base}/-/card-image.svg"

    def listing(self, **query: str) -> str:
        plural = self.handle.type.plural
        return f"/{plural}?{urlencode(query)}"


# --------------------------------------------------------------------------- formatting


def human_size(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("Bytes", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "Bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} Bytes"


def human_count(count: int | None) -> str:
    if count is None:
        return "0"
    for limit, suffix in ((1_000_000_000_000, "T"), (1_000_000_000, "B"), (1_000_000, "M")):
        if count >= limit:
            return f"{count / limit:.1f}{suffix}"
    if count >= 1000:
        return f"{count / 1000:.1f}k"
    return str(count)


def when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else ""


def highlight_code(text: str, filename: str) -> str:
    try:
        lexer = get_lexer_for_filename(filename, stripnl=False)
    except ClassNotFound:
        lexer = TextLexer(stripnl=False)
    return highlight(text, lexer, _FORMATTER)


@cache
def highlight_css() -> str:
    """Pygments' classes, light by default and dark when the system prefers it."""
    light = HtmlFormatter(style="default").get_style_defs(".highlight")
    dark = HtmlFormatter(style="monokai").get_style_defs(".highlight")
    return (
        f"{light}\n.highlight {{ background: transparent; }}\n"
        f"@media (prefers-color-scheme: dark) {{\n{dark}\n"
        ".highlight { background: transparent; }\n}\n"
    )


# --------------------------------------------------------------------------- the card page


@dataclass(frozen=True)
class Tag:
    label: str
    tag: str
    href: str | None  # None: an identifier this hub does not know, shown unlinked and flagged
    note: str = ""  # why it is flagged


def _as_list(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(item) for item in value if isinstance(item, str | int | float)]
    return []


def _language_tag(links: Links, code: str) -> Tag:
    name = language_name(code)
    if name is None:
        return Tag(code, code, None, "not a known language code (ISO 639)")
    return Tag(name, code, links.listing(language=code))


def _license_tag(links: Links, tag: str, value: str) -> Tag:
    if value in LICENSES:
        return Tag(value, tag, links.listing(license=value))
    return Tag(value, tag, None, "not a known license identifier")


def tag_groups(
    links: Links, tags: list[str], card_data: dict, pipeline: str | None, library: str | None
) -> list[tuple[str, list[Tag]]]:
    """The repository's tags, grouped and labelled as the Hub shows them, each linked to the
    listing filtered by it; internal tags (region, deploy…) are left out. A language code or a
    license the hub does not know links nowhere and is flagged: a typo in a card shows."""
    languages = set(_as_list(card_data.get("language")))
    groups: dict[str, list[Tag]] = {
        "Task": [],
        "Libraries": [],
        "Datasets": [],
        "Languages": [],
        "License": [],
        "Base model": [],
        "arXiv": [],
        "Other": [],
    }
    if pipeline:
        groups["Task"].append(Tag(pipeline, pipeline, links.listing(pipeline_tag=pipeline)))
    for tag in tags:
        tag = str(tag)
        if tag in HIDDEN_TAGS or tag.startswith(HIDDEN_TAG_PREFIXES) or tag == pipeline:
            continue
        kind, _, value = tag.partition(":")
        if tag == library or tag in KNOWN_LIBRARIES:
            groups["Libraries"].append(Tag(tag, tag, links.listing(library=tag)))
        elif tag in languages:
            groups["Languages"].append(_language_tag(links, tag))
        elif kind == "license" and value:
            groups["License"].append(_license_tag(links, tag, value))
        elif kind == "dataset" and value:
            groups["Datasets"].append(Tag(value, tag, links.listing(other=tag)))
        elif kind == "base_model" and value:
            if relations_of([tag]):  # base_model:finetune:X feeds the model tree only
                continue
            groups["Base model"].append(Tag(value, tag, links.listing(other=tag)))
        elif kind == "arxiv" and value:
            groups["arXiv"].append(Tag(f"arxiv:{value}", tag, links.listing(other=tag)))
        else:
            groups["Other"].append(Tag(tag, tag, links.listing(other=tag)))
    return [(label, items) for label, items in groups.items() if items]


def model_widget(ctx: Ctx, links: Links, card: Any) -> Widget:
    """The inference widget: which one, whether Compute can run (the hub's serving rule, as a
    request would meet it) and its form, prefilled with the card's examples or our samples."""
    handle = links.handle
    derived = dict(card.derived or {}) if card is not None else {}
    mask_token = derived.get("mask_token")
    return build_widget(
        repo_id=str(handle.id),
        availability=for_repo(ctx.hub.settings.inference, str(handle.id), card),
        card_data=dict(card.card_data or {}) if card is not None else {},
        mask_token=mask_token if isinstance(mask_token, str) else None,
        inference_url=f"/models/{handle.id}",
        resolve_base=f"{links.base}/resolve/main",
    )


def usage_snippets(
    repo_id: str,
    repo_type: RepoType,
    library: str | None,
    tags: list[str],
    pipeline: str | None,
    endpoint: str,
    files: list[str],
) -> list[dict[str, str]]:
    """ "Use this model" snippets: the library's own loading code, then the hub client and git."""
    snippets: list[dict[str, str]] = []
    if repo_type is RepoType.MODEL:
        if library == "transformers":
            if pipeline:
                code = (
                    "from transformers import pipeline\n\n"
                    f'pipe = pipeline("{pipeline}", model="{repo_id}")'
                )
            else:
                code = (
                    "from transformers import AutoModel\n\n"
                    f'model = AutoModel.from_pretrained("{repo_id}")'
                )
            snippets.append({"title": "Transformers", "language": "python", "code": code})
        if library == "sentence-transformers" or "sentence-transformers" in tags:
            snippets.append(
                {
                    "title": "Sentence Transformers",
                    "language": "python",
                    "code": (
                        "from sentence_transformers import SentenceTransformer\n\n"
                        f'model = SentenceTransformer("{repo_id}")\n'
                        'embeddings = model.encode(["The first sentence", "Another one"])'
                    ),
                }
            )
        if library == "diffusers":
            snippets.append(
                {
                    "title": "Diffusers",
                    "language": "python",
                    "code": (
                        "from diffusers import DiffusionPipeline\n\n"
                        f'pipe = DiffusionPipeline.from_pretrained("{repo_id}")\n'
                        'image = pipe("An astronaut riding a horse").images[0]'
                    ),
                }
            )
        gguf = [path for path in files if path.endswith(".gguf")]
        if library == "gguf" or "gguf" in tags or gguf:
            name = gguf[0] if gguf else "model.gguf"
            snippets.append(
                {
                    "title": "llama.cpp (GGUF)",
                    "language": "shell",
                    "code": (
                        f"hf download {repo_id} {name} --local-dir .\n"
                        f'llama-cli -m {name} -p "Hello"'
                    ),
                }
            )
    flag = "" if repo_type is RepoType.MODEL else f', repo_type="{repo_type.value}"'
    snippets.append(
        {
            "title": "huggingface_hub",
            "language": "python",
            "code": (
                "# HF_ENDPOINT must point at this hub\n"
                f"# export HF_ENDPOINT={endpoint}\n"
                "from huggingface_hub import snapshot_download\n\n"
                f'path = snapshot_download("{repo_id}"{flag})'
            ),
        }
    )
    prefix = "" if repo_type is RepoType.MODEL else repo_type.url_prefix
    snippets.append(
        {
            "title": "git clone",
            "language": "shell",
            "code": f"git lfs install\ngit clone {endpoint}/{prefix}{repo_id}",
        }
    )
    return snippets


def parameter_rows(safetensors: object) -> tuple[list[tuple[str, str]], str | None]:
    if not isinstance(safetensors, dict):
        return [], None
    parameters = safetensors.get("parameters")
    rows = [
        (str(dtype), f"{int(count):,}")
        for dtype, count in (parameters.items() if isinstance(parameters, dict) else [])
        if isinstance(count, int)
    ]
    total = safetensors.get("total")
    return rows, (human_count(total) if isinstance(total, int) else None)


def _description(card_text: str, repo_id: str) -> str:
    for line in card_text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "|", "!", "<", "```", "$$", "---", "-", "*")):
            text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line)
            return text[:200]
    return f"{repo_id} on Hubstead"


def repo_context(ctx: Ctx, tab: str) -> dict[str, Any]:
    handle = ctx.repo
    links = Links(handle)
    return {
        "repo": handle,
        "repo_id": str(handle.id),
        "repo_kind": handle.type.value,
        "links": links,
        "tab": tab,
        "likes": handle.row.likes,
        "liked": ctx.hub.counters.likes(ctx.principal, handle),
        "private": handle.row.private,
        "can_write": access.can_write(ctx.principal, handle.id.namespace),
        "can_admin": access.can_admin(ctx.principal, handle.id.namespace),
    }


@router.repo_route("POST", "/-/like", form=WEB, need=Need.READ)
def toggle_like(ctx: Ctx) -> Response:
    """The like button of a repository's pages: like it, or take the like back."""
    if ctx.principal is None:
        return RedirectResponse(f"/login?next=/{ctx.repo.id}", status_code=303)
    if ctx.hub.counters.likes(ctx.principal, ctx.repo):
        ctx.hub.counters.unlike(ctx.principal, ctx.repo)
    else:
        ctx.hub.counters.like(ctx.principal, ctx.repo)
    back = ctx.form_value("back") or ""
    target = back if back.startswith(f"{Links(ctx.repo).base}") and "//" not in back else None
    return RedirectResponse(target or Links(ctx.repo).page(), status_code=303)


@router.route("GET HEAD", r"/-/static/highlight\.css")
def highlight_stylesheet(ctx: Ctx) -> Response:
    return Response(
        highlight_css(),
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@page_route("/-/card-image.svg")
def card_image(ctx: Ctx) -> Response:
    """A generated social card (og:image) for repositories without a thumbnail."""
    handle = ctx.repo
    card = ctx.hub.cards.stored(handle.row.id)
    subtitle = (
        " · ".join(item for item in (card.pipeline_tag, card.library_name) if item)
        if card is not None
        else ""
    )
    namespace, name = escape(handle.id.namespace), escape(handle.id.name)
    svg = f"""<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="630" viewBox="0 0 1200 630">
<rect width="1200" height="630" fill="#0d1117"/>
<rect x="40" y="40" width="1120" height="550" rx="24" fill="#151b23" stroke="#3d444d"/>
<text x="100" y="150" font-family="system-ui, sans-serif" font-size="36" fill="#9198a1">Hubstead · {escape(handle.type.value)}</text>
<text x="100" y="270" font-family="system-ui, sans-serif" font-size="48" fill="#9cc3ff">{namespace}/</text>
<text x="100" y="350" font-family="system-ui, sans-serif" font-size="72" font-weight="700" fill="#e6edf3">{name}</text>
<text x="100" y="470" font-family="system-ui, sans-serif" font-size="36" fill="#9198a1">{escape(subtitle)}</text>
</svg>"""
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-cache"})


def default_branch_card(ctx: Ctx, handle: RepoHandle) -> tuple[Any, str | None]:
    """The card of the default branch and its HTML: main's is the stored one (listings read
    it too); another branch's, chosen in the settings page, is derived on request."""
    branch = handle.default_branch()
    if branch == "main":
        card = ctx.hub.cards.stored(handle.row.id)
        html = ctx.hub.cards.html(handle)
        return ctx.hub.cards.stored(handle.row.id) or card, html
    derived = ctx.hub.cards.for_commit(handle, handle.git.resolve(branch))
    return derived, ctx.hub.cards.render(handle, derived.card_text, branch)


@page_route("/?")
def repo_page(ctx: Ctx) -> Response:
    handle = ctx.repo
    card, html = default_branch_card(ctx, handle)
    links = Links(handle)
    card_data = dict(card.card_data or {}) if card is not None else {}
    derived = dict(card.derived or {}) if card is not None else {}
    tags = [str(tag) for tag in (card.tags if card is not None else [])]
    pipeline = card.pipeline_tag if card is not None else None
    library = card.library_name if card is not None else None
    endpoint = ctx.base_url
    files = ctx.hub.repos.head_files(handle.row) if handle.row.head_sha else []
    parameters, total_parameters = parameter_rows(derived.get("safetensors"))
    datasets = _as_list(card_data.get("datasets"))
    base_models = _as_list(card_data.get("base_model"))
    thumbnail = card_data.get("thumbnail")
    og_image = (
        thumbnail
        if isinstance(thumbnail, str) and thumbnail.startswith(("https://", "http://"))
        else endpoint + links.og_image()
    )
    license_name = card_data.get("license")
    return render(
        ctx,
        "repo/card.html",
        **repo_context(ctx, "card"),
        card_html=html,
        tag_groups=tag_groups(links, tags, card_data, pipeline, library),
        all_tags=tags,
        pipeline=pipeline,
        library=library,
        downloads=human_count(handle.row.downloads),
        parameters=parameters,
        total_parameters=total_parameters,
        license_name=str(license_name) if license_name else None,
        license_full_name=LICENSES.get(str(license_name)) if license_name else None,
        datasets=datasets,
        base_models=base_models,
        model_tree=ctx.hub.model_trees.tree(ctx.principal, str(handle.id), tags)
        if handle.type is RepoType.MODEL
        else None,
        relations=RELATIONS,
        eval_rows=eval_results(card_data.get("model-index")),
        widget=model_widget(ctx, links, card) if handle.type is RepoType.MODEL else None,
        snippets=usage_snippets(
            str(handle.id), handle.type, library, tags, pipeline, endpoint, files
        ),
        description=_description(card.card_text if card is not None else "", str(handle.id)),
        og_image=og_image,
        page_url=endpoint + links.page(),
        # the card's completeness, for those who can fix it (web/views/card_editor.py edits it)
        checklist=checklist(
            card_data, card.card_text if card is not None else "", handle.type.value
        )
        if access.can_write(ctx.principal, handle.id.namespace)
        else [],
        edit_href=f"{links.base}/edit/{quote(handle.default_branch(), safe='')}/README.md",
        pickle_scan=ctx.hub.pickle_scans.head_status(handle),  # files that may run code
    )


# --------------------------------------------------------------------------- files


def _ref_names(ctx: Ctx) -> tuple[list[str], list[str]]:
    refs = ctx.hub.refs.list(ctx.repo, include_prs=False)
    return [b["name"] for b in refs["branches"]], [t["name"] for t in refs["tags"]]


def _breadcrumbs(links: Links, rev: str, path: str) -> list[tuple[str, str]]:
    crumbs = [(str(links.handle.id.name), links.tree(rev))]
    parts = [part for part in path.split("/") if part]
    for index, part in enumerate(parts):
        crumbs.append((part, links.tree(rev, "/".join(parts[: index + 1]))))
    return crumbs


@page_route("/tree/{rev:rev}(?:/{path:any})?")
def tree(ctx: Ctx, rev: str, path: str = "") -> Response:
    handle = ctx.repo
    links = Links(handle)
    path = path.strip("/")
    wanted = ctx.query.get("rev")
    if wanted and wanted != rev:  # the branch picker, submitted without JavaScript
        return RedirectResponse(links.tree(wanted, path), status_code=303)
    try:
        offset = max(0, int(ctx.query.get("offset", "0")))
    except ValueError:
        raise BadRequest("'offset' must be a number") from None
    page = ctx.hub.files.tree_page(
        handle, rev, path, recursive=False, expand=True, offset=offset, size=TREE_PAGE_SIZE
    )
    if not page.entries and path and offset == 0:
        raise NotFound(f"No folder {path} at {rev}")
    branches, tags = _ref_names(ctx)
    entries = []
    for entry in sorted(page.entries, key=lambda e: (e.type != "directory", e.path.lower())):
        last = page.last_commits.get(entry.path)
        entries.append(
            {
                "name": entry.path.rsplit("/", 1)[-1],
                "is_dir": entry.type == "directory",
                "href": links.tree(rev, entry.path)
                if entry.type == "directory"
                else links.blob(rev, entry.path),
                "size": "" if entry.type == "directory" else human_size(entry.size),
                "badge": "Xet"
                if entry.path in page.xet_hashes
                else ("LFS" if entry.lfs is not None else None),
                "download": None
                if entry.type == "directory"
                else links.resolve(rev, entry.path, download=True),
                "commit_title": last.title if last else "",
                "commit_href": links.commit(last.id) if last else None,
                "commit_date": when(last.date) if last else "",
            }
        )
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    return render(
        ctx,
        "repo/tree.html",
        **repo_context(ctx, "files"),
        rev=rev,
        path=path,
        entries=entries,
        branches=branches,
        tags=tags,
        crumbs=_breadcrumbs(links, rev, path),
        parent_href=links.tree(rev, parent) if path else None,
        next_href=f"{links.tree(rev, path)}?offset={page.next_offset}"
        if page.next_offset is not None
        else None,
        history_href=links.commits(rev),
    )


def _safetensors_summary(ctx: Ctx, rev: str, path: str) -> dict[str, Any] | None:
    try:
        header = ctx.hub.weights.header(ctx.repo, rev, path)
    except HubError:
        return None
    metadata = header.pop("__metadata__", None)
    totals: dict[str, int] = {}
    tensors = []
    for name, info in header.items():
        if not isinstance(info, dict):
            continue
        shape = info.get("shape") or []
        if not isinstance(shape, list) or not all(
            isinstance(dim, int) and not isinstance(dim, bool) and dim >= 0 for dim in shape
        ):
            continue  # not a shape safetensors can hold: the header is shown without it
        count = 1
        for dim in shape:
            count *= dim
        dtype = str(info.get("dtype", "?"))
        totals[dtype] = totals.get(dtype, 0) + count
        tensors.append(
            {"name": name, "dtype": dtype, "shape": "×".join(map(str, shape)) or "scalar"}
        )
    return {
        "metadata": metadata if isinstance(metadata, dict) else {},
        "totals": [(dtype, f"{count:,}") for dtype, count in sorted(totals.items())],
        "total": f"{sum(totals.values()):,}",
        "count": len(tensors),
        "tensors": tensors[:MAX_TENSORS_SHOWN],
    }


@page_route(BLOB, name="repo.blob")
def blob(ctx: Ctx, rev: str, path: str) -> Response:
    handle = ctx.repo
    links = Links(handle)
    resolved = ctx.hub.files.resolve(handle, rev, path)
    entry = resolved.entry
    lower = path.lower()
    view: dict[str, Any] = {"kind": "binary"}
    if lower.endswith(IMAGE_SUFFIXES):
        view = {"kind": "image"}
    elif lower.endswith(".safetensors"):
        summary = _safetensors_summary(ctx, rev, path)
        if summary is not None:
            view = {"kind": "safetensors", **summary}
    elif resolved.content is not None and len(resolved.content) <= MAX_VIEW_BYTES:
        try:
            text = resolved.content.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and "\x00" not in text:
            rendered = ctx.hub.cards.render(handle, text, rev) if lower.endswith(".md") else None
            if rendered is not None:
                view = {"kind": "markdown", "html": rendered}
            else:
                view = {
                    "kind": "text",
                    "html": highlight_code(text, path.rsplit("/", 1)[-1]),
                    "lines": text.count("\n") + (0 if text.endswith("\n") else 1),
                }
    elif resolved.content is not None:
        view = {"kind": "large"}
    folder = path.rsplit("/", 1)[0] if "/" in path else ""
    last = handle.git.last_commits(resolved.commit, [entry.path]).get(entry.path)
    branches, tags = _ref_names(ctx)
    return render(
        ctx,
        "repo/blob.html",
        **repo_context(ctx, "files"),
        rev=rev,
        path=path,
        view=view,
        size=human_size(entry.size),
        badge="Xet" if resolved.xet_hash else ("LFS" if entry.lfs is not None else None),
        sha256=entry.lfs.oid if entry.lfs is not None else None,
        raw_href=links.resolve(rev, path),
        download_href=links.resolve(rev, path, download=True),
        crumbs=_breadcrumbs(links, rev, path),
        folder_href=links.tree(rev, folder),
        last=last,
        last_href=links.commit(last.id) if last else None,
        last_date=when(last.date) if last else "",
        branches=branches,
        tags=tags,
    )


# --------------------------------------------------------------------------- history


@page_route("/commits/{rev:rev}")
def commits(ctx: Ctx, rev: str) -> Response:
    handle = ctx.repo
    links = Links(handle)
    page_number = query_int(ctx, "p", 0, MAX_PAGE)
    history = ctx.hub.commits.history(handle, rev, page_number, COMMITS_PAGE_SIZE)
    rows = [
        {
            "title": info.title or "(no message)",
            "author": info.author,
            "date": when(info.date),
            "short": info.id[:7],
            "href": links.commit(info.id),
            "tree": links.tree(info.id),
        }
        for info in history.commits
    ]
    return render(
        ctx,
        "repo/commits.html",
        **repo_context(ctx, "files"),
        rev=rev,
        rows=rows,
        total=history.total,
        prev_href=links.commits(rev, page_number - 1) if page_number > 0 else None,
        next_href=links.commits(rev, page_number + 1) if history.has_next else None,
    )


_LFS_SIZE = re.compile(r"^([+-])size (\d+)$", re.MULTILINE)


def diff_files(patch: str, links: Links, oid: str) -> list[dict[str, Any]]:
    """Split a unified diff by file; an LFS pointer change is shown as the size it changed."""
    files = []
    for chunk in re.split(r"(?m)^(?=diff --git )", patch):
        if not chunk.startswith("diff --git "):
            continue
        header = chunk.splitlines()[0]
        match = re.match(r"diff --git a/(.*) b/(.*)$", header)
        old_path, new_path = (match.group(1), match.group(2)) if match else (header, header)
        status = "modified"
        if "\nnew file mode" in chunk:
            status = "added"
        elif "\ndeleted file mode" in chunk:
            status = "deleted"
        added = sum(
            1 for line in chunk.splitlines() if line.startswith("+") and not line.startswith("+++")
        )
        removed = sum(
            1 for line in chunk.splitlines() if line.startswith("-") and not line.startswith("---")
        )
        lfs = None
        if "version https://git-lfs.github.com/spec/v1" in chunk:
            sizes = {sign: int(value) for sign, value in _LFS_SIZE.findall(chunk)}
            lfs = {
                "old": human_size(sizes["-"]) if "-" in sizes else None,
                "new": human_size(sizes["+"]) if "+" in sizes else None,
            }
        files.append(
            {
                "path": new_path if status != "deleted" else old_path,
                "status": status,
                "added": added,
                "removed": removed,
                "lfs": lfs,
                "binary": "\nBinary files " in chunk and lfs is None,
                "html": None if lfs else highlight(chunk, DiffLexer(stripnl=False), _FORMATTER),
                "href": links.blob(oid, new_path) if status != "deleted" else None,
            }
        )
    return files


@page_route(SITE.templates["repo.commit"], name="repo.commit")
def commit_page(ctx: Ctx, oid: str) -> Response:
    handle = ctx.repo
    links = Links(handle)
    detail = ctx.hub.commits.show(handle, oid)
    info = detail.info
    return render(
        ctx,
        "repo/commit.html",
        **repo_context(ctx, "files"),
        info=info,
        date=when(info.date),
        parents=[(parent[:7], links.commit(parent)) for parent in info.parents],
        files=diff_files(detail.diff, links, info.id),
        tree_href=links.tree(info.id),
    )


# --------------------------------------------------------------------------- community


def _author_name(accounts: dict, account_id: int | None) -> str:
    """The author's name, or "deleted user" for an account that no longer exists."""
    return accounts[account_id].name if account_id in accounts else "deleted user"


@page_route("/discussions")
def discussions(ctx: Ctx) -> Response:
    handle = ctx.repo
    links = Links(handle)
    page_number = query_int(ctx, "p", 0, MAX_PAGE)
    page = ctx.hub.discussions.list(handle, ListFilter(page=page_number))
    accounts = page.people.accounts
    items = [
        {
            "num": item.row.num,
            "title": item.row.title,
            "status": item.row.status,
            "is_pr": item.row.is_pull_request,
            "author": _author_name(accounts, item.row.author_id),
            "date": when(item.row.created_at),
            "comments": item.num_comments,
            "href": links.discussion(item.row.num),
        }
        for item in page.items
    ]
    shown = page.start + len(items)
    return render(
        ctx,
        "repo/discussions.html",
        **repo_context(ctx, "community"),
        items=items,
        count=page.count,
        prev_href=links.discussions(page_number - 1) if page_number > 0 else None,
        next_href=links.discussions(page_number + 1) if shown < page.count else None,
    )


@page_route(SITE.templates["repo.discussion"], name="repo.discussion")
def discussion(ctx: Ctx, num: str) -> Response:
    return discussion_page(ctx, num)


def discussion_page(
    ctx: Ctx, num: str, *, error: str | None = None, status: int = 200, draft: str = ""
) -> Response:
    """A discussion's timeline, with the forms the viewer may use (web/views/community.py
    posts them, and draws this page again with the service's `error`, its `status` and the
    comment `draft` that was not posted); a pull request's diff and commits."""
    handle = ctx.repo
    links = Links(handle)
    if not num.isdigit() or len(num) > 9:
        raise NotFound(f"Discussion #{num} not found")
    timeline = ctx.hub.discussions.details(handle, int(num), with_diff=True)
    accounts = timeline.people.accounts

    def name(account_id: int | None) -> str:
        return _author_name(accounts, account_id)

    events = []
    commits = []
    for event in timeline.events:
        item: dict[str, Any] = {
            "type": event.type,
            "author": name(event.author_id),
            "date": when(event.created_at),
        }
        if event.type == "comment":
            item["hidden"] = event.hidden
            text = event.content.strip() and f"<p>{escape(event.content)}</p>"
            item["html"] = event.data.get("html") or text  # "": an empty description
            item["edited"] = event.num_edits > 0
        elif event.type == "status-change":
            item["text"] = f"changed the status to {event.data.get('status', '?')}"
        elif event.type == "title-change":
            item["text"] = f"renamed the discussion to “{event.data.get('to', '')}”"
        elif event.type == "commit":
            item["text"] = f"added a commit: {event.data.get('subject', '')}"
            item["subject"] = event.data.get("subject") or "(no message)"
            oid = event.data.get("oid")
            item["href"] = links.commit(oid) if isinstance(oid, str) else None
            commits.append(item)
        else:
            item["text"] = event.type.replace("-", " ")
        events.append(item)
    row = timeline.row
    context = repo_context(ctx, "community")
    principal = ctx.principal
    acts = principal is not None and principal.can_write  # a read-only token changes nothing
    is_author = principal is not None and row.author_id == principal.user_id
    may_change = acts and (is_author or context["can_write"])
    pr_ref = f"refs/pr/{row.num}" if row.is_pull_request else None
    return render(
        ctx,
        "repo/discussion.html",
        status=status,
        **context,
        row=row,
        author=name(row.author_id),
        date=when(row.created_at),
        events=events,
        merge_href=links.commit(row.merge_commit) if row.merge_commit else None,
        action=links.discussion(row.num),
        error=error,
        draft=draft,
        can_comment=acts,
        can_change=may_change and row.status != "merged",
        can_merge=acts and context["can_write"] and row.is_pull_request and row.status == "open",
        can_push=may_change and row.is_pull_request and row.status != "merged",
        pr_ref=pr_ref,
        files=diff_files(timeline.diff or "", links, pr_ref) if pr_ref else [],
        conflicts=timeline.conflicts,
        commits=commits,
        endpoint=ctx.base_url,
    )
