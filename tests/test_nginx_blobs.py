"""A hub behind nginx sends no xorb bytes itself: nginx does, from the data folder (issue 15).

One `hubstead serve` with the data folder on local disk and `HUBSTEAD_ACCEL_REDIRECT` set,
behind nginx run from `deploy/nginx/hubstead.conf` (helpers.Nginx), with the public URL nginx's,
so every transfer URL the hub hands out comes back through nginx. An edited file's download
fetches parts of its earlier version's xorb: those ranges are what ASGI cannot send zero-copy,
and what nginx now sends from the file. Local storage in every pass: a bucket has no such path.
"""

from __future__ import annotations

import hashlib
import random

import httpx
import pytest

from conftest import BACKEND
from helpers import Nginx, stored_bytes
from helpers import run_xet_scenario as run_scenario
from hubstead.testing import LiveHub, free_port

NGINX_PORT = free_port()
ACCEL = "/_hubstead/blobs/"  # the internal location of deploy/nginx/hubstead.conf
MB = 1024 * 1024


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> LiveHub:
    env = {
        "HUBSTEAD_ACCEL_REDIRECT": ACCEL,
        "HUBSTEAD_PUBLIC_URL": f"http://127.0.0.1:{NGINX_PORT}",
        "HUBSTEAD_TRUSTED_PROXIES": "127.0.0.1",
    }
    live = LiveHub(tmp_path_factory.mktemp("hub"), backend=BACKEND, env=env, storage="local")
    live.start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def nginx(hub: LiveHub, tmp_path_factory) -> Nginx:
    server = Nginx(tmp_path_factory.mktemp("nginx"), [hub.port], NGINX_PORT, hub.data_dir / "blobs")
    server.start()
    server.wait_ready()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def edited(hub: LiveHub, api, nginx: Nginx, tmp_path_factory) -> dict:
    """An 8 MiB file uploaded through Xet, then again with 256 KiB in its middle rewritten: the
    second version shares most of its bytes with the first one's xorb."""
    folder = tmp_path_factory.mktemp("edited")
    home = folder / "client"  # one client: its Xet cache deduplicates the second upload
    repo_id = api.create_repo("behind-nginx").repo_id
    data = bytearray(random.Random(7).randbytes(8 * MB))
    for version in (1, 2):
        if version == 2:
            data[4 * MB : 4 * MB + 256 * 1024] = random.Random(8).randbytes(256 * 1024)
        path = folder / f"v{version}.bin"
        path.write_bytes(data)
        run_scenario(
            hub, "upload_file", home, path=str(path), path_in_repo="weights.bin", repo=repo_id
        )
    return {"repo": repo_id, "sha256": hashlib.sha256(data).hexdigest(), "folder": folder}


def _reconstruction(hub: LiveHub, repo_id: str) -> dict:
    token = httpx.get(
        f"{hub.endpoint}/api/models/{repo_id}/xet-read-token/main",
        headers={"Authorization": f"Bearer {hub.tokens['alice']}"},
    ).json()
    tree = httpx.get(
        f"{hub.endpoint}/api/models/{repo_id}/tree/main",
        headers={"Authorization": f"Bearer {hub.tokens['alice']}"},
    ).json()
    xet_hash = next(entry["xetHash"] for entry in tree if entry["path"] == "weights.bin")
    return httpx.get(
        f"{token['casUrl']}/v1/reconstructions/{xet_hash}",
        headers={"Authorization": f"Bearer {token['accessToken']}"},
    ).json()


def _fetches(reconstruction: dict) -> list[tuple[str, str, int, int]]:
    """(xorb, url, first byte, last byte) of every fetch the reconstruction grants."""
    return [
        (xorb, fetch["url"], fetch["url_range"]["start"], fetch["url_range"]["end"])
        for xorb, fetches in reconstruction["fetch_info"].items()
        for fetch in fetches
    ]


def test_an_edited_file_downloads_through_nginx(hub: LiveHub, edited: dict, nginx: Nginx):
    got = run_scenario(
        hub,
        "download",
        edited["folder"] / "fresh-client",
        repo=edited["repo"],
        filename="weights.bin",
        cache=str(edited["folder"] / "fresh-cache"),
    )
    assert got["sha256"] == edited["sha256"]
    fetched = [line for line in nginx.access_log.read_text().splitlines() if "/cas/fetch/" in line]
    assert fetched and all('" 206 ' in line for line in fetched), fetched


def test_parts_of_xorbs_are_sent_by_nginx_from_the_files(hub: LiveHub, edited: dict, nginx: Nginx):
    fetches = _fetches(_reconstruction(hub, edited["repo"]))
    partial = [
        fetch
        for fetch in fetches
        if fetch[3] - fetch[2] + 1 < len(stored_bytes(hub, "xorbs", fetch[0]))
    ]
    assert partial, f"the edited version reads parts of the first one's xorb: {fetches}"
    for xorb, url, first, last in fetches:
        on_disk = stored_bytes(hub, "xorbs", xorb)[first : last + 1]
        byte_range = {"Range": f"bytes={first}-{last}"}
        through_nginx = httpx.get(url, headers=byte_range)
        assert through_nginx.status_code == 206
        assert through_nginx.headers["content-range"].startswith(f"bytes {first}-{last}/")
        assert through_nginx.content == on_disk
        assert "x-accel-redirect" not in through_nginx.headers, "nginx keeps the path to itself"
        # what the process answers nginx: the file's place under the internal location
        direct = url.replace(f"127.0.0.1:{NGINX_PORT}", f"127.0.0.1:{hub.port}")
        delegated = httpx.get(direct, headers={**byte_range, "X-Sendfile-Type": "X-Accel-Redirect"})
        assert delegated.status_code == 200 and delegated.content == b""
        assert (
            delegated.headers["x-accel-redirect"] == f"{ACCEL}xorbs/{xorb[:2]}/{xorb[2:4]}/{xorb}"
        )
        # a client that reaches the process itself gets the bytes from the process
        itself = httpx.get(direct, headers=byte_range)
        assert itself.status_code == 206 and itself.content == on_disk
        assert "x-accel-redirect" not in itself.headers


def test_the_signature_is_checked_before_nginx_sends_anything(
    hub: LiveHub, edited: dict, nginx: Nginx
):
    xorb, url, first, last = _fetches(_reconstruction(hub, edited["repo"]))[0]
    base, _, query = url.partition("?")
    params = dict(pair.split("=") for pair in query.split("&"))
    forged = f"{base}?r={params['r']}&exp={params['exp']}&sig={'0' * 64}"
    refused = httpx.get(forged, headers={"Range": f"bytes={first}-{last}"})
    assert refused.status_code == 403
    assert refused.headers["x-error-message"] == "Invalid signature"
    beyond = httpx.get(url, headers={"Range": f"bytes={first}-{last + 1}"})
    assert beyond.status_code == 403, "only the granted bytes, through nginx too"


def test_the_internal_location_is_out_of_reach(hub: LiveHub, edited: dict, nginx: Nginx):
    xorb = _fetches(_reconstruction(hub, edited["repo"]))[0][0]
    inside = f"http://127.0.0.1:{NGINX_PORT}{ACCEL}xorbs/{xorb[:2]}/{xorb[2:4]}/{xorb}"
    assert stored_bytes(hub, "xorbs", xorb) is not None
    assert httpx.get(inside).status_code == 404, "only a process' X-Accel-Redirect reaches it"
