"""Xet against plain LFS: transfer throughput of a large file, and storage of successive versions.

- Upload of a new random file through Xet (hf_xet, the default client) and through LFS
  (HF_HUB_DISABLE_XET=1), each from a fresh client process with an empty cache, `--repeat` times
  (a new file each round, the order alternating), so that the Xet/LFS ratio is measured in the
  same run under the same load; then one download of each. Each round also uploads the file
  through Xet to a hub that stores nothing (bench/_null_hub.py): the client's own time on this
  machine, the floor no server can go below, so `LFS / floor` is the best Xet / LFS ratio any
  server could show here.
- Five successive versions of the file, each rewriting ~2 % of it (four scattered 0.5 % regions),
  uploaded through Xet by one client: bytes the server stores against 5 × the file size (what
  LFS stores), bytes the client process wrote (an upper bound of what it sent), and the upload
  time of an edit next to that of the whole file, with what the client alone spends hashing the
  file (`hf_xet.hash_files`, no network: the part of an edit's upload no server can save).

Usage: bench/run xet [--size-mib 1024] [--versions 5] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from hubstead.testing import LiveHub

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "tests" / "clients" / "xet_scenario.py"
WORK = Path(__file__).parent / ".work-xet"


class NullHub:
    """bench/_null_hub.py on a free port: what `scenario` and `measured` need of a hub."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{port}"
        self.tokens = {"alice": "hf_null"}
        self.process = subprocess.Popen(
            [sys.executable, "_null_hub.py", str(port)], cwd=ROOT / "bench"
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the null hub did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def scenario(hub, name: str, home: Path, xet: bool, **args) -> tuple[dict, float]:
    env = {
        **os.environ,
        "HF_ENDPOINT": hub.endpoint,
        "HF_TOKEN": hub.tokens["alice"],
        "HF_HOME": str(home),
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }
    env.pop("HF_HUB_DISABLE_XET", None)
    if not xet:
        env["HF_HUB_DISABLE_XET"] = "1"
        script = ROOT / "bench" / "_lfs_client.py"
    else:
        script = SCENARIO
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, str(script), name, json.dumps(args)],
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1]), elapsed


def xorb_bytes(hub: LiveHub) -> int:
    return sum(
        p.stat().st_size for p in (hub.data_dir / "blobs" / "xorbs").rglob("*") if p.is_file()
    )


def edit(data: bytearray, seed: int) -> None:
    rng = random.Random(seed)
    region = len(data) // 200  # 0.5 %
    for _ in range(4):
        start = rng.randrange(0, len(data) - region)
        data[start : start + region] = rng.randbytes(region)


def server_cpu_seconds(pid: int) -> float:
    """CPU time used so far by the server and every process under it (Linux /proc)."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        pending += [int(child) for child in children]
    return total


def settle(hub: LiveHub, timeout: float = 180) -> None:
    """Wait until the fresh server is idle: its start-up work (the inference host importing its
    libraries, reconciling) would otherwise load the machine during the first measurement."""
    assert hub.process is not None
    deadline = time.monotonic() + timeout
    before = server_cpu_seconds(hub.process.pid)
    while time.monotonic() < deadline:
        time.sleep(2)
        now = server_cpu_seconds(hub.process.pid)
        if now - before < 0.1:
            return
        before = now


def local_hashing_seconds(path: Path) -> float:
    """What hf_xet spends chunking and hashing the file on its own (no server involved)."""
    code = "import sys, hf_xet; hf_xet.hash_files([sys.argv[1]])"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, capture_output=True)
    return time.perf_counter() - start


def measured(hub: LiveHub | NullHub, *args, **kwargs) -> tuple[dict, float, float, float]:
    """`scenario`, with the CPU seconds it cost the server (every process of it) and the client."""
    assert hub.process is not None
    server, client = server_cpu_seconds(hub.process.pid), os.times()
    result, seconds = scenario(hub, *args, **kwargs)
    after = os.times()
    client_cpu = (after.children_user + after.children_system) - (
        client.children_user + client.children_system
    )
    return result, seconds, server_cpu_seconds(hub.process.pid) - server, client_cpu


PATHS = ("Xet", "LFS", "floor")  # through Hubstead, and Xet to the null hub


def transfers(hub: LiveHub, null: NullHub, api, size: int, repeat: int) -> tuple[list[dict], dict]:
    """`repeat` rounds of a Xet and an LFS upload of a new random file to Hubstead and a Xet
    upload of it to the null hub (the order rotating); returns per round each path's (seconds,
    server CPU, client CPU), and the download speeds of the last round."""
    rounds = []
    downloads: dict[str, float] = {}
    source = WORK / "transfer.bin"
    for number in range(repeat):
        source.write_bytes(os.urandom(size))  # new content: nothing to deduplicate
        seconds = {}
        order = PATHS[number % 3 :] + PATHS[: number % 3]
        for label in order:
            target = null if label == "floor" else hub
            repo = (
                "alice/null"
                if label == "floor"
                else api.create_repo(f"via-{label}-{number}").repo_id
            )
            _, *seconds[label] = measured(
                target,
                "upload_file",
                WORK / f"home-up-{label}-{number}",
                label != "LFS",
                path=str(source),
                path_in_repo="weights.bin",
                repo=repo,
            )
            if number == repeat - 1 and label != "floor":
                _, down = scenario(
                    hub,
                    "download",
                    WORK / f"home-down-{label}",
                    label == "Xet",
                    repo=repo,
                    filename="weights.bin",
                    cache=str(WORK / f"cache-{label}"),
                )
                shutil.rmtree(WORK / f"cache-{label}", ignore_errors=True)
                downloads[label] = size / down / 1e6
        rounds.append(seconds)
    return rounds, downloads


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--versions", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mib * 1024 * 1024
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    source = WORK / "weights.bin"
    hub = LiveHub(WORK / "hub").start()
    settle(hub)
    null = NullHub()
    try:
        from huggingface_hub import HfApi

        api = HfApi(endpoint=hub.endpoint, token=hub.tokens["alice"])
        rounds, downloads = transfers(hub, null, api, size, args.repeat)

        api.create_repo("versions")
        home = WORK / "home-versions"
        data = bytearray(os.urandom(size))  # a new file: shares nothing with the transfers above
        source.write_bytes(data)
        stored_start = xorb_bytes(hub)
        versions = []
        hashing_alone = []
        for version in range(args.versions):
            if version:
                edit(data, seed=version)
                source.write_bytes(data)
            before = xorb_bytes(hub)
            result, seconds = scenario(
                hub,
                "upload_file",
                home,
                True,
                path=str(source),
                path_in_repo="weights.bin",
                repo="alice/versions",
            )
            hashing_alone.append(local_hashing_seconds(source))
            versions.append((version + 1, xorb_bytes(hub) - before, result["written"], seconds))
        total_stored = xorb_bytes(hub) - stored_start
        # the same versions again, each from a new machine (empty client cache) to a new repository:
        # only the hub's global deduplication can avoid re-sending what it has
        fresh = []
        for version in range(2, args.versions + 1):
            edit(data, seed=100 + version)
            source.write_bytes(data)
            api.create_repo(f"fresh-{version}")
            before = xorb_bytes(hub)
            result, seconds = scenario(
                hub,
                "upload_file",
                WORK / f"home-fresh-{version}",
                True,
                path=str(source),
                path_in_repo="weights.bin",
                repo=f"alice/fresh-{version}",
            )
            fresh.append((version, xorb_bytes(hub) - before, result["written"], seconds))
    finally:
        null.stop()
        hub.stop()
        shutil.rmtree(WORK, ignore_errors=True)

    mb = size / 1e6
    print(
        f"\nUploads of a new {args.size_mib} MiB random file, each from a fresh client process "
        f"(empty cache), {args.repeat} rounds, the order rotating\n"
    )
    print(
        "| round | Xet upload MB/s | LFS upload MB/s | Xet / LFS | Xet to the null hub MB/s "
        "| Xet / that floor | LFS / floor: the best Xet / LFS here "
        "| Xet server / client CPU s | LFS server / client CPU s | null hub: client CPU s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for number, r in enumerate(rounds, 1):
        (xet, xs, xc), (lfs, ls, lc), (floor, _, fc) = r["Xet"], r["LFS"], r["floor"]
        print(
            f"| {number} | {mb / xet:.0f} | {mb / lfs:.0f} | {lfs / xet:.2f} | {mb / floor:.0f} "
            f"| {floor / xet:.2f} | {lfs / floor:.2f} "
            f"| {xs:.1f} / {xc:.1f} | {ls:.1f} / {lc:.1f} | {fc:.1f} |"
        )

    def median(label: str, field: int = 0) -> float:
        return statistics.median(r[label][field] for r in rounds)

    def median_ratio(top: str, bottom: str) -> float:
        return statistics.median(r[top][0] / r[bottom][0] for r in rounds)

    print(
        f"| median | {mb / median('Xet'):.0f} | {mb / median('LFS'):.0f} "
        f"| {median_ratio('LFS', 'Xet'):.2f} | {mb / median('floor'):.0f} "
        f"| {median_ratio('floor', 'Xet'):.2f} | {median_ratio('LFS', 'floor'):.2f} "
        f"| {median('Xet', 1):.1f} / {median('Xet', 2):.1f} "
        f"| {median('LFS', 1):.1f} / {median('LFS', 2):.1f} | {median('floor', 2):.1f} |"
    )
    print("\n| path | download MB/s (fresh client, last round's file) |")
    print("|---|---|")
    for label, speed in downloads.items():
        print(f"| {label} | {speed:.0f} |")
    print(
        f"\n{args.versions} versions of the file through Xet, each rewriting ~2 % (one client, one cache)\n"
    )
    print(
        "| version | new bytes stored | bytes the client wrote | upload seconds "
        "| hf_xet hashing the file alone, seconds |"
    )
    print("|---|---|---|---|---|")
    for (number, stored, written, seconds), alone in zip(versions, hashing_alone):
        print(
            f"| {number} | {stored / 1e6:.1f} MB | {written / 1e6:.1f} MB | {seconds:.1f} | {alone:.1f} |"
        )
    if len(versions) > 1:
        full = versions[0][3]
        edits = statistics.median(v[3] for v in versions[1:])
        alone = statistics.median(hashing_alone[1:])
        print(
            f"\nWhole file {full:.1f} s; a 2 % edit {edits:.1f} s (median), {edits / full:.2f} of it; "
            f"of the edit's time, {alone:.1f} s is hf_xet hashing the whole file locally, "
            f"{edits - alone:.1f} s everything else (sending the new chunks, the server's work)"
        )
    print(
        "\nFurther ~2 % edits, each uploaded from a fresh client (empty cache) to a new repository\n"
    )
    print("| upload | new bytes stored | bytes the client wrote | upload seconds |")
    print("|---|---|---|---|")
    for number, stored, written, seconds in fresh:
        print(f"| {number} | {stored / 1e6:.1f} MB | {written / 1e6:.1f} MB | {seconds:.1f} |")
    lfs_total = args.versions * size
    print(
        f"\nStored through Xet: {total_stored / 1e6:.0f} MB; through LFS it would be {lfs_total / 1e6:.0f} MB "
        f"({total_stored / lfs_total:.2f} of it)"
    )


if __name__ == "__main__":
    main()
