"""Xet against plain LFS: transfer throughput of a large file, and storage of successive versions.

- Upload and download of the same random file through Xet (hf_xet, the default client) and
  through LFS (HF_HUB_DISABLE_XET=1), each in a fresh client process with an empty cache.
- Five successive versions of the file, each rewriting ~2 % of it (four scattered 0.5 % regions),
  uploaded through Xet by one client: bytes the server stores against 5 × the file size (what
  LFS stores), and bytes the client process wrote (an upper bound of what it sent).

Usage: bench/run xet [--size-mib 1024] [--versions 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from hubstead.testing import LiveHub

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "tests" / "clients" / "xet_scenario.py"
WORK = Path(__file__).parent / ".work-xet"


def scenario(hub: LiveHub, name: str, home: Path, xet: bool, **args) -> tuple[dict, float]:
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--versions", type=int, default=5)
    args = parser.parse_args()
    size = args.size_mib * 1024 * 1024
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    data = bytearray(os.urandom(size))
    source = WORK / "weights.bin"
    source.write_bytes(data)
    hub = LiveHub(WORK / "hub").start()
    rows = []
    try:
        from huggingface_hub import HfApi

        api = HfApi(endpoint=hub.endpoint, token=hub.tokens["alice"])
        for repo in ("via-xet", "via-lfs", "versions"):
            api.create_repo(repo)
        for label, xet, repo in (("Xet", True, "alice/via-xet"), ("LFS", False, "alice/via-lfs")):
            _, up = scenario(
                hub,
                "upload_file",
                WORK / f"home-up-{label}",
                xet,
                path=str(source),
                path_in_repo="weights.bin",
                repo=repo,
            )
            result, down = scenario(
                hub,
                "download",
                WORK / f"home-down-{label}",
                xet,
                repo=repo,
                filename="weights.bin",
                cache=str(WORK / f"cache-{label}"),
            )
            shutil.rmtree(WORK / f"cache-{label}", ignore_errors=True)
            rows.append((label, size / up / 1e6, size / down / 1e6))

        home = WORK / "home-versions"
        data[:] = os.urandom(size)  # a new file: version 1 shares nothing with the transfers above
        source.write_bytes(data)
        stored_start = xorb_bytes(hub)
        versions = []
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
        hub.stop()
        shutil.rmtree(WORK, ignore_errors=True)

    print(
        f"\nTransfers of a {args.size_mib} MiB random file, each in a fresh client process (empty cache)\n"
    )
    print("| path | upload MB/s | download MB/s |")
    print("|---|---|---|")
    for label, up, down in rows:
        print(f"| {label} | {up:.0f} | {down:.0f} |")
    print(
        f"\n{args.versions} versions of the file through Xet, each rewriting ~2 % (one client, one cache)\n"
    )
    print("| version | new bytes stored | bytes the client wrote | upload seconds |")
    print("|---|---|---|---|")
    for number, stored, written, seconds in versions:
        print(f"| {number} | {stored / 1e6:.1f} MB | {written / 1e6:.1f} MB | {seconds:.1f} |")
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
