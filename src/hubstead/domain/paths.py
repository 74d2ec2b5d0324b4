"""Validation of paths inside a repository.

A path comes from a client and ends up in a git tree, so it must never escape the repository
(`..`, absolute paths), reach git's own files (`.git/` and every name a file system takes for
it), hold characters no file name should (control characters, text that is not Unicode), or be
ambiguous (empty segments).
"""

from __future__ import annotations

import re

from hubstead.domain.errors import InvalidPath

MAX_PATH_LENGTH = 4096

# Code points HFS+ drops when it compares names, so `.g\u200cit` is `.git` on a Mac (the list
# git's `next_hfs_char` skips in utf8.c).
HFS_IGNORED = frozenset(
    "\u200c\u200d\u200e\u200f"  # zero-width (non-)joiner, left-to-right and right-to-left marks
    "\u202a\u202b\u202c\u202d\u202e"  # bidirectional embeddings, overrides and their pop
    "\u206a\u206b\u206c\u206d\u206e\u206f"  # deprecated shaping and digit-shape controls
    "\ufeff"  # zero-width no-break space (byte order mark)
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def validate_path(path: str) -> str:
    """Return the normalised path or raise InvalidPath with a message saying what is wrong.

    The rules are the Hub's: `/` is the only separator, so a backslash is an ordinary
    character (`folder/..\\..\\file` is a valid file name) — except at the very start, where
    `..\\` reads as an escape on Windows clients and the Hub answers 422. Paths that would
    escape the repository (`..` segments, absolute paths) answer 422 too; paths that are only
    malformed (empty segments, control characters, `.git` and its look-alikes, too long)
    answer 400.
    """
    if not isinstance(path, str) or not path:
        raise InvalidPath("Invalid path: empty path")
    if len(path) > MAX_PATH_LENGTH:
        raise InvalidPath("Invalid path: too long")
    if "\x00" in path:
        raise InvalidPath(f"Invalid path {path!r}: NUL bytes are not allowed")
    if _CONTROL.search(path):
        raise InvalidPath(f"Invalid path {path!r}: control characters are not allowed")
    if _SURROGATE.search(path):
        raise InvalidPath(f"Invalid path {path!r}: not valid Unicode text")
    if path.startswith(("/", "\\")):
        raise InvalidPath(f"Invalid path {path!r}: absolute paths are not allowed", status=422)
    if path.startswith("..\\"):
        raise InvalidPath(f"Invalid path {path!r}: a path cannot start with '..\\'", status=422)
    if path.startswith("./"):
        path = path[2:]
    segments = path.split("/")
    if ".." in segments:
        raise InvalidPath(f"Invalid path {path!r}: '..' segments are not allowed", status=422)
    for number, segment in enumerate(segments, 1):
        if segment in ("", "."):
            raise InvalidPath(f"Invalid path {path!r}: empty and '.' segments are not allowed")
        if segment.lower() == ".git":
            raise InvalidPath(f"Invalid path {path!r}: '.git' is reserved")
        if names_git_folder(segment):
            raise InvalidPath(
                f"Invalid path {path!r}: {segment!r} is reserved (a file system reads it as '.git')"
            )
        special = names_git_file(segment)
        if special is not None and number < len(segments):
            raise InvalidPath(
                f"Invalid path {path!r}: {segment!r} cannot be a folder (git reads it as "
                f"{special!r}, which must be a file)"
            )
    return path


def validate_folder(path: str) -> str:
    """A folder path as sent by `deletedFolder` (a trailing '/' is allowed)."""
    if not isinstance(path, str):
        raise InvalidPath("Invalid path: empty path")
    return validate_path(path.rstrip("/"))


def names_git_folder(segment: str) -> bool:
    """Whether a file system could take this path segment for `.git`.

    These are the names git's fsck reports as `hasDotgit` (an error for `receive.fsckObjects`
    and `transfer.fsckObjects`, which run it strictly), so a commit holding one could not be
    pushed, and a clone that checks objects would fail:

    - `.git` in any case (case-insensitive file systems);
    - on HFS+ (macOS), `.git` once the code points HFS+ ignores are dropped (`.g\\u200cit`), as
      git's `is_hfs_dotgit` does;
    - on NTFS (Windows), as git's `is_ntfs_dotgit` does: `.git` or its short name `git~1` (any
      case) followed only by dots and spaces (which Windows strips) up to the end, or up to a
      `:` (an alternate data stream such as `.git::$INDEX_ALLOCATION`) or a backslash (a
      separator there). fsck reads a backslash as a separator, so every part after one is
      checked too (`docs\\.git\\config`).
    """
    if _is_hfs_dot_git(segment):
        return True
    return any(_is_ntfs_dot_git(part) for part in segment.split("\\"))


def names_git_file(segment: str) -> str | None:
    """The file of git's own a file system could take this path segment for: `.gitmodules` or
    `.gitattributes` (None: neither).

    git's fsck expects a blob under these names (`gitmodulesBlob`, `gitattributesBlob`) and
    reads it, so they cannot be folders; it recognises them in any case, through the code
    points HFS+ ignores (`is_hfs_dotgitmodules`), and as NTFS spells them (`is_ntfs_dot_generic`:
    trailing dots and spaces, a `:` stream, the short names `GITMOD~1` and `GITATT~1`, and the
    hashed fallbacks `gi7eba~N` and `gi7d29~N`); `.gitmodules` also after a backslash.
    """
    for name, short in _GIT_FILES:
        if _is_hfs_dot(segment, name) or _is_ntfs_dot(segment, name, short):
            return "." + name
    parts = segment.split("\\")[1:]
    if any(_is_ntfs_dot(part, "gitmodules", "gi7eba") for part in parts):
        return ".gitmodules"
    return None


# git's own files, with the prefix of the short name NTFS derives from a hash when GITMOD~1 and
# its kind are taken (git's `is_ntfs_dotgitmodules` and `is_ntfs_dotgitattributes`)
_GIT_FILES = (("gitmodules", "gi7eba"), ("gitattributes", "gi7d29"))
MAX_GITATTRIBUTES_LINE = 2048  # git's ATTR_MAX_LINE_LENGTH: a longer line fails its fsck
MAX_GITATTRIBUTES_SIZE = 100 * 1024 * 1024  # git's ATTR_MAX_FILE_SIZE


def check_git_file(path: str, content: bytes) -> None:
    """Refuse a `.gitattributes` git's fsck would refuse (`gitattributesLarge`,
    `gitattributesLineLength`: over 100 MiB, or a line of 2048 bytes or more before its
    newline; git stops reading at a NUL)."""
    if names_git_file(path.rsplit("/", 1)[-1]) != ".gitattributes":
        return
    if len(content) > MAX_GITATTRIBUTES_SIZE:
        raise InvalidPath(f"Invalid file {path!r}: git reads at most 100 MiB of .gitattributes")
    text = content.split(b"\x00", 1)[0]
    if any(len(line) >= MAX_GITATTRIBUTES_LINE for line in text.split(b"\n")):
        raise InvalidPath(
            f"Invalid file {path!r}: git refuses .gitattributes lines of "
            f"{MAX_GITATTRIBUTES_LINE} bytes or more"
        )


def _is_hfs_dot_git(segment: str) -> bool:
    return _is_hfs_dot(segment, "git")


def _is_hfs_dot(segment: str, name: str) -> bool:
    """`.name` once the code points HFS+ ignores are dropped, in any ASCII case."""
    folded = "".join(char for char in segment if char not in HFS_IGNORED)
    return folded.isascii() and folded.lower() == "." + name


def _is_ntfs_dot(part: str, name: str, short: str) -> bool:
    """NTFS's spellings of `.name` for git's files longer than `.git` (`is_ntfs_dot_generic`)."""
    head = part[: len(name) + 1]
    if head.isascii() and head.lower() == "." + name:
        return _only_dots_and_spaces(part[len(name) + 1 :])
    head = part[:8]
    if not head.isascii() or len(head) < 8:
        return False
    lowered = head.lower()
    if lowered[:6] == name[:6] and lowered[6] == "~" and lowered[7] in "1234":
        return _only_dots_and_spaces(part[8:])
    # the fallback short name: up to six characters of `short`, then `~` and a number 1-9…,
    # eight characters in all
    tilde = lowered.find("~")
    if not 0 <= tilde <= 6 or lowered[:tilde] != short[:tilde]:
        return False
    number = lowered[tilde + 1 :]
    if not number or number[0] not in "123456789" or not number.isdigit():
        return False
    return _only_dots_and_spaces(part[8:])


def _only_dots_and_spaces(rest: str) -> bool:
    """What NTFS strips from the end of a name: dots and spaces, up to a `:` stream name."""
    return not rest.split(":", 1)[0].strip(". ")


def _is_ntfs_dot_git(part: str) -> bool:
    head = part[:5]
    if not head.isascii():
        return False
    head = head.lower()
    if head.startswith(".git"):
        rest = part[4:]
    elif head == "git~1":
        rest = part[5:]
    else:
        return False
    return not rest.split(":", 1)[0].strip(". ")
