"""Download throughput of a large LFS file and HEAD /resolve latency, against nginx as reference.

Everything runs in one process on this machine, on the same file in the page cache:
- raw throughput: `curl -o /dev/null` of the file from nginx (sendfile) and from Hubstead;
- client throughput: huggingface_hub's download routine writing the file to disk, fed by nginx
  (`http_get`, the same code hf_hub_download uses) and by Hubstead (`hf_hub_download` itself);
- HEAD /resolve/main/<file> with 16 concurrent connections (ab): requests/s and latency, for
  this checkout as it ships, with its resolve cache off (HUBSTEAD_RESOLVE_CACHE_MIB=0), with its
  metrics off (HUBSTEAD_METRICS=0), for each `--reference-checkout` (an older commit's worktree,
  its server started from its own code, side by side) and for nginx serving the same bytes.
  Each server gets the same rounds in turn (`--head-rounds`), so drift on the machine affects
  all alike; the table shows medians and the ratio to the first reference.

Usage: bench/run download [--size-mib 1024] [--runs 5] [--workers 1]
           [--reference-checkout /work/wt-old ...] [--head-only] [--head-rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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


def head_load(
    url: str, token: str, connections: int = 16, requests: int = 20000, method_head: bool = True
) -> dict:
    """HEAD requests with ApacheBench (`ab -i`); wrk can't be used, it waits for a HEAD body.
    `method_head` False: GET requests (bench_scale's listing)."""
    out = subprocess.run(
        [
            "ab",
            *(["-i"] if method_head else []),
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


SERVE_ONE = Path(__file__).parent / "_serve_one.py"
SRC = Path(__file__).resolve().parent.parent / "src"


@dataclass
class BenchServer:
    """A server of `checkout`'s code in a child process (bench/_serve_one.py) with one file."""

    label: str
    process: subprocess.Popen
    url: str
    token: str
    pid: int  # the `hubstead serve` process, whose worker processes answer

    @classmethod
    def start(cls, label: str, src: Path, work: Path, options: dict) -> BenchServer:
        env = {**os.environ, "PYTHONPATH": str(src)}
        process = subprocess.Popen(
            [sys.executable, str(SERVE_ONE), str(work), json.dumps(options)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {label} server did not start (see {work}/hub/server.log)")
        ready = json.loads(line)
        return cls(label, process, ready["url"], ready["token"], ready["pid"])

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def cpu_seconds(root: int) -> float:
    """CPU time (user + system) used so far by process `root` and all its descendants: the
    server's cost per request, which other load on the machine disturbs far less than wall time."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    family, grown = {root}, True
    while grown:
        more = {pid for pid, parent in parents.items() if parent in family} - family
        family |= more
        grown = bool(more)
    return sum(times.get(pid, 0.0) for pid in family)


def settle(pids: list[int], timeout: float = 90) -> None:
    """Wait until the servers are idle (their inference host imports its libraries for a while
    after the start): CPU measured per request must be the requests' own."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = sum(cpu_seconds(pid) for pid in pids)
        time.sleep(1)
        if sum(cpu_seconds(pid) for pid in pids) - before < 0.03:
            return
    print("the servers did not settle: CPU figures include their background work", file=sys.stderr)


def head_comparison(args, nginx_url: str | None) -> None:
    """HEAD /resolve of every server in turn, `args.head_rounds` rounds, medians per server."""
    variants = [
        (f"reference {Path(path).name} ({_commit_of(path)})", Path(path) / "src", {})
        for path in args.reference_checkout
    ]
    variants += [
        ("this checkout", SRC, {}),
        ("this checkout, resolve cache off", SRC, {"HUBSTEAD_RESOLVE_CACHE_MIB": "0"}),
        ("this checkout, metrics off", SRC, {"HUBSTEAD_METRICS": "0"}),
    ]
    servers: list[BenchServer] = []
    try:
        for number, (label, src, env) in enumerate(variants):
            print(f"starting {label}…", file=sys.stderr)
            options = {"workers": args.workers, "size": 1024 * 1024, "env": env}
            servers.append(BenchServer.start(label, src, WORK / f"head-{number}", options))
        settle([server.pid for server in servers])
        results: dict[str, list[dict]] = {server.label: [] for server in servers}
        targets = [(server.label, server.url, server.token, server.pid) for server in servers]
        if nginx_url is not None:
            results["nginx (the same bytes, a static file)"] = []
            targets.append(("nginx (the same bytes, a static file)", nginx_url, "none", 0))
        for number in range(args.head_rounds):
            print(f"HEAD round {number + 1}/{args.head_rounds}…", file=sys.stderr)
            for label, url, token, pid in targets:
                before = cpu_seconds(pid) if pid else 0.0
                run = head_load(url, token, requests=args.head_requests)
                used = cpu_seconds(pid) - before if pid else 0.0
                run["cpu_us"] = used / args.head_requests * 1e6
                results[label].append(run)
    finally:
        for server in servers:
            server.stop()
    print(
        f"\nHEAD /resolve/main/weights.bin (an LFS file), 16 concurrent clients (ab -k), "
        f"{args.head_requests} requests x {args.head_rounds} rounds, {args.workers} worker(s) "
        "per server; medians over the rounds. Server CPU: user + system time of the server's "
        "processes during the run, per request (steadier than wall time on a busy machine)\n"
    )
    print(
        "| server | requests/s (each round) | p50 / p90 / p99 ms | server CPU per request "
        "| requests/s vs first row | server CPU vs first row | errors |"
    )
    print("|---|---|---|---|---|---|---|")
    first_rps = first_cpu = 0.0
    for label, runs in results.items():
        rps = statistics.median(run["rps"] for run in runs)
        cpu = statistics.median(run["cpu_us"] for run in runs)
        first_rps, first_cpu = first_rps or rps, first_cpu or cpu
        p50, p90, p99 = (
            statistics.median(run[key] for run in runs) for key in ("p50", "p90", "p99")
        )
        errors = sum(run["errors"] for run in runs)
        rounds = ", ".join(f"{run['rps']:.0f}" for run in runs)
        cpu_text = f"{cpu:.0f} µs | " if cpu else "– | "
        cpu_ratio = f"{cpu / first_cpu:.2f}" if cpu and first_cpu else "–"
        print(
            f"| {label} | {rps:.0f} ({rounds}) | {p50:g} / {p90:g} / {p99:g} | {cpu_text}"
            f"{rps / first_rps:.2f} | {cpu_ratio} | {errors} |"
        )


def _commit_of(checkout: str) -> str:
    out = subprocess.run(
        ["git", "-C", checkout, "log", "-1", "--format=%h"], capture_output=True, text=True
    )
    return out.stdout.strip() or "?"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--reference-checkout",
        action="append",
        default=[],
        help="a worktree of an older commit: its server runs side by side in the HEAD table",
    )
    parser.add_argument("--head-only", action="store_true", help="only the HEAD /resolve table")
    parser.add_argument("--head-rounds", type=int, default=3)
    parser.add_argument("--head-requests", type=int, default=20000)
    args = parser.parse_args()
    if args.head_only:
        shutil.rmtree(WORK, ignore_errors=True)
        WORK.mkdir(parents=True)
        head_comparison(args, None)
        shutil.rmtree(WORK, ignore_errors=True)
        return
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
        hub.stop()  # idle from here: the HEAD table starts servers of its own
        head_comparison(args, nginx_url)
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
