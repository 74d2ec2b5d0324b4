"""Shared fixtures: a live hub per test module, on SQLite or PostgreSQL (HUBSTEAD_TEST_BACKEND)."""

from __future__ import annotations

import os
import tempfile

# The client reads these at import time, so they are set before anything imports it.
_HF_HOME = tempfile.mkdtemp(prefix="hubstead-hf-home-")
os.environ["HF_HOME"] = _HF_HOME
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_DISABLE_XET"] = "1"  # Xet storage is a separate issue; LFS covers uploads here
os.environ.pop("HF_TOKEN", None)
os.environ.pop("HF_ENDPOINT", None)

import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402
import pytest  # noqa: E402

from helpers import CHROMIUM, CHROMIUM_ARGS, git_environment, sign_in  # noqa: E402
from hubstead.testing import LiveHub, free_port  # noqa: E402

BACKEND = os.environ.get("HUBSTEAD_TEST_BACKEND", "sqlite")
# Several servers share a data folder on PostgreSQL only (on SQLite one server owns it, which
# test_faults checks): the multi-process module is collected in the PostgreSQL passes alone.
collect_ignore = ["test_cluster.py"] if BACKEND != "postgresql" else []


def pytest_report_header(config):
    return f"hubstead test backend: {BACKEND}"


@pytest.fixture(scope="module")
def hub(request, tmp_path_factory) -> LiveHub:
    """A server for the module; a module may set HUB_ENV to configure it."""
    live = LiveHub(
        tmp_path_factory.mktemp("hub"), backend=BACKEND, env=getattr(request.module, "HUB_ENV", {})
    )
    live.start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def endpoint(hub: LiveHub) -> str:
    return hub.endpoint


@pytest.fixture
def hf_home(tmp_path) -> Path:
    """A fresh client cache per test, so downloads really hit the server."""
    home = tmp_path / "hf-home"
    home.mkdir()
    return home


@pytest.fixture(scope="module")
def api(hub: LiveHub):
    from huggingface_hub import HfApi

    return HfApi(endpoint=hub.endpoint, token=hub.tokens["alice"])


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_HF_HOME, ignore_errors=True)


@pytest.fixture
def git_env(tmp_path) -> dict[str, str]:
    """A git (with git-lfs) environment of its own for one test."""
    return git_environment(tmp_path / "git-home")


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright, one per test module that uses it. Module scope on
    purpose: Playwright's sync API keeps an event loop running in the thread while it is open,
    which would break `asyncio.run` in the modules a worker runs afterwards."""
    if not Path(CHROMIUM).exists():  # never a silent skip: scripts/test installs chromium
        raise RuntimeError(
            f"{CHROMIUM} is required for the browser tests (scripts/test installs it)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser tab (its own cookies) at desktop width."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture(scope="module")
def sessions(hub) -> dict[str, dict]:
    """Each user's signed-in browser state, signed in once per module (per server): sign-ins
    are limited per account, right or wrong ones, so the tests share one session per user."""
    return {}


@pytest.fixture
def open_as(browser, endpoint, sessions):
    """`open_as(user, path)`: a fresh tab (its own context) signed in as `user`, at `path`."""
    contexts = []

    def open_page(user: str, path: str):
        if user not in sessions:
            first = browser.new_context()
            sign_in(first.new_page(), endpoint, user, f"{user}-password")
            sessions[user] = first.storage_state()
            first.close()
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, storage_state=sessions[user]
        )
        contexts.append(context)
        tab = context.new_page()
        tab.goto(f"{endpoint}{path}")
        return tab

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    """The S3 server (moto) of the tests that need a bucket on every pass: the one scripts/test
    started (HUBSTEAD_TEST_S3_ENDPOINT), else one of this worker's own."""
    endpoint = os.environ.get("HUBSTEAD_TEST_S3_ENDPOINT")
    if endpoint:
        yield endpoint
        return
    try:
        import moto.server  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("moto[server] is not installed (pip install -e '.[test]')")
    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(f"{endpoint}/moto-api/", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield endpoint
    process.terminate()
    process.wait(timeout=10)
    log.close()
