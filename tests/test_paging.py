"""Pages of commits and folders, cut by the services: every page together is the whole listing.

In-process. The commit history is walked once per head commit and cached (a commit's history
never changes), so `X-Total-Count` stays exact while later pages read only their own commits.
"""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest

from hubstead.domain.commit_ops import AddFile, CommitHeader, CommitRequest
from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.testing import InProcessHub

COMMITS = 130  # plus the repository's initial commit
FILES = 25


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> InProcessHub:
    live = InProcessHub(tmp_path_factory.mktemp("paging"))
    alice = live.principal("alice")
    handle = live.hub.repos.create(alice, RepoType.MODEL, RepoId("alice", "history"), False)
    for number in range(COMMITS):
        request = CommitRequest(
            CommitHeader(f"commit {number}"),
            [AddFile(f"file-{number % FILES:02d}.txt", b"%d" % number)],
        )
        live.hub.commits.commit(handle, alice, "main", request, create_pr=False)
    yield live
    live.close()


@pytest.fixture(scope="module")
def client(hub: InProcessHub):
    with hub.client("alice") as made:
        yield made


def _next(response) -> str | None:
    link = response.headers.get("link")
    if link is None:
        return None
    assert link.endswith('>; rel="next"') and link.startswith("<http://hub.test/")
    url = urlsplit(link[1 : link.index(">")])
    return f"{url.path}?{url.query}"


def test_commit_pages_cover_the_whole_history_once(hub: InProcessHub, client):
    handle = hub.hub.repos.get(RepoType.MODEL, RepoId("alice", "history"), None)
    everything = [info.id for info in handle.git.log(handle.git.resolve("main"))]
    seen, url, pages = [], "/api/models/alice/history/commits/main?limit=50", 0
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["x-total-count"] == str(COMMITS + 1)
        seen += [item["id"] for item in response.json()]
        url, pages = _next(response), pages + 1
    assert seen == everything and pages == 3
    following = _next(client.get("/api/models/alice/history/commits/main?limit=50"))
    assert parse_qs(urlsplit(following).query) == {"limit": ["50"], "p": ["1"]}


def test_commit_page_past_the_end_is_empty_with_the_total(client):
    response = client.get("/api/models/alice/history/commits/main?p=9")
    assert response.status_code == 200 and response.json() == []
    assert response.headers["x-total-count"] == str(COMMITS + 1) and "link" not in response.headers


def test_commit_pages_follow_a_moving_branch(hub: InProcessHub, client):
    """The cache is keyed by the head commit: a new commit is counted at once."""
    before = int(client.get("/api/models/alice/history/commits/main").headers["x-total-count"])
    response = client.post(
        "/api/models/alice/history/commit/main",
        json={
            "summary": "one more",
            "files": [
                {
                    "path": "more.txt",
                    "content": base64.b64encode(b"x").decode(),
                    "encoding": "base64",
                }
            ],
        },
    )
    assert response.status_code == 200, response.text
    page = client.get("/api/models/alice/history/commits/main?limit=1")
    assert int(page.headers["x-total-count"]) == before + 1
    assert page.json()[0]["title"] == "one more"


def test_tree_pages_cover_the_folder_once(hub: InProcessHub, client):
    everything = [
        entry["path"] for entry in client.get("/api/models/alice/history/tree/main").json()
    ]
    assert len(everything) >= FILES
    seen, url = [], "/api/models/alice/history/tree/main?limit=10"
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200
        page = response.json()
        assert len(page) <= 10
        seen += [entry["path"] for entry in page]
        url = _next(response)
    assert seen == everything


def test_expanded_tree_pages_carry_last_commits(client):
    response = client.get("/api/models/alice/history/tree/main?expand=1&limit=5")
    entries = response.json()
    assert len(entries) == 5 and all("lastCommit" in entry for entry in entries)
    assert "link" in response.headers


def test_a_bad_tree_cursor_is_refused(client):
    response = client.get("/api/models/alice/history/tree/main?cursor=LTU")  # "-5"
    assert response.status_code == 400 and response.json()["error"] == "Invalid cursor"
