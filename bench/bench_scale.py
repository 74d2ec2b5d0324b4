"""Requests/s with 1, 2 and 3 `hubstead serve` processes behind nginx, on one PostgreSQL database
and one data folder: HEAD /resolve of an LFS file and a listing with two tag filters.

Each process runs `--workers` web workers (1 by default, so that N processes are N workers);
nginx (least_conn, keep-alive to the processes) spreads ab's 16 connections over them. The
ratio column compares each row with one process measured in the same run. On a machine with
fewer cores than processes + nginx + ab, the curve shows contention, not the design's limit.

A process that cannot start (the data folder's one-server lock, storage/datadir.py, before the
`cluster` work relaxes it on PostgreSQL) is reported as such and its rows are left out.

Usage: bench/run scale [--processes 3] [--workers 1] [--requests 20000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import httpx  # noqa: E402
from huggingface_hub import HfApi  # noqa: E402

from bench_download import head_load  # noqa: E402
from hubstead.testing import LiveHub, free_port  # noqa: E402

WORK = Path(__file__).parent / ".work-scale"
TAGS = ("text-classification", "pytorch")
NGINX_CONF = """
{user}
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  upstream hub {{
    least_conn;
{servers}
    keepalive 64;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://hub;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
    }}
  }}
}}
"""


def seed(api: HfApi, count: int = 30) -> str:
    """`count` repositories, two thirds carrying both tags; returns the LFS file's repo."""
    for number in range(count):
        repo = api.create_repo(f"scale-{number}").repo_id
        tags = TAGS if number % 3 else TAGS[:1]
        card = "---\ntags:\n" + "".join(f"- {tag}\n" for tag in tags) + "---\n# Model\n"
        api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo)
    repo = api.create_repo("scale-weights").repo_id
    api.upload_file(
        path_or_fileobj=os.urandom(1024 * 1024), path_in_repo="weights.bin", repo_id=repo
    )
    return repo


def start_more(hub: LiveHub, workers: int) -> tuple[subprocess.Popen, int] | str:
    """One more `hubstead serve` on the first one's database and data folder; or why not."""
    port = free_port()
    env = hub.server_env()
    env.update(
        {
            "HUBSTEAD_PORT": str(port),
            "HUBSTEAD_WORKERS": str(workers),
            "HUBSTEAD_METRICS_DIR": str(WORK / f"metrics-{port}"),
        }
    )
    log = open(WORK / f"serve-{port}.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "hubstead", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return (WORK / f"serve-{port}.log").read_text(errors="replace").strip()[-300:]
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/models?limit=1", timeout=1)
            return process, port
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    return "did not start in 60 s"


def start_nginx(ports: list[int]) -> tuple[subprocess.Popen, int]:
    root = WORK / f"nginx-{len(ports)}"
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    servers = "".join(f"    server 127.0.0.1:{p};\n" for p in ports)
    conf = root / "nginx.conf"
    user = "user root;" if os.geteuid() == 0 else ""
    conf.write_text(NGINX_CONF.format(user=user, root=root, port=port, servers=servers))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    process = subprocess.Popen([nginx, "-c", str(conf), "-g", "daemon off;"])
    time.sleep(0.5)
    return process, port


def listing_load(url: str, requests: int) -> dict:
    """GET with ab (no -i): the same parsing as HEAD's."""
    return head_load(url, "none", requests=requests, method_head=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    env = {"HUBSTEAD_WORKERS": str(args.workers), "HUBSTEAD_INFERENCE": "0"}
    hub = LiveHub(WORK / "hub", backend="postgresql", env=env).start()
    extra: list[subprocess.Popen] = []
    results: dict[int, dict[str, list[dict]]] = {}
    blocked = None
    try:
        token = hub.tokens["alice"]
        print("seeding 31 repositories…", file=sys.stderr)
        repo = seed(HfApi(endpoint=hub.endpoint, token=token))
        ports = [hub.port]
        for _ in range(args.processes - 1):
            started = start_more(hub, args.workers)
            if isinstance(started, str):
                blocked = started
                break
            extra.append(started[0])
            ports.append(started[1])
        query = "&".join(f"filter={tag}" for tag in TAGS)
        for count in range(1, len(ports) + 1):
            nginx, port = start_nginx(ports[:count])
            try:
                base = f"http://127.0.0.1:{port}"
                head_url = f"{base}/{repo}/resolve/main/weights.bin"
                list_url = f"{base}/api/models?{query}&limit=20"
                runs: dict[str, list[dict]] = {"head": [], "list": []}
                for number in range(args.rounds):
                    print(f"{count} process(es), round {number + 1}…", file=sys.stderr)
                    runs["head"].append(head_load(head_url, token, requests=args.requests))
                    runs["list"].append(listing_load(list_url, args.requests // 4))
                results[count] = runs
            finally:
                nginx.terminate()
                nginx.wait()
    finally:
        for process in extra:
            process.terminate()
            process.wait(timeout=30)
        hub.stop()
    report(results, args, blocked)
    shutil.rmtree(WORK, ignore_errors=True)


def report(results: dict[int, dict[str, list[dict]]], args, blocked: str | None) -> None:
    cores = os.cpu_count()
    print(
        f"\n`hubstead serve` processes behind nginx on one PostgreSQL and one data folder, "
        f"{args.workers} worker(s) each, 16 concurrent clients (ab -k), {args.rounds} rounds "
        f"(median); this machine has {cores} CPU cores for the processes, nginx, ab and "
        "PostgreSQL together\n"
    )
    print(
        "| processes | HEAD /resolve req/s | ratio to 1 | p50 ms | listing, 2 tag filters req/s | ratio to 1 | p50 ms |"
    )
    print("|---|---|---|---|---|---|---|")
    one: dict[str, float] = {}
    for count, runs in results.items():
        row = [str(count)]
        for kind in ("head", "list"):
            rps = statistics.median(run["rps"] for run in runs[kind])
            p50 = statistics.median(run["p50"] for run in runs[kind])
            one.setdefault(kind, rps)
            row += [f"{rps:.0f}", f"{rps / one[kind]:.2f}", f"{p50:g}"]
        print("| " + " | ".join(row) + " |")
    if blocked:
        print(f"\nOnly {len(results)} process(es) could start; the next one said: {blocked!r}")


if __name__ == "__main__":
    main()
