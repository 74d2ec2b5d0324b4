"""Every page and every form of the web UI, walked as each kind of visitor (issue 13): anonymous,
a signed-in outsider, a reader, a writer and an admin of the namespace, and the site admin. A
page shows only what the visitor's roles allow; a form posted by someone without the right
(with a valid session and CSRF token, as a crafted request would carry) is refused and changes
nothing. In-process, so the whole matrix runs in seconds; the browser tests of each page show
the same pages working in Chromium.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass

import pytest
from starlette.testclient import TestClient

from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.protocols.http import CSRF_COOKIE, SESSION_COOKIE
from hubstead.testing import InProcessHub

# who is what in the seeded hub (hubstead.testing.ORG_MEMBERS): acme's members and roles
VISITORS = ("anonymous", "carol", "bob", "dave", "alice", "admin")
READERS = {"bob", "dave", "alice", "admin"}  # may see acme's private repositories
WRITERS = {"dave", "alice", "admin"}
ADMINS = {"alice", "admin"}
SIGNED_IN = set(VISITORS) - {"anonymous"}
PUBLIC, PRIVATE = "acme/open-model", "acme/secret-model"
CARD = "---\nlicense: mit\n---\n# A model\n\nIt answers.\n"


@dataclass
class Visitor:
    name: str
    client: TestClient
    csrf: str  # the token this browser's forms carry

    def get(self, path: str):
        return self.client.get(path, headers={"Accept": "text/html"})

    def post(self, path: str, data: dict[str, str] | None = None, **kwargs):
        form = {"csrf_token": self.csrf, **(data or {})}
        if "content" in kwargs or "json" in kwargs:
            headers = {"X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
            return self.client.post(path, headers=headers, **kwargs)
        return self.client.post(path, data=form, headers={"Accept": "text/html"})


def _visitor(live: InProcessHub, name: str) -> Visitor:
    client = TestClient(live.app, base_url="http://hub.test", follow_redirects=False)
    secret = live.hub.sessions.new_csrf_secret()
    client.cookies.set(CSRF_COOKIE, secret)
    if name != "anonymous":
        cookie, _ = live.hub.sessions.sign_in(name, f"{name}-password", None)
        client.cookies.set(SESSION_COOKIE, cookie)
    return Visitor(name, client, live.hub.sessions.csrf_token(secret))


def _commit_readme(live: InProcessHub, repo: str, text: str, create_pr: bool = False) -> None:
    lines = [
        {"key": "header", "value": {"summary": "Card"}},
        {
            "key": "file",
            "value": {
                "path": "README.md",
                "encoding": "base64",
                "content": base64.b64encode(text.encode()).decode(),
            },
        },
    ]
    body = "\n".join(json.dumps(line) for line in lines)
    with live.client("alice") as client:
        answer = client.post(
            f"/api/models/{repo}/commit/main" + ("?create_pr=1" if create_pr else ""),
            content=body,
            headers={"Content-Type": "application/x-ndjson"},
        )
    assert answer.status_code == 200, answer.text


def _open(live: InProcessHub, repo: str, who: str, title: str) -> int:
    with live.client(who) as client:
        answer = client.post(
            f"/api/models/{repo}/discussions", json={"title": title, "description": "Text"}
        )
    assert answer.status_code == 200, answer.text
    return answer.json()["num"]


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> InProcessHub:
    hub = InProcessHub(tmp_path_factory.mktemp("web-roles"))
    for repo, private in ((PUBLIC, False), (PRIVATE, True)):
        hub.hub.repos.create(hub.principal("alice"), RepoType.MODEL, RepoId.parse(repo), private)
        _commit_readme(hub, repo, CARD)
        _open(hub, repo, "dave", "A question")  # #1, by a writer
        _commit_readme(hub, repo, CARD + "\nMore.\n", create_pr=True)  # #2, a pull request
    yield hub
    hub.close()


@pytest.fixture(scope="module")
def visitors(live) -> dict[str, Visitor]:
    return {name: _visitor(live, name) for name in VISITORS}


def _state(live: InProcessHub) -> dict:
    """What a refused form must leave as it was."""
    state: dict = {
        "users": sorted(
            (account.name, bool(getattr(account, "disabled", False)))
            for account in live.hub.accounts.list_users()
        ),
        "members": sorted(live.hub.accounts.members("acme")),
    }
    for repo in (PUBLIC, PRIVATE):
        handle = _handle(live, repo)
        state[repo] = {
            "private": handle.row.private,
            "gated": handle.row.gated,
            "refs": sorted(handle.git.refs("refs/").items()),
            "default": handle.default_branch(),
            "discussions": [(num, live.hub.discussions.get(handle, num).status) for num in (1, 2)],
        }
    return state


def _handle(live: InProcessHub, repo: str):
    return live.hub.repos.get(RepoType.MODEL, RepoId.parse(repo), live.principal("admin"))


def _page_allowed(who: str, repo: str) -> bool:
    return repo == PUBLIC or who in READERS


# --------------------------------------------------------------------------- pages


REPO_PAGES = [
    "",
    "/tree/main",
    "/blob/main/README.md",
    "/commits/main",
    "/discussions",
    "/discussions/1",
    "/discussions/2",
]


@pytest.mark.parametrize("repo", [PUBLIC, PRIVATE])
@pytest.mark.parametrize("who", VISITORS)
def test_repository_pages_show_only_what_the_roles_allow(visitors, who, repo):
    visitor = visitors[who]
    for suffix in REPO_PAGES:
        page = visitor.get(f"/{repo}{suffix}")
        if not _page_allowed(who, repo):
            # a private repository is a missing one: nothing of it in the page
            assert page.status_code == (401 if who == "anonymous" else 404), suffix
            assert "secret-model" not in page.text.replace("/acme/secret-model", "")
            continue
        assert page.status_code == 200, (suffix, page.status_code)
        html = page.text
        assert (f'href="/{repo}/settings"' in html) == (who in ADMINS), suffix
        if suffix == "/discussions/2":
            assert ("/merge" in html) == (who in WRITERS)
        if suffix == "/discussions/1":
            assert ('name="comment"' in html) == (who in SIGNED_IN)
            # close: the author (dave) or a writer
            assert ('value="closed"' in html) == (who in WRITERS), who
        if suffix == "/tree/main":
            assert (f"/{repo}/upload/main" in html) == (who in SIGNED_IN), who
        if suffix == "":
            assert (f"/{repo}/edit/main/README.md" in html) == (who in SIGNED_IN), who


@pytest.mark.parametrize("repo", [PUBLIC, PRIVATE])
@pytest.mark.parametrize("who", VISITORS)
def test_write_pages_open_to_whom_they_should(visitors, who, repo):
    visitor = visitors[who]
    settings = visitor.get(f"/{repo}/settings")
    if not _page_allowed(who, repo):
        expected = 401 if who == "anonymous" else 404
        for suffix in ("/settings", "/upload/main", "/edit/main/README.md", "/discussions/new"):
            assert visitor.get(f"/{repo}{suffix}").status_code == expected, suffix
        return
    if who in ADMINS:
        assert settings.status_code == 200 and 'name="confirm"' in settings.text
    else:
        assert settings.status_code in (401, 403), settings.status_code
        assert 'name="confirm"' not in settings.text
    for suffix in ("/upload/main", "/edit/main/README.md", "/discussions/new"):
        page = visitor.get(f"/{repo}{suffix}")
        if who == "anonymous":
            assert page.status_code in (303, 401), (suffix, page.status_code)
            if page.status_code == 303:
                assert page.headers["location"].startswith("/login?next=")
        else:
            assert page.status_code == 200, (suffix, page.status_code)
    if who in SIGNED_IN:
        editor = visitor.get(f"/{repo}/edit/main/README.md").text
        # a non-writer may only propose: no "commit to main" choice on the form
        assert ('value="branch"' in editor) == (who in WRITERS), who


@pytest.mark.parametrize("who", VISITORS)
def test_site_pages(visitors, who):
    visitor = visitors[who]
    for path in ("/new", "/new-dataset", "/organizations/new", "/settings/tokens"):
        page = visitor.get(path)
        if who == "anonymous":
            assert page.status_code == 303 and page.headers["location"].startswith("/login")
        else:
            assert page.status_code == 200, (path, page.status_code)
    new = visitor.get("/new").text
    owners = set(re.findall(r'<option value="([^"]+)"', new.split('name="owner"')[-1][:2000]))
    if who in ("dave", "alice"):
        assert "acme" in owners
    elif who in ("carol", "bob"):
        assert "acme" not in owners  # readers of an org may not create in it
    # anonymous: "sign in" or not found, told nothing more; the signed-in: not found
    refused = {303, 404} if who == "anonymous" else {404}
    admin_page = visitor.get("/admin/users")
    assert admin_page.status_code in ({200} if who == "admin" else refused), who
    members = visitor.get("/acme/settings/members")
    assert members.status_code in ({200} if who in ADMINS else refused), who
    for page in (admin_page, members):
        if page.status_code != 200:
            assert 'name="role"' not in page.text and "carol@example.com" not in page.text
    home = visitor.get("/").text
    assert ('href="/admin/users"' in home) == (who == "admin")


# --------------------------------------------------------------------------- forms


def _repo_forms(repo: str) -> list[tuple[str, str, dict, set[str]]]:
    """(what, path, form, who may) for every form of a repository's pages that changes it."""
    return [
        ("visibility", f"/{repo}/settings/visibility", {"visibility": "private"}, ADMINS),
        ("gating", f"/{repo}/settings/gating", {"gated": "manual"}, ADMINS),
        ("grant", f"/{repo}/settings/grant", {"user": "carol"}, ADMINS),
        ("rename", f"/{repo}/settings/rename", {"namespace": "acme", "name": "moved"}, ADMINS),
        ("default branch", f"/{repo}/settings/default-branch", {"branch": "main"}, ADMINS),
        ("delete", f"/{repo}/settings/delete", {"confirm": repo}, ADMINS),
        ("merge", f"/{repo}/discussions/2/merge", {}, WRITERS),
        ("close", f"/{repo}/discussions/1/status", {"status": "closed"}, WRITERS),
        (
            "card to main",
            f"/{repo}/edit/main/README.md",
            {"content": CARD + "\nchanged\n", "target": "branch", "summary": "x"},
            WRITERS,
        ),
    ]


def _upload_commit(visitor: Visitor, repo: str):
    lines = [
        {"key": "header", "value": {"summary": "Upload"}},
        {
            "key": "file",
            "value": {"path": "new.txt", "encoding": "base64", "content": "aGk="},
        },
    ]
    return visitor.post(
        f"/{repo}/upload/main/-/commit?mode=direct",
        content="\n".join(json.dumps(line) for line in lines),
        headers={"Content-Type": "application/x-ndjson"},
    )


def _refused(answer, who: str) -> bool:
    if answer.status_code == 303:
        return answer.headers["location"].startswith("/login")
    return answer.status_code in (401, 403, 404)


@pytest.mark.parametrize("repo", [PUBLIC, PRIVATE])
@pytest.mark.parametrize("who", sorted(set(VISITORS) - ADMINS))
def test_forms_refuse_who_lacks_the_role_and_change_nothing(live, visitors, who, repo):
    visitor = visitors[who]
    before = _state(live)
    for what, path, form, allowed in _repo_forms(repo):
        if who in allowed:
            continue
        answer = visitor.post(path, form)
        assert _refused(answer, who), (what, answer.status_code, answer.text[:300])
    if who not in WRITERS:
        assert _refused(_upload_commit(visitor, repo), who)
    for path, form in (
        ("/admin/users", {"name": "mallory", "email": "m@example.com", "password": "p" * 12}),
        ("/admin/users/bob/disable", {}),
        ("/admin/signup", {"open": "on"}),
        ("/acme/settings/members", {"name": "carol", "role": "admin"}),
        ("/acme/settings/members/bob", {"role": "admin"}),
        ("/acme/settings/members/dave/remove", {}),
    ):
        answer = visitor.post(path, form)
        assert _refused(answer, who), (path, answer.status_code)
    assert _state(live) == before


@pytest.mark.parametrize("who", sorted(SIGNED_IN))
def test_forms_without_their_csrf_token_are_refused(live, visitors, who):
    visitor = visitors[who]
    before = _state(live)
    for what, path, form, _ in _repo_forms(PUBLIC):
        answer = visitor.client.post(path, data=form, headers={"Accept": "text/html"})
        assert answer.status_code == 403, (what, answer.status_code)
        forged = visitor.client.post(
            path, data={**form, "csrf_token": hashlib.sha256(b"x").hexdigest()}
        )
        assert forged.status_code == 403, what
    assert _state(live) == before


def test_the_writer_and_the_admin_may_do_what_the_others_may_not(live, visitors):
    """The same forms succeed for those with the role (so the refusals above are the rules',
    not broken forms)."""
    dave, alice = visitors["dave"], visitors["alice"]
    answer = _upload_commit(dave, PUBLIC)
    assert answer.status_code == 200, answer.text
    handle = _handle(live, PUBLIC)
    assert "new.txt" in live.hub.repos.head_files(handle.row)
    answer = dave.post(f"/{PUBLIC}/discussions/1/status", {"status": "closed"})
    assert answer.status_code == 303
    assert live.hub.discussions.get(handle, 1).status == "closed"
    answer = alice.post(f"/{PUBLIC}/settings/gating", {"gated": "manual"})
    assert answer.status_code == 303
    assert _handle(live, PUBLIC).row.gated == "manual"
    answer = alice.post(f"/{PUBLIC}/settings/delete", {"confirm": "not/it"})
    assert answer.status_code == 400 and _handle(live, PUBLIC) is not None
