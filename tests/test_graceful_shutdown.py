"""Graceful shutdown (issue 15): SIGTERM to `hubstead serve` stops taking connections, lets the
requests in flight finish (an upload being streamed completes and is acknowledged), then the
server exits with status 0. A server of its own: the test stops it."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time

import httpx
import pytest

from hubstead.testing import LiveHub

BACKEND = os.environ.get("HUBSTEAD_TEST_BACKEND", "sqlite")
SIZE = 4 * 1024 * 1024  # one basic PUT (under the multipart threshold)
PIECES = 16
PAUSE = 0.25  # between pieces: the upload takes about four seconds


@pytest.fixture
def live(tmp_path):
    hub = LiveHub(tmp_path / "hub", backend=BACKEND).start()
    yield hub
    hub.stop()


def _upload_action(live: LiveHub, repo_id: str, oid: str, size: int) -> dict:
    batch = httpx.post(
        f"{live.endpoint}/{repo_id}.git/info/lfs/objects/batch",
        json={"operation": "upload", "objects": [{"oid": oid, "size": size}]},
        headers={"Authorization": f"Bearer {live.tokens['alice']}"},
    )
    assert batch.status_code == 200, batch.text
    return batch.json()["objects"][0]["actions"]


def test_sigterm_lets_an_upload_in_flight_finish_then_exits_0(live: LiveHub):
    from huggingface_hub import HfApi

    api = HfApi(endpoint=live.endpoint, token=live.tokens["alice"])
    repo_id = api.create_repo("drain").repo_id
    data = os.urandom(SIZE)
    oid = hashlib.sha256(data).hexdigest()
    actions = _upload_action(live, repo_id, oid, SIZE)
    started = threading.Event()
    piece = SIZE // PIECES

    def slow_body():
        for number in range(PIECES):
            yield data[number * piece : (number + 1) * piece]
            started.set()
            time.sleep(PAUSE)

    answer: dict[str, object] = {}

    def upload() -> None:
        try:
            response = httpx.put(actions["upload"]["href"], content=slow_body(), timeout=60)
            answer["status"] = response.status_code
        except httpx.HTTPError as error:  # noqa: PERF203
            answer["error"] = repr(error)

    uploader = threading.Thread(target=upload)
    uploader.start()
    assert started.wait(10)
    time.sleep(PAUSE)  # the request is being streamed when the signal comes
    signalled = time.monotonic()
    live.process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    with pytest.raises(httpx.ConnectError):  # no new connection is taken while it drains
        httpx.get(f"{live.endpoint}/-/health", timeout=2)
    assert uploader.is_alive(), "the upload should still be streaming"
    uploader.join(60)
    code = live.process.wait(60)
    print(f"exited {time.monotonic() - signalled:.1f} s after SIGTERM")
    assert answer == {"status": 200}, (answer, live.log()[-3000:])
    assert code == 0, live.log()[-3000:]
    # the acknowledged object is stored: a new server on the same folder and database has it
    live.restart()
    verify = httpx.post(
        actions["verify"]["href"],
        json={"oid": oid, "size": SIZE},
        headers={"Authorization": f"Bearer {live.tokens['alice']}"},
    )
    assert verify.status_code == 200, verify.text
