"""One set of inference workers for every web process (issue 12): `hubstead serve` with two
web processes starts one inference host, so a model loaded through one web process is warm in
the other, and the host's socket is its user's alone."""

from __future__ import annotations

import stat

import httpx
from huggingface_hub import HfApi

import tiny_models

HUB_ENV = {"HUBSTEAD_WORKERS": "2"}


def test_a_model_loaded_once_is_warm_in_every_web_process(api: HfApi, endpoint, hub, tmp_path):
    folder = tiny_models.build("text-classification", tmp_path / "m")
    repo_id = api.create_repo("shared").repo_id
    api.upload_folder(folder_path=str(folder), repo_id=repo_id)
    url = f"{endpoint}/models/{repo_id}"
    loaded = httpx.post(
        url, json={"inputs": "hi"}, headers={"X-Wait-For-Model": "true"}, timeout=120
    )
    assert loaded.status_code == 200, loaded.text
    # a new connection each time: the kernel spreads them over both web processes, and a web
    # process with workers of its own would answer 503 (loading) for a model it never loaded
    codes = [httpx.post(url, json={"inputs": "hi"}, timeout=60).status_code for _ in range(16)]
    assert codes == [200] * 16
    sockets = list((hub.data_dir / "run").glob("inference-*.sock"))
    assert len(sockets) == 1
    mode = sockets[0].stat().st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) & 0o077 == 0
