"""Private repositories do not leak, not even their existence (issue 14): every repository route
of the application (API, web pages, git, LFS, inference; taken from the router itself, each
method, each optional part) × {anonymous, another user's write token, another user's read
token, a signed-in user without access} answers a private repository exactly as it answers a
repository that does not exist — the same status, the same error headers, the same bytes.
In-process, so the whole matrix runs in seconds."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.protocols.openapi import _variants
from hubstead.protocols.routing import Route
from hubstead.testing import InProcessHub

PRIVATE, MISSING = "acme/hidden-model", "acme/absent-model"  # names of the same length
SAMPLES = {  # a value for each converter of a template
    "rev": "main",
    "path": "README.md",
    "any": "README.md",
    "int": "1",
    "num": "1",
    "sha256": "a" * 64,
    "types": "models",
    "str": "x",
}
FORM_PREFIX = {
    "api": "/api/models/{repo}",
    "web": "/{repo}",
    "git": "/{repo}.git",
    "inference": "/models/{repo}",
}
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE")
IGNORED_HEADERS = {"x-request-id", "date", "content-length"}
# routes whose pattern has no plain spelling (alternatives, an optional slash), named by hand
EXTRA = [
    ("GET", "/{repo}"),
    ("GET", "/{repo}/"),
    ("GET", "/{repo}.git/info/refs?service=git-upload-pack"),
    ("GET", "/{repo}.git/info/refs?service=git-receive-pack"),
    ("POST", "/{repo}.git/git-upload-pack"),
    ("POST", "/{repo}.git/git-receive-pack"),
    ("GET", "/{repo}/info/refs?service=git-upload-pack"),
    ("GET", "/api/models/{repo}/revision/main"),
    ("GET", "/api/models/{repo}/tree/main/sub"),
    ("GET", "/api/models/{repo}/no-such-route"),
    ("GET", "/{repo}/raw/main/README.md"),
    ("GET", "/hf-inference/models/{repo}"),
    ("POST", "/hf-inference/models/{repo}"),
]


def _paths(route: Route) -> list[str]:
    """Concrete paths of a repository route for the placeholder `{repo}`."""
    form = route.template.form
    if form is None or form.name not in FORM_PREFIX:
        return []
    paths = []
    for variant in _variants(route.template.text):
        text = re.sub(
            r"\{(\w+)(?::(\w+))?\}",
            lambda m: SAMPLES.get(m.group(2) or "str", "x"),
            variant,
        )
        if re.search(r"[()\[\]?*+|^$\\]", text.replace("\\.", "")):
            continue  # a pattern with no plain spelling (a catch-all): the fallback covers it
        paths.append(FORM_PREFIX[form.name] + text.replace("\\.", "."))
    return paths


def _cases(app) -> list[tuple[str, str]]:
    cases = set()
    for route in app.router.routes:
        for path in _paths(route):
            for method in METHODS:
                if method in route.methods:
                    cases.add((method, path))
    return sorted(cases | set(EXTRA))


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> InProcessHub:
    hub = InProcessHub(tmp_path_factory.mktemp("private-matrix"))
    alice = hub.principal("alice")
    hub.hub.repos.create(alice, RepoType.MODEL, RepoId.parse(PRIVATE), True)
    yield hub
    hub.close()


def _client(live: InProcessHub, who: str) -> TestClient:
    client = TestClient(live.app, base_url="http://hub.test", follow_redirects=False)
    if who == "carol-session":
        cookie, _ = live.hub.sessions.sign_in("carol", "carol-password", None)
        client.cookies.set("hubstead_session", cookie)
    elif who != "anonymous":
        client.headers["Authorization"] = f"Bearer {live.tokens[who]}"
    return client


@pytest.fixture(scope="module")
def callers(live) -> dict[str, TestClient]:
    live.tokens["carol_read"] = live.hub.accounts.create_token("carol", "read", "carol-read")
    return {
        who: _client(live, who) for who in ("anonymous", "carol", "carol_read", "carol-session")
    }


def _answer(client: TestClient, method: str, path: str, name: str):
    response = client.request(
        method,
        path.replace("{repo}", name),
        content=b"{}" if method in ("POST", "PUT") else None,
        headers={"Content-Type": "application/json", "Accept": "text/html, */*"},
    )
    headers = {
        key: value.replace(name, "{repo}")
        for key, value in response.headers.items()
        if key not in IGNORED_HEADERS
    }
    return response.status_code, headers, response.content.replace(name.encode(), b"{repo}")


def test_the_matrix_covers_every_kind_of_route(live):
    cases = _cases(live.app)
    forms = {path.split("/")[1] for _, path in cases}
    assert len(cases) >= 90, len(cases)
    assert {"api", "models", "{repo}", "{repo}.git", "hf-inference"} <= forms


@pytest.mark.parametrize("who", ["anonymous", "carol", "carol_read", "carol-session"])
def test_a_private_repository_answers_like_a_missing_one(live, callers, who):
    client = callers[who]
    different = []
    for method, path in _cases(live.app):
        private = _answer(client, method, path, PRIVATE)
        missing = _answer(client, method, path, MISSING)
        if private != missing:
            different.append(f"{method} {path}: {private[0]} vs {missing[0]}")
        assert private[0] < 500, (method, path, private)
    assert not different, "\n".join(different[:30])
