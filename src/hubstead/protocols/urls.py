"""Path templates: one declaration per route both matches raw request paths and builds URLs back.

A template is a regular expression over the *raw* path with placeholders: `{rev:rev}` matches a
revision (one segment, or `refs/pr/N`, whose slashes clients send as `%2F` anyway), `{path:path}`
the rest of the path, `{name}` one segment. A named template can be turned back into a URL
(`url_for`) when its text outside the placeholders is literal; the placeholder's converter says
how a value is quoted, so a revision `refs/pr/1` becomes `refs%2Fpr%2F1`, as clients send it.

Repository routes are written relative to the repository (`/tree/{rev:rev}`) and placed under
one of the URL forms a repository has (`Form`): the REST API's `/api/{type}s/ns/name`, the web
and resolve form `/[datasets/|spaces/]ns/name`, and git's `/[datasets/|spaces/]ns/name[.git]`.

This module imports nothing of the hub but the domain, so the composition root can hand the
web paths (`SITE`) to services that render links without a request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from hubstead.domain.repo_ids import RepoId, RepoType

REVISION = r"refs/pr/\d+|refs/convert/[^/]+|[^/]+"
CONVERTERS: dict[str, str] = {
    "str": r"[^/]+",
    "types": r"models|datasets|spaces",
    "rev": REVISION,
    "path": r".+",
    "any": r".*",
    "int": r"\d+",
    "num": r"\d{1,9}",
    "sha256": r"[0-9a-f]{64}",
}
# Converters whose values may hold slashes that stay slashes in a built URL.
SLASHED = frozenset({"path", "any"})
PLACEHOLDER = re.compile(r"\{([A-Za-z_]\w*)(?::(\w+))?\}")
REGEX_SYNTAX = frozenset("()[]{}?*+|\\^$.")


class RepoRef(Protocol):
    """Anything that names a repository: a RepoHandle, a RepoView."""

    @property
    def type(self) -> RepoType: ...

    @property
    def id(self) -> RepoId: ...


@dataclass(frozen=True)
class RepoName:
    """A repository named by type and id alone (one that may not exist, or was just renamed)."""

    type: RepoType
    id: RepoId


@dataclass(frozen=True)
class Form:
    """One way a URL names a repository: the regex of its prefix, and how to build it back."""

    name: str
    pattern: str  # groups: rtype (a plural) or prefix (datasets|spaces), ns, name
    fixed_type: RepoType | None = None

    def repo_type(self, groups: Mapping[str, str | None]) -> RepoType:
        if self.fixed_type is not None:
            return self.fixed_type
        if groups.get("rtype"):
            return RepoType.from_plural(str(groups["rtype"]))
        prefix = groups.get("prefix")
        return RepoType.from_plural(prefix) if prefix else RepoType.MODEL

    def path(self, repo_type: RepoType, repo_id: RepoId) -> str:
        if self.name == "api":
            return f"/api/{(self.fixed_type or repo_type).plural}/{repo_id}"
        suffix = ".git" if self.name == "git" else ""
        return f"/{repo_type.url_prefix}{repo_id}{suffix}"


_WEB_PREFIX = r"(?:(?P<prefix>datasets|spaces)/)?"
API = Form("api", r"/api/(?P<rtype>models|datasets|spaces)/(?P<ns>[^/]+)/(?P<name>[^/]+)")
API_MODELS = Form("api", r"/api/models/(?P<ns>[^/]+)/(?P<name>[^/]+)", RepoType.MODEL)
API_DATASETS = Form("api", r"/api/datasets/(?P<ns>[^/]+)/(?P<name>[^/]+)", RepoType.DATASET)
WEB = Form("web", rf"/{_WEB_PREFIX}(?P<ns>[^/]+)/(?P<name>[^/]+)")
GIT = Form("git", rf"/{_WEB_PREFIX}(?P<ns>[^/]+)/(?P<name>[^/]+?)(?:\.git)?")
# the inference API: /models/ns/name (the classic serverless path) and /hf-inference/models/…
INFERENCE = Form(
    "inference", r"/(?:hf-inference/)?models/(?P<ns>[^/]+)/(?P<name>[^/]+)", RepoType.MODEL
)
REPO_GROUPS = frozenset({"rtype", "prefix", "ns", "name"})


@dataclass(frozen=True)
class Template:
    """A path template, optionally under a repository form."""

    text: str
    form: Form | None = None

    def regex(self) -> str:
        def placeholder(match: re.Match[str]) -> str:
            converter = match.group(2) or "str"
            return f"(?P<{match.group(1)}>{CONVERTERS[converter]})"

        body = PLACEHOLDER.sub(placeholder, self.text)
        return (self.form.pattern if self.form else "") + body

    @property
    def reversible(self) -> bool:
        literal = PLACEHOLDER.sub("", self.text)
        return not REGEX_SYNTAX.intersection(literal)

    def build(self, params: Mapping[str, Any]) -> str:
        """The path for `params`; `repo` names the repository of a repository template."""

        def value(match: re.Match[str]) -> str:
            raw = str(params[match.group(1)])
            return quote(raw, safe="/" if match.group(2) in SLASHED else "")

        path = PLACEHOLDER.sub(value, self.text)
        if self.form is None:
            return path
        repo: RepoRef = params["repo"]
        return self.form.path(repo.type, repo.id) + path


class UrlMap:
    """Named templates, turned into paths (`path_for`) or absolute URLs (`bind(base).url_for`)."""

    def __init__(self, templates: Mapping[str, Template] | None = None) -> None:
        self.templates: dict[str, Template] = dict(templates or {})

    def add(self, name: str, template: Template) -> None:
        if not template.reversible:
            raise ValueError(
                f"route {name!r} cannot be named: {template.text!r} is not a literal template"
            )
        if name in self.templates and self.templates[name] != template:
            raise ValueError(f"route name {name!r} is taken")
        self.templates[name] = template

    def update(self, other: UrlMap) -> None:
        for name, template in other.templates.items():
            self.add(name, template)

    def path_for(self, name: str, /, query: Mapping[str, Any] | None = None, **params: Any) -> str:
        path = self.templates[name].build(params)
        return f"{path}?{urlencode(query)}" if query else path

    def bind(self, base: str) -> BoundUrls:
        return BoundUrls(self, base.rstrip("/"))


@dataclass(frozen=True)
class BoundUrls:
    """The hub's URLs as one request sees them: absolute, under the base URL it was reached at.
    It is what services receive to hand out links (`services.urls.Links`)."""

    urls: UrlMap
    base: str

    def url_for(self, name: str, /, query: Mapping[str, Any] | None = None, **params: Any) -> str:
        return self.base + self.urls.path_for(name, query, **params)


# The web pages of a repository. Some are served here (the page, /resolve, /blob), the others
# are the Hub's pages that answers link to (a commit, a discussion), which a web UI will serve.
RESOLVE = Template("/resolve/{rev:rev}/{path:path}", WEB)
BLOB = Template("/blob/{rev}/{path:path}", WEB)
SITE = UrlMap(
    {
        "repo.page": Template("", WEB),
        "repo.resolve": RESOLVE,
        "repo.blob": BLOB,
        "repo.commit": Template("/commit/{oid}", WEB),
        "repo.discussion": Template("/discussions/{num}", WEB),
    }
)
