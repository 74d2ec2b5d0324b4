"""Validation of paths inside a repository.

A path comes from a client and ends up in a git tree, so it must never escape the repository
(`..`, absolute paths), reach git's own files (`.git/`), or be ambiguous (empty segments).
"""

from __future__ import annotations

from hubstead.domain.errors import InvalidPath

MAX_PATH_LENGTH = 4096


def validate_path(path: str) -> str:
    """Return the normalised path or raise InvalidPath with a message saying what is wrong.

    The rules are the Hub's: `/` is the only separator, so a backslash is an ordinary
    character (`folder/..\\..\\file` is a valid file name) — except at the very start, where
    `..\\` reads as an escape on Windows clients and the Hub answers 422. Paths that would
    escape the repository (`..` segments, absolute paths) answer 422 too; paths that are only
    malformed (empty segments, NUL bytes, `.git`, too long) answer 400.
    """
    if not isinstance(path, str) or not path:
        raise InvalidPath("Invalid path: empty path")
    if len(path) > MAX_PATH_LENGTH:
        raise InvalidPath("Invalid path: too long")
    if "\x00" in path:
        raise InvalidPath(f"Invalid path {path!r}: NUL bytes are not allowed")
    if path.startswith(("/", "\\")):
        raise InvalidPath(f"Invalid path {path!r}: absolute paths are not allowed", status=422)
    if path.startswith("..\\"):
        raise InvalidPath(f"Invalid path {path!r}: a path cannot start with '..\\'", status=422)
    if path.startswith("./"):
        path = path[2:]
    segments = path.split("/")
    if ".." in segments:
        raise InvalidPath(f"Invalid path {path!r}: '..' segments are not allowed", status=422)
    for segment in segments:
        if segment in ("", "."):
            raise InvalidPath(f"Invalid path {path!r}: empty and '.' segments are not allowed")
        if segment == ".git":
            raise InvalidPath(f"Invalid path {path!r}: '.git' is reserved")
    return path


def validate_folder(path: str) -> str:
    """A folder path as sent by `deletedFolder` (a trailing '/' is allowed)."""
    return validate_path(path.rstrip("/"))
