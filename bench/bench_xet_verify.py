"""The server's verification of one xorb, against the SHA-256 an LFS upload of the same bytes
costs: CPU seconds (best of 5, `time.process_time`, so other load on the machine counts less),
for the three chunk schemes hf_xet writes, in its LZ4 frame layout.

Usage: bench/run xet_verify
"""

from __future__ import annotations

import hashlib
import os
import random
import time

import lz4.frame

from hubstead.xet import hashing
from hubstead.xet.xorb import CompressionScheme, bg4_split, verify_xorb

SIZE = 63 * 1024 * 1024
CHUNK = 64 * 1024


def chunk(data: bytes, scheme: CompressionScheme) -> bytes:
    """A chunk as hf_xet frames it: independent LZ4 blocks, no checksums, no content size."""
    if scheme is CompressionScheme.NONE:
        payload = data
    else:
        grouped = bg4_split(data) if scheme is CompressionScheme.BG4_LZ4 else data
        payload = lz4.frame.compress(grouped, block_linked=False, store_size=False)
    header = b"\x00" + len(payload).to_bytes(3, "little") + bytes([scheme])
    return header + len(data).to_bytes(3, "little") + payload


def cpu(work) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best


def measure(scheme: CompressionScheme, data: bytes) -> tuple[int, float, float]:
    pieces = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]
    body = b"".join(chunk(p, scheme) for p in pieces)
    name = hashing.xorb_hash([(hashing.chunk_hash(p), len(p)) for p in pieces])
    verify = cpu(lambda: verify_xorb(body, name, max_bytes=len(body), keep_data=False))
    return len(body), verify, cpu(lambda: hashlib.sha256(body).digest())


def main() -> None:
    contents = {
        CompressionScheme.NONE: os.urandom(SIZE),  # what random weights are stored as
        CompressionScheme.LZ4: random.Random(1).randbytes(SIZE // 2).hex().encode(),
        CompressionScheme.BG4_LZ4: random.Random(2).randbytes(SIZE // 2).hex().encode(),
    }
    print(f"\nOne xorb of {SIZE >> 20} MiB of 64 KiB chunks, CPU seconds (best of 5)\n")
    print("| chunks | verify_xorb | SHA-256 of the body | verification MB/s |")
    print("|---|---|---|---|")
    for scheme, data in contents.items():
        size, verify, sha = measure(scheme, data)
        print(f"| {scheme.name} | {verify:.3f} | {sha:.3f} | {size / verify / 1e6:.0f} |")


if __name__ == "__main__":
    main()
