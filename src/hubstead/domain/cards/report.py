"""Validation plumbing: the result type, the message collector and message helpers.

Every check writes "path: detail" messages into a :class:`Report`; errors refuse a push,
warnings never do.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

# Parsed card metadata: the YAML block's top-level mapping.
Metadata: TypeAlias = dict[str, Any]


@dataclass(frozen=True)
class ValidationResult:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Errors refuse a push; warnings never do."""
        return not self.errors


class Report:
    """Collects messages; each starts with the path of the field it is about."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}")

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(f"{path}: {message}")

    def result(self) -> ValidationResult:
        return ValidationResult(errors=list(self.errors), warnings=list(self.warnings))


def kind(value: Any) -> str:
    """A YAML-flavoured type name for messages ('a list', 'a number', …)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def suggest(value: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' when a close choice exists, else ''."""
    lowered = {choice.lower(): choice for choice in choices}
    close = lowered.get(value.lower()) or next(
        iter(difflib.get_close_matches(value.lower(), list(lowered), n=1, cutoff=0.75)), None
    )
    if close is None:
        return ""
    return f" (did you mean {lowered.get(close, close)!r}?)"
