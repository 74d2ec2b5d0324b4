"""Model cards against a live hub: real clients write cards, the hub validates them, derives tags,
pipeline and fields, and renders the card."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import BadRequestError, HfHubHTTPError

CARD = """---
license: apache-2.0
language:
- en
- fr
datasets:
- acme/reviews
tags:
- sentiment
base_model: google-bert/bert-base-uncased
---
# Tiny sentiment model

Trained on reviews, see [the paper](https://arxiv.org/abs/1810.04805).

The loss is $$\\mathcal{L} = -\\sum_i y_i \\log p_i$$ and costs $5 and $10 to compute.

| metric | value |
|---|---|
| accuracy | 0.91 |

![diagram](images/arch.png)
"""


def safetensors_file(tensors: dict[str, tuple[str, list[int]]]) -> bytes:
    """A valid safetensors file (zeros) with the given dtypes and shapes."""
    sizes = {"F32": 4, "F16": 2, "I64": 8}
    header, offset = {}, 0
    for name, (dtype, shape) in tensors.items():
        count = 1
        for dim in shape:
            count *= dim
        header[name] = {
            "dtype": dtype,
            "shape": shape,
            "data_offsets": [offset, offset + count * sizes[dtype]],
        }
        offset += count * sizes[dtype]
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + bytes(offset)


@pytest.fixture(scope="module")
def model_repo(api: HfApi) -> str:
    repo_id = api.create_repo("card-model").repo_id
    api.upload_file(
        path_or_fileobj=json.dumps(
            {"architectures": ["BertForSequenceClassification"], "model_type": "bert"}
        ).encode(),
        path_in_repo="config.json",
        repo_id=repo_id,
    )
    api.upload_file(
        path_or_fileobj=safetensors_file(
            {"embeddings": ("F32", [100, 32]), "head": ("F16", [32, 2])}
        ),
        path_in_repo="model.safetensors",
        repo_id=repo_id,
    )
    api.upload_file(path_or_fileobj=CARD.encode(), path_in_repo="README.md", repo_id=repo_id)
    return repo_id


def test_model_info_carries_derived_fields(api: HfApi, model_repo: str):
    info = api.model_info(model_repo)
    assert info.pipeline_tag == "text-classification"
    assert info.library_name == "transformers"
    for tag in (
        "transformers",
        "safetensors",
        "bert",
        "text-classification",
        "sentiment",
        "en",
        "fr",
        "dataset:acme/reviews",
        "arxiv:1810.04805",
        "license:apache-2.0",
    ):
        assert tag in info.tags, (tag, info.tags)
    assert any(t.startswith("base_model:") for t in info.tags)
    assert info.card_data.license == "apache-2.0" and info.card_data.language == ["en", "fr"]
    assert (
        info.safetensors.parameters == {"F32": 3200, "F16": 64} and info.safetensors.total == 3264
    )
    assert info.transformers_info.auto_model == "AutoModelForSequenceClassification"
    assert info.config["model_type"] == "bert"
    listed = next(m for m in api.list_models(author="alice", full=True) if m.id == model_repo)
    assert listed.pipeline_tag == "text-classification" and "sentiment" in listed.tags


def test_model_card_round_trip_and_metadata_update(hub, model_repo: str, tmp_path: Path):
    """ModelCard.load / push_to_hub / metadata_update, in a process with HF_ENDPOINT set."""
    env = {
        **os.environ,
        "HF_ENDPOINT": hub.endpoint,
        "HF_TOKEN": hub.tokens["alice"],
        "HF_HOME": str(tmp_path),
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    }
    script = Path(__file__).parent / "clients" / "card_roundtrip.py"
    result = subprocess.run(
        [sys.executable, str(script), model_repo, CARD],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "loaded_license": "apache-2.0",
        "loaded_text_has_title": True,
        "updated_pipeline_tag": "zero-shot-classification",
        "updated_card_tags": ["sentiment", "reviews"],
        "reviews_in_tags": True,
        "template_license": "mit",
    }


def test_invalid_metadata_is_refused(api: HfApi, model_repo: str, endpoint: str, hub):
    head = api.model_info(model_repo).sha
    bad = "---\nlicense: not-a-license\nlanguage: english-ish\n---\n# x\n"
    with pytest.raises((ValueError, BadRequestError, HfHubHTTPError)):
        api.upload_file(path_or_fileobj=bad.encode(), path_in_repo="README.md", repo_id=model_repo)
    body = (
        json.dumps({"key": "header", "value": {"summary": "bad card"}})
        + "\n"
        + json.dumps(
            {"key": "file", "value": {"path": "README.md", "content": bad, "encoding": "utf-8"}}
        )
        + "\n"
    )
    response = httpx.post(
        f"{endpoint}/api/models/{model_repo}/commit/main",
        content=body,
        headers={
            "Authorization": f"Bearer {hub.tokens['alice']}",
            "Content-Type": "application/x-ndjson",
        },
    )
    assert response.status_code == 400 and "license" in response.json()["error"]
    assert api.model_info(model_repo).sha == head
    check = httpx.post(f"{endpoint}/api/validate-yaml", json={"content": bad, "repoType": "model"})
    assert check.status_code == 400 and any(
        "license" in e["message"] for e in check.json()["errors"]
    )


def test_git_push_with_invalid_metadata_is_refused(api: HfApi, hub, tmp_path: Path):
    repo_id = api.create_repo("card-push").repo_id
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "A",
        "GIT_AUTHOR_EMAIL": "a@x",
        "GIT_COMMITTER_NAME": "A",
        "GIT_COMMITTER_EMAIL": "a@x",
    }
    url = f"http://alice:{hub.tokens['alice']}@{hub.endpoint.removeprefix('http://')}/{repo_id}"
    work = tmp_path / "work"
    subprocess.run(["git", "clone", url, str(work)], env=env, check=True, capture_output=True)
    (work / "README.md").write_text("---\nlicense: made-up\n---\n# hi\n")
    subprocess.run(["git", "add", "."], cwd=work, env=env, check=True)
    subprocess.run(
        ["git", "commit", "-m", "bad card"], cwd=work, env=env, check=True, capture_output=True
    )
    push = subprocess.run(
        ["git", "push", "origin", "main"], cwd=work, env=env, capture_output=True, text=True
    )
    assert push.returncode != 0 and "license" in push.stderr
    assert api.list_repo_files(repo_id) == [".gitattributes"]
    (work / "README.md").write_text("---\nlicense: mit\n---\n# hi\n")
    subprocess.run(
        ["git", "commit", "-am", "good card"], cwd=work, env=env, check=True, capture_output=True
    )
    subprocess.run(
        ["git", "push", "origin", "main"], cwd=work, env=env, check=True, capture_output=True
    )
    assert "license:mit" in api.model_info(repo_id).tags


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def test_repository_page_shows_the_rendered_card(model_repo: str, endpoint: str):
    page = httpx.get(f"{endpoint}/{model_repo}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert 'class="katex' in html and "$$" not in html
    assert "$5 and $10" in html
    assert "text-classification" in html and "license:apache-2.0" in html
    parser = _Elements()
    parser.feed(html)
    images = [attrs.get("src") for tag, attrs in parser.found if tag == "img"]
    assert f"/{model_repo}/resolve/main/images/arch.png" in images
    assert "<table" in html
    css = httpx.get(f"{endpoint}/-/static/katex/katex.min.css")
    assert css.status_code == 200 and ".katex" in css.text
    escape_attempt = httpx.get(f"{endpoint}/-/static/katex/%2e%2e/%2e%2e/package.json")
    assert escape_attempt.status_code == 404 and "katex" not in escape_attempt.text


def test_reindex_cli(hub, api: HfApi, model_repo: str):
    env = {**os.environ, **{k: v for k, v in hub.server_env().items() if k.startswith("HUBSTEAD_")}}
    one = subprocess.run(
        [sys.executable, "-m", "hubstead", "reindex", model_repo],
        env=env,
        capture_output=True,
        text=True,
    )
    assert one.returncode == 0 and "reindexed 1 repositories" in one.stdout, one.stderr
    everything = subprocess.run(
        [sys.executable, "-m", "hubstead", "reindex"], env=env, capture_output=True, text=True
    )
    assert (
        everything.returncode == 0
        and "reindexed" in everything.stdout
        and "tag counters" in everything.stdout
    )
    missing = subprocess.run(
        [sys.executable, "-m", "hubstead", "reindex", "alice/nope"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2
    assert api.model_info(model_repo).pipeline_tag == "text-classification"
