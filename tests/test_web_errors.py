"""Browsers get HTML error pages in the site's layout; API clients keep the Hub's JSON format.
Static assets are served under content-hashed names, cacheable for a year. In-process."""

from __future__ import annotations

import re

import pytest

from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.testing import InProcessHub

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> InProcessHub:
    live = InProcessHub(tmp_path_factory.mktemp("web-errors"))
    live.hub.repos.create(live.principal("alice"), RepoType.MODEL, RepoId("alice", "hidden"), True)
    yield live
    live.close()


@pytest.mark.parametrize(
    "path", ["/alice/no-such-model", "/alice/hidden", "/api/models/alice/hidden"]
)
def test_a_browser_gets_the_same_404_page_for_private_and_missing(hub: InProcessHub, path: str):
    with hub.client("bob") as client:  # signed in, without access to alice/hidden
        page = client.get(path, headers=BROWSER)
        api = client.get(path)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert (
        "<h1" in page.text and "Page not found" in page.text and 'class="site-header"' in page.text
    )
    assert page.headers["x-error-code"] == "RepoNotFound"
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/json")
    assert api.json()["error"] == "Repository not found"


def test_the_private_page_and_the_missing_page_are_the_same(hub: InProcessHub):
    with hub.client("bob") as client:
        hidden = client.get("/alice/hidden", headers=BROWSER).text
        missing = client.get("/alice/no-such-model", headers=BROWSER).text
    assert hidden == missing


def test_anonymous_browsers_get_a_401_page(hub: InProcessHub):
    with hub.client(None) as client:
        page = client.get("/alice/hidden", headers=BROWSER)
    assert page.status_code == 401 and "Sign in required" in page.text


def test_api_clients_never_get_html(hub: InProcessHub):
    with hub.client(None) as client:
        for path in ("/api/nope", "/alice/hidden/resolve/main/x"):
            response = client.get(path, headers={"Accept": "application/json"})
            assert response.headers["content-type"].startswith("application/json"), path
        head = client.head("/alice/hidden/resolve/main/x", headers=BROWSER)
    # HEAD never gets a page: the client reads the error headers
    assert (
        head.status_code == 401
        and head.text == ""
        and head.headers["x-error-code"] == "RepoNotFound"
    )


def test_assets_have_content_hashed_names_and_long_caching(hub: InProcessHub):
    with hub.client(None) as client:
        page = client.get("/alice/no-such-model", headers=BROWSER)
        (href,) = re.findall(r'href="(/-/assets/site\.[0-9a-f]{12}\.css)"', page.text)
        css = client.get(href)
        stale = client.get(re.sub(r"\.[0-9a-f]{12}\.", ".000000000000.", href))
    assert css.status_code == 200 and "--bg" in css.text
    assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert stale.status_code == 404
