"""The inference API against the same pipeline called in-process, measured in one run.

A tiny text-classification model (tests/tiny_models.py: built here from a config with random
weights) is uploaded to `hubstead serve` (SQLite, one web process, one inference worker, rate
limits off but usage recorded, as in production) and called over HTTP with `{"inputs": …}`:

- 1 client (one keep-alive connection, requests one after another) and 16 concurrent clients
  (16 threads, one connection each): p50/p95 latency and requests per second;
- the reference: `transformers.pipeline("text-classification")` on the same folder, in this
  process, with the same number of torch threads as the hub's worker, called one input at a
  time by 1 thread and by 16 threads at once. The ratio hub / in-process is the hub's
  throughput against a process that runs the model itself; the hub batches concurrent requests
  for the same model, which a caller of the pipeline does not get;
- cold load: the first request for a freshly uploaded model with `X-Wait-For-Model: true`
  (snapshot, worker load, first answer) — the server's first model, then another one — against
  loading the pipeline in-process.

Usage: bench/run inference [--requests 400] [--clients 16] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx
from huggingface_hub import HfApi

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import tiny_models  # noqa: E402
from hubstead.testing import LiveHub  # noqa: E402

WORK = Path(__file__).parent / ".work" / "inference"
WAIT = {"X-Wait-For-Model": "true"}
TEXTS = [f"review number {n}: the product was {'great' if n % 2 else 'bad'}" for n in range(64)]


def percentiles(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95) - 1] * 1000


def run_clients(clients: int, requests: int, call) -> tuple[float, float, float]:
    """(p50 ms, p95 ms, requests/s) of `requests` calls spread over `clients` threads."""
    latencies: list[float] = []
    lock = threading.Lock()
    per_client = requests // clients

    def worker(index: int) -> None:
        state = call.start() if hasattr(call, "start") else None
        mine = []
        for n in range(per_client):
            began = time.perf_counter()
            call(TEXTS[(index * per_client + n) % len(TEXTS)], state)
            mine.append(time.perf_counter() - began)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    p50, p95 = percentiles(latencies)
    return p50, p95, len(latencies) / elapsed


class HubCall:
    def __init__(self, url: str):
        self.url = url

    def start(self) -> httpx.Client:
        return httpx.Client(timeout=120)

    def __call__(self, text: str, client: httpx.Client) -> None:
        response = client.post(self.url, json={"inputs": text})
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {response.text}")
        labels = response.json()[0]
        assert {item["label"] for item in labels} == {"POSITIVE", "NEGATIVE"}


class PipelineCall:
    def __init__(self, pipe):
        self.pipe = pipe

    def __call__(self, text: str, _state) -> None:
        labels = self.pipe(text, top_k=None)
        assert {item["label"] for item in labels} == {"POSITIVE", "NEGATIVE"}


def upload(api: HfApi, name: str, folder: Path) -> str:
    repo_id = api.create_repo(name).repo_id
    api.upload_folder(folder_path=str(folder), repo_id=repo_id)
    return repo_id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--clients", type=int, default=16)
    # the hub's own default: the CPUs but one (services/inference/service.py)
    parser.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 1) - 1))
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    folder = tiny_models.build("text-classification", WORK / "model")
    env = {
        "HUBSTEAD_WORKERS": "1",
        "HUBSTEAD_INFERENCE_WORKERS": "1",
        "HUBSTEAD_INFERENCE_THREADS": str(args.threads),
        "HUBSTEAD_INFERENCE_RATE_LIMIT": "0",
        "HUBSTEAD_INFERENCE_ANONYMOUS_RATE_LIMIT": "0",
    }
    hub = LiveHub(WORK / "hub", backend="sqlite", env=env).start()
    rows = []
    try:
        api = HfApi(endpoint=hub.endpoint, token=hub.tokens["alice"])
        cold_id = upload(api, "cold", folder)
        began = time.perf_counter()
        first = httpx.post(
            f"{hub.endpoint}/models/{cold_id}", json={"inputs": "hi"}, headers=WAIT, timeout=300
        )
        cold_hub = time.perf_counter() - began
        assert first.status_code == 200, first.text
        second_id = upload(api, "second", folder)  # a cold model, the workers already running
        began = time.perf_counter()
        second = httpx.post(
            f"{hub.endpoint}/models/{second_id}", json={"inputs": "hi"}, headers=WAIT, timeout=300
        )
        cold_second = time.perf_counter() - began
        assert second.status_code == 200, second.text
        warm_id = upload(api, "warm", folder)
        url = f"{hub.endpoint}/models/{warm_id}"
        httpx.post(url, json={"inputs": "hi"}, headers=WAIT, timeout=300).raise_for_status()
        call = HubCall(url)
        run_clients(1, 20, call)  # warm-up
        for clients in (1, args.clients):
            rows.append(("hub", clients, *run_clients(clients, args.requests, call)))
    finally:
        hub.stop()

    import torch
    from transformers import pipeline

    torch.set_num_threads(args.threads)
    began = time.perf_counter()
    pipe = pipeline("text-classification", model=str(folder), device="cpu")
    pipe("hi")
    cold_local = time.perf_counter() - began
    local = PipelineCall(pipe)
    run_clients(1, 20, local)
    for clients in (1, args.clients):
        rows.append(("in-process", clients, *run_clients(clients, args.requests, local)))
    shutil.rmtree(WORK, ignore_errors=True)

    by = {(where, clients): (p50, p95, rate) for where, clients, p50, p95, rate in rows}
    print(
        f"\ntiny text-classification model ({tiny_models.HIDDEN} hidden), {args.requests} "
        f"requests per row, {args.threads} torch thread(s), {os.cpu_count()} CPU(s)\n"
    )
    print("| clients | hub p50 | hub p95 | hub req/s | in-process p50 | in-process p95 "
          "| in-process req/s | hub / in-process |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for clients in (1, args.clients):
        hp50, hp95, hrate = by[("hub", clients)]
        lp50, lp95, lrate = by[("in-process", clients)]
        print(
            f"| {clients} | {hp50:.1f} ms | {hp95:.1f} ms | {hrate:.0f} | {lp50:.1f} ms "
            f"| {lp95:.1f} ms | {lrate:.0f} | {hrate / lrate:.2f} |"
        )
    print(
        f"\ncold load (X-Wait-For-Model: true): the hub's first model {cold_hub:.2f} s, "
        f"another model {cold_second:.2f} s (snapshot, load, first answer) vs in-process "
        f"pipeline load + first call {cold_local:.2f} s (its imports already done)"
    )


if __name__ == "__main__":
    main()
