"""Web pages at 100,000 repositories, on SQLite and on PostgreSQL, through `hubstead serve`.

Seeds the database with bench/seed_repos.py (rows and cards, no git repositories), starts
`hubstead serve` on it, creates a few real repositories through the API (huggingface_hub, as
alice: a README with a card, a config.json and a few files), then times (after a warm-up, 200
runs each, one keep-alive client, p50/p95) each page next to the JSON API call that reads the
same data, measured in the same run:

- `/models?pipeline_tag=text-classification&language=en` (over the seeded rows; after the first
  request its heading count comes from the server's 30-second cache), the same page with a
  different task and language each time (every count computed), vs
  `GET /api/models?filter=text-classification&filter=en&sort=trendingScore&limit=30`;
- a model page `/{namespace}/{name}` vs `GET /api/models/{namespace}/{name}`;
- a tree page `/{namespace}/{name}/tree/main` vs `GET /api/models/{namespace}/{name}/tree/main`.

The model and tree pages rotate over the created repositories.

Usage: bench/run pages [--count 100000] [--backends sqlite postgresql] [--runs 200]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

import httpx
from huggingface_hub import CommitOperationAdd, HfApi

sys.path.insert(0, str(Path(__file__).parent))
from hubstead.testing import LiveHub  # noqa: E402
from seed_repos import LANGUAGES, TASKS, seed  # noqa: E402

WORK = Path(__file__).parent / ".work" / "pages"
RUNS = 200
WARMUP = 20
REPOS = 5
LIST_PAGE = "/models?pipeline_tag=text-classification&language=en"
LIST_API = "/api/models?filter=text-classification&filter=en&sort=trendingScore&limit=30"
CARD = """---
license: apache-2.0
language:
- en
pipeline_tag: text-classification
library_name: transformers
tags:
- sentiment
datasets:
- org1/data-1
---
# {name}

A sentiment classifier fine-tuned from a small BERT on product reviews.

## Usage

```python
from transformers import pipeline

classifier = pipeline("text-classification", model="{repo_id}")
print(classifier("I love this!"))
```

## Training

| hyperparameter | value |
|---|---|
| learning rate | 2e-5 |
| batch size | 32 |
| epochs | 3 |

## Evaluation

Accuracy 0.93 on the held-out split.
"""
CONFIG = {
    "architectures": ["BertForSequenceClassification"],
    "model_type": "bert",
    "hidden_size": 768,
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "id2label": {"0": "NEGATIVE", "1": "POSITIVE"},
    "label2id": {"NEGATIVE": 0, "POSITIVE": 1},
}


def create_repos(hub: LiveHub) -> list[str]:
    """A few real repositories (git) with a card, a config.json and a few more files."""
    api = HfApi(endpoint=hub.endpoint, token=hub.tokens["alice"])
    ids = []
    for index in range(REPOS):
        repo_id = f"alice/bench-classifier-{index}"
        api.create_repo(repo_id)
        files = {
            "README.md": CARD.format(name=repo_id.split("/")[1], repo_id=repo_id),
            "config.json": json.dumps(CONFIG, indent=2),
            "tokenizer_config.json": json.dumps({"do_lower_case": True, "model_max_length": 512}),
            "vocab.txt": "\n".join(f"token{i}" for i in range(2000)),
            "training_args.json": json.dumps({"learning_rate": 2e-5, "epochs": 3}),
        }
        api.create_commit(
            repo_id,
            [CommitOperationAdd(path, content.encode()) for path, content in files.items()],
            commit_message="Add model files",
        )
        ids.append(repo_id)
    return ids


def fresh_pairs(count: int) -> list[str]:
    """`count` list pages, each with a (task, language) pair no other one uses, so none of them
    finds its heading count in the server's 30-second cache."""
    tasks = [task if isinstance(task, str) else task[0] for task in TASKS]
    languages = [lang if isinstance(lang, str) else lang[0] for lang in LANGUAGES]
    pairs = [(t, lang) for t in tasks for lang in languages][:count]
    if len(pairs) < count:
        raise RuntimeError(
            f"only {len(pairs)} distinct (task, language) pairs for {count} requests"
        )
    return [f"/models?pipeline_tag={t}&language={lang}" for t, lang in pairs]


def timings(
    client: httpx.Client, urls: list[str], runs: int, expect: str
) -> tuple[float, float, int]:
    """p50 and p95 in ms of `runs` GETs rotating over `urls`, after a warm-up; and a body size.
    Every warm-up answer must hold `expect` (the page shows what it should, not an error)."""
    for index in range(WARMUP):
        response = client.get(urls[index % len(urls)])
        response.raise_for_status()
        if expect not in response.text:
            raise RuntimeError(f"{urls[index % len(urls)]} does not show {expect!r}")
    times, size = [], 0
    for index in range(WARMUP, WARMUP + runs):  # past the warm-up's URLs when they rotate
        start = time.perf_counter()
        response = client.get(urls[index % len(urls)])
        times.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
        size = len(response.content)
    ordered = sorted(times)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))], size


def measure(backend: str, count: int, runs: int) -> list[tuple[str, float, float, str]]:
    shutil.rmtree(WORK, ignore_errors=True)
    seconds = {}
    hub = LiveHub(
        WORK / backend,
        backend=backend,
        prepare=lambda url: seconds.setdefault("seed", seed(url, count)),
    )
    hub.start()
    rows = []
    try:
        repos = create_repos(hub)
        with httpx.Client(base_url=hub.endpoint, timeout=60) as client:
            cases = [
                (f"list page `{LIST_PAGE}`", [LIST_PAGE], "/org"),
                (
                    "list page, a different task and language each time (each heading count computed)",
                    fresh_pairs(runs + WARMUP),
                    "data-total",
                ),
                (
                    "reference: `GET /api/models?filter=text-classification&filter=en`",
                    [LIST_API],
                    "org",
                ),
                ("model page `/{namespace}/{name}`", [f"/{r}" for r in repos], "Accuracy 0.93"),
                (
                    "reference: `GET /api/models/{namespace}/{name}`",
                    [f"/api/models/{r}" for r in repos],
                    "config.json",
                ),
                (
                    "tree page `/{namespace}/{name}/tree/main`",
                    [f"/{r}/tree/main" for r in repos],
                    "vocab.txt",
                ),
                (
                    "reference: `GET /api/models/{namespace}/{name}/tree/main`",
                    [f"/api/models/{r}/tree/main" for r in repos],
                    "vocab.txt",
                ),
            ]
            for label, urls, expect in cases:
                p50, p95, size = timings(client, urls, runs, expect)
                rows.append((label, p50, p95, f"{size / 1024:.0f} KiB"))
    finally:
        hub.stop()
        shutil.rmtree(WORK, ignore_errors=True)
    rows.append((f"seeding {count} repositories", seconds["seed"] * 1000, float("nan"), ""))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args()
    for backend in args.backends:
        rows = measure(backend, args.count, args.runs)
        print(
            f"\n{backend}, {args.count} repositories, HTTP through `hubstead serve`, "
            f"{args.runs} runs each after {WARMUP} warm-up requests\n"
        )
        print("| request | p50 | p95 | body |")
        print("|---|---|---|---|")
        for label, p50, p95, note in rows:
            if label.startswith("seeding"):
                print(f"| {label} | {p50 / 1000:.0f} s | | |")
            else:
                print(f"| {label} | {p50:.1f} ms | {p95:.1f} ms | {note} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
