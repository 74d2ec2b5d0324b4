"""Measurements the services make themselves, for `/-/metrics` (prometheus_client; the protocol
layer's `protocols/metrics.py` sums every process' samples). Kept here so a service records
what only it sees (an inference job waiting for or running on a worker) without knowing HTTP."""

from __future__ import annotations

from prometheus_client import Gauge

INFERENCE_JOBS = Gauge(
    "hubstead_inference_jobs",
    "Inference jobs queued for or running on a worker, by task",
    ["task"],
    multiprocess_mode="livesum",
)
