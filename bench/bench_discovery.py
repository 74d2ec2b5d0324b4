"""Discovery at 100,000 repositories, on SQLite and on PostgreSQL, through the HTTP API.

Seeds the database with bench/seed_repos.py, starts `hubstead serve` on it, then times (50 runs
each, one keep-alive client, p50/p95): lists with common and with rare tag filters, the `apps`
and `num_parameters` filters, full-text search, facet counts (anonymous and signed in; nothing is
cached), and the first and the 40th page of a sorted listing.

Usage: bench/run discovery [--count 100000] [--backends sqlite postgresql]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from hubstead.testing import LiveHub  # noqa: E402
from seed_repos import seed  # noqa: E402

WORK = Path(__file__).parent / ".work-discovery"
RUNS = 50


# (row label, request, as a signed-in user?)
LISTINGS = [
    (
        "list, 2 tag filters, sort=downloads, limit=50",
        "/api/models?filter=transformers&filter=en&sort=downloads&limit=50",
        False,
    ),
    (
        "list, 2 rare tag filters, sort=downloads, limit=50",
        "/api/models?filter=medical&filter=license:mit&sort=downloads&limit=50",
        False,
    ),
    (
        "list, 1 rare tag filter, sort=likes, limit=50",
        "/api/models?filter=chemistry&sort=likes&limit=50",
        False,
    ),
    (
        "list, apps=llama.cpp,drawthings, sort=downloads, limit=50",
        "/api/models?apps=llama.cpp,drawthings&sort=downloads&limit=50",
        False,
    ),
    (
        "list, text-generation + num_parameters=min:1B,max:10B, limit=50",
        "/api/models?filter=text-generation&num_parameters=min:1B,max:10B&sort=downloads&limit=50",
        False,
    ),
    (
        "full-text search, 2 words, limit 20",
        "/api/search/full-text?q=medical%20translation&type=model&limit=20",
        False,
    ),
    ("facet counts (models-tags-by-type), anonymous", "/api/models-tags-by-type", False),
    ("facet counts, signed in (adds the caller's private repos)", "/api/models-tags-by-type", True),
]


def _size(body: object) -> str:
    """What an answer held: items of a list, search hits, or tags across facets."""
    if isinstance(body, list):
        return f"{len(body)} items"
    if "numHits" in body:
        return f"{body['numHits']} hits"
    return f"{sum(len(v) for v in body.values())} tags"


def timings(
    client: httpx.Client, url: str, runs: int = RUNS
) -> tuple[float, float, httpx.Response]:
    times, response = [], None
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
    ordered = sorted(times)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))], response


def measure(backend: str, count: int) -> list[tuple[str, float, float, str]]:
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
        with httpx.Client(base_url=hub.endpoint, timeout=60) as client:
            for label, url, signed_in in LISTINGS:
                client.headers.pop("Authorization", None)
                if signed_in:
                    client.headers["Authorization"] = f"Bearer {hub.tokens['alice']}"
                p50, p95, response = timings(client, url)
                rows.append((label, p50, p95, _size(response.json())))
            client.headers.pop("Authorization", None)
            first = "/api/models?sort=downloads&limit=50"
            p50, p95, response = timings(client, first)
            rows.append(("first page, sort=downloads, limit=50", p50, p95, ""))
            url = first
            for _ in range(39):
                url = client.get(url).links["next"]["url"]
            p50, p95, response = timings(client, url)
            rows.append(
                (
                    "40th page (cursor), sort=downloads, limit=50",
                    p50,
                    p95,
                    f"first id {response.json()[0]['id']}",
                )
            )
    finally:
        hub.stop()
        shutil.rmtree(WORK, ignore_errors=True)
    rows.append((f"seeding {count} repositories", seconds["seed"] * 1000, float("nan"), ""))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    for backend in args.backends:
        rows = measure(backend, args.count)
        print(
            f"\n{backend}, {args.count} repositories, HTTP through `hubstead serve`, {RUNS} runs each\n"
        )
        print("| request | p50 | p95 | |")
        print("|---|---|---|---|")
        for label, p50, p95, note in rows:
            if label.startswith("seeding"):
                print(f"| {label} | {p50 / 1000:.0f} s | | |")
            else:
                print(f"| {label} | {p50:.1f} ms | {p95:.1f} ms | {note} |")


if __name__ == "__main__":
    main()
