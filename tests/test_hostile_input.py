"""Hostile input (issue 14, the first part of its corpus): bodies of the wrong JSON shape, control
characters in paths and revisions, names that only look valid. Each gets a 4xx in the Hub's
error format, never a 500, and changes nothing. In-process, so the corpus runs in seconds."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest

from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.testing import InProcessHub

REPO = "alice/target"
WRONG_BODIES = [[], 5, "text", [{"name": "x"}], True]
OBJECT_ROUTES = [
    ("POST", "/api/repos/create"),
    ("POST", "/api/repos/move"),
    ("DELETE", "/api/repos/delete"),
    ("PUT", f"/api/models/{REPO}/settings"),
    ("POST", f"/api/models/{REPO}/discussions"),
    ("POST", f"/api/models/{REPO}/preupload/main"),
    ("POST", f"/api/models/{REPO}/paths-info/main"),
    ("POST", f"/api/models/{REPO}/branch/feature"),
    ("POST", f"/api/models/{REPO}/tag/v1"),
    ("POST", "/api/validate-yaml"),
    ("POST", f"/{REPO}.git/info/lfs/objects/batch"),
    ("POST", f"/api/models/{REPO}/discussions/1/status"),
    ("POST", f"/api/models/{REPO}/discussions/1/comment"),
    ("POST", f"/api/models/{REPO}/duplicate"),
]


def _commit(live: InProcessHub, files: dict[str, bytes]) -> None:
    lines = [{"key": "header", "value": {"summary": "Files"}}] + [
        {
            "key": "file",
            "value": {
                "path": path,
                "encoding": "base64",
                "content": base64.b64encode(data).decode(),
            },
        }
        for path, data in files.items()
    ]
    with live.client("alice") as client:
        answer = client.post(
            f"/api/models/{REPO}/commit/main",
            content="\n".join(json.dumps(line) for line in lines),
            headers={"Content-Type": "application/x-ndjson"},
        )
    assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> InProcessHub:
    hub = InProcessHub(tmp_path_factory.mktemp("hostile"))
    hub.hub.repos.create(hub.principal("alice"), RepoType.MODEL, RepoId.parse(REPO), False)
    _commit(hub, {"README.md": b"---\nlicense: mit\n---\n# Target\n", "notes.txt": b"notes\n"})
    with hub.client("alice") as client:
        opened = client.post(
            f"/api/models/{REPO}/discussions", json={"title": "A question", "description": "?"}
        )
    assert opened.status_code == 200
    yield hub
    hub.close()


def _state(live: InProcessHub) -> tuple:
    with live.client("alice") as client:
        info = client.get(f"/api/models/{REPO}").json()
        refs = client.get(f"/api/models/{REPO}/refs").json()
        repos = sorted(m["id"] for m in client.get("/api/models?author=alice").json())
    return info["sha"], info["private"], repos, json.dumps(refs, sort_keys=True)


def _hub_error(answer, status: int | tuple[int, ...] = 400) -> None:
    """A refusal in the Hub's format: the status, a JSON `error`, the same `X-Error-Message`."""
    statuses = status if isinstance(status, tuple) else (status,)
    assert answer.status_code in statuses, (answer.status_code, answer.text[:300])
    message = answer.headers["x-error-message"]
    assert message and answer.json()["error"] == message
    assert not any(ord(char) < 32 or ord(char) == 127 for char in message)


@pytest.mark.parametrize("body", WRONG_BODIES, ids=lambda body: json.dumps(body))
@pytest.mark.parametrize(("method", "path"), OBJECT_ROUTES)
def test_a_body_that_is_not_a_json_object_is_refused(live, method, path, body):
    before = _state(live)
    with live.client("alice") as client:
        answer = client.request(
            method,
            path,
            content=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )
    _hub_error(answer)
    assert answer.json()["error"] == "The request body must be a JSON object"
    assert _state(live) == before


@pytest.mark.parametrize(("method", "path"), OBJECT_ROUTES)
def test_a_null_body_is_no_body(live, method, path):
    """`null` is what the client sends for a call without arguments: answered as an empty
    body (a refusal in the Hub's format where the route needs fields), never a 500."""
    with live.client("bob") as client:  # no rights on alice's repository: nothing changes
        answer = client.request(
            method, path, content=b"null", headers={"Content-Type": "application/json"}
        )
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        _hub_error(answer, answer.status_code)


@pytest.mark.parametrize(("method", "path"), OBJECT_ROUTES[:4] + OBJECT_ROUTES[10:11])
def test_deeply_nested_json_is_refused(live, method, path):
    with live.client("alice") as client:
        answer = client.request(
            method,
            path,
            content=b"[" * 100_000 + b"]" * 100_000,
            headers={"Content-Type": "application/json"},
        )
    _hub_error(answer)


@pytest.mark.parametrize(
    "path",
    [
        f"/{REPO}/resolve/main/README.md%00.txt",
        f"/{REPO}/resolve/main/notes.txt%0A",
        f"/{REPO}/resolve/main%00x/README.md",
        f"/api/models/{REPO}/revision/main%00x",
        f"/api/models/{REPO}/tree/main%00x",
        f"/api/models/{REPO}/tree/main/%01",
        f"/{REPO}/blob/main/README.md%00",
        f"/api/models/{REPO}%00/revision/main",
    ],
)
def test_control_characters_in_a_path_or_revision_are_refused(live, path):
    """git's tools cut a name at a NUL: `README.md%00.txt` must not serve README.md."""
    with live.client("alice") as client:
        answer = client.get(path)
    _hub_error(answer)
    assert "Target" not in answer.text
    assert "control characters" in answer.headers["x-error-message"]


@pytest.mark.parametrize("name", ["evil\n", "x.git\n", "ok\r", "tab\tname", "nul\x00", "a\n/b"])
def test_names_that_only_look_valid_are_refused(live, name):
    """`$` matches before a final newline: the names are checked as whole strings."""
    before = _state(live)
    with live.client("alice") as client:
        created = client.post("/api/repos/create", json={"name": name})
        moved = client.post("/api/repos/move", json={"fromRepo": REPO, "toRepo": f"alice/{name}"})
        branch = client.post(f"/api/models/{REPO}/branch/{quote(name, safe='')}")
    _hub_error(created)
    _hub_error(moved)
    _hub_error(branch, (400, 404))
    assert _state(live) == before


def test_an_error_message_never_carries_control_characters(live):
    """A message that quotes the request (here a branch name with a NUL and a newline) is one
    clean header line: granian answers a plain 500 to a header with a NUL."""
    with live.client("alice") as client:
        answer = client.post(
            f"/api/models/{REPO}/commit/main",
            content=json.dumps({"key": "header", "value": {"summary": "x\x00\ny"}})
            + "\n"
            + json.dumps(
                {"key": "file", "value": {"path": "a\x00b", "encoding": "base64", "content": ""}}
            ),
            headers={"Content-Type": "application/x-ndjson"},
        )
    _hub_error(answer)


def test_a_read_token_cannot_close_a_discussion(live):
    with live.client("alice_read") as client:
        answer = client.post(f"/api/models/{REPO}/discussions/1/status", json={"status": "closed"})
    _hub_error(answer, 403)
    with live.client("alice") as client:
        details = client.get(f"/api/models/{REPO}/discussions/1").json()
    assert details["status"] == "open"
