"""Card rendering and reindexing speed.

- Render time per card (p50/p95) over the test corpus of cards (tests/data/cards), math included.
- Reindex throughput: 1,000 repositories with a card, a config.json and a safetensors file,
  created through the service layer, then `reindex` of all of them (repos per second).

Usage: bench/run cards [--repos 1000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import struct
import tempfile
import time
from pathlib import Path

from hubstead.domain.cards import split_card
from hubstead.domain.commit_ops import AddFile, CommitHeader, CommitRequest
from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.hub import Hub
from hubstead.rendering import render_card_html
from hubstead.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CARDS = ROOT / "tests" / "data" / "cards"
MATH_CARD = """---
license: mit
language: en
pipeline_tag: text-classification
---
# Model

The objective is $$\\mathrm{MSE} = \\left(\\frac{1}{n}\\right)\\sum_{i=1}^{n}(y_{i} - x_{i})^{2}$$ and inline \\\\(E=mc^2\\\\).

| a | b |
|---|---|
| 1 | 2 |

```python
print("hello")
```
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def render_math_card() -> tuple[float, float]:
    """A card with display and inline math, a table and highlighted code, rendered 200 times."""
    body = split_card(MATH_CARD).body
    times = []
    for _ in range(200):
        start = time.perf_counter()
        render_card_html(body, resolve_prefix="/a/b/resolve/main/", blob_prefix="/a/b/blob/main/")
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), percentile(times, 0.95)


def render_times() -> tuple[int, float, float]:
    bodies = []
    for path in sorted(CARDS.glob("*.md")):
        try:
            bodies.append(split_card(path.read_text()).body)
        except ValueError:
            bodies.append(path.read_text())
    bodies.append(split_card(MATH_CARD).body)
    render_card_html(
        bodies[0], resolve_prefix="/a/b/resolve/main/", blob_prefix="/a/b/blob/main/"
    )  # warm the KaTeX worker
    times = []
    for _ in range(5):
        for body in bodies:
            start = time.perf_counter()
            render_card_html(
                body, resolve_prefix="/a/b/resolve/main/", blob_prefix="/a/b/blob/main/"
            )
            times.append((time.perf_counter() - start) * 1000)
    return len(bodies), statistics.median(times), percentile(times, 0.95)


def reindex_rate(count: int) -> tuple[float, float]:
    import os

    work = Path(tempfile.mkdtemp(prefix="hubstead-bench-cards-"))
    os.environ["HUBSTEAD_DATA_DIR"] = str(work)
    os.environ.pop("HUBSTEAD_DATABASE_URL", None)
    hub = Hub(Settings.from_env())
    hub.db.migrate()
    hub.accounts.create_user("bench")
    principal = hub.accounts.authenticate(hub.accounts.create_token("bench"))
    header = json.dumps(
        {"w": {"dtype": "F32", "shape": [64, 64], "data_offsets": [0, 16384]}}
    ).encode()
    weights = struct.pack("<Q", len(header)) + header + bytes(16384)
    config = json.dumps({"architectures": ["BertForMaskedLM"], "model_type": "bert"}).encode()
    start = time.perf_counter()
    for i in range(count):
        handle = hub.repos.create(
            principal, RepoType.MODEL, RepoId("bench", f"model-{i}"), private=False
        )
        card = MATH_CARD.replace("# Model", f"# Model {i}").encode()
        request = CommitRequest(
            CommitHeader("files"),
            [
                AddFile("README.md", card),
                AddFile("config.json", config),
                AddFile("weights.safetensors", weights),
            ],
        )
        hub.commits.commit(handle, principal, "main", request, create_pr=False)
    create_seconds = time.perf_counter() - start
    start = time.perf_counter()
    done = hub.cards.reindex()
    seconds = time.perf_counter() - start
    hub.db.dispose()
    shutil.rmtree(work, ignore_errors=True)
    return done / seconds, count / create_seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repos", type=int, default=1000)
    args = parser.parse_args()
    cards, p50, p95 = render_times()
    math_p50, math_p95 = render_math_card()
    rate, create_rate = reindex_rate(args.repos)
    print("\n| measurement | value |\n|---|---|")
    print(
        f"| card render, {cards} cards × 5 (KaTeX, Markdown, sanitizer): p50 / p95 | {p50:.2f} / {p95:.2f} ms |"
    )
    print(
        f"| the math card alone (2 formulas, table, code), 200 renders: p50 / p95 | {math_p50:.2f} / {math_p95:.2f} ms |"
    )
    print(
        f"| reindex of {args.repos} repositories (card, config, safetensors header, render) | {rate:.0f} repos/s |"
    )
    print(
        f"| for scale: creating them with a 3-file commit each (service layer, SQLite) | {create_rate:.0f} repos/s |"
    )


if __name__ == "__main__":
    main()
