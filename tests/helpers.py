"""Helpers shared by the test modules: running the clients as a user would, and git.

One copy each: test modules import them from here instead of defining their own.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi

BIN = Path(sys.executable).parent  # the venv's `hf`, `hubstead`…
CLIENTS = Path(__file__).parent / "clients"  # client scripts run in subprocesses
NGINX_TEMPLATE = Path(__file__).resolve().parent.parent / "deploy" / "nginx" / "hubstead.conf"


def client_env(hub, token: str | None, home: Path) -> dict[str, str]:
    """The environment of a client process pointed at `hub`, with its own cache in `home`."""
    env = {
        **os.environ,
        "HF_ENDPOINT": hub.endpoint,
        "HF_HOME": str(home),
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "NO_COLOR": "1",
    }
    if token:
        env["HF_TOKEN"] = token
    return env


def run(args: list[str], env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    """Run a command that must succeed; its output is in the assertion message if it does not."""
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result


def anonymous(target) -> HfApi:
    """A client without a token, for a live hub or an endpoint URL."""
    return HfApi(endpoint=getattr(target, "endpoint", target), token=False)


def git_environment(home: Path) -> dict[str, str]:
    """git with its own home and identity, git-lfs installed, `main` as the default branch."""
    if shutil.which("git-lfs") is None:  # never a silent skip: scripts/test installs git-lfs
        raise RuntimeError("git-lfs is required for these tests (scripts/test installs it)")
    home.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "HOME": str(home),
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Alice",
        "GIT_AUTHOR_EMAIL": "alice@example.com",
        "GIT_COMMITTER_NAME": "Alice",
        "GIT_COMMITTER_EMAIL": "alice@example.com",
    }
    for args in (
        ["lfs", "install", "--skip-repo"],
        ["config", "--global", "init.defaultBranch", "main"],
    ):
        subprocess.run(["git", *args], env=env, check=True, capture_output=True, timeout=60)
    return env


def admin_cli(hub, *args: str, stdin: str = "", extra_env: dict[str, str] | None = None):
    """Run `hubstead ARGS` against the live hub's database, in this process.

    The command runs exactly the code of `python -m hubstead` (argument parsing, the HUBSTEAD_*
    environment, exit codes and output) without a new interpreter per call: the admin commands
    are tested by the dozen, and a process start costs about a second. The commands that start
    a server or depend on a fresh process (`serve`, first start) are still run as processes.
    """
    import contextlib
    import io

    from hubstead import cli

    env = {k: v for k, v in hub.server_env().items() if k.startswith("HUBSTEAD_")}
    env.update(extra_env or {})
    saved_env, saved_stdin = dict(os.environ), sys.stdin
    out, err = io.StringIO(), io.StringIO()
    os.environ.update(env)
    sys.stdin = io.StringIO(stdin)
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli.main(list(args))
            except SystemExit as exit_:
                code = (
                    exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
                )
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        sys.stdin = saved_stdin
    return subprocess.CompletedProcess(["hubstead", *args], code, out.getvalue(), err.getvalue())


CHROMIUM = "/usr/bin/chromium"  # Debian's, installed by scripts/lib/browser.sh; never downloaded
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
AXE = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"


def serious_accessibility_violations(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now."""
    # evaluated through the DevTools protocol, which the pages' CSP (no inline scripts) allows
    page.evaluate(AXE.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


XET_SCENARIO = CLIENTS / "xet_scenario.py"


def run_xet_scenario(
    hub,
    name: str,
    home: Path,
    python: Path | str = sys.executable,
    token_user: str = "alice",
    xet: bool = True,
    timeout: int = 600,
    **args,
) -> dict:
    """Run one scenario of tests/clients/xet_scenario.py with `python` (this venv's, or an older
    client's) against `hub`, as `token_user`; returns the JSON the scenario prints last.
    With `xet=False` the client is told to disable Xet and upload through LFS."""
    env = {
        **os.environ,
        "HF_ENDPOINT": hub.endpoint,
        "HF_TOKEN": hub.tokens[token_user],
        "HF_HOME": str(home),
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_XET_CLIENT_RETRY_MAX_ATTEMPTS": "2",
        "HF_XET_CLIENT_RETRY_BASE_DELAY": "100ms",
    }
    # the test process disables Xet for itself; another interpreter must not see our paths
    for variable in ("HF_HUB_DISABLE_XET", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(variable, None)
    if not xet:
        env["HF_HUB_DISABLE_XET"] = "1"
    result = subprocess.run(
        [str(python), str(XET_SCENARIO), name, json.dumps(args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, (
        f"{name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def inference_usage(endpoint: str, token: str, ready, timeout: float = 5.0) -> dict:
    """GET /api/inference/usage until `ready(body)` holds: each process writes its usage rows
    at most a second after the requests (services/inference/metering.py), and the reading
    request may reach another process than the one that counted."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(
            f"{endpoint}/api/inference/usage", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        if ready(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def sign_in(page, endpoint: str, login: str, password: str, next_path: str = "") -> None:
    """Sign in through the /login form in a Playwright page (then go to `next_path`)."""
    page.goto(f"{endpoint}/login" + (f"?next={next_path}" if next_path else ""))
    page.get_by_label("Username or email").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def sign_in_status(
    endpoint: str, login: str, password: str, headers: dict[str, str] | None = None
) -> int:
    """The status of a sign-in through the /login form without a browser (303: signed in,
    401: refused): passwords sign in browsers only, never over HTTP Basic auth."""
    import re

    import httpx

    with httpx.Client(base_url=endpoint, timeout=30, headers=headers) as client:
        page = client.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        return client.post(
            "/login", data={"login": login, "password": password, "csrf_token": csrf}
        ).status_code


def stored_sizes(hub, kind: str) -> dict[str, int]:
    """Name → size of the LFS objects (kind "sha256") or xorbs ("xorbs") a hub stores: in its
    data folder, or in its bucket on the S3 pass (HUBSTEAD_TEST_STORAGE=s3)."""
    if getattr(hub, "bucket", None) is not None:
        return {key.rsplit("/", 1)[1]: size for key, size in hub.bucket.keys(f"{kind}/").items()}
    root = hub.data_dir / "blobs" / kind
    return {p.name: p.stat().st_size for p in root.rglob("*") if p.is_file()}


def stored_bytes(hub, kind: str, name: str) -> bytes | None:
    """The LFS object (kind "sha256") or xorb ("xorbs") `name` as the hub stores it, in its data
    folder or its bucket; None where it has none."""
    key = f"{kind}/{name[:2]}/{name[2:4]}/{name}"
    if getattr(hub, "bucket", None) is not None:
        return hub.bucket.read(key)
    path = hub.data_dir / "blobs" / key
    return path.read_bytes() if path.is_file() else None


def process_tree(root: int) -> list[int]:
    """`root` and every process under it (from /proc: parent ids)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def nginx_binary() -> str:
    """Debian's nginx (scripts/test installs it); with CI=true its absence is an error."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not found:
        message = (
            "nginx is required by the tests behind nginx (scripts/test installs it from Debian)"
        )
        if os.environ.get("CI") == "true":
            raise RuntimeError(message)
        pytest.skip(message)
    return found


def render_nginx_site(upstreams: list[int], listen: int, blobs_dir: Path) -> str:
    """`deploy/nginx/hubstead.conf` (the one docs/deployment.md shows) for processes on
    127.0.0.1 at `upstreams`, whose data folder's blobs are in `blobs_dir`."""
    servers = "\n".join(
        f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in upstreams
    )
    return (
        NGINX_TEMPLATE.read_text()
        .replace("@UPSTREAM_SERVERS@", servers)
        .replace("@LISTEN@", f"127.0.0.1:{listen}")
        .replace("@SERVER_NAME@", "localhost")
        .replace("@BLOBS_DIR@", str(blobs_dir))
    )


def _nginx_main_config(folder: Path, site: Path) -> str:
    """A main configuration an unprivileged user can run: every path in `folder`. Started by
    root, nginx's workers would run as `nobody`, who cannot read the test's data folder (the
    blobs nginx sends itself): they keep root's user then."""
    user = "user root;" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"{name}_temp_path {folder / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""
daemon off;
{user}
worker_processes 2;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
    access_log {folder / "access.log"};
    {temp}
    include {site};
}}
"""


@dataclass
class Nginx:
    """nginx as the test user, in front of the processes at `upstreams`, on port `listen`,
    everything it writes (logs, temporary files) in `folder`."""

    folder: Path
    upstreams: list[int]
    listen: int
    blobs_dir: Path
    process: subprocess.Popen | None = None

    @property
    def access_log(self) -> Path:
        return self.folder / "access.log"

    def start(self) -> Nginx:
        self.folder.mkdir(parents=True, exist_ok=True)
        site = self.folder / "hubstead.conf"
        site.write_text(render_nginx_site(self.upstreams, self.listen, self.blobs_dir))
        main = self.folder / "nginx.conf"
        main.write_text(_nginx_main_config(self.folder, site))
        with open(self.folder / "stderr.log", "wb") as stderr:  # nginx keeps its own copy
            self.process = subprocess.Popen(
                [nginx_binary(), "-p", str(self.folder), "-c", str(main)],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        return self

    def wait_ready(self, timeout: float = 30) -> None:
        """Until a process answers `/-/ready` through nginx."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                ready = httpx.get(f"http://127.0.0.1:{self.listen}/-/ready", timeout=2)
                if ready.status_code == 200:
                    return
            time.sleep(0.2)
        raise AssertionError(f"nothing answered /-/ready through nginx in {timeout} s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)
            self.process = None
