"""Absolute URLs come from the configured public URL or the address the hub listens on, never
from whatever `Host` header a caller sends (issue 14)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from starlette.requests import Request

from hubstead.protocols.http import base_url
from hubstead.settings import Settings
from hubstead.testing import InProcessHub


def _request(host: str) -> Request:
    headers = [(b"host", host.encode("latin-1"))] if host else []
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


def _hub(**settings) -> SimpleNamespace:
    return SimpleNamespace(
        settings=Settings(data_dir=Path("/nonexistent"), database_url="sqlite://", **settings)
    )


@pytest.mark.parametrize("host", ["evil.example", "evil.example/x?y", "", "a@b"])
def test_a_configured_public_url_wins(host):
    hub = _hub(public_url="https://hub.example.org/")
    assert base_url(hub, _request(host)) == "https://hub.example.org"


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1:9", ""])
def test_without_one_the_listening_address_is_used(host):
    assert base_url(_hub(host="10.1.2.3", port=8080), _request(host)) == "http://10.1.2.3:8080"
    assert base_url(_hub(host="::1", port=8080), _request(host)) == "http://[::1]:8080"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("hub.lan:8000", "http://hub.lan:8000"),
        ("[fe80::1]:8000", "http://[fe80::1]:8000"),
        ("evil.example/path", "http://127.0.0.1:8000"),
        ("evil.example\r\nX: y", "http://127.0.0.1:8000"),
        ("user@evil.example", "http://127.0.0.1:8000"),
        ("", "http://127.0.0.1:8000"),
    ],
)
def test_on_every_interface_only_a_plain_host_header_is_taken(host, expected):
    assert base_url(_hub(host="0.0.0.0", port=8000), _request(host)) == expected


def test_links_in_answers_ignore_a_forged_host(tmp_path):
    live = InProcessHub(tmp_path / "hub")
    try:
        with live.client("alice") as client:
            answer = client.post(
                "/api/repos/create", json={"name": "linked"}, headers={"Host": "evil.example"}
            )
            listing = client.get("/api/models?limit=1", headers={"Host": "evil.example"})
        assert answer.status_code == 200 and answer.json()["url"].startswith("http://hub.test/")
        assert "evil.example" not in listing.headers.get("link", "")
    finally:
        live.close()
