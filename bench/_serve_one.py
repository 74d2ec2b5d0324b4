"""One benchmark server, run by the benchmarks in a child process with PYTHONPATH=<checkout>/src,
so that an older checkout (`--reference-checkout`) serves with its own code, its own migrations
and its own test helpers, side by side with this one.

Usage: python bench/_serve_one.py WORKDIR '{"workers": 1, "size": 1048576, "env": {...}}'
Prints one JSON line (endpoint, token, repo, url of the file) once the file is uploaded, then
serves until its standard input closes.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

from huggingface_hub import HfApi  # noqa: E402

from hubstead.testing import LiveHub  # noqa: E402


def main() -> None:
    work = Path(sys.argv[1])
    options = json.loads(sys.argv[2])
    work.mkdir(parents=True, exist_ok=True)
    env = {"HUBSTEAD_WORKERS": str(options.get("workers", 1)), **options.get("env", {})}
    hub = LiveHub(work / "hub", backend=options.get("backend", "sqlite"), env=env).start()
    try:
        token = hub.tokens["alice"]
        api = HfApi(endpoint=hub.endpoint, token=token)
        repo = api.create_repo("bench").repo_id
        source = work / "weights.bin"
        with open(source, "wb") as out:
            out.write(os.urandom(options.get("size", 1024 * 1024)))
        api.upload_file(path_or_fileobj=str(source), path_in_repo="weights.bin", repo_id=repo)
        url = f"{hub.endpoint}/{repo}/resolve/main/weights.bin"
        ready = {"endpoint": hub.endpoint, "token": token, "repo": repo, "url": url}
        print(json.dumps({**ready, "pid": hub.process.pid}))
        sys.stdout.flush()
        sys.stdin.read()
    finally:
        hub.stop()


if __name__ == "__main__":
    main()
