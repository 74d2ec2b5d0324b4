"""Prometheus metrics (`GET /-/metrics`) and the per-request log line, with prometheus_client.

`hubstead serve` runs several web processes; a scrape reaches one of them, so every process
writes its samples to files in one folder (prometheus_client's multiprocess mode, folder named
by `PROMETHEUS_MULTIPROC_DIR`, which `hubstead serve` sets and empties before the workers start)
and the answer sums them. Without that folder (tests in one process, `create_app` by hand) the
samples stay in the process.

Labels never carry a repository's name, a path or a user: requests are counted by their route's
template (`api:{repo}/revision/{rev:rev}`), so the metrics say nothing about private
repositories and their number of series stays bounded.
"""

from __future__ import annotations

import bisect
import logging
import os
import threading
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.responses import Response

from hubstead.protocols.http import Ctx
from hubstead.protocols.routing import Router
from hubstead.settings import metrics_multiprocess_dir

MULTIPROCESS_DIR = metrics_multiprocess_dir()  # prometheus_client reads the same variable
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

REQUESTS = Counter(
    "hubstead_http_requests",
    "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "hubstead_http_request_duration_seconds",
    "Time to the answer's start, by route template and method",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
UPLOAD_BYTES = Counter(
    "hubstead_upload_bytes",
    "Bytes received in request bodies of uploads, by kind (lfs, xet, commit, git)",
    ["kind"],
)

router = Router()


def route_label(template: str | None) -> str:
    """The label of a request's route: its template, or "unmatched" (a 404 of no route)."""
    return template or "unmatched"


# The children of the metrics by their labels: `labels()` takes a lock and builds its key each
# call; the set of routes, methods and statuses is small and bounded (see the module's doc)
_SERIES: dict[tuple[str | None, str, int], tuple[Counter, Histogram]] = {}
FLUSH_SECONDS = 0.5


class _PendingSamples:
    """Requests observed but not yet written to the metrics, added up per series.

    In multiprocess mode every `inc` of prometheus_client is a lock and a write into a mapped
    file, and a request costs three of them (its counter, its bucket, the histogram's sum):
    about a tenth of a HEAD of /resolve. Here a request is a few additions in a dict; a thread
    writes the sums every FLUSH_SECONDS, and a scrape of this process writes its own first, so
    the metrics are at most that much behind (Prometheus scrapes every 15 s or more).

    The histogram has no call to add several observations at once: `flush` increments the
    child's bucket and sum values directly (`_upper_bounds`, `_buckets`, `_sum`, the attributes
    its own `observe` uses, unchanged since prometheus_client 0.4)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sums: dict[tuple[str | None, str, int], list] = {}
        self._pid = 0

    def add(self, key: tuple[str | None, str, int], seconds: float) -> None:
        with self._lock:
            if self._pid != os.getpid():  # first use in this (possibly forked) process
                self._pid = os.getpid()
                self._sums.clear()
                threading.Thread(target=self._flush_forever, daemon=True).start()
            entry = self._sums.get(key)
            if entry is None:
                entry = self._sums[key] = [0, 0.0, {}]
            entry[0] += 1
            entry[1] += seconds
            bucket = bisect.bisect_left(LATENCY_BUCKETS, seconds)  # the first bound >= seconds
            entry[2][bucket] = entry[2].get(bucket, 0) + 1

    def flush(self) -> None:
        with self._lock:
            sums, self._sums = self._sums, {}
        for key, (count, total, buckets) in sums.items():
            counter, histogram = _series(key)
            counter.inc(count)
            histogram._sum.inc(total)  # noqa: SLF001 - see the class's doc
            for bucket, hits in buckets.items():
                histogram._buckets[bucket].inc(hits)  # noqa: SLF001

    def _flush_forever(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            try:
                self.flush()
            except Exception:  # a metrics write must never end the flushing  # noqa: BLE001
                logging.getLogger("hubstead").exception("could not write the metrics")


_PENDING = _PendingSamples()


def _series(key: tuple[str | None, str, int]) -> tuple[Counter, Histogram]:
    series = _SERIES.get(key)
    if series is None:
        template, method, status = key
        route = route_label(template)
        series = _SERIES[key] = (
            REQUESTS.labels(route, method, str(status)),
            LATENCY.labels(route, method),
        )
    return series


def observe(template: str | None, method: str, status: int, seconds: float) -> None:
    """Count one answered request and its time (written within FLUSH_SECONDS)."""
    _PENDING.add((template, method, status), seconds)


# which routes' bodies are uploads, by a piece of their label
UPLOAD_KINDS = (
    ("/-/lfs/", "lfs"),
    ("/cas", "xet"),
    ("/commit/", "commit"),
    ("git-receive-pack", "git"),
)


def count_upload(label: str | None, method: str, content_length: str | None) -> None:
    """Count a request's declared body size as upload bytes when its route takes uploads."""
    if method not in ("PUT", "POST") or not label or not content_length:
        return
    if not content_length.isdigit() or len(content_length) > 15:
        return
    for piece, kind in UPLOAD_KINDS:
        if piece in label:
            UPLOAD_BYTES.labels(kind).inc(int(content_length))
            return


def exposition() -> bytes:
    """The text format, summed over every process of the server when there are several."""
    _PENDING.flush()
    if MULTIPROCESS_DIR:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()


@router.route("GET", r"/-/metrics")
def metrics(ctx: Ctx) -> Response:
    return Response(
        exposition(), media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"}
    )
