"""Hostile input (issue 14): bodies of the wrong JSON shape or with fields of the wrong type,
integers past what the database holds, commit paths git's fsck refuses, revisions too long to
name anything, control characters in paths and revisions, names that only look valid, bodies
that say they are gzip and are not. Each request gets a 4xx in the Hub's error format, never a
500, and changes nothing. In-process, so the corpus (over 300 requests) runs in seconds; the
cases that need a real server and git are in test_hostile_input_git.py."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

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
    """What a refused request must leave as it was: the repository's head, visibility, gate,
    refs and discussions, and alice's repositories."""
    with live.client("alice") as client:
        info = client.get(f"/api/models/{REPO}").json()
        refs = client.get(f"/api/models/{REPO}/refs?include_prs=1").json()
        repos = sorted(m["id"] for m in client.get("/api/models?author=alice").json())
        discussions = client.get(f"/api/models/{REPO}/discussions").json()["discussions"]
    return (
        info["sha"],
        info["private"],
        info.get("gated"),
        repos,
        json.dumps(refs, sort_keys=True),
        sorted((d["num"], d["title"], d["status"]) for d in discussions),
    )


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


@pytest.mark.parametrize(("method", "path"), OBJECT_ROUTES)
def test_a_number_past_pythons_digit_limit_is_refused(live, method, path):
    """`json.loads` raises a plain ValueError for an integer of over 4300 digits: it was a 500."""
    before = _state(live)
    with live.client("alice") as client:
        answer = client.request(
            method,
            path,
            content='{"name": %s, "files": [], "operation": "upload"}' % ("1" * 5000),
            headers={"Content-Type": "application/json"},
        )
    _hub_error(answer)
    assert answer.json()["error"] == "The request body is not valid JSON"
    assert _state(live) == before


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


# -- fields of the wrong type (validated against the route's schema) ---------------------------

SETTINGS = f"/api/models/{REPO}/settings"
DISCUSSION = f"/api/models/{REPO}/discussions/1"
PREUPLOAD = f"/api/models/{REPO}/preupload/main"
PATHS_INFO = f"/api/models/{REPO}/paths-info/main"
LFS_BATCH = f"/{REPO}.git/info/lfs/objects/batch"
LFS_VERIFY = f"/{REPO}.git/info/lfs/objects/verify"
ACCESS = f"/api/models/{REPO}/user-access-request"
OID = "b" * 64
WRONG_FIELDS = [
    # (method, path, body, words the refusal must carry)
    ("POST", "/api/repos/create", {"name": 5}, "'name' must be a string"),
    ("POST", "/api/repos/create", {"name": {"a": 1}}, "'name' must be a string"),
    (
        "POST",
        "/api/repos/create",
        {"name": "fresh", "private": "yes"},
        "'private' must be a boolean",
    ),
    ("POST", "/api/repos/create", {"name": "fresh", "private": 1}, "'private' must be a boolean"),
    ("POST", "/api/repos/create", {"name": "fresh", "organization": ["acme"]}, "'organization'"),
    ("POST", "/api/repos/create", {"name": "fresh", "type": {"x": 1}}, "'type' must be a string"),
    ("POST", "/api/repos/create", {"name": "fresh", "visibility": "secret"}, "'visibility'"),
    ("POST", "/api/repos/create", {"organization": "acme"}, "'name' is required"),
    (
        "POST",
        "/api/repos/move",
        {"fromRepo": 5, "toRepo": "alice/x"},
        "'fromRepo' must be a string",
    ),
    ("POST", "/api/repos/move", {"fromRepo": REPO, "toRepo": ["alice/x"]}, "'toRepo'"),
    ("POST", "/api/repos/move", {"fromRepo": REPO}, "'toRepo' is required"),
    ("POST", "/api/repos/move", {"fromRepo": REPO, "toRepo": "alice/x", "type": 5}, "'type'"),
    ("DELETE", "/api/repos/delete", {"name": 5}, "'name' must be a string"),
    ("DELETE", "/api/repos/delete", {"name": "target", "organization": 5}, "'organization'"),
    (
        "DELETE",
        "/api/repos/delete",
        {"name": "target", "organization": "alice", "type": []},
        "'type'",
    ),
    ("PUT", SETTINGS, {"private": "true"}, "'private' must be a boolean"),
    ("PUT", SETTINGS, {"private": 1}, "'private' must be a boolean"),
    ("PUT", SETTINGS, {"visibility": 5}, "'visibility' must be 'public' or 'private'"),
    ("PUT", SETTINGS, {"visibility": "protected"}, "'visibility' must be 'public' or 'private'"),
    ("PUT", SETTINGS, {"gated": "sometimes"}, "'gated' must be one of"),
    ("PUT", SETTINGS, {"gated": []}, "'gated' must be one of"),
    (
        "POST",
        f"/api/models/{REPO}/discussions",
        {"title": "A title", "description": {"a": 1}},
        "'description' must be a string",
    ),
    ("POST", f"/api/models/{REPO}/discussions", {"title": ["A title"]}, "'title' must be a string"),
    (
        "POST",
        f"/api/models/{REPO}/discussions",
        {"title": "A title", "pullRequest": "yes"},
        "'pullRequest' must be a boolean",
    ),
    ("POST", DISCUSSION + "/comment", {"comment": {"text": "x"}}, "'comment' must be a string"),
    ("POST", DISCUSSION + "/comment", {"comment": 5}, "'comment' must be a string"),
    ("POST", DISCUSSION + "/title", {"title": 5}, "'title' must be a string"),
    ("POST", DISCUSSION + "/status", {"status": 5}, "'status' must be a string"),
    ("POST", DISCUSSION + "/status", {"status": "closed", "comment": []}, "'comment'"),
    ("POST", DISCUSSION + "/merge", {"comment": 5}, "'comment' must be a string"),
    ("POST", PREUPLOAD, {"files": 5}, "'files' must be a list"),
    ("POST", PREUPLOAD, {"files": "abc"}, "'files' must be a list"),
    ("POST", PREUPLOAD, {"gitIgnore": ""}, "'files' is required"),
    ("POST", PREUPLOAD, {"files": [5]}, "'files[0]' must be an object"),
    ("POST", PREUPLOAD, {"files": [{"path": 5}]}, "'files[0].path' must be a string"),
    (
        "POST",
        PREUPLOAD,
        {"files": [{"path": "a", "size": "5"}]},
        "'files[0].size' must be an integer",
    ),
    (
        "POST",
        PREUPLOAD,
        {"files": [{"path": "a", "size": 2**64}]},
        "'files[0].size' must be at most",
    ),
    (
        "POST",
        PREUPLOAD,
        {"files": [{"path": "a", "size": -1}]},
        "'files[0].size' must be at least 0",
    ),
    ("POST", PREUPLOAD, {"files": [{"path": "a", "size": 1.5}]}, "'files[0].size'"),
    ("POST", PREUPLOAD, {"files": [{"path": "a", "sample": 5}]}, "'files[0].sample'"),
    ("POST", PREUPLOAD, {"files": [], "gitIgnore": 5}, "'gitIgnore' must be a string"),
    ("POST", PATHS_INFO, {"paths": "README.md"}, "'paths' must be a list"),
    ("POST", PATHS_INFO, {"paths": [5]}, "'paths[0]' must be a string"),
    ("POST", PATHS_INFO, {"paths": [], "expand": "yes"}, "'expand' must be a boolean"),
    ("POST", f"/api/models/{REPO}/branch/feature", {"startingPoint": 5}, "'startingPoint'"),
    ("POST", f"/api/models/{REPO}/branch/feature", {"startingPoint": ["main"]}, "'startingPoint'"),
    ("POST", f"/api/models/{REPO}/tag/main", {"tag": 5}, "'tag' must be a string"),
    ("POST", f"/api/models/{REPO}/tag/main", {"message": "m"}, "'tag' is required"),
    ("POST", f"/api/models/{REPO}/tag/main", {"tag": "v2", "message": 5}, "'message'"),
    ("POST", "/api/validate-yaml", {"content": 5}, "'content' must be a string"),
    ("POST", "/api/validate-yaml", {"content": "# hi", "repoType": 5}, "'repoType'"),
    ("POST", LFS_BATCH, {"operation": 5, "objects": []}, "'operation' must be a string"),
    ("POST", LFS_BATCH, {"operation": "upload", "objects": "x"}, "'objects' must be a list"),
    (
        "POST",
        LFS_BATCH,
        {"operation": "download", "objects": [], "transfers": "basic"},
        "'transfers'",
    ),
    ("POST", LFS_BATCH, {"operation": "download", "objects": [], "ref": "main"}, "'ref'"),
    ("POST", LFS_BATCH, {"operation": "download", "objects": [], "ref": {"name": 5}}, "'ref.name'"),
    ("POST", LFS_BATCH, {"operation": "download", "objects": [], "hash_algo": 5}, "'hash_algo'"),
    (
        "POST",
        LFS_BATCH,
        {"operation": "download", "objects": [{"oid": OID, "size": 2**64}]},
        "'objects' item 0 has a 'size' over",
    ),
    (
        "POST",
        LFS_BATCH,
        {"operation": "upload", "objects": [{"oid": OID, "size": 10**30}]},
        "'objects' item 0 has a 'size' over",
    ),
    ("POST", LFS_VERIFY, {"oid": 5, "size": 1}, "Verify needs a sha256 'oid'"),
    ("POST", LFS_VERIFY, {"oid": OID, "size": "1"}, "Verify needs a sha256 'oid'"),
    ("POST", LFS_VERIFY, {"oid": OID, "size": 2**64}, "Verify needs a sha256 'oid'"),
    ("POST", f"/api/models/{REPO}/duplicate", {"repository": 5}, "'repository' is required"),
    (
        "POST",
        f"/api/models/{REPO}/duplicate",
        {"repository": "alice/copy", "private": "no"},
        "'private' must be a boolean",
    ),
    (
        "POST",
        f"/api/models/{REPO}/duplicate",
        {"repository": "alice/copy", "visibility": 5},
        "'visibility' must be 'public' or 'private'",
    ),
    ("POST", f"/api/models/{REPO}/super-squash/main", {"message": 5}, "'message' must be a string"),
    (
        "POST",
        f"/api/models/{REPO}/lfs-files/batch",
        {"deletions": []},
        "'deletions' must be an object",
    ),
    ("POST", f"/api/models/{REPO}/lfs-files/batch", {"deletions": {"sha": "x"}}, "'deletions.sha'"),
    (
        "POST",
        f"/api/models/{REPO}/lfs-files/batch",
        {"deletions": {"sha": [], "rewriteHistory": "yes"}},
        "'deletions.rewriteHistory'",
    ),
    (
        "POST",
        f"/api/models/{REPO}/lfs-files/duplicate",
        {"target": "alice/x", "files": []},
        "'target' must be",
    ),
    (
        "POST",
        f"/api/models/{REPO}/lfs-files/duplicate",
        {"target": {"name": REPO}, "files": 5},
        "'files' must be a list of",
    ),
    (
        "POST",
        f"/api/models/{REPO}/lfs-files/duplicate",
        {"target": {"name": REPO}, "files": [{"sha256": 5}]},
        "'files[0].sha256'",
    ),
    ("POST", ACCESS + "/handle", {"requestId": {"a": 1}, "status": "accepted"}, "'requestId'"),
    ("POST", ACCESS + "/handle", {"requestId": "9" * 25, "status": "accepted"}, "'requestId'"),
    ("POST", ACCESS + "/handle", {"requestId": "²", "status": "accepted"}, "'requestId'"),
    ("POST", ACCESS + "/handle", {"user": 5, "status": "accepted"}, "'user' must be a string"),
    ("POST", ACCESS + "/handle", {"user": "bob", "status": 5}, "'status' must be a string"),
    (
        "POST",
        ACCESS + "/handle",
        {"user": "bob", "status": "rejected", "rejectionReason": 5},
        "'rejectionReason'",
    ),
    ("POST", ACCESS + "/grant", {"userId": 10**30}, "'userId'"),
    ("POST", ACCESS + "/grant", {"user": ["bob"]}, "'user' must be a string"),
]


TEXT_THAT_IS_NOT_TEXT = [
    # a lone surrogate escape is valid JSON but not Unicode; NUL is refused by PostgreSQL and git
    ("POST", "/api/repos/create", {"name": "evil\ud800"}, "'name' must be valid Unicode text"),
    ("POST", f"/api/models/{REPO}/discussions", {"title": "A \ud800 title"}, "'title'"),
    (
        "POST",
        f"/api/models/{REPO}/discussions",
        {"title": "A\x00title", "description": "x"},
        "'title' must not contain NUL",
    ),
    ("POST", DISCUSSION + "/comment", {"comment": "hi\x00there"}, "'comment' must not contain NUL"),
    ("POST", DISCUSSION + "/title", {"title": "New\ud83d title"}, "'title'"),
    ("POST", f"/api/models/{REPO}/tag/main", {"tag": "v9", "message": "a\x00b"}, "'message'"),
    (
        "POST",
        f"/api/models/{REPO}/branch/feature",
        {"startingPoint": "main\x00"},
        "'startingPoint'",
    ),
    ("POST", PATHS_INFO, {"paths": ["README.md\ud800"]}, "'paths[0]'"),
    ("POST", PREUPLOAD, {"files": [{"path": "a\ud800.txt", "size": 1}]}, "'files[0].path'"),
    ("POST", "/api/validate-yaml", {"content": "---\nlicense: mit\x00\n---\n"}, "'content'"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "words"),
    WRONG_FIELDS + TEXT_THAT_IS_NOT_TEXT,
    ids=[
        f"{m} {p.split(REPO)[-1]} {ascii(b)[:40]}"
        for m, p, b, _ in WRONG_FIELDS + TEXT_THAT_IS_NOT_TEXT
    ],
)
def test_a_field_of_the_wrong_type_or_not_text_is_refused(live, method, path, body, words):
    before = _state(live)
    with live.client("alice") as client:
        answer = client.request(
            method, path, content=json.dumps(body), headers={"Content-Type": "application/json"}
        )
    _hub_error(answer)
    assert words in answer.json()["error"]
    assert _state(live) == before


# -- commit payloads ---------------------------------------------------------------------------


def _post_commit(live: InProcessHub, content: bytes | str, json_form: bool = False):
    with live.client("alice") as client:
        return client.post(
            f"/api/models/{REPO}/commit/main",
            content=content,
            headers={"Content-Type": "application/json" if json_form else "application/x-ndjson"},
        )


def _file(path: str, data: bytes = b"hi") -> dict:
    return {
        "key": "file",
        "value": {"path": path, "encoding": "base64", "content": base64.b64encode(data).decode()},
    }


HEADER = json.dumps({"key": "header", "value": {"summary": "Hostile"}})
JSON_COMMITS = [
    {"summary": "x", "files": 5},
    {"summary": "x", "lfsFiles": "abc"},
    {"summary": "x", "deletedFiles": {"path": "notes.txt"}},
    {"summary": "x", "deletedFolders": "dir"},
    {"summary": "x", "files": [5]},
    {"summary": "x", "files": [{"path": 5, "content": "x"}]},
    {"summary": "x", "files": [{"path": "a.txt", "content": 5}]},
    {"summary": 5, "files": []},
    {"summary": "x", "description": ["d"], "files": []},
    {"summary": "x", "parentCommit": 5, "files": []},
    {"summary": "x", "lfsFiles": [{"path": "w.bin", "oid": OID, "size": "x"}]},
    {"summary": "x", "lfsFiles": [{"path": "w.bin", "oid": OID, "size": 2**64}]},
    {"files": [{"path": "a.txt", "content": "x"}]},
]


@pytest.mark.parametrize("payload", JSON_COMMITS, ids=lambda payload: json.dumps(payload)[:50])
def test_a_malformed_json_commit_is_refused(live, payload):
    """The older JSON form of a commit: `"files": 5` or `"lfsFiles": "abc"` was a 500."""
    before = _state(live)
    answer = _post_commit(live, json.dumps(payload), json_form=True)
    _hub_error(answer)
    assert answer.json()["error"].startswith("Malformed commit payload")
    assert _state(live) == before


LFS_LINE = (
    '{"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": "%s", "size": %s}}'
)
NDJSON_LINES = {
    "5000-digit size": LFS_LINE % (OID, "9" * 5000),
    "5000-digit number elsewhere": '{"key": "file", "value": {"path": "a", "n": %s}}'
    % ("1" * 5000),
    "size over BIGINT": LFS_LINE % (OID, 2**64),
    "size a string": LFS_LINE % (OID, '"x"'),
    "size negative": LFS_LINE % (OID, -1),
    "size a boolean": LFS_LINE % (OID, "true"),
    "size NaN": LFS_LINE % (OID, "NaN"),
    "oid not sha256": LFS_LINE % ("xyz", 1),
    "oid a number": LFS_LINE.replace('"%s"', "%s") % (5, 1),
    "algo md5": LFS_LINE.replace("sha256", "md5") % (OID, 1),
    "key a number": '{"key": 5, "value": {"path": "a"}}',
    "key unknown": '{"key": "symlink", "value": {"path": "a"}}',
    "value a list": '{"key": "file", "value": []}',
    "value missing": '{"key": "file"}',
    "line a list": "[1, 2, 3]",
    "line a string": '"file"',
    "nested 100000 deep": "[" * 100_000 + "]" * 100_000,
    "not UTF-8": "\udcff\udcfe",
    "path a number": '{"key": "file", "value": {"path": 5, "content": ""}}',
    "path a lone surrogate": '{"key": "file", "value": {"path": "a\\ud800.txt", "content": ""}}',
    "content a number": '{"key": "file", "value": {"path": "a.txt", "content": 5}}',
    "content not base64": '{"key": "file", "value": {"path": "a.txt", "content": "é", "encoding": "base64"}}',
    "encoding unknown": '{"key": "file", "value": {"path": "a.txt", "content": "x", "encoding": "rot13"}}',
    "deletedFile path a list": '{"key": "deletedFile", "value": {"path": ["notes.txt"]}}',
    "deletedFolder path a number": '{"key": "deletedFolder", "value": {"path": 5}}',
}


@pytest.mark.parametrize("line", NDJSON_LINES.values(), ids=NDJSON_LINES.keys())
def test_a_malformed_commit_line_is_refused(live, line):
    """Every line after the header, checked before anything is written: a 5000-digit number
    (past Python's limit on int digits) or a nesting 100,000 deep was a 500."""
    before = _state(live)
    body = (HEADER + "\n" + line + "\n").encode("utf-8", "surrogateescape")
    answer = _post_commit(live, body)
    _hub_error(answer)
    assert "commit payload" in answer.json()["error"]
    assert _state(live) == before


HEADERS = {
    "summary a dict": {"summary": {"text": "x"}},
    "summary blank": {"summary": "   "},
    "summary with a NUL": {"summary": "x\x00y"},
    "summary a lone surrogate": {"summary": "x\ud800"},
    "summary 5000 digits": None,
    "description a list": {"summary": "x", "description": ["d"]},
    "description with a NUL": {"summary": "x", "description": "a\x00b"},
    "parentCommit a number": {"summary": "x", "parentCommit": 12345},
    "parentCommit not hex": {"summary": "x", "parentCommit": "zzzzzzz"},
}


@pytest.mark.parametrize("value", HEADERS.values(), ids=HEADERS.keys())
def test_a_malformed_commit_header_is_refused(live, value):
    """A NUL in the message was a 500 (libgit2 refuses it), and would fail git's fsck anyway."""
    before = _state(live)
    header = (
        '{"key": "header", "value": {"summary": %s}}' % ("9" * 5000)
        if value is None
        else json.dumps({"key": "header", "value": value})
    )
    answer = _post_commit(live, header + "\n" + json.dumps(_file("ok.txt")) + "\n")
    _hub_error(answer)
    assert "commit payload" in answer.json()["error"]
    assert _state(live) == before


# -- paths git's fsck refuses ------------------------------------------------------------------

# HFS+ ignores these code points when it compares names (git's utf8.c `next_hfs_char`)
HFS_IGNORABLE = [
    "\u200c", "\u200d", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
    "\u206a", "\u206b", "\u206c", "\u206d", "\u206e", "\u206f", "\ufeff",
]  # fmt: skip
GIT_LOOK_ALIKES = [
    ".GIT/config",
    "git~1/config",
    ".git./x",
    ".git /x",
    ".g\u200cit/config",
    *[f".g{char}it/config" for char in HFS_IGNORABLE[1:]],
    "\u200d.git/hooks/x",
    ".git\u200c/x",
    "sub/.g\ufeffi\u200dt/x",
    ".Git",
    "GIT~1/x",
    "Git~1",
    "sub/git~1. . /x",
    ".git::$INDEX_ALLOCATION/x",
    ".git:stream/x",
    ".git...",
    "docs\\.git\\config",
    "a\\git~1\\b",
    "models/.GiT/x",
    ".gitmodules/x",
    "GITMOD~1/x",
    "sub/.GitAttributes/x",
    "gi7d29~1/x",
    "a\\.gitmodules/b",
]
CONTROL_PATHS = [f"a{chr(code)}b.txt" for code in [*range(1, 32), 127]]


@pytest.mark.parametrize("path", GIT_LOOK_ALIKES + CONTROL_PATHS, ids=ascii)
def test_a_path_git_fsck_refuses_is_refused(live, path):
    """What `receive.fsckObjects` refuses in a push (`.git` to HFS+ or NTFS) is refused in an
    API commit too, with the 400 InvalidPath answer; control characters as well. libgit2
    refused some of these itself (a 500), and accepted the HFS+ ones (which then broke every
    `git clone` that checks objects)."""
    before = _state(live)
    answer = _post_commit(
        live, HEADER + "\n" + json.dumps(_file("fine.txt")) + "\n" + json.dumps(_file(path))
    )
    _hub_error(answer)
    assert "Invalid path" in answer.json()["error"]
    assert _state(live) == before


@pytest.mark.parametrize(
    "content", [b"a" * 2048, b"*.bin filter=lfs\n" + b"x" * 3000 + b" text\n"], ids=len
)
def test_a_gitattributes_fsck_refuses_is_refused(live, content):
    """git's fsck refuses a `.gitattributes` line of 2048 bytes or more (`gitattributesLineLength`)."""
    before = _state(live)
    answer = _post_commit(live, HEADER + "\n" + json.dumps(_file(".gitattributes", content)))
    _hub_error(answer)
    assert ".gitattributes lines" in answer.json()["error"]
    assert _state(live) == before


@pytest.mark.parametrize("path", GIT_LOOK_ALIKES[:6] + CONTROL_PATHS[:2], ids=ascii)
def test_preupload_refuses_what_a_commit_would(live, path):
    with live.client("alice") as client:
        answer = client.post(PREUPLOAD, json={"files": [{"path": path, "size": 1, "sample": ""}]})
    _hub_error(answer)
    assert "Invalid path" in answer.json()["error"]


def test_names_near_git_stay_ordinary_files(live):
    """The rules refuse what a file system reads as `.git`, nothing more."""
    names = [".gitignore", ".github/workflows/ci.yml", "git~2/x", "x.git/y", "git~1x", ".gitx/y"]
    _commit(live, {name: b"ok\n" for name in names})
    with live.client("alice") as client:
        listed = client.post(PATHS_INFO, json={"paths": names}).json()
        _commit_deletions(client, names)
    assert sorted(entry["path"] for entry in listed) == sorted(names)


def _commit_deletions(client, paths: list[str]) -> None:
    lines = [{"key": "header", "value": {"summary": "Clean up"}}] + [
        {"key": "deletedFile", "value": {"path": path}} for path in paths
    ]
    answer = client.post(
        f"/api/models/{REPO}/commit/main",
        content="\n".join(json.dumps(line) for line in lines),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert answer.status_code == 200, answer.text


# -- integers past what the database holds -----------------------------------------------------


def _cursor(values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


OVERFLOWING_QUERIES = [
    "/api/models?cursor=99999999999999999999999",
    f"/api/models?cursor={_cursor([10**30, 1])}",
    f"/api/models?cursor={_cursor(['alice/a', 10**30])}",
    f"/api/models?cursor={_cursor([{'a': 1}, 1])}",
    f"/api/models?cursor={_cursor(['x', 'y'])}",
    f"/api/models?cursor={_cursor([True, 1])}",
    f"/api/models?cursor={_cursor([1, 2, 3])}",
    f"/api/models?sort=likes&cursor={_cursor(['abc', 1])}",
    f"/api/models?sort=downloads&cursor={_cursor([2**70, 1])}",
    f"/api/models?sort=lastModified&cursor={_cursor([5, 1])}",
    f"/api/models?sort=lastModified&cursor={_cursor(['not a date', 1])}",
    "/api/models?sort=trendingScore&cursor=" + _cursor([float("inf"), 1]),
    "/api/models?cursor=" + base64.urlsafe_b64encode(b'["a\\ud800", 1]').decode(),
    "/api/models?num_parameters=min:99999999999999999999T",
    "/api/models?num_parameters=max:" + "9" * 400,
    "/api/models?num_parameters=min:1,max:" + "9" * 5000 + "T",
    "/api/models?num_parameters=min:abc",
    "/api/datasets?cursor=" + _cursor([10**30, 10**30]),
    f"/api/models/{REPO}/commits/main?p=abc",
    f"/api/models/{REPO}/commits/main?p=²",
    f"/api/models/{REPO}/commits/main?p=-1",
    f"/api/models/{REPO}/commits/main?p=99999999999999999999",
    f"/api/models/{REPO}/commits/main?p=" + "9" * 5000,
    f"/api/models/{REPO}/discussions?p=abc",
    f"/api/models/{REPO}/discussions?p=-1",
    f"/api/models/{REPO}/discussions?p=99999999999999999999",
    f"/api/models/{REPO}/discussions?p=" + "9" * 5000,
    f"/api/models/{REPO}/discussions?search=a%00b",
    f"/api/models/{REPO}/discussions?author=%00",
    f"/api/models/{REPO}/tree/main?cursor=" + base64.urlsafe_b64encode(b"9" * 5000).decode(),
    f"/api/models/{REPO}/user-access-request/pending?limit=²",
    f"/api/models/{REPO}/user-access-request/pending?cursor=" + "%FF" * 4,
    "/api/settings/repositories?p=abc",
    "/api/organizations/acme/settings/repositories?p=" + "9" * 5000,
    "/api/models?search=a%00b",
    "/api/models?author=%00",
    "/api/models?filter=a%00",
    "/api/datasets?search=%00",
]


@pytest.mark.parametrize("path", OVERFLOWING_QUERIES, ids=lambda path: path[:70])
def test_a_number_or_cursor_no_database_can_take_is_refused(live, path):
    """A cursor value, `num_parameters`, a page number past BIGINT (or one that is no
    number) was a 500 from the database driver or from Python's int limits; NUL in a search
    was one on PostgreSQL."""
    with live.client("alice") as client:
        answer = client.get(path)
    _hub_error(answer)


LENIENT_LIMITS = [
    f"/api/models/{REPO}/commits/main?limit=²",
    f"/api/models/{REPO}/tree/main?limit=²",
    f"/api/models/{REPO}/lfs-files?limit=²",
    "/api/models?limit=²",
    "/api/models?limit=" + "9" * 5000,
    "/api/search/full-text?q=x&limit=²",
]


@pytest.mark.parametrize("path", LENIENT_LIMITS, ids=lambda path: path[:70])
def test_a_limit_that_is_no_number_means_the_default(live, path):
    """`limit` is read leniently, as on the Hub; `²` passes `str.isdigit` and made `int()` a 500."""
    with live.client("alice") as client:
        answer = client.get(path)
    assert answer.status_code == 200, answer.text


HUGE = "9" * 23
DISCUSSION_ROUTES = [
    ("GET", f"/api/models/{REPO}/discussions/{HUGE}", None),
    ("POST", f"/api/models/{REPO}/discussions/{HUGE}/comment", {"comment": "hi"}),
    ("POST", f"/api/models/{REPO}/discussions/{HUGE}/title", {"title": "A new title"}),
    ("POST", f"/api/models/{REPO}/discussions/{HUGE}/status", {"status": "closed"}),
    ("POST", f"/api/models/{REPO}/discussions/{HUGE}/merge", None),
    ("POST", f"/api/models/{REPO}/discussions/2147483648/comment", {"comment": "hi"}),
    ("GET", f"/api/models/{REPO}/discussions/{'9' * 5000}", None),
    ("POST", f"/api/models/{REPO}/discussions/{HUGE}/comment/{'f' * 24}/edit", {"content": "x"}),
    ("POST", f"/api/models/{REPO}/discussions/1/comment/{'f' * 24}/edit", {"content": "x"}),
    ("POST", f"/api/models/{REPO}/discussions/1/comment/{'f' * 24}/hide", None),
]


@pytest.mark.parametrize(("method", "path", "body"), DISCUSSION_ROUTES, ids=lambda v: str(v)[:60])
def test_a_discussion_number_past_the_database_is_a_missing_discussion(live, method, path, body):
    """`/discussions/99999999999999999999999` answered "Unknown route" (and a comment id past
    BIGINT a 500): a number no discussion can have is a discussion that does not exist."""
    before = _state(live)
    with live.client("alice") as client:
        answer = client.request(method, path, json=body)
    _hub_error(answer, 404)
    assert "not found" in answer.json()["error"]
    assert _state(live) == before


# -- revisions too long to name anything -------------------------------------------------------

LONG = "a" * 5000
LONG_REVISIONS = [
    ("GET", f"/{REPO}/resolve/{LONG}/README.md", None),
    ("GET", f"/api/models/{REPO}/revision/{LONG}", None),
    ("GET", f"/api/models/{REPO}/tree/{LONG}", None),
    ("GET", f"/api/models/{REPO}/commits/{LONG}", None),
    ("POST", f"/api/models/{REPO}/paths-info/{LONG}", {"paths": ["README.md"]}),
    ("POST", f"/api/models/{REPO}/preupload/{LONG}", {"files": []}),
    ("POST", f"/api/models/{REPO}/branch/{LONG}", {}),
    ("POST", f"/api/models/{REPO}/branch/feature", {"startingPoint": LONG}),
    ("POST", f"/api/models/{REPO}/branch/{'b' * 300}", {}),
    ("DELETE", f"/api/models/{REPO}/branch/{LONG}", None),
    ("POST", f"/api/models/{REPO}/tag/{LONG}", {"tag": "v5"}),
    ("POST", f"/api/models/{REPO}/tag/main", {"tag": LONG}),
    ("POST", f"/api/models/{REPO}/tag/main", {"tag": "t" * 300}),
    ("DELETE", f"/api/models/{REPO}/tag/{LONG}", None),
    ("POST", f"/api/models/{REPO}/super-squash/{LONG}", {}),
    ("GET", f"/api/models/{REPO}/xet-read-token/{LONG}", None),
    ("GET", f"/api/models/{REPO}/safetensors-metadata/model.safetensors?revision={LONG}", None),
    ("GET", f"/{REPO}/blob/{LONG}/README.md", None),
]


@pytest.mark.parametrize(("method", "path", "body"), LONG_REVISIONS, ids=lambda v: str(v)[:60])
def test_a_revision_too_long_for_git_is_refused(live, method, path, body):
    """A 5000-character revision was a 500 (libgit2 raises on a ref name over 1024 bytes); a
    300-character branch name was "already exists" (its file name is too long)."""
    before = _state(live)
    with live.client("alice") as client:
        answer = client.request(method, path, json=body)
    _hub_error(answer)
    assert "Invalid" in answer.json()["error"]
    assert _state(live) == before


def test_a_long_revision_commit_is_refused(live):
    before = _state(live)
    with live.client("alice") as client:
        answer = client.post(
            f"/api/models/{REPO}/commit/{LONG}",
            content=HEADER + "\n" + json.dumps(_file("x.txt")),
            headers={"Content-Type": "application/x-ndjson"},
        )
    _hub_error(answer)
    assert _state(live) == before


# -- LFS transfers and git bodies --------------------------------------------------------------

SIGNED = f"/-/lfs/1/{OID}"
LFS_TRANSFERS = [
    ("PUT", f"{SIGNED}?size=²&exp=1&sig=x", 400),
    ("PUT", f"{SIGNED}?size={'9' * 5000}&exp=1&sig=x", 400),
    ("PUT", f"{SIGNED}?size=3&exp=²&sig=x", 403),
    ("PUT", f"{SIGNED}?size=3&exp={'9' * 5000}&sig=x", 403),
    ("PUT", f"{SIGNED}/part/{'9' * 5000}?size=3&exp=1&sig=x", 400),
    ("POST", f"{SIGNED}/complete?size=3&exp=²&sig=x", 403),
    ("GET", f"/-/lfs/{'9' * 5000}/{OID}?exp=1&sig=x", 404),
    ("GET", f"{SIGNED}?exp={'9' * 5000}&sig=x", 403),
    ("GET", f"/cas/fetch/{OID}?r=0-1&exp=²&sig=x", 403),
    ("GET", f"/cas/fetch/{OID}?r=0-1&exp={'9' * 5000}&sig=x", 403),
]


@pytest.mark.parametrize(("method", "path", "status"), LFS_TRANSFERS, ids=lambda v: str(v)[:60])
def test_a_signed_lfs_url_with_a_number_that_is_none_is_refused(live, method, path, status):
    """`²` passes `str.isdigit` and a 5000-digit number passes a digits check: both made
    `int()` raise (a 500) before the signature was even checked."""
    with TestClient(live.app) as client:
        answer = client.request(method, path, content=b"abc")
    _hub_error(answer, status)


@pytest.mark.parametrize(
    "part",
    [{"partNumber": "x", "etag": "e"}, {"partNumber": 0, "etag": "e"}, {"etag": "e"}, 5],
    ids=json.dumps,
)
def test_a_multipart_completion_with_a_bad_part_is_refused(live, part):
    """`"partNumber": "x"` was a 500: the completion body is validated before its signature
    is used."""
    signer = live.hub.signer
    expires, signature = signer.sign(
        "complete", 1, OID, 3, ""
    )  # a local multipart: no S3 upload id
    with TestClient(live.app) as client:
        answer = client.post(
            f"{SIGNED}/complete?size=3&exp={expires}&sig={signature}",
            json={"oid": OID, "parts": [part]},
        )
    _hub_error(answer)


@pytest.mark.parametrize("service", ["git-upload-pack", "git-receive-pack"])
def test_a_body_that_says_gzip_and_is_not_is_refused(live, service):
    """git sends `Content-Encoding: gzip` bodies; one that is not gzip was a 500."""
    before = _state(live)
    with live.client("alice") as client:
        answer = client.post(
            f"/{REPO}.git/{service}",
            content=b"0032want " + b"0" * 40 + b"\n0000 certainly not gzip",
            headers={
                "Content-Type": f"application/x-{service}-request",
                "Content-Encoding": "gzip",
            },
        )
    _hub_error(answer)
    assert "gzip" in answer.json()["error"]
    assert _state(live) == before


@pytest.mark.parametrize(
    "path",
    [
        "/models?p=²",
        "/models?p=99999999999999999999999",
        "/models?limit=²",
        "/datasets?p=-1",
        f"/{REPO}/commits/main?p=²",
        f"/{REPO}/commits/main?p=9999999999999999999",
        f"/{REPO}/discussions?p=²",
        f"/{REPO}/discussions?p=99999999999999999999",
    ],
)
def test_web_pages_refuse_page_numbers_that_are_not_numbers(live, path):
    """Unicode digits pass str.isdigit but not int(): a browser gets the 400 page, not a 500."""
    with live.client(None) as client:
        answer = client.get(path, headers={"Accept": "text/html"})
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["x-error-message"]


@pytest.mark.parametrize("shape", [["x"], [True], [-1], "3", [1.5]], ids=json.dumps)
def test_a_safetensors_header_with_an_impossible_shape_still_shows(live, shape):
    """The file page counted parameters with `int(dim)`: a text dimension was a 500."""
    header = json.dumps({"w": {"dtype": "F32", "shape": shape, "data_offsets": [0, 0]}}).encode()
    data = len(header).to_bytes(8, "little") + header
    name = f"odd-{abs(hash(json.dumps(shape)))}.safetensors"
    _commit(live, {name: data})
    with live.client("alice") as client:
        page = client.get(f"/{REPO}/blob/main/{name}", headers={"Accept": "text/html"})
        info = client.get(f"/api/models/{REPO}")
    assert page.status_code == 200 and info.status_code == 200
