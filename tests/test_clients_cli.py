"""The `hf` CLI, transformers and the `hubstead` admin CLI, each run as a user would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from helpers import BIN, CLIENTS, client_env, run, sign_in_status


def test_hf_cli_whoami_upload_download(hub, api: HfApi, tmp_path: Path):
    env = client_env(hub, hub.tokens["alice"], tmp_path / "home")
    assert "alice" in run([str(BIN / "hf"), "auth", "whoami"], env).stdout
    api.create_repo("cli-repo")
    source = tmp_path / "source"
    source.mkdir()
    (source / "hello.txt").write_text("hello from the cli\n")
    (source / "weights.bin").write_bytes(os.urandom(200_000))
    run(
        [
            str(BIN / "hf"),
            "upload",
            "alice/cli-repo",
            str(source),
            ".",
            "--commit-message",
            "cli upload",
        ],
        env,
    )
    assert api.list_repo_commits("alice/cli-repo")[0].title == "cli upload"
    target = tmp_path / "download"
    run([str(BIN / "hf"), "download", "alice/cli-repo", "--local-dir", str(target)], env)
    assert (target / "hello.txt").read_text() == "hello from the cli\n"
    assert (target / "weights.bin").read_bytes() == (source / "weights.bin").read_bytes()


def test_hf_cli_login_with_token(hub, tmp_path: Path):
    env = client_env(hub, None, tmp_path / "home")
    run([str(BIN / "hf"), "auth", "login", "--token", hub.tokens["bob"]], env)
    assert "bob" in run([str(BIN / "hf"), "auth", "whoami"], env).stdout


def test_transformers_push_to_hub_and_from_pretrained(hub, api: HfApi, tmp_path: Path):
    env = client_env(hub, hub.tokens["alice"], tmp_path / "home")
    result = run(
        [sys.executable, str(CLIENTS / "transformers_roundtrip.py"), "alice/tiny-bert"],
        env,
        timeout=600,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {
        "same_outputs": True,
        "same_weights": True,
        "model_type": "bert",
        "class": "BertForMaskedLM",
    }
    files = set(api.list_repo_files("alice/tiny-bert"))
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= files
    weights = api.get_paths_info("alice/tiny-bert", ["model.safetensors"])[0]
    assert weights.lfs is not None


def test_hubstead_admin_cli(hub, tmp_path: Path):
    env = {**os.environ, **{k: v for k, v in hub.server_env().items() if k.startswith("HUBSTEAD_")}}
    hubstead = [sys.executable, "-m", "hubstead"]
    assert (
        run(
            [*hubstead, "user", "create", "carol", "--email", "carol@example.com"], env
        ).stdout.strip()
        == "carol"
    )
    token = run(
        [*hubstead, "token", "create", "carol", "--role", "write", "--name", "ci"], env
    ).stdout.strip()
    assert token.startswith("hf_") and "\n" not in token
    read_token = run([*hubstead, "token", "create", "carol", "--role", "read"], env).stdout.strip()
    run(
        [
            *hubstead,
            "org",
            "create",
            "carols-lab",
            "--member",
            "carol:admin",
            "--member",
            "bob:read",
        ],
        env,
    )
    carol = HfApi(endpoint=hub.endpoint, token=token)
    me = carol.whoami()
    token_info = me["auth"]["accessToken"]
    assert me["name"] == "carol" and (token_info["displayName"], token_info["role"]) == (
        "ci",
        "write",
    )
    assert set(token_info) == {"displayName", "role", "createdAt"} and token_info[
        "createdAt"
    ].endswith("Z")
    assert [o["name"] for o in me["orgs"]] == ["carols-lab"]
    assert carol.create_repo("carols-lab/model").repo_id == "carols-lab/model"
    assert (
        HfApi(endpoint=hub.endpoint, token=read_token).whoami()["auth"]["accessToken"]["role"]
        == "read"
    )
    failed = subprocess.run(
        [*hubstead, "user", "create", "carol"], env=env, capture_output=True, text=True
    )
    assert failed.returncode == 2 and "already taken" in failed.stderr


@pytest.mark.parametrize("variable", ["HUBSTEAD_PASSWORD"])
def test_cli_options_have_environment_variables(hub, variable: str):
    env = {
        **os.environ,
        **{k: v for k, v in hub.server_env().items() if k.startswith("HUBSTEAD_")},
        variable: "s3cret-pass",
    }
    run([sys.executable, "-m", "hubstead", "user", "create", "dave"], env)
    help_text = run([sys.executable, "-m", "hubstead", "serve", "--help"], env).stdout
    for name in (
        "HUBSTEAD_DATA_DIR",
        "HUBSTEAD_DATABASE_URL",
        "HUBSTEAD_HOST",
        "HUBSTEAD_PORT",
        "HUBSTEAD_WORKERS",
    ):
        assert name in help_text
    assert sign_in_status(hub.endpoint, "dave", "s3cret-pass") == 303  # the password was set
    assert sign_in_status(hub.endpoint, "dave", "wrong-pass") == 401


def test_first_start_creates_an_admin_and_prints_its_token(tmp_path: Path):
    """`hubstead serve` on an empty data dir creates `admin` and prints a working token once."""
    import time

    import httpx

    from hubstead.testing import free_port

    port = free_port()
    env = {
        **os.environ,
        "HUBSTEAD_DATA_DIR": str(tmp_path / "data"),
        "HUBSTEAD_PORT": str(port),
        "HUBSTEAD_WORKERS": "1",
        "HUBSTEAD_QUIET": "1",
    }
    env.pop("HUBSTEAD_DATABASE_URL", None)
    log = tmp_path / "serve.log"

    def serve_once() -> str:
        with open(log, "w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "hubstead", "serve"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            for _ in range(100):
                try:
                    httpx.get(f"http://127.0.0.1:{port}/api/models", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            return log.read_text()
        finally:
            process.terminate()
            process.wait(timeout=15)

    first = serve_once()
    token = next(
        line.split()[-1] for line in first.splitlines() if line.strip().startswith("token:")
    )
    assert "login:    admin" in first and "password:" in first
    second_start = serve_once()
    assert "token:" not in second_start, "the bootstrap secret is printed only once"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "hubstead", "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(100):
            try:
                me = httpx.get(
                    f"http://127.0.0.1:{port}/api/whoami-v2",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=1,
                )
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert (
            me.status_code == 200 and me.json()["name"] == "admin" and me.json()["isAdmin"] is True
        )
    finally:
        process.terminate()
        process.wait(timeout=15)
