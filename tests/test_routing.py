"""Who may do what with which repository: the router's one decision, as a matrix.

Every repository route declares its need (read, download, upload, write, admin); the router
resolves the repository once and applies every rule (`protocols/routing.open_repo`). This file
probes one route per need, for each kind of caller and each kind of repository, and checks the
status and `X-Error-Code` against the rules written out below. It runs in-process (the ASGI
application called directly), so the whole matrix takes a few seconds.
"""

from __future__ import annotations

import re

import pytest

from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.protocols.app import build_router
from hubstead.protocols.urls import RepoName
from hubstead.testing import InProcessHub

CALLERS = {
    "anonymous": None,
    "read_token": "alice_read",  # an admin of acme, but with a read token
    "non_member": "carol",
    "member_read": "bob",
    "member_write": "dave",
    "member_admin": "alice",
    "site_admin": "admin",
}
KINDS = {  # repository id in the URL
    "public": "acme/public",
    "private": "acme/private",
    "gated": "acme/gated",
    "missing": "acme/missing",
    "invalid": "acme/bad..name",
    "moved": "acme/old-name",  # renamed to acme/new-name
    "moved_private": "acme/old-secret",  # renamed to acme/new-secret, private
}
# One route per need: (method, path under /api/models/{id}, JSON body).
NEEDS = {
    "read": ("GET", "/refs", None),
    "download": ("GET", "/auth-check", None),
    "upload": ("POST", "/preupload/main?create_pr=1", {"files": []}),
    "write": ("GET", "/auth-check/write", None),
    "admin": ("PUT", "/settings", {}),
}

# -- the rules --------------------------------------------------------------------------------

SEES_PRIVATE = {"read_token", "member_read", "member_write", "member_admin", "site_admin"}
PASSES_GATE = SEES_PRIVATE  # the namespace's members and site admins never need to ask
WRITERS = {"member_write", "member_admin", "site_admin"}
ADMINS = {"member_admin", "site_admin"}


def expected(need: str, caller: str, kind: str) -> tuple[int, str | None]:
    anonymous = caller == "anonymous"
    hidden = (401 if anonymous else 404, "RepoNotFound")  # private and missing look the same
    if kind in ("missing", "invalid"):
        return hidden
    if kind in ("private", "moved_private") and caller not in SEES_PRIVATE:
        return hidden
    if kind.startswith("moved"):
        return 307, None  # an old name redirects whoever may see the repository
    if need == "read":
        return 200, None
    if need in ("download", "upload") and kind == "gated" and caller not in PASSES_GATE:
        return (401 if anonymous else 403), "GatedRepo"
    if need == "download":
        return 200, None
    if anonymous:
        return 401, "RepoNotFound"
    if caller == "read_token":
        return 403, None  # a read token never writes, nor proposes changes
    if need == "upload":
        return 200, None  # anyone who can read may open a pull request
    return (200, None) if caller in (WRITERS if need == "write" else ADMINS) else (403, None)


# -- the hub ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> InProcessHub:
    live = InProcessHub(tmp_path_factory.mktemp("routing"))
    alice = live.principal("alice")
    repos = live.hub.repos
    for name, private in (
        ("public", False),
        ("private", True),
        ("gated", False),
        ("old-name", False),
        ("old-secret", True),
    ):
        repos.create(alice, RepoType.MODEL, RepoId("acme", name), private)
    repos.create(alice, RepoType.DATASET, RepoId("acme", "data"), False)
    repos.update_settings(repos.get(RepoType.MODEL, RepoId("acme", "gated"), alice), None, "manual")
    repos.move(alice, RepoType.MODEL, RepoId("acme", "old-name"), RepoId("acme", "new-name"))
    repos.move(alice, RepoType.MODEL, RepoId("acme", "old-secret"), RepoId("acme", "new-secret"))
    yield live
    live.close()


@pytest.fixture(scope="module")
def clients(hub: InProcessHub):
    made = {caller: hub.client(token) for caller, token in CALLERS.items()}
    yield made
    for client in made.values():
        client.close()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("need", NEEDS)
def test_access_matrix(clients, need: str, caller: str, kind: str):
    method, suffix, body = NEEDS[need]
    response = clients[caller].request(method, f"/api/models/{KINDS[kind]}{suffix}", json=body)
    status, code = expected(need, caller, kind)
    assert (response.status_code, response.headers.get("x-error-code")) == (status, code), (
        response.text
    )
    if status >= 400:
        assert response.headers["x-error-message"] and response.json()["error"]
    if status == 307:
        new_id = KINDS[kind].replace("old-", "new-")
        assert response.headers["location"] == f"/api/models/{new_id}{suffix}"


def test_private_and_missing_repositories_answer_identically(clients):
    for caller in ("anonymous", "non_member"):
        private = clients[caller].get("/api/models/acme/private/refs")
        missing = clients[caller].get("/api/models/acme/missing/refs")
        assert private.status_code == missing.status_code
        assert private.json() == missing.json()
        assert {k: v for k, v in private.headers.items() if k.startswith("x-error")} == {
            k: v for k, v in missing.headers.items() if k.startswith("x-error")
        }


# -- the URL forms that name a repository ------------------------------------------------------

GIT_ADVERTISE = "/info/refs?service=git-upload-pack"
FORMS = [
    # (caller, path, status, error code)
    ("anonymous", "/api/datasets/acme/data/refs", 200, None),
    ("anonymous", "/api/models/acme/data/refs", 401, "RepoNotFound"),  # the type is part of the id
    ("anonymous", "/api/models/ACME/Public/refs", 200, None),  # ids ignore case
    ("anonymous", "/datasets/acme/data/resolve/main/.gitattributes", 200, None),
    ("anonymous", "/spaces/acme/data/resolve/main/.gitattributes", 401, "RepoNotFound"),
    ("anonymous", "/acme/public/resolve/main/.gitattributes", 200, None),
    ("anonymous", "/acme/private/resolve/main/.gitattributes", 401, "RepoNotFound"),
    ("non_member", "/acme/private/resolve/main/.gitattributes", 404, "RepoNotFound"),
    ("member_read", "/acme/private/resolve/main/.gitattributes", 200, None),
    ("anonymous", "/acme/gated/resolve/main/.gitattributes", 401, "GatedRepo"),
    ("anonymous", "/acme/public", 200, None),  # the web page
    ("non_member", "/acme/private", 404, "RepoNotFound"),
    ("anonymous", f"/acme/public.git{GIT_ADVERTISE}", 200, None),
    ("anonymous", f"/acme/public{GIT_ADVERTISE}", 200, None),
    ("anonymous", f"/datasets/acme/data.git{GIT_ADVERTISE}", 200, None),
    (
        "anonymous",
        f"/acme/private.git{GIT_ADVERTISE}",
        401,
        "RepoNotFound",
    ),  # git is asked for credentials
    ("non_member", f"/acme/private.git{GIT_ADVERTISE}", 404, "RepoNotFound"),
    ("anonymous", f"/acme/gated.git{GIT_ADVERTISE}", 401, "RepoNotFound"),
    ("non_member", f"/acme/gated.git{GIT_ADVERTISE}", 403, "GatedRepo"),
    ("anonymous", "/acme/public.git/info/refs?service=git-dumb", 403, None),
    ("read_token", "/acme/public.git/info/refs?service=git-receive-pack", 403, None),
    ("member_write", "/acme/public.git/info/refs?service=git-receive-pack", 200, None),
    ("anonymous", "/api/models/acme/public/no-such-route", 404, None),
    ("anonymous", "/api/models/acme/private/no-such-route", 401, "RepoNotFound"),
    ("non_member", "/api/models/one-segment", 404, "RepoNotFound"),
    ("anonymous", "/api/no-such-endpoint", 404, None),
]


@pytest.mark.parametrize(("caller", "path", "status", "code"), FORMS)
def test_url_forms(clients, caller: str, path: str, status: int, code: str | None):
    response = clients[caller].get(path)
    assert (response.status_code, response.headers.get("x-error-code")) == (status, code), (
        response.text
    )
    if path.startswith("/acme/private.git") and caller == "anonymous":
        assert response.headers["www-authenticate"].startswith("Basic")


def test_git_redirects_a_renamed_repository(clients):
    response = clients["anonymous"].get(f"/acme/old-name.git{GIT_ADVERTISE}")
    assert response.status_code == 307
    assert response.headers["location"] == f"/acme/new-name.git{GIT_ADVERTISE}"


def test_unknown_method_on_a_known_path_is_405(clients):
    response = clients["member_admin"].patch("/api/models/acme/public/refs")
    assert response.status_code == 405


# -- URLs built back from route names ----------------------------------------------------------


def test_every_named_route_builds_a_url_it_matches():
    """`url_for` and matching agree: a URL built for a named route is routed back to that route
    with the same parameters (links in answers never point at another route)."""
    router = build_router()
    repo = RepoName(RepoType.DATASET, RepoId("acme", "data"))
    samples = {
        "repo": 12,
        "rev": "refs/pr/1",
        "path": "dir/a b.txt",
        "oid": "a" * 64,
        "num": 3,
        "file": "f" * 64 + ".png",
        "xorb": "b" * 64,
        "number": 2,
    }
    served = {id(route.template): route for route in router.routes}
    for name, template in router.urls.templates.items():
        route = served.get(id(template))
        if route is None:
            continue  # a page of the Hub's web UI that this hub links to but does not serve
        keys = re.findall(r"\{(\w+)", template.text)
        params = {key: samples[key] for key in keys}
        path = router.urls.path_for(name, **params, **({"repo": repo} if template.form else {}))
        matched, found = router.match(path, next(iter(route.methods)))
        assert matched.template is template, (name, path)
        assert {key: found[key] for key in keys} == {
            key: str(value) for key, value in params.items()
        }, name
        if template.form:
            assert (found.get("rtype") or found.get("prefix"), found["ns"], found["name"]) == (
                "datasets",
                "acme",
                "data",
            )


def test_commit_answers_link_to_the_hub_pages(clients):
    response = clients["member_admin"].post(
        "/api/models/acme/public/commit/main?create_pr=1",
        content=b'{"key":"header","value":{"summary":"Propose"}}\n',
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["commitUrl"] == f"http://hub.test/acme/public/commit/{body['commitOid']}"
    assert re.fullmatch(r"http://hub\.test/acme/public/discussions/\d+", body["pullRequestUrl"])
