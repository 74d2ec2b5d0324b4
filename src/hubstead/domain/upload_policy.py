"""Which files go to LFS and which stay in git, decided the way the Hub decides it.

The client asks through `/preupload` with each file's size and first 512 bytes. Large files and
binary files go to LFS, and so does anything matching an LFS pattern of the repository's
`.gitattributes`; everything else is committed inline.
"""

from __future__ import annotations

import fnmatch

LFS_SIZE_THRESHOLD = 10 * 1024 * 1024


def looks_binary(sample: bytes) -> bool:
    """Binary if the sample has a NUL byte or is not UTF-8 (allowing a cut multibyte character)."""
    if b"\x00" in sample:
        return True
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(sample) - 3
    return False


def lfs_patterns(gitattributes: str) -> list[str]:
    """The patterns of a .gitattributes file marked `filter=lfs`."""
    patterns = []
    for line in gitattributes.splitlines():
        parts = line.strip().split()
        if len(parts) >= 2 and not parts[0].startswith("#") and "filter=lfs" in parts[1:]:
            patterns.append(parts[0])
    return patterns


def matches_any(path: str, patterns: list[str]) -> bool:
    name = path.rsplit("/", 1)[-1]
    for pattern in patterns:
        target = path if "/" in pattern.strip("/") else name
        pattern = pattern.lstrip("/")
        if pattern.endswith("/**"):
            if path.startswith(pattern[:-3] + "/"):
                return True
        elif fnmatch.fnmatchcase(target, pattern) or fnmatch.fnmatchcase(path, pattern):
            return True
    return False


def upload_mode(path: str, size: int, sample: bytes, patterns: list[str]) -> str:
    """Return "lfs" or "regular" for one file the client is about to upload."""
    if size == 0:
        return "regular"
    if size >= LFS_SIZE_THRESHOLD or looks_binary(sample) or matches_any(path, patterns):
        return "lfs"
    return "regular"


def is_ignored(path: str, gitignore: str) -> bool:
    """Whether a path is excluded by a .gitignore (simple patterns, negation supported)."""
    ignored = False
    for raw in gitignore.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line[1:] if negate else line
        directory_only = pattern.endswith("/")
        pattern = pattern.rstrip("/")
        candidates = [path] + [path.rsplit("/", i)[0] for i in range(1, path.count("/") + 1)]
        hit = False
        for candidate in candidates:
            if directory_only and candidate == path:
                continue
            if matches_any(candidate, [pattern]):
                hit = True
                break
        if hit:
            ignored = not negate
    return ignored
