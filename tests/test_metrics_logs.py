"""Prometheus metrics at /-/metrics, summed over the server's web processes, and the server's
JSON log lines carrying each request's id (issue 14). A live server with two web processes."""

from __future__ import annotations

import json
import time

import httpx
from huggingface_hub import HfApi
from prometheus_client.parser import text_string_to_metric_families

HUB_ENV = {"HUBSTEAD_WORKERS": "2", "HUBSTEAD_LOG_FORMAT": "json"}


def _samples(endpoint: str) -> dict[tuple[str, tuple], float]:
    answer = httpx.get(f"{endpoint}/-/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _settled_samples(endpoint: str) -> dict[tuple[str, tuple], float]:
    """The samples once every process has written what it counted: a process writes its own
    before it answers a scrape, the others within FLUSH_SECONDS (metrics.py), so after two of
    those nothing counted before the call is missing."""
    from hubstead.protocols.metrics import FLUSH_SECONDS

    time.sleep(FLUSH_SECONDS * 2)
    return _samples(endpoint)


def _requests(samples, route: str, method: str, status: str) -> float:
    key = (
        "hubstead_http_requests_total",
        (("method", method), ("route", route), ("status", status)),
    )
    return samples.get(key, 0.0)


def test_requests_are_counted_by_route_over_every_process(hub, endpoint, api: HfApi):
    repo = api.create_repo("counted").repo_id
    api.upload_file(path_or_fileobj=b"# Counted\n", path_in_repo="README.md", repo_id=repo)
    before = _settled_samples(endpoint)
    for _ in range(40):  # a fresh connection each: they land on both web processes
        head = httpx.head(f"{endpoint}/{repo}/resolve/main/README.md")
        assert head.status_code == 200
    after = _settled_samples(endpoint)
    resolve_routes = {
        dict(labels)["route"]
        for name, labels in after
        if name == "hubstead_http_requests_total" and "/resolve/" in dict(labels)["route"]
    }
    assert len(resolve_routes) == 1, resolve_routes
    route = resolve_routes.pop()
    assert "counted" not in route and "README" not in route
    counted = _requests(after, route, "HEAD", "200") - _requests(before, route, "HEAD", "200")
    assert counted == 40, [k for k in after if k[0] == "hubstead_http_requests_total"][:20]
    buckets = [
        value
        for (name, labels), value in after.items()
        if name == "hubstead_http_request_duration_seconds_count"
        and dict(labels) == {"route": route, "method": "HEAD"}
    ]
    assert buckets and buckets[0] >= 40


def test_upload_bytes_are_counted(hub, endpoint, api: HfApi):
    repo = api.create_repo("uploads-counted").repo_id
    before = _samples(endpoint).get(("hubstead_upload_bytes_total", (("kind", "commit"),)), 0)
    api.upload_file(path_or_fileobj=b"x" * 50_000, path_in_repo="data.txt", repo_id=repo)
    after = _samples(endpoint)[("hubstead_upload_bytes_total", (("kind", "commit"),))]
    assert after - before >= 50_000


def test_no_label_names_a_repository_or_a_user(hub, endpoint, api: HfApi):
    repo = api.create_repo("very-secret-name", private=True).repo_id
    api.upload_file(path_or_fileobj=b"# s\n", path_in_repo="README.md", repo_id=repo)
    assert httpx.get(f"{endpoint}/api/models/{repo}").status_code == 401
    text = httpx.get(f"{endpoint}/-/metrics").text
    assert "very-secret-name" not in text and "alice" not in text


def test_log_lines_are_json_with_the_request_id(hub, endpoint):
    answer = httpx.get(f"{endpoint}/api/models/nobody/nothing")
    assert answer.status_code == 401  # anonymous: "sign in", as for a private repository
    request_id = answer.headers["x-request-id"]
    lines = []
    for line in hub.log().splitlines():
        if request_id in line:
            lines.append(json.loads(line))
    assert lines, hub.log()[-2000:]
    assert all(entry["request_id"] == request_id for entry in lines)
    assert {"time", "level", "logger", "message"} <= set(lines[0])
