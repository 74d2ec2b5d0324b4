"""Generic field checks: strings, lists, mappings, required keys, URLs and repo ids.

Each check reports what is wrong at the given path and returns whether the value can be looked
into further, so the callers stay flat.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from hubstead.domain.cards.report import Metadata, Report, kind


def string_list(value: Any, path: str, report: Report) -> list[tuple[str, str]]:
    """Accept a string or a list of strings; return (path, item) pairs of the valid strings.

    A single string is accepted because huggingface_hub writes `datasets: glue` and the Hub's
    types declare `string | string[]` for most list fields.
    """
    if isinstance(value, str):
        return [(path, value)]
    if not isinstance(value, list):
        report.error(path, f"must be a string or a list of strings, not {kind(value)}")
        return []
    items: list[tuple[str, str]] = []
    for index, item in enumerate(value):
        if isinstance(item, str):
            items.append((f"{path}[{index}]", item))
        else:
            report.error(f"{path}[{index}]", f"must be a string, not {kind(item)}")
    return items


def check_string(value: Any, path: str, report: Report, nullable: bool = False) -> bool:
    if isinstance(value, str) or (nullable and value is None):
        return True
    report.error(path, f"must be a string, not {kind(value)}")
    return False


def check_mapping(value: Any, path: str, report: Report) -> bool:
    if isinstance(value, dict):
        return True
    report.error(path, f"must be a mapping, not {kind(value)}")
    return False


def check_list(value: Any, path: str, report: Report, what: str) -> bool:
    if isinstance(value, list):
        return True
    report.error(path, f"must be a list of {what}, not {kind(value)}")
    return False


def require(mapping: dict[str, Any], key: str, path: str, report: Report) -> Any:
    """The value under `key`, or None after an error naming the missing key."""
    value = mapping.get(key)
    if value is None:
        report.error(f"{path}.{key}", "is required")
    return value


def is_url(value: str) -> bool:
    return re.fullmatch(r"https?://[^\s/$.?#][^\s]*", value) is not None


_ID_PART = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?")


def is_repo_id(value: str) -> bool:
    """`namespace/name`, or a bare legacy name such as `gpt2`, with the Hub's naming rules."""
    parts = value.split("/")
    if len(parts) > 2:
        return False
    return all(
        _ID_PART.fullmatch(part)
        and "--" not in part
        and ".." not in part
        and not part.endswith(".git")
        for part in parts
    )


def check_plain_strings(metadata: Metadata, keys: Iterable[str], report: Report) -> None:
    for key in keys:
        if key in metadata:
            check_string(metadata[key], key, report, nullable=True)


def check_required_strings(
    mapping: dict[str, Any], keys: Iterable[str], path: str, report: Report
) -> None:
    for key in keys:
        value = require(mapping, key, path, report)
        if value is not None:
            check_string(value, f"{path}.{key}", report)


def check_optional_strings(
    mapping: dict[str, Any], keys: Iterable[str], path: str, report: Report
) -> None:
    for key in keys:
        if key in mapping:
            check_string(mapping[key], f"{path}.{key}", report, nullable=True)


def string_list_strict(value: Any, path: str, report: Report) -> None:
    if check_list(value, path, report, "strings"):
        for index, item in enumerate(value):
            check_string(item, f"{path}[{index}]", report)
