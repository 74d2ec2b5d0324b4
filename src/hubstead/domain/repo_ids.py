"""Repository types and ids, with the naming rules of the Hub."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from hubstead.domain.errors import InvalidName

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z")
MAX_NAME_LENGTH = 96


class RepoType(str, enum.Enum):
    MODEL = "model"
    DATASET = "dataset"
    SPACE = "space"

    @property
    def plural(self) -> str:
        """The segment used in API URLs: /api/models, /api/datasets, /api/spaces."""
        return self.value + "s"

    @property
    def url_prefix(self) -> str:
        """The prefix of web, resolve and LFS URLs; models have none."""
        return "" if self is RepoType.MODEL else self.plural + "/"

    @classmethod
    def from_plural(cls, plural: str) -> RepoType:
        for member in cls:
            if member.plural == plural:
                return member
        raise InvalidName(f"Unknown repository type: {plural}")

    @classmethod
    def parse(cls, value: str | None) -> RepoType:
        """Accept what clients send in bodies: a type, a plural, or nothing (a model)."""
        if value in (None, "", "model", "models"):
            return cls.MODEL
        for member in cls:
            if value in (member.value, member.plural):
                return member
        if value in ("kernel", "kernels"):
            raise InvalidName("Kernel repositories are not supported on this hub")
        raise InvalidName(f"Invalid repo type: {value!r}")


def validate_name_part(part: str, what: str = "name") -> str:
    """Check one half of a repo id (namespace or name) against the Hub's rules."""
    if not part or len(part) > MAX_NAME_LENGTH:
        raise InvalidName(f"Invalid {what}: must be 1 to {MAX_NAME_LENGTH} characters long")
    if not _NAME_RE.match(part):
        raise InvalidName(
            f"Invalid {what} {part!r}: use letters, digits, '-', '_' and '.', starting with a letter or digit"
        )
    if "--" in part or ".." in part:
        raise InvalidName(f"Invalid {what} {part!r}: '--' and '..' are forbidden")
    if part.endswith((".git", "-", ".")):
        raise InvalidName(f"Invalid {what} {part!r}: cannot end with '.git', '-' or '.'")
    return part


@dataclass(frozen=True, slots=True)
class RepoId:
    namespace: str
    name: str

    @classmethod
    def parse(cls, value: str) -> RepoId:
        parts = value.split("/")
        if len(parts) != 2:
            raise InvalidName(f"Invalid repo id {value!r}: expected 'namespace/name'")
        return cls.create(parts[0], parts[1])

    @classmethod
    def create(cls, namespace: str, name: str) -> RepoId:
        return cls(
            validate_name_part(namespace, "namespace"), validate_name_part(name, "repo name")
        )

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"
