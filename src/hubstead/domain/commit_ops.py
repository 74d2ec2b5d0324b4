"""The operations of a commit, typed: what the commit service applies.

The Hub API sends them as NDJSON (one JSON object per line: a `header` first, then `file` with
inline base64 content, `lfsFile` naming an uploaded LFS object, `deletedFile` and
`deletedFolder`), or in an older JSON form; `protocols.schemas` parses both, strictly, into
these types, so a malformed payload is refused before anything is written. The web pages build
them directly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CommitHeader:
    summary: str
    description: str = ""
    parent_commit: str | None = None

    @property
    def message(self) -> str:
        return (
            f"{self.summary}\n\n{self.description}".rstrip() + "\n"
            if self.description
            else self.summary + "\n"
        )


@dataclass(frozen=True, slots=True)
class AddFile:
    path: str
    content: bytes


@dataclass(frozen=True, slots=True)
class AddLfsFile:
    path: str
    oid: str
    size: int | None  # None for a copy of an object already in the repository


@dataclass(frozen=True, slots=True)
class DeleteFile:
    path: str


@dataclass(frozen=True, slots=True)
class DeleteFolder:
    path: str


Operation = AddFile | AddLfsFile | DeleteFile | DeleteFolder


@dataclass(frozen=True, slots=True)
class CommitRequest:
    header: CommitHeader
    operations: list[Operation]
