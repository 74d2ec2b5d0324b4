"""Hashes the Hub protocol exposes: git blob SHA-1 for regular files, SHA-256 for LFS objects."""

from __future__ import annotations

import hashlib
import re

SHA256_RE = re.compile(r"^[0-9a-f]{64}\Z")
COMMIT_RE = re.compile(r"^[0-9a-f]{40}\Z")
SHORT_COMMIT_RE = re.compile(r"^[0-9a-f]{7,39}\Z")  # an abbreviated commit id


def git_blob_sha1(content: bytes) -> str:
    """The object id git gives a blob, which the Hub reports as `oid` and `ETag` of regular files."""
    header = f"blob {len(content)}\0".encode()
    return hashlib.sha1(header + content).hexdigest()


def sha256_hex(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def is_sha256(value: str) -> bool:
    return bool(SHA256_RE.match(value))
