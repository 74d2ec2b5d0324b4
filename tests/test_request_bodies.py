"""Request bodies: each route's size limit, and large commits streamed through a spool file.

In-process (the ASGI application called directly): a body over a route's limit is refused with
413 in the Hub's error format before the handler runs, so nothing changes; a commit's NDJSON is
spooled to disk and parsed line by line, so a commit far larger than a JSON route accepts lands.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os

import pytest

from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.protocols import routing
from hubstead.testing import InProcessHub


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> InProcessHub:
    live = InProcessHub(tmp_path_factory.mktemp("bodies"))
    live.hub.repos.create(live.principal("alice"), RepoType.MODEL, RepoId("alice", "bodies"), False)
    yield live
    live.close()


@pytest.fixture(scope="module")
def alice(hub: InProcessHub):
    with hub.client("alice") as client:
        yield client


def _head(hub: InProcessHub) -> str:
    return hub.hub.repos.get(RepoType.MODEL, RepoId("alice", "bodies"), None).git.resolve("main")


def _ndjson(files: dict[str, bytes], summary: str = "Upload") -> bytes:
    lines = [{"key": "header", "value": {"summary": summary}}]
    lines += [
        {
            "key": "file",
            "value": {
                "path": path,
                "content": base64.b64encode(data).decode(),
                "encoding": "base64",
            },
        }
        for path, data in files.items()
    ]
    return b"\n".join(json.dumps(line).encode() for line in lines) + b"\n"


def _assert_too_large(response) -> None:
    assert response.status_code == 413
    assert response.headers["x-error-message"]
    assert response.json()["error"] == response.headers["x-error-message"]


def test_a_json_route_refuses_a_body_over_its_limit_and_changes_nothing(hub: InProcessHub, alice):
    padding = "x" * (routing.SMALL_BODY + 1)
    response = alice.post(
        "/api/repos/create",
        content=json.dumps({"name": "too-big", "padding": padding}),
        headers={"Content-Type": "application/json"},
    )
    _assert_too_large(response)
    assert alice.get("/api/models/alice/too-big").status_code == 404


def test_a_body_without_length_is_counted_as_it_arrives(alice):
    chunk = b" " * (1024 * 1024)

    def chunks():
        for _ in range(routing.SMALL_BODY // len(chunk) + 1):
            yield chunk

    response = alice.post(
        "/api/repos/create", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    _assert_too_large(response)


def test_a_large_ndjson_commit_is_accepted(hub: InProcessHub, alice):
    """Three files of 4 MiB inlined as base64: a 16 MiB body, twice the JSON limit and far past
    what the spool keeps in memory."""
    files = {f"weights/part-{i}.bin": os.urandom(4 * 1024 * 1024) for i in range(3)}
    body = _ndjson(files)
    assert len(body) > 2 * routing.SMALL_BODY
    response = alice.post(
        "/api/models/alice/bodies/commit/main",
        content=body,
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["commitOid"] == _head(hub)
    for path, data in files.items():
        downloaded = alice.get(f"/alice/bodies/resolve/main/{path}")
        assert downloaded.status_code == 200 and downloaded.content == data


def test_a_commit_over_its_limit_changes_nothing(hub: InProcessHub, alice):
    """The commit route's limit (2 GiB) is lowered for the test: the refusal is the same."""
    routes = hub.app.router.routes
    index = next(i for i, route in enumerate(routes) if route.template.text == "/commit/{rev:rev}")
    original = routes[index]
    routes[index] = dataclasses.replace(
        original, body=dataclasses.replace(original.body, limit=1024 * 1024)
    )
    try:
        before = _head(hub)
        response = alice.post(
            "/api/models/alice/bodies/commit/main",
            content=_ndjson({"big.bin": os.urandom(1024 * 1024)}),
            headers={"Content-Type": "application/x-ndjson"},
        )
        _assert_too_large(response)
        assert _head(hub) == before
    finally:
        routes[index] = original


def test_a_malformed_line_of_a_spooled_commit_is_refused(hub: InProcessHub, alice):
    before = _head(hub)
    body = _ndjson({"a.txt": b"a"}) + b"{not json\n"
    response = alice.post(
        "/api/models/alice/bodies/commit/main",
        content=body,
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 400 and "line 3 is not valid JSON" in response.json()["error"]
    assert _head(hub) == before


def test_the_older_json_commit_form_still_works(alice):
    payload = {"summary": "JSON form", "files": [{"path": "form.txt", "content": "hello"}]}
    response = alice.post("/api/models/alice/bodies/commit/main", json=payload)
    assert response.status_code == 200, response.text
    assert alice.get("/alice/bodies/resolve/main/form.txt").text == "hello"
