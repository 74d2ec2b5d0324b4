"""Validation of paths inside a repository.

A path comes from a client and ends up in a git tree, so it must never escape the repository
(`..`, absolute paths), reach git's own files (`.git/`), or be ambiguous (empty segments).
"""

from __future__ import annotations

from hubstead.domain.errors import InvalidPath

MAX_PATH_LENGTH = 4096


def validate_path(path: str) -> str:
    """Return the normalised path or raise InvalidPath with a message saying what is wrong."""
    if not isinstance(path, str) or not path:
        raise InvalidPath("Invalid path: empty path")
    if len(path) > MAX_PATH_LENGTH:
        raise InvalidPath("Invalid path: too long")
    if "\x00" in path or "\\" in path:
        raise InvalidPath(f"Invalid path {path!r}: NUL bytes and backslashes are not allowed")
    if path.startswith("/"):
        raise InvalidPath(f"Invalid path {path!r}: absolute paths are not allowed")
    if path.startswith("./"):
        path = path[2:]
    segments = path.split("/")
    for segment in segments:
        if segment in ("", ".", ".."):
            raise InvalidPath(f"Invalid path {path!r}: empty, '.' and '..' segments are not allowed")
        if segment == ".git":
            raise InvalidPath(f"Invalid path {path!r}: '.git' is reserved")
    return path


def validate_folder(path: str) -> str:
    """A folder path as sent by `deletedFolder` (a trailing '/' is allowed)."""
    return validate_path(path.rstrip("/"))
