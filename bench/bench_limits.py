"""Resource limits (issue 14): what a hostile repository or request costs, before and after.

Each row is measured twice in the same run, in-process through the ASGI application (the real
routes, no sockets), as CPU time of the process: the reference is the hub as it was (no cache of parameter counts, headers
read up to the format's 100 MB, no metadata or LFS caps), the other the hub with its defaults.

- `model_info` at an old revision, and a commit (which refreshes the card), of a repository whose
  model.safetensors has a 12 MiB header (under the 16 MiB cap: parsed once, then cached) and one
  whose header is 42 MB (the probe's: past the cap, only its 8-byte length is read).
- `POST /api/validate-yaml`, anonymous: a 1.2 MB metadata block, 500 KB of `[0,0,0,…]`, and
  for scale a real card near the 512 KiB cap (an MTEB model-index), accepted before and after.
- An LFS batch for a 10^13-byte object: the part URLs it hands out.

Usage: bench/run limits [--calls 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import struct
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.services.weights import ParameterCounts
from hubstead.testing import InProcessHub

MiB = 1024 * 1024
NDJSON = {"Content-Type": "application/x-ndjson"}


def safetensors(header_bytes: int) -> bytes:
    """A safetensors file whose JSON header is about `header_bytes` of tensor entries (some 100
    bytes each, as in a real header: the costly kind to parse), each tensor one F32."""
    entry = len(json.dumps({"model.layers.000000.weight": TENSOR}))
    header = {
        f"model.layers.{n:06d}.weight": {**TENSOR, "data_offsets": [4 * n, 4 * n + 4]}
        for n in range(header_bytes // entry)
    }
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + b"\0" * (4 * len(header))


TENSOR = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}


def upload(live: InProcessHub, repo: str, path: str, data: bytes) -> str:
    """One LFS file through the batch, the basic transfer and a commit: the commit id."""
    oid = hashlib.sha256(data).hexdigest()
    with live.client("alice") as client:
        batch = client.post(
            f"/{repo}.git/info/lfs/objects/batch",
            json={"operation": "upload", "objects": [{"oid": oid, "size": len(data)}]},
        ).json()
        action = batch["objects"][0].get("actions", {}).get("upload")
        if action is not None:
            client.put(action["href"], content=data).raise_for_status()
        return commit(
            live, repo, {"key": "lfsFile", "value": {"path": path, "oid": oid, "size": len(data)}}
        )


def commit(live: InProcessHub, repo: str, operation: dict) -> str:
    lines = [{"key": "header", "value": {"summary": "bench"}}, operation]
    with live.client("alice") as client:
        answer = client.post(
            f"/api/models/{repo}/commit/main",
            content="\n".join(json.dumps(line) for line in lines),
            headers=NDJSON,
        )
    answer.raise_for_status()
    return answer.json()["commitOid"]


def measure(call: Callable[[], object], calls: int) -> tuple[float, float]:
    """The median CPU time of the process (ms: the machine is shared, CPU time is what the call
    costs) over `calls`, and the peak Python memory of one more call (MB)."""
    times = []
    for _ in range(calls):
        start = time.process_time()
        call()
        times.append((time.process_time() - start) * 1000)
    tracemalloc.start()
    try:
        call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return statistics.median(times), peak / MiB


@contextmanager
def environment(name: str, value: str):
    saved = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = saved


def old_revision(live: InProcessHub, repo: str, old: str) -> Callable[[], object]:
    def call() -> object:
        with live.client("alice") as client:
            answer = client.get(f"/api/models/{repo}/revision/{old}")
        answer.raise_for_status()
        return answer

    return call


def another_commit(live: InProcessHub, repo: str, old: str) -> Callable[[], object]:
    counter = iter(range(10**6))

    def call() -> object:
        operation = {"key": "file", "value": {"path": "notes.txt", "content": str(next(counter))}}
        return commit(live, repo, operation)

    return call


def weights_rows(reference: InProcessHub, now: InProcessHub, calls: int) -> list[tuple]:
    rows = []
    for label, header_bytes in (("12 MiB", 12 * MiB), ("42 MB", 42_000_000)):
        data = safetensors(header_bytes)
        repo = f"alice/header-{header_bytes}"
        olds = {}
        for live in (reference, now):
            live.hub.repos.create(
                live.principal("alice"), RepoType.MODEL, RepoId.parse(repo), False
            )
            olds[id(live)] = upload(live, repo, "model.safetensors", data)
            commit(live, repo, {"key": "file", "value": {"path": "a.txt", "content": "a"}})
        for what, make in (
            ("model_info at an old revision", old_revision),
            ("a commit to main", another_commit),
        ):
            before = measure(make(reference, repo, olds[id(reference)]), calls)
            after = measure(make(now, repo, olds[id(now)]), calls)
            rows.append((f"{what}, {label} header", before, after))
    return rows


def mteb_card(results: int) -> str:
    """A model-index of `results` evaluation results of ten metrics each, as MTEB cards have."""
    entries = "".join(
        f"  - task:\n      type: Retrieval\n    dataset:\n      type: mteb/task-{n}\n"
        f"      name: MTEB Task{n} (en)\n      config: en\n      split: test\n"
        f"      revision: {hashlib.sha1(str(n).encode()).hexdigest()}\n    metrics:\n"
        + "".join(f"    - type: ndcg_at_{k}\n      value: {k * 1.5:.3f}\n" for k in range(10))
        for n in range(results)
    )
    return f"license: mit\nmodel-index:\n- name: big\n  results:\n{entries}"


def yaml_rows(now: InProcessHub, calls: int) -> list[tuple]:
    cards = {
        "validate-yaml, 1.2 MB block": "license: mit\ntags:\n"
        + "".join(f"- tag{i}\n" for i in range(120_000)),
        "validate-yaml, 500 KB of 0,": "license: mit\nx: [" + "0," * 250_000 + "0]",
        "validate-yaml, a 480 KiB MTEB card (accepted)": mteb_card(800),
    }
    rows = []
    for label, block in cards.items():
        content = f"---\n{block}\n---\n# card\n"

        def call(content: str = content) -> object:
            with now.client() as client:
                return client.post("/api/validate-yaml", json={"content": content})

        with environment("HUBSTEAD_MAX_METADATA_BYTES", str(1024 * MiB)):
            before = measure(call, calls)
        after = measure(call, calls)
        rows.append((label, before, after))
    return rows


def lfs_rows(reference: InProcessHub, now: InProcessHub, calls: int) -> list[tuple]:
    oid = hashlib.sha256(b"huge").hexdigest()
    payload = {"operation": "upload", "objects": [{"oid": oid, "size": 10**13}]}
    rows = []
    sizes = {}
    for name, live in (("reference", reference), ("now", now)):

        def call(live: InProcessHub = live, name: str = name) -> object:
            with live.client("alice") as client:
                answer = client.post("/alice/lfs.git/info/lfs/objects/batch", json=payload)
            sizes[name] = len(answer.content)
            return answer

        live.hub.repos.create(
            live.principal("alice"), RepoType.MODEL, RepoId.parse("alice/lfs"), False
        )
        sizes[name + " timing"] = measure(call, calls)
    rows.append(
        ("LFS batch, one 10^13-byte object", sizes["reference timing"], sizes["now timing"])
    )
    print(f"LFS batch answer: {sizes['reference'] / MiB:.1f} MB before, {sizes['now']} bytes now")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        # the hub as it was: headers up to the format's 100 MB, nothing cached, no LFS caps
        reference = InProcessHub(
            Path(folder) / "reference", max_lfs_object_bytes=10**15, max_lfs_parts=10**9
        )
        reference.hub.cards.parameter_counts = ParameterCounts(100 * MiB, kept=0)
        reference.hub.weights.max_header_bytes = 100 * MiB
        now = InProcessHub(Path(folder) / "now")
        rows = weights_rows(reference, now, args.calls)
        rows += yaml_rows(now, args.calls)
        rows += lfs_rows(reference, now, args.calls)
        print()
        print("| what | before: CPU ms (peak MB) | now: CPU ms (peak MB) | before / now |")
        print("|---|---|---|---|")
        for label, (before_ms, before_mb), (after_ms, after_mb) in rows:
            print(
                f"| {label} | {before_ms:,.1f} ({before_mb:,.1f}) | {after_ms:,.1f} ({after_mb:,.1f})"
                f" | {before_ms / after_ms:,.0f}× |"
            )
        reference.close()
        now.close()


if __name__ == "__main__":
    main()
