"""How services name the hub's URLs without knowing how routes are laid out.

The protocol layer owns the routes (`protocols/urls.py`, `protocols/routing.py`); a service that
hands out links (LFS transfer URLs, links in rendered Markdown) receives an object of this shape
and asks it for a route by name. Per request it is absolute, under the base URL the request came
to; the composition root gives services that render without a request the relative web paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class Links(Protocol):
    def url_for(self, name: str, /, query: Mapping[str, Any] | None = None, **params: Any) -> str:
        """The URL of route `name` with `params` in its path and `query` as its query string;
        `repo=` (anything with `.type` and `.id`) names the repository of a repository route."""
        ...


class Paths(Protocol):
    def path_for(self, name: str, /, query: Mapping[str, Any] | None = None, **params: Any) -> str:
        """The same, as a path relative to the hub's root (for stored HTML)."""
        ...


def markdown_prefixes(paths: Paths, repo: Any, revision: str) -> tuple[str, str]:
    """Where relative links of a repository's rendered Markdown point: its files at `revision`
    (`/resolve/`, for images) and their pages (`/blob/`, for links)."""
    return (
        paths.path_for("repo.resolve", repo=repo, rev=revision, path=""),
        paths.path_for("repo.blob", repo=repo, rev=revision, path=""),
    )
