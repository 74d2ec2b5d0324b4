"""Cards with `model-index` and `.eval_results/*.yaml` files, read back by the real clients.

huggingface_hub parses `evalResults` as the Hub's eval-results entries (`dataset.id`,
`dataset.task_id`, `value`), so a hub that sends anything else there breaks `model_info`,
every listing that contains the repository, `snapshot_download` and `hf download`. These tests
upload real-world-shaped cards and read them through every one of those paths.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml
from huggingface_hub import HfApi, snapshot_download

from helpers import BIN, client_env, run

TRAINER_CARD = """---
license: apache-2.0
base_model: google-bert/bert-base-uncased
tags:
- generated_from_trainer
datasets:
- glue
metrics:
- accuracy
- f1
model-index:
- name: bert-finetuned-mrpc
  results:
  - task:
      name: Text Classification
      type: text-classification
    dataset:
      name: glue
      type: glue
      config: mrpc
      split: validation
      args: mrpc
    metrics:
    - name: Accuracy
      type: accuracy
      value: 0.8602941176470589
    - name: F1
      type: f1
      value: 0.9042016806722689
---

# bert-finetuned-mrpc

This model was trained from scratch on the glue dataset.
"""

# several results, a source, verified metrics, dataset revision, no optional task name
MULTI_RESULT_CARD = """---
license: mit
language: en
model-index:
- name: tiny-asr
  results:
  - task:
      type: automatic-speech-recognition
    dataset:
      name: LibriSpeech (clean)
      type: librispeech_asr
      config: clean
      split: test
      revision: 2a4a4e3b8b0b7b9b3d3d0f5b0d6c2a1e6f0b4c1d
      args:
        language: en
    metrics:
    - type: wer
      value: 4.3
      name: Test WER
      verified: true
      verifyToken: eyJhbGciOiJFZERTQSJ9.eyJoYXNoIjoiYWJjIn0.c2lnbmF0dXJl
  - task:
      type: automatic-speech-recognition
      name: Speech Recognition
    dataset:
      name: LibriSpeech (other)
      type: librispeech_asr
      config: other
      split: test
    metrics:
    - type: wer
      value: 9.1
    source:
      name: Open ASR Leaderboard
      url: https://example.org/leaderboard
---
Speech.
"""

# the smallest valid block: only the required keys
MINIMAL_CARD = """---
model-index:
- name: minimal
  results:
  - task:
      type: text-generation
    dataset:
      type: wikitext
      name: WikiText
    metrics:
    - type: perplexity
      value: 21.5
---
"""

CARDS = {"trainer": TRAINER_CARD, "multi": MULTI_RESULT_CARD, "minimal": MINIMAL_CARD}

EVAL_RESULTS_FILE = [
    {
        "dataset": {
            "id": "cais/hle",
            "task_id": "default",
            "revision": "5503434ddd753f426f4b38109466949a1217c2bb",
        },
        "value": 20.9,
        "date": "2025-01-15T10:30:00Z",
        "source": {"url": "https://example.org/hle", "name": "HLE logs", "org": "cais"},
        "notes": "no-tools",
    },
    {"dataset": {"id": "Idavidrein/gpqa", "task_id": "gpqa_diamond"}, "value": 0.412},
]


@pytest.fixture(scope="module")
def eval_repos(api: HfApi) -> dict[str, str]:
    repos = {}
    for name, card in CARDS.items():
        repo_id = api.create_repo(f"eval-{name}").repo_id
        api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo_id)
        api.upload_file(
            path_or_fileobj=b'{"model_type": "bert", "architectures": ["BertForSequenceClassification"]}',
            path_in_repo="config.json",
            repo_id=repo_id,
        )
        repos[name] = repo_id
    with_files = api.create_repo("eval-files").repo_id
    api.upload_file(
        path_or_fileobj=TRAINER_CARD.encode(), path_in_repo="README.md", repo_id=with_files
    )
    api.upload_file(
        path_or_fileobj=yaml.safe_dump(EVAL_RESULTS_FILE).encode(),
        path_in_repo=".eval_results/hle.yaml",
        repo_id=with_files,
    )
    api.upload_file(
        path_or_fileobj=b"- dataset: {id: x}\n  value: 1\n",
        path_in_repo=".eval_results/broken.yaml",
        repo_id=with_files,
    )
    repos["files"] = with_files
    return repos


def _model_index(card: str) -> list:
    return yaml.safe_load(card.split("---")[1])["model-index"]


@pytest.mark.parametrize("name", sorted(CARDS))
def test_model_info_serves_model_index_where_the_hub_does(api: HfApi, eval_repos, name: str):
    info = api.model_info(eval_repos[name])
    assert info.model_index == _model_index(CARDS[name])
    assert info.card_data.to_dict()["model-index"] == _model_index(CARDS[name])
    assert info.eval_results is None  # no .eval_results files in these repositories
    assert "model-index" in info.tags
    # the client's own legacy parser reads the card's results back
    flat = info.card_data.eval_results
    metrics = [
        m for model in _model_index(CARDS[name]) for r in model["results"] for m in r["metrics"]
    ]
    assert [(r.metric_type, r.metric_value) for r in flat] == [
        (m["type"], m["value"]) for m in metrics
    ]


def test_model_index_details_survive_the_round_trip(api: HfApi, eval_repos):
    results = api.model_info(eval_repos["multi"]).card_data.eval_results
    first, second = results
    assert first.dataset_revision == "2a4a4e3b8b0b7b9b3d3d0f5b0d6c2a1e6f0b4c1d"
    assert first.dataset_config == "clean" and first.dataset_split == "test"
    assert first.dataset_args == {"language": "en"}
    assert first.verified is True and first.verify_token.startswith("eyJ")
    assert (
        second.source_name == "Open ASR Leaderboard"
        and second.source_url == "https://example.org/leaderboard"
    )
    assert second.task_name == "Speech Recognition" and second.verified is None


def test_eval_results_files_are_parsed_by_the_client(api: HfApi, eval_repos):
    info = api.model_info(eval_repos["files"], expand=["evalResults"])
    entries = info.eval_results
    assert [(e.dataset_id, e.task_id, e.value) for e in entries] == [
        ("cais/hle", "default", 20.9),
        ("Idavidrein/gpqa", "gpqa_diamond", 0.412),
    ]
    assert entries[0].dataset_revision == "5503434ddd753f426f4b38109466949a1217c2bb"
    assert entries[0].source_url == "https://example.org/hle" and entries[0].source_org == "cais"
    assert entries[0].notes == "no-tools" and entries[0].date == "2025-01-15T10:30:00Z"
    # the broken file is reported as an error item, which the client skips
    raw = httpx.get(f"{api.endpoint}/api/models/{eval_repos['files']}?expand=evalResults").json()[
        "evalResults"
    ]
    errors = [item for item in raw if "error" in item]
    assert [item["filename"] for item in errors] == [".eval_results/broken.yaml"]
    assert "task_id" in errors[0]["error"]
    # the plain info carries them too, and the card's model-index is still separate
    full = api.model_info(eval_repos["files"])
    assert len(full.eval_results) == 2 and full.model_index == _model_index(TRAINER_CARD)


def test_every_listing_parses_with_model_index_repositories(api: HfApi, eval_repos):
    ids = set(eval_repos.values())
    for kwargs in (
        {},
        {"full": True},
        {"cardData": True},
        {"fetch_config": True},
        {"expand": ["evalResults", "model-index", "cardData"]},
    ):
        listed = {m.id: m for m in api.list_models(author="alice", **kwargs)}
        assert ids <= set(listed), kwargs
    full = {m.id: m for m in api.list_models(author="alice", full=True)}
    assert {s.rfilename for s in full[eval_repos["files"]].siblings} == {
        ".gitattributes",
        "README.md",
        ".eval_results/hle.yaml",
        ".eval_results/broken.yaml",
    }
    assert full[eval_repos["trainer"]].model_index == _model_index(TRAINER_CARD)
    expanded = {m.id: m for m in api.list_models(author="alice", expand=["evalResults"])}
    assert [e.dataset_id for e in expanded[eval_repos["files"]].eval_results] == [
        "cais/hle",
        "Idavidrein/gpqa",
    ]


def test_default_listing_carries_only_the_hubs_default_fields(endpoint: str, eval_repos):
    items = httpx.get(f"{endpoint}/api/models", params={"author": "alice"}).json()
    assert items
    allowed = {
        "_id",
        "id",
        "likes",
        "trendingScore",
        "private",
        "downloads",
        "tags",
        "pipeline_tag",
        "library_name",
        "createdAt",
        "modelId",
    }
    for item in items:
        assert set(item) <= allowed, set(item) - allowed
    trainer = next(item for item in items if item["id"] == eval_repos["trainer"])
    assert trainer["pipeline_tag"] == "text-classification" and "model-index" in trainer["tags"]
    with_card = httpx.get(
        f"{endpoint}/api/models", params={"author": "alice", "cardData": "true"}
    ).json()
    assert next(i for i in with_card if i["id"] == eval_repos["trainer"])["cardData"]["model-index"]


def test_trainer_card_scenario_downloads(api: HfApi, eval_repos, hub, tmp_path: Path):
    """Upload a Trainer-style card, then model_info, list_models, snapshot_download, hf download."""
    repo_id = eval_repos["trainer"]
    assert api.model_info(repo_id).model_index[0]["name"] == "bert-finetuned-mrpc"
    assert repo_id in {m.id for m in api.list_models()}
    folder = Path(
        snapshot_download(
            repo_id, endpoint=hub.endpoint, cache_dir=tmp_path / "cache", token=hub.tokens["alice"]
        )
    )
    assert (folder / "README.md").read_text() == TRAINER_CARD
    env = client_env(hub, hub.tokens["alice"], tmp_path / "home")
    target = tmp_path / "cli"
    run([str(BIN / "hf"), "download", repo_id, "--local-dir", str(target)], env)
    assert (target / "README.md").read_text() == TRAINER_CARD
    info = run([str(BIN / "hf"), "models", "info", repo_id], env).stdout
    assert json.loads(info)["id"] == repo_id
    listed = run(
        [str(BIN / "hf"), "models", "ls", "--author", "alice", "--limit", "50", "--format", "json"],
        env,
    ).stdout
    assert repo_id in {item["id"] for item in json.loads(listed)}
    files = run([str(BIN / "hf"), "models", "ls", repo_id, "--format", "json"], env).stdout
    assert "README.md" in files


def test_hf_models_info_reads_eval_results_files(api: HfApi, eval_repos, hub, tmp_path: Path):
    env = client_env(hub, hub.tokens["alice"], tmp_path / "home")
    result = subprocess.run(
        [str(BIN / "hf"), "models", "info", eval_repos["files"], "--expand", "evalResults"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [e["dataset_id"] for e in data["eval_results"]] == ["cais/hle", "Idavidrein/gpqa"]


def test_eval_results_domain_rules():
    from hubstead.domain.tags.eval_results import (
        is_eval_results_file,
        is_wire_item,
        parse_eval_results_file,
    )

    assert is_eval_results_file(".eval_results/a.yaml") and is_eval_results_file(
        ".eval_results/b.yml"
    )
    assert not is_eval_results_file(".eval_results/sub/a.yaml") and not is_eval_results_file(
        "eval_results/a.yaml"
    )
    items = parse_eval_results_file("f.yaml", yaml.safe_dump(EVAL_RESULTS_FILE))
    assert [i["data"]["value"] for i in items] == [20.9, 0.412] and all(
        is_wire_item(i) for i in items
    )
    assert (
        parse_eval_results_file("g.yaml", "dataset: {id: a, task_id: b}\nvalue: 3\n")[0]["data"][
            "value"
        ]
        == 3
    )
    for bad in (
        "- value: 1",
        "- dataset: {id: a, task_id: b}",
        ": : :",
        "- dataset: {id: a, task_id: b}\n  value: 1\n  source: x",
    ):
        (item,) = parse_eval_results_file("bad.yaml", bad)
        assert set(item) == {"filename", "error"}, bad
    # rows flattened from model-index by earlier versions are never sent as evalResults
    assert not is_wire_item({"model_name": "m", "metric_type": "accuracy", "metric_value": 0.9})
