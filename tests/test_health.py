"""Liveness (`/-/health`) and readiness (`/-/ready`, issue 15): a load balancer sends traffic
only to processes whose database, data folder and blob store work; a failing one is 503 in the
Hub's error format, naming the check, and ready again once the fault is gone."""

from __future__ import annotations

import shutil

import pytest

from hubstead.testing import InProcessHub


@pytest.fixture
def in_process(tmp_path):
    hub = InProcessHub(tmp_path / "data")
    yield hub
    hub.close()


def _assert_not_ready(response, check: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"].isdigit()
    assert response.headers["cache-control"] == "no-store"
    message = response.headers["x-error-message"]
    assert message.startswith("Not ready: ") and f"{check}: " in message
    body = response.json()
    assert body["error"] == message
    assert body["checks"][check] != "ok"
    assert [name for name, value in body["checks"].items() if value != "ok"] == [check]


def test_health_and_ready_answer_200_without_a_token(in_process):
    with in_process.client() as client:
        health = client.get("/-/health")
        ready = client.get("/-/ready")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert ready.status_code == 200, ready.text
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "data_dir": "ok", "blob_store": "ok"},
    }
    assert ready.headers["cache-control"] == "no-store"


def test_an_unreachable_database_is_not_ready_and_health_still_answers(in_process):
    hub = in_process.hub
    database = hub.settings.data_dir / "hubstead.db"
    hub.db.dispose()
    database.rename(database.with_suffix(".away"))
    database.mkdir()  # SQLite cannot open what it now finds at the path: a volume gone away
    try:
        with in_process.client() as client:
            not_ready = client.get("/-/ready")
            alive = client.get("/-/health")
    finally:
        database.rmdir()
        database.with_suffix(".away").rename(database)
    _assert_not_ready(not_ready, "database")
    assert alive.status_code == 200
    with in_process.client() as client:
        assert client.get("/-/ready").status_code == 200


def test_a_blob_store_that_cannot_take_uploads_is_not_ready(in_process):
    scratch = in_process.hub.blobs.tmp_dir
    shutil.rmtree(scratch)
    scratch.write_bytes(b"")  # a file where the folder was: nothing can be created in it
    try:
        with in_process.client() as client:
            not_ready = client.get("/-/ready")
    finally:
        scratch.unlink()
        scratch.mkdir()
    _assert_not_ready(not_ready, "blob_store")
    with in_process.client() as client:
        assert client.get("/-/ready").status_code == 200


def test_a_data_folder_that_takes_no_write_is_not_ready(in_process, tmp_path):
    """The data folder on a read-only mount: a read-only bind of the folder over itself needs
    privileges, so the hub's view of the folder is pointed at a read-only tmpfs-like place: a
    folder made of a file, which refuses every create as a read-only mount does."""
    hub = in_process.hub
    data_dir = hub.settings.data_dir
    moved = tmp_path / "moved-away"
    data_dir.rename(moved)
    data_dir.write_bytes(b"")
    try:
        with in_process.client() as client:
            not_ready = client.get("/-/ready")
    finally:
        data_dir.unlink()
        moved.rename(data_dir)
    assert not_ready.status_code == 503
    assert "data_dir: " in not_ready.headers["x-error-message"]
