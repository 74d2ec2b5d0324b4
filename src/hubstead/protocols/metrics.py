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


def observe(template: str | None, method: str, status: int, seconds: float) -> None:
    series = _SERIES.get((template, method, status))
    if series is None:
        route = route_label(template)
        series = _SERIES[(template, method, status)] = (
            REQUESTS.labels(route, method, str(status)),
            LATENCY.labels(route, method),
        )
    series[0].inc()
    series[1].observe(seconds)


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
