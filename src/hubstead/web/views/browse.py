"""The browse pages: the home page, the model and dataset lists with their filter sidebar, and
the identifier lists (`/tasks`, `/languages`, `/licenses`, `/metrics`).

The whole state of a list is in its URL: filters (`pipeline_tag`, `library`, `language`,
`license`, `dataset`, `other`), `search`, `sort`, and the page (`cursor=` for the next page,
`before=` for the previous one: both are the service's keyset cursors, so a page never shifts
when repositories are added). Everything works without JavaScript; `browse.js` only narrows the
facet lists as one types.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams
from starlette.responses import Response

from hubstead.domain.cards.vocabulary import ISO_639_1_CODES, LICENSES, language_name
from hubstead.domain.repo_ids import RepoType
from hubstead.protocols.http import Ctx
from hubstead.protocols.listing_query import list_query
from hubstead.protocols.routing import Router
from hubstead.protocols.schemas import MAX_BIGINT, query_int
from hubstead.services.discovery import SORTS, ListQuery, encode_cursor
from hubstead.web.tasks import grouped, task_label
from hubstead.web.templating import render

router = Router(sessions=True)

PAGE_SIZE = 30
MAX_PAGE = 1_000_000  # ?p= past this is refused (400), not looked for
MAX_LIMIT = 100
# The sorts the list offers: (URL value, service sort, label)
SORT_CHOICES: tuple[tuple[str, str, str], ...] = (
    ("trending", "trendingScore", "Trending"),
    ("downloads", "downloads", "Most downloads"),
    ("likes", "likes", "Most likes"),
    ("modified", "lastModified", "Recently updated"),
    ("created", "createdAt", "Recently created"),
)
SORT_OF = {value: sort for value, sort, _ in SORT_CHOICES}
# Facet kinds of the discovery service → (query parameter, heading)
FACETS: tuple[tuple[str, str, str], ...] = (
    ("library", "library", "Libraries"),
    ("language", "language", "Languages"),
    ("license", "license", "Licenses"),
    ("dataset", "dataset", "Datasets"),
    ("other", "other", "Other tags"),
)
FILTER_PARAMS = ("pipeline_tag", "library", "language", "license", "dataset", "other")
PAGE_PARAMS = ("cursor", "before", "p")


# -- helpers shared with the templates ---------------------------------------------------------


def repo_url(repo_type: RepoType, repo_id: str) -> str:
    return f"/{repo_id}" if repo_type is RepoType.MODEL else f"/{repo_type.value}s/{repo_id}"


def list_path(repo_type: RepoType) -> str:
    return f"/{repo_type.value}s"


def relative_time(moment: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """ "just now", "5 minutes ago", "3 days ago", else the date."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    seconds = ((now or dt.datetime.now(dt.UTC)) - moment).total_seconds()
    for limit, unit, size in (
        (3600, "minute", 60),
        (86400, "hour", 3600),
        (86400 * 31, "day", 86400),
    ):
        if seconds < limit:
            value = int(seconds // size)
            if value < 1:
                return "just now"
            return f"{value} {unit}{'s' if value != 1 else ''} ago"
    return moment.strftime("%b %-d, %Y")


def iso(moment: dt.datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.isoformat(timespec="seconds")


def compact(number: int | None) -> str:
    """1234 → "1.2k", 7_000_000_000 → "7B" (parameter counts and counters)."""
    if number is None:
        return ""
    for size, suffix in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "k")):
        if abs(number) >= size:
            text = f"{number / size:.1f}".rstrip("0").rstrip(".")
            return text + suffix
    return str(number)


def _parameters(row: Any, card: Any) -> int | None:
    derived = getattr(card, "derived", None) or {}
    summary = derived.get("safetensors") if isinstance(derived, dict) else None
    total = summary.get("total") if isinstance(summary, dict) else None
    if isinstance(total, int) and total > 0:
        return total
    return row.num_parameters or None


def _task(repo_type: RepoType, card: Any) -> str | None:
    if card is None:
        return None
    if repo_type is RepoType.MODEL:
        return card.pipeline_tag
    for tag in card.tags or []:
        if isinstance(tag, str) and tag.startswith("task_categories:"):
            return tag.split(":", 1)[1]
    return None


def repo_items(ctx: Ctx, repo_type: RepoType, rows: list) -> list[dict]:
    """What a row of a list shows, from the repositories' rows and their stored cards."""
    cards = ctx.hub.cards.stored_many([row.id for row in rows])
    items = []
    for row in rows:
        card = cards.get(row.id)
        repo_id = f"{row.namespace}/{row.name}"
        task = _task(repo_type, card)
        parameters = _parameters(row, card) if repo_type is RepoType.MODEL else None
        items.append(
            {
                "id": repo_id,
                "url": repo_url(repo_type, repo_id),
                "private": bool(row.private),
                "task": task,
                "task_label": task_label(task) if task else None,
                "updated": relative_time(row.last_modified),
                "updated_iso": iso(row.last_modified),
                "downloads": row.downloads or 0,
                "downloads_short": compact(row.downloads or 0),
                "likes": row.likes or 0,
                "parameters": parameters,
                "parameters_short": compact(parameters) if parameters else None,
            }
        )
    return items


def _url(path: str, params: list[tuple[str, str]]) -> str:
    return f"{path}?{urlencode(params)}" if params else path


# -- the home page -----------------------------------------------------------------------------


@router.route("GET", r"/", name="web.home")
def home(ctx: Ctx) -> Response:
    sections = []
    for repo_type in (RepoType.MODEL, RepoType.DATASET):
        lists = {}
        for key, sort in (("trending", "trendingScore"), ("recent", "lastModified")):
            rows, _ = ctx.hub.discovery.list(
                ctx.principal, ListQuery(repo_type=repo_type, sort=sort, limit=5)
            )
            lists[key] = repo_items(ctx, repo_type, rows)
        sections.append(
            {
                "type": repo_type.value,
                "title": "Models" if repo_type is RepoType.MODEL else "Datasets",
                "path": list_path(repo_type),
                "count": ctx.hub.discovery.count(ctx.principal, repo_type)[0],
                **lists,
            }
        )
    return render(ctx, "browse/home.html", sections=sections)


# -- the lists ---------------------------------------------------------------------------------


@router.route("GET", r"/(?P<rtype>models|datasets)")
def repo_list(ctx: Ctx, rtype: str) -> Response:
    repo_type = RepoType.from_plural(rtype)
    path = list_path(repo_type)
    params = [(k, v) for k, v in ctx.query.multi_items() if v]
    sort_value = ctx.query.get("sort") or "trending"
    if sort_value not in SORT_OF:
        sort_value = "trending"
    limit = min(query_int(ctx, "limit", PAGE_SIZE, MAX_BIGINT), MAX_LIMIT) or PAGE_SIZE
    page = query_int(ctx, "p", 1, MAX_PAGE) or 1
    base = dataclasses.replace(
        list_query(
            ctx.query if repo_type is RepoType.MODEL else _dataset_params(params), repo_type
        ),
        sort=SORT_OF[sort_value],
        descending=True,
        limit=limit,
        cursor=None,
    )
    before = ctx.query.get("before") or None
    if before:  # the page before a row: walk backwards from it, then show in order
        rows, further = ctx.hub.discovery.list(
            ctx.principal, dataclasses.replace(base, descending=False, cursor=before)
        )
        rows.reverse()
        has_prev, has_next = further is not None, bool(rows)
    else:
        cursor = ctx.query.get("cursor") or None
        rows, next_cursor = ctx.hub.discovery.list(
            ctx.principal, dataclasses.replace(base, cursor=cursor)
        )
        has_prev, has_next = cursor is not None and bool(rows), next_cursor is not None
    if before and not rows:
        has_prev = False
    keep = [(k, v) for k, v in params if k not in PAGE_PARAMS]
    sort_key = SORTS[base.sort or "trendingScore"]
    prev_url = next_url = None
    if rows and has_next:
        next_url = _url(
            path, [*keep, ("cursor", _row_cursor(rows[-1], sort_key)), ("p", str(page + 1))]
        )
    if rows and has_prev:
        previous = [("before", _row_cursor(rows[0], sort_key))]
        if page > 2:
            previous.append(("p", str(page - 1)))
        prev_url = _url(path, [*keep, *previous])
    facets = facets_of(ctx, repo_type)
    sidebar = _sidebar(path, repo_type, facets, keep)
    chips = [
        {
            "param": name,
            "value": value,
            "label": _chip_label(name, value),
            "url": _url(
                path,
                [(k, v) for k, v in keep if (k, v) != (name, value) and k not in PAGE_PARAMS],
            ),
        }
        for name, value in keep
        if name in FILTER_PARAMS
    ]
    search = " ".join(ctx.query.getlist("search")).strip()
    hidden = [(k, v) for k, v in keep if k not in ("search", "sort")]
    sorts = [
        {
            "value": value,
            "label": label,
            "selected": value == sort_value,
            "url": _url(path, [*[(k, v) for k, v in keep if k != "sort"], ("sort", value)]),
        }
        for value, _, label in SORT_CHOICES
    ]
    title = "Models" if repo_type is RepoType.MODEL else "Datasets"
    total, exact = ctx.hub.discovery.count(ctx.principal, repo_type, base)
    return render(
        ctx,
        "browse/list.html",
        title=title,
        repo_type=repo_type.value,
        path=path,
        items=repo_items(ctx, repo_type, rows),
        total=f"{total:,}" if exact else f"{total:,}+",
        filtered=bool(chips or search),
        sidebar=sidebar,
        chips=chips,
        clear_url=_url(path, [(k, v) for k, v in keep if k not in FILTER_PARAMS]),
        search=search,
        hidden=hidden,
        sorts=sorts,
        sort_value=sort_value,
        page=page,
        prev_url=prev_url,
        next_url=next_url,
    )


def _row_cursor(row: Any, column: Any) -> str:
    """The service's keyset cursor of `row` in the order of `column`."""
    return encode_cursor([getattr(row, column.name), row.id])


def _chip_label(param: str, value: str) -> str:
    if param == "pipeline_tag":
        return f"Task: {task_label(value)}"
    return f"{param.replace('_', ' ').capitalize()}: {value}"


def _toggle(path: str, keep: list[tuple[str, str]], param: str, value: str) -> tuple[str, bool]:
    """The list's URL with `param=value` added (replacing a task: a repository has one), or
    removed when present; and whether it was present."""
    active = (param, value) in keep
    rest = [
        (k, v)
        for k, v in keep
        if (k, v) != (param, value) and not (param == "pipeline_tag" and k == param)
    ]
    return _url(path, rest if active else [*rest, (param, value)]), active


# A dataset's tags name their kind (`language:en`, `task_categories:…`): the facet each goes to.
DATASET_PREFIXES = {
    "task_categories:": "pipeline_tag",
    "language:": "language",
    "library:": "library",
}


def facets_of(ctx: Ctx, repo_type: RepoType, per_facet: int = 200) -> dict[str, list[dict]]:
    """The facet service's groups; for datasets, the prefixed tags it files under "other" are
    moved to their facet, labelled without the prefix (the value the list's parameter takes)."""
    facets = ctx.hub.discovery.facets(ctx.principal, repo_type, per_facet=per_facet)
    if repo_type is RepoType.MODEL:
        return facets
    moved: dict[str, list[dict]] = {kind: [] for kind in facets}
    moved["pipeline_tag"] = []  # a bare pipeline tag on a dataset is not its task
    for kind, entries in facets.items():
        for entry in entries:
            prefix = next((p for p in DATASET_PREFIXES if entry["id"].startswith(p)), None)
            if kind == "other" and prefix is not None:
                label = entry["id"][len(prefix) :]
                moved[DATASET_PREFIXES[prefix]].append({**entry, "id": label, "label": label})
            elif kind != "pipeline_tag":
                moved[kind].append(entry)
    return moved


def _dataset_params(params: list[tuple[str, str]]) -> QueryParams:
    """A dataset list's parameters as the listing service's tags: `language=en` is the tag
    `language:en`, `library=x` is `library:x` (the task and license are prefixed already)."""
    out = []
    for key, value in params:
        if key in ("language", "library"):
            out.append(("filter", f"{key}:{value}"))
        else:
            out.append((key, value))
    return QueryParams(out)


def _sidebar(
    path: str, repo_type: RepoType, facets: dict[str, list[dict]], keep: list[tuple[str, str]]
) -> dict:
    """The filter sidebar: tasks by modality, then the other facets, each entry a toggle link."""
    task_counts = {f["id"]: f["count"] for f in facets.get("pipeline_tag", [])}
    others = facets.get("other", [])
    task_groups = grouped(task_counts)
    for group in task_groups:
        for task in group["tasks"]:
            task["url"], task["active"] = _toggle(path, keep, "pipeline_tag", task["id"])
    sections = []
    for kind, param, heading in FACETS:
        entries = others if kind == "other" else facets.get(kind, [])
        values = []
        for entry in entries:
            value = entry["label"] if kind in ("license", "dataset") else entry["id"]
            url, active = _toggle(path, keep, param, value)
            values.append({"value": value, "count": entry["count"], "url": url, "active": active})
        if values:
            sections.append({"id": kind, "heading": heading, "entries": values})
    return {"task_groups": task_groups, "sections": sections}


# -- identifier lists --------------------------------------------------------------------------


def _counts(ctx: Ctx, repo_type: RepoType, kind: str) -> dict[str, int]:
    facets = facets_of(ctx, repo_type, per_facet=100_000)
    key = (
        "label" if kind in ("license", "dataset") else "id"
    )  # the value the list's parameter takes
    return {entry[key]: entry["count"] for entry in facets.get(kind, [])}


@router.route("GET", r"/tasks", name="web.tasks")
def tasks(ctx: Ctx) -> Response:
    model_counts = _counts(ctx, RepoType.MODEL, "pipeline_tag")
    dataset_counts = _counts(ctx, RepoType.DATASET, "pipeline_tag")
    groups = grouped(model_counts, keep_empty=True)
    for group in groups:
        for task in group["tasks"]:
            task["datasets"] = dataset_counts.get(task["id"], 0)
            task["models_url"] = _url("/models", [("pipeline_tag", task["id"])])
            task["datasets_url"] = _url("/datasets", [("pipeline_tag", task["id"])])
    return render(ctx, "browse/tasks.html", groups=groups)


@router.route("GET", r"/languages", name="web.languages")
def languages(ctx: Ctx) -> Response:
    models = _counts(ctx, RepoType.MODEL, "language")
    datasets = _counts(ctx, RepoType.DATASET, "language")
    codes = set(ISO_639_1_CODES) | set(models) | set(datasets)
    rows = [
        _identifier(
            code,
            language_name(code) or "",
            "language",
            models.get(code, 0),
            datasets.get(code, 0),
        )
        for code in codes
    ]
    rows.sort(key=lambda r: (-(r["models"] + r["datasets"]), r["id"]))
    return render(
        ctx,
        "browse/identifiers.html",
        title="Languages",
        intro="Language codes (ISO 639) that model and dataset cards declare.",
        rows=rows,
        show_name=True,
    )


@router.route("GET", r"/licenses", name="web.licenses")
def licenses(ctx: Ctx) -> Response:
    models = _counts(ctx, RepoType.MODEL, "license")
    datasets = _counts(ctx, RepoType.DATASET, "license")
    names = dict(LICENSES)
    names.update({k: "" for k in [*models, *datasets] if k not in names})
    rows = [
        _identifier(lid, name, "license", models.get(lid, 0), datasets.get(lid, 0))
        for lid, name in names.items()
    ]
    rows.sort(key=lambda r: -(r["models"] + r["datasets"]))  # stable: vocabulary order on ties
    return render(
        ctx,
        "browse/identifiers.html",
        title="Licenses",
        intro="License identifiers a card's `license` field may name.",
        rows=rows,
        show_name=True,
    )


def _identifier(value: str, name: str, param: str, models: int, datasets: int) -> dict:
    return {
        "id": value,
        "name": name,  # "" for an identifier the hub does not know (flagged)
        "models": models,
        "datasets": datasets,
        "models_url": _url("/models", [(param, value)]),
        "datasets_url": _url("/datasets", [(param, value)]),
    }


@router.route("GET", r"/metrics", name="web.metrics")
def metrics(ctx: Ctx) -> Response:
    rows = [{"id": m, "models": n} for m, n in ctx.hub.discovery.metrics(ctx.principal)]
    return render(ctx, "browse/metrics.html", rows=rows)
