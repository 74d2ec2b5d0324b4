"""Download of a large LFS file stored in an S3 bucket: through the hub's presigned redirect
against a GET of the same object straight from the S3 server, measured in the same run.

The S3 server is moto's (moto[server], what the test suite's S3 pass uses), started here on a
free port unless HUBSTEAD_TEST_S3_ENDPOINT names one. The file is uploaded once with
huggingface_hub (straight to the bucket through presigned URLs, verified by the hub); then each
run downloads it to /dev/null:
- direct: a GET of a presigned URL of the object, from the S3 server;
- redirect: `GET /resolve/main/<file>` on the hub, which answers 302 to a presigned URL, followed;
- hf_hub_download: the client itself (HEAD, 302 read for the metadata, GET of the bucket).

moto holds objects in memory and is itself a Python server, so the absolute figures are moto's;
the ratio shows what the redirect costs on top of the bucket (one more round trip and a
signature), which is what a real S3 or MinIO deployment also pays.

Usage: bench/run s3 [--size-mib 256] [--runs 3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import httpx  # noqa: E402
from huggingface_hub import HfApi, hf_hub_download  # noqa: E402

from hubstead.storage.s3 import S3BlobStore  # noqa: E402
from hubstead.testing import LiveHub, TestBucket, free_port  # noqa: E402

MiB = 1024 * 1024


def start_moto() -> tuple[str, subprocess.Popen | None]:
    endpoint = os.environ.get("HUBSTEAD_TEST_S3_ENDPOINT")
    if endpoint:
        return endpoint, None
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(f"{endpoint}/moto-api/", timeout=1)
            return endpoint, process
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("moto_server did not start")


def timed_get(url: str, headers: dict[str, str] | None = None) -> tuple[float, int]:
    start = time.perf_counter()
    received = 0
    with httpx.stream("GET", url, headers=headers, follow_redirects=True, timeout=600) as r:
        r.raise_for_status()
        for chunk in r.iter_bytes(4 * MiB):
            received += len(chunk)
    return time.perf_counter() - start, received


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mib * MiB
    endpoint, moto = start_moto()
    work = Path(tempfile.mkdtemp(prefix="hubstead-bench-s3-"))
    live = LiveHub(work / "hub", storage="local", env={"HUBSTEAD_WORKERS": "1"})
    live.bucket = TestBucket(endpoint)
    live.start()
    try:
        data_file = work / "weights.bin"
        with open(data_file, "wb") as out:
            for _ in range(args.size_mib):
                out.write(os.urandom(MiB))
        oid = hashlib.sha256(data_file.read_bytes()).hexdigest()
        api = HfApi(endpoint=live.endpoint, token=live.tokens["alice"])
        repo = api.create_repo("bench-s3").repo_id
        t0 = time.perf_counter()
        api.upload_file(path_or_fileobj=str(data_file), path_in_repo="weights.bin", repo_id=repo)
        upload_s = time.perf_counter() - t0
        store = S3BlobStore(live.bucket.name, "hub/", tmp_dir=work / "tmp", endpoint_url=endpoint)
        auth = {"Authorization": f"Bearer {live.tokens['alice']}"}
        resolve = f"{live.endpoint}/{repo}/resolve/main/weights.bin"
        results: dict[str, list[float]] = {"direct": [], "redirect": [], "hf_hub_download": []}
        for run in range(args.runs):
            direct_url = store.presigned_url(oid, None, int(time.time()) + 600)
            assert direct_url is not None
            seconds, got = timed_get(direct_url)
            assert got == size
            results["direct"].append(seconds)
            seconds, got = timed_get(resolve, auth)
            assert got == size
            results["redirect"].append(seconds)
            cache = work / f"cache-{run}"
            start = time.perf_counter()
            path = hf_hub_download(
                repo,
                "weights.bin",
                endpoint=live.endpoint,
                token=auth["Authorization"][7:],
                cache_dir=cache,
            )
            results["hf_hub_download"].append(time.perf_counter() - start)
            assert Path(path).stat().st_size == size
        reference = statistics.median(results["direct"])
        print(f"\nS3 download of {args.size_mib} MiB (moto server), median of {args.runs} runs")
        print(
            f"upload through presigned URLs (multipart above 500 MB) + verify: {size / MiB / upload_s:.0f} MiB/s"
        )
        print(f"{'path':<42}{'seconds':>9}{'MiB/s':>9}{'vs direct':>11}")
        names = {
            "direct": "direct GET from the S3 server",
            "redirect": "hub /resolve 302 -> presigned GET",
            "hf_hub_download": "hf_hub_download (HEAD, 302, GET)",
        }
        for key, label in names.items():
            median = statistics.median(results[key])
            print(
                f"{label:<42}{median:>9.2f}{size / MiB / median:>9.0f}{reference / median:>10.2f}x"
            )
    finally:
        live.stop()
        if moto is not None:
            moto.terminate()
            moto.wait(timeout=10)
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
