"""Download throughput of a large LFS file and HEAD /resolve latency, against nginx as reference.

Everything runs in one process on this machine, on the same file in the page cache:
- raw throughput: `curl -o /dev/null` of the file from nginx (sendfile) and from Hubstead;
- client throughput: huggingface_hub's download routine writing the file to disk, fed by nginx
  (`http_get`, the same code hf_hub_download uses) and by Hubstead (`hf_hub_download` itself);
- HEAD /resolve/main/<file> with 16 concurrent connections (ab): requests/s and latency.

Usage: bench/run download [--size-mib 1024] [--runs 5] [--workers 1]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

from huggingface_hub import HfApi, hf_hub_download  # noqa: E402
from huggingface_hub.file_download import http_get  # noqa: E402

from hubstead.testing import LiveHub, free_port  # noqa: E402

WORK = Path(__file__).parent / ".work"
NGINX_CONF = """
{user}
worker_processes 2;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  server {{
    listen 127.0.0.1:{port};
    root {root}/www;
  }}
}}
"""


def make_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    block = 8 * 1024 * 1024
    with open(path, "wb") as out:
        remaining = size
        while remaining:
            chunk = os.urandom(min(block, remaining))
            digest.update(chunk)
            out.write(chunk)
            remaining -= len(chunk)
    return digest.hexdigest()


def start_nginx(root: Path, file: Path) -> tuple[subprocess.Popen, str]:
    (root / "www").mkdir(parents=True, exist_ok=True)
    target = root / "www" / file.name
    target.unlink(missing_ok=True)
    os.link(file, target)
    port = free_port()
    conf = root / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(root=root, port=port, user="user root;" if os.geteuid() == 0 else "")
    )
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    process = subprocess.Popen(
        [nginx, "-c", str(conf), "-g", "daemon off;"], stderr=subprocess.DEVNULL
    )
    time.sleep(0.5)
    return process, f"http://127.0.0.1:{port}/{file.name}"


def curl_throughput(url: str, size: int, headers: list[str]) -> float:
    args = ["curl", "-sf", "-o", "/dev/null", "-w", "%{time_total}"]
    for header in headers:
        args += ["-H", header]
    seconds = float(subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout)
    return size / seconds


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def head_load(url: str, token: str, connections: int = 16, requests: int = 20000) -> dict:
    """HEAD requests with ApacheBench (`ab -i`); wrk can't be used, it waits for a HEAD body."""
    out = subprocess.run(
        [
            "ab",
            "-i",
            "-k",
            "-q",
            "-c",
            str(connections),
            "-n",
            str(requests),
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1))
    percentiles = {int(p): float(v) for p, v in re.findall(r"^\s+(50|90|99)%\s+(\d+)", out, re.M)}
    failed = int(re.search(r"Failed requests:\s+(\d+)", out).group(1))
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
    mean = float(re.search(r"Time per request:\s+([\d.]+) \[ms\] \(mean\)", out).group(1))
    return {
        "rps": rps,
        "mean": mean,
        "p50": percentiles.get(50),
        "p90": percentiles.get(90),
        "p99": percentiles.get(99),
        "errors": failed + (int(non2xx.group(1)) if non2xx else 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    size = args.size_mib * 1024 * 1024
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    source = WORK / "weights.bin"
    print(f"creating a {args.size_mib} MiB random file…", file=sys.stderr)
    oid = make_file(source, size)

    hub = LiveHub(WORK / "hub", env={"HUBSTEAD_WORKERS": str(args.workers)}).start()
    nginx = None
    try:
        api = HfApi(endpoint=hub.endpoint, token=hub.tokens["alice"])
        repo_id = api.create_repo("bench").repo_id
        print("uploading it through LFS…", file=sys.stderr)
        upload_seconds = timed(
            lambda: api.upload_file(
                path_or_fileobj=str(source), path_in_repo="weights.bin", repo_id=repo_id
            )
        )
        blob = hub.data_dir / "blobs" / "sha256" / oid[:2] / oid[2:4] / oid
        nginx, nginx_url = start_nginx(WORK / "nginx", blob)
        hub_url = f"{hub.endpoint}/{repo_id}/resolve/main/weights.bin"
        auth = f"Authorization: Bearer {hub.tokens['alice']}"
        curl_throughput(nginx_url, size, [])  # warm the page cache
        # nginx and Hubstead runs alternate, so drift on the machine affects both alike
        raw_nginx, raw_hub = [], []
        for _ in range(args.runs):
            raw_nginx.append(curl_throughput(nginx_url, size, []))
            raw_hub.append(curl_throughput(hub_url, size, [auth]))
        curl_raw_nginx, curl_raw_hub = statistics.median(raw_nginx), statistics.median(raw_hub)

        def client_from_nginx() -> None:
            target = WORK / "nginx-download.bin"
            with open(target, "wb") as out:
                http_get(nginx_url, out, expected_size=size)
            target.unlink()

        def client_from_hub() -> None:
            cache = Path(tempfile.mkdtemp(dir=WORK))
            hf_hub_download(
                repo_id,
                "weights.bin",
                endpoint=hub.endpoint,
                token=hub.tokens["alice"],
                cache_dir=cache,
            )
            shutil.rmtree(cache)

        rates_nginx, rates_hub = [], []
        for _ in range(args.runs):
            rates_nginx.append(size / timed(client_from_nginx))
            rates_hub.append(size / timed(client_from_hub))
        client_nginx, client_hub = statistics.median(rates_nginx), statistics.median(rates_hub)
        head = head_load(hub_url, hub.tokens["alice"])
        single = head_load(hub_url, hub.tokens["alice"], connections=1, requests=5000)
    finally:
        if nginx is not None:
            nginx.terminate()
        hub.stop()

    gb = 1e9
    print(
        f"\nDownload of a {args.size_mib} MiB LFS file, {args.runs} runs each (median), Hubstead with {args.workers} worker(s)\n"
    )
    print("| measurement | nginx | Hubstead | Hubstead / nginx |")
    print("|---|---|---|---|")
    print(
        f"| curl to /dev/null | {curl_raw_nginx / gb:.2f} GB/s | {curl_raw_hub / gb:.2f} GB/s | {curl_raw_hub / curl_raw_nginx:.2f} |"
    )
    print(
        f"| huggingface_hub download to disk (http_get vs hf_hub_download) | {client_nginx / gb:.2f} GB/s | {client_hub / gb:.2f} GB/s | {client_hub / client_nginx:.2f} |"
    )
    print(
        f"\nUpload of the same file with upload_file (LFS): {size / upload_seconds / gb:.2f} GB/s\n"
    )
    print(
        "| HEAD /resolve/main/weights.bin, 16 concurrent clients, 20,000 requests (ab -k) | value |"
    )
    print("|---|---|")
    print(f"| requests/s | {head['rps']:.0f} |")
    print(
        f"| latency at 16 in flight: mean / p50 / p90 / p99 | {head['mean']:.1f} / {head['p50']} / {head['p90']} / {head['p99']} ms |"
    )
    print(f"| server time per request (1 / requests per second) | {1000 / head['rps']:.2f} ms |")
    print(
        f"| one client alone: requests/s, mean / p50 latency | {single['rps']:.0f}, {single['mean']:.2f} / {single['p50']} ms |"
    )
    print(f"| failed or non-2xx answers | {head['errors']} |")
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
