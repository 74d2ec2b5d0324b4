"""Discovery at scale (100,000 or 1,000,000 repositories), on SQLite and PostgreSQL, over HTTP.

Seeds the database with bench/seed_repos.py, starts `hubstead serve` on it, then times (after a
few untimed warm-up requests; one keep-alive client; p50/p95/p99 and requests/s): lists with
common and with rare tag filters under each sort the Hub's clients send (downloads, likes,
lastModified, trendingScore, none), the `search`, `apps` and `num_parameters` filters,
full-text search, facet counts (anonymous and signed in; nothing is cached), and the first and
the 40th page of a sorted listing.

With `--repos` above `--reference` (100,000), every row is measured at both sizes in the same
run, and the table gives the ratio of the p95s. On PostgreSQL, the seeded databases are kept
(`hubstead_bench_<count>_v<seed version>`) and reused by the next run; `--reseed` seeds them
again. The rows slower than `--explain-over` ms (p95) get PostgreSQL's EXPLAIN ANALYZE of the
page query the discovery service builds for them.

Usage: bench/run discovery [--repos 1000000] [--backends sqlite postgresql] [--runs 100]
       [--apart] [--only TEXT]
"""

from __future__ import annotations

import argparse
import atexit
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from starlette.datastructures import QueryParams

sys.path.insert(0, str(Path(__file__).parent))
from hubstead.testing import LiveHub, free_port  # noqa: E402
from seed_repos import kept_database, seed  # noqa: E402

WORK = Path(__file__).parent / ".work-discovery"
WARMUP = 5

COMMON = "filter=pytorch&filter=text-classification"
# (row label, request, as a signed-in user?)
LISTINGS = [
    (
        "2 common tags (pytorch, text-classification), sort=downloads",
        f"/api/models?{COMMON}&sort=downloads&limit=50",
        False,
    ),
    ("2 common tags, sort=likes", f"/api/models?{COMMON}&sort=likes&limit=50", False),
    ("2 common tags, sort=lastModified", f"/api/models?{COMMON}&sort=lastModified&limit=50", False),
    (
        "2 common tags, sort=trendingScore",
        f"/api/models?{COMMON}&sort=trendingScore&limit=50",
        False,
    ),
    ("2 common tags, no sort (id order)", f"/api/models?{COMMON}&limit=50", False),
    (
        "2 common tags (transformers, en), sort=downloads",
        "/api/models?filter=transformers&filter=en&sort=downloads&limit=50",
        False,
    ),
    (
        "2 common tags + search=bert, sort=downloads",
        f"/api/models?{COMMON}&search=bert&sort=downloads&limit=50",
        False,
    ),
    ("search=bert, sort=downloads", "/api/models?search=bert&sort=downloads&limit=50", False),
    (
        "2 rare tags (medical, license:mit), sort=downloads",
        "/api/models?filter=medical&filter=license:mit&sort=downloads&limit=50",
        False,
    ),
    (
        "1 rare tag (chemistry), sort=likes",
        "/api/models?filter=chemistry&sort=likes&limit=50",
        False,
    ),
    (
        "apps=llama.cpp,drawthings, sort=downloads",
        "/api/models?apps=llama.cpp,drawthings&sort=downloads&limit=50",
        False,
    ),
    (
        "text-generation + num_parameters=min:1B,max:10B",
        "/api/models?filter=text-generation&num_parameters=min:1B,max:10B&sort=downloads&limit=50",
        False,
    ),
    ("no filter, sort=downloads", "/api/models?sort=downloads&limit=50", False),
    ("no filter, no sort (id order)", "/api/models?limit=50", False),
    (
        "full-text search, 2 words, limit 20",
        "/api/search/full-text?q=medical%20translation&type=model&limit=20",
        False,
    ),
    ("facet counts (models-tags-by-type), anonymous", "/api/models-tags-by-type", False),
    ("facet counts, signed in (adds the caller's private repos)", "/api/models-tags-by-type", True),
]
DEEP = ("40th page (cursor), sort=downloads", "/api/models?sort=downloads&limit=50", 39)
DEEP_TAGS = ("10th page (cursor), 2 common tags, sort=downloads", LISTINGS[0][1], 9)


@dataclass
class Row:
    label: str
    url: str  # the request timed (a cursor page's own URL)
    p50: float
    p95: float
    p99: float
    per_second: float
    note: str = ""


# `hubstead serve` without its start-up reconciliation of every repository against git: the
# seeded rows have no git repositories by design (listings read only the database), so it would
# report each of them missing, a million log lines before the first request
SERVE = (
    "import hubstead.cli as cli; cli._reconcile = lambda *args, **kwargs: None; cli.main(['serve'])"
)


class BenchHub(LiveHub):
    """`hubstead serve` (see SERVE) on a seeded database: a kept PostgreSQL database that
    outlives it (`database_url`; its account is created on the first run, a token added on
    each), or a fresh SQLite one filled by `prepare`."""

    def __init__(self, data_dir: Path, database_url: str | None = None, prepare=None):
        # No job process: on start it runs the day's periodic jobs (a facet recount, gc, the
        # counter rollup over every repository), which at 1,000,000 repositories loaded the
        # database during the first rows measured (their p99 was 170-180 ms)
        env = {"HUBSTEAD_JOBS": "0"}
        if database_url:
            env["HUBSTEAD_DATABASE_URL"] = database_url
        super().__init__(data_dir, env=env, prepare=prepare)
        self.kept_url = database_url

    @property
    def database_url(self) -> str:
        return self.kept_url or super().database_url

    def start(self) -> BenchHub:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self._seed_accounts()
        if self.prepare is not None:
            self.prepare(self.database_url)
        with open(self.data_dir / "server.log", "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", SERVE],
                env=self.server_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        atexit.register(self.stop)
        self._wait_ready(timeout=300)
        return self

    def _seed_accounts(self) -> None:
        hub = self.open_hub()
        accounts = hub.accounts
        if accounts.account("alice") is None:
            accounts.create_user("alice", email="alice@example.com", password="alice-password")
            accounts.create_org("acme", [("alice", "admin")])
        self.tokens = {"alice": accounts.create_token("alice", "write", f"bench-{time.time()}")}
        hub.db.dispose()


def _size(body: object) -> str:
    """What an answer held: items of a list, search hits, or tags across facets."""
    if isinstance(body, list):
        return f"{len(body)} items"
    if "numHits" in body:
        return f"{body['numHits']} hits"
    return f"{sum(len(v) for v in body.values())} tags"


CHUNK = 10  # requests to one server before turning to the other


def interleaved(
    clients: list[httpx.Client], urls: list[str], runs: int, headers: dict
) -> list[tuple[float, float, float, float, httpx.Response]]:
    """p50, p95, p99 (ms), requests/s (one client, one request at a time) and the last answer
    of `runs` requests to each server, after a warm-up: the servers take turns every CHUNK
    requests, so that a busy moment of the machine falls on both sizes alike."""
    times: list[list[float]] = [[] for _ in clients]
    last: list[httpx.Response] = []
    for client, url in zip(clients, urls):
        for _ in range(WARMUP):
            client.get(url, headers=headers).raise_for_status()
        last.append(client.get(url, headers=headers))
    while len(times[0]) < runs:
        for index, (client, url) in enumerate(zip(clients, urls)):
            for _ in range(min(CHUNK, runs - len(times[index]))):
                start = time.perf_counter()
                response = client.get(url, headers=headers)
                times[index].append((time.perf_counter() - start) * 1000)
                response.raise_for_status()
                last[index] = response
    results = []
    for measured, response in zip(times, last):
        ordered = sorted(measured)

        def at(q: float, ordered: list[float] = ordered) -> float:
            return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

        results.append(
            (
                statistics.median(ordered),
                at(0.95),
                at(0.99),
                1000 * len(ordered) / sum(ordered),
                response,
            )
        )
    return results


def _relative(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[-1].join(["/", ""])


def _page(client: httpx.Client, first: str, pages: int) -> str:
    """The URL of the page `pages` cursor steps after `first` (or the last one there is)."""
    url = first
    for _ in range(pages):
        following = client.get(url).links.get("next")
        if following is None:  # (a small seed has fewer pages)
            break
        url = _relative(following["url"])
    return url


def measure_on(hubs: list[BenchHub], runs: int) -> list[list[Row]]:
    """Every row on every hub (the hubs' rows, in the order of `hubs`)."""
    rows: list[list[Row]] = [[] for _ in hubs]
    clients = [httpx.Client(base_url=hub.endpoint, timeout=120) for hub in hubs]
    try:
        for label, url, signed_in in LISTINGS:
            results = _each(clients, hubs, [url] * len(hubs), runs, signed_in)
            for hub_rows, (p50, p95, p99, rate, response) in zip(rows, results):
                hub_rows.append(Row(label, url, p50, p95, p99, rate, _size(response.json())))
        for label, first, pages in (DEEP, DEEP_TAGS):
            urls = [_page(client, first, pages) for client in clients]
            for hub_rows, url, result in zip(rows, urls, _each(clients, hubs, urls, runs, False)):
                p50, p95, p99, rate, response = result
                note = f"first id {response.json()[0]['id']}"
                hub_rows.append(Row(label, url, p50, p95, p99, rate, note))
    finally:
        for client in clients:
            client.close()
    return rows


def _each(clients, hubs, urls, runs, signed_in: bool):
    """`interleaved`, each server asked with its own token when signed in."""
    for client, hub in zip(clients, hubs):
        client.headers.pop("Authorization", None)
        if signed_in:
            client.headers["Authorization"] = f"Bearer {hub.tokens['alice']}"
    try:
        return interleaved(clients, urls, runs, {})
    finally:
        for client in clients:
            client.headers.pop("Authorization", None)


def start(backend: str, count: int, reseed: bool) -> tuple[BenchHub, str, dict]:
    """A started hub on `count` seeded repositories, how its database came to be, and (SQLite)
    where the seed's time is noted."""
    folder = WORK / f"{backend}-{count}"
    shutil.rmtree(folder, ignore_errors=True)
    took: dict[str, float] = {}
    if backend == "postgresql":
        url, seconds = kept_database(count, reseed=reseed)
        hub = BenchHub(folder, url)
        origin = "reused" if seconds is None else f"seeded in {seconds:.0f} s"
    else:
        hub = BenchHub(folder, prepare=lambda u: took.setdefault("seed", seed(u, count)))
        origin = ""
    hub.start()
    if took:
        origin = f"seeded in {took['seed']:.0f} s"
    return hub, origin, took


def explain(database_url: str, url: str) -> tuple[str, float]:
    """PostgreSQL's EXPLAIN ANALYZE of the page query the service builds for a listing URL
    (anonymous caller), under the planner settings the service sets, and its execution time."""
    from hubstead.domain.repo_ids import RepoType
    from hubstead.protocols.listing_query import list_query
    from hubstead.services.discovery import PLANNER_SETTINGS, DiscoveryService
    from hubstead.services.listing_index import ListingIndex
    from hubstead.storage.database import Database

    db = Database(database_url)
    try:
        service = DiscoveryService(db, ListingIndex(db))
        query = list_query(QueryParams(url.split("?", 1)[1]), RepoType.MODEL)
        statement, _, _ = service.page_statement(None, query)
        compiled = statement.compile(
            dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True}
        )
        with db.engine.connect() as connection:
            connection.execute(PLANNER_SETTINGS)
            plan = connection.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) " + str(compiled), compiled.params
            )
            lines = [line for (line,) in plan]
        execution = next(float(line.split()[2]) for line in lines if line.startswith("Execution"))
        return "\n".join(lines), execution
    finally:
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repos", "--count", dest="repos", type=int, default=100_000)
    parser.add_argument("--reference", type=int, default=100_000)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument(
        "--reseed", action="store_true", help="PostgreSQL: seed the kept databases again"
    )
    parser.add_argument(
        "--explain-over", type=float, default=20.0, help="p95 (ms) above which to EXPLAIN"
    )
    parser.add_argument("--only", help="only the rows whose label contains this text")
    parser.add_argument(
        "--apart",
        action="store_true",
        help="measure each size on its own (all of its rows, then the next size's) instead of "
        "in turns: two databases taking turns evict each other's pages from a small "
        "shared_buffers and OS cache, which turns makes part of every figure",
    )
    args = parser.parse_args()
    if args.only:
        LISTINGS[:] = [entry for entry in LISTINGS if args.only in entry[0]]
    for backend in args.backends:
        sizes = [args.repos] + ([args.reference] if args.repos > args.reference else [])
        hubs, origins = [], []
        try:
            for count in sizes:
                hub, origin, _ = start(backend, count, args.reseed)
                hubs.append(hub)
                origins.append(origin)
            if args.apart:
                measured = [measure_on([hub], args.runs)[0] for hub in hubs]
            else:
                measured = measure_on(hubs, args.runs)
            database_url = hubs[0].database_url
        finally:
            for hub in hubs:
                hub.stop()
            if backend != "postgresql":
                for count in sizes:
                    shutil.rmtree(WORK / f"{backend}-{count}", ignore_errors=True)
        rows = measured[0]
        reference = measured[1] if len(measured) > 1 else None
        origin = origins[0]
        if reference:
            how = "each measured on its own" if args.apart else "measured in turns"
            origin += f"; reference {args.reference} repositories {origins[1]}, {how}"
        print(
            f"\n{backend}, {args.repos} repositories ({origin}), HTTP through `hubstead serve`, "
            f"{args.runs} runs each after {WARMUP} untimed\n"
        )
        head = "| request | p50 | p95 | p99 | req/s |"
        if reference:
            head += f" p95 at {args.reference} | ratio p95 |"
        print(head + " |")
        print("|---" * (head.count("|") - 1) + "|---|")
        for index, row in enumerate(rows):
            line = f"| {row.label} | {row.p50:.1f} ms | {row.p95:.1f} ms | {row.p99:.1f} ms | {row.per_second:.0f} |"
            if reference:
                ref = reference[index]
                line += f" {ref.p95:.1f} ms | {row.p95 / ref.p95:.2f} |"
            print(f"{line} {row.note} |")
        if backend != "postgresql":
            continue
        plans = {row.label: explain(database_url, row.url) for row in rows if _listing(row)}
        print(
            "\nThe page query alone (EXPLAIN ANALYZE's execution time, in the database, no HTTP):\n"
        )
        print("| request | SQL |\n|---|---|")
        for label, (_, execution) in plans.items():
            print(f"| {label} | {execution:.1f} ms |")
        for row in rows:
            if row.label in plans and row.p95 > args.explain_over:
                print(f"\nEXPLAIN ANALYZE, {row.label} (p95 {row.p95:.1f} ms): {row.url}\n")
                print(plans[row.label][0])


def _listing(row: Row) -> bool:
    return row.url.startswith("/api/models?")


if __name__ == "__main__":
    main()
