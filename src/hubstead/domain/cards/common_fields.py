"""Fields every card type shares: license, language, tags, thumbnail and gating fields."""

from __future__ import annotations

import re
from typing import Any

from hubstead.domain.cards import vocabulary as vocab
from hubstead.domain.cards.fields import (
    check_mapping,
    check_plain_strings,
    check_string,
    is_url,
    string_list,
)
from hubstead.domain.cards.report import Metadata, Report, kind, suggest


def _check_license(metadata: Metadata, report: Report) -> None:
    value = metadata.get("license")
    licenses = [] if value is None else string_list(value, "license", report)
    for path, license_id in licenses:
        if license_id not in vocab.LICENSES:
            hint = suggest(license_id, vocab.LICENSE_IDS)
            report.error(
                path,
                f"must be one of [{', '.join(vocab.LICENSE_IDS)}] ({license_id!r} is not a license id{hint})",
            )
    is_other = any(license_id == "other" for _, license_id in licenses)
    _check_license_name(metadata.get("license_name"), is_other, report)
    _check_license_link(metadata.get("license_link"), is_other, report)


def _check_license_name(value: Any, is_other: bool, report: Report) -> None:
    """The notes (§0, §2.1) say `license: other` requires `license_name` + `license_link`."""
    if value is None:
        if is_other:
            report.error(
                "license_name",
                "is required when license is 'other' (a slug such as my-license-1.0)",
            )
        return
    if not check_string(value, "license_name", report):
        return
    if not is_other:
        report.warn("license_name", "is only used when license is 'other'; it is ignored here")
    elif not re.fullmatch(r"[a-z0-9][a-z0-9._+-]*", value):
        report.warn("license_name", f"{value!r} should be a lowercase slug such as my-license-1.0")


def _check_license_link(value: Any, is_other: bool, report: Report) -> None:
    if value is None:
        if is_other:
            report.error(
                "license_link", "is required when license is 'other' (LICENSE, LICENSE.md or a URL)"
            )
        return
    if not check_string(value, "license_link", report):
        return
    if not is_other:
        report.warn("license_link", "is only used when license is 'other'; it is ignored here")
    elif not (value in vocab.LICENSE_LINK_FILES or is_url(value) or _is_repo_path(value)):
        report.warn(
            "license_link",
            f"{value!r} is neither LICENSE, LICENSE.md, a file in the repo nor a URL",
        )


def _is_repo_path(value: str) -> bool:
    return (
        bool(value)
        and not value.startswith("/")
        and ".." not in value.split("/")
        and " " not in value
    )


def _check_language(metadata: Metadata, report: Report) -> None:
    """Bad codes only warn: the notes (§10) found no evidence that the Hub refuses them."""
    value = metadata.get("language")
    if value is None:
        return
    for path, code in string_list(value, "language", report):
        if not vocab.is_language_code(code):
            report.warn(path, _language_hint(code))


def _language_hint(code: str) -> str:
    base = re.split(r"[-_]", code, maxsplit=1)[0]
    if code.lower() != code and vocab.is_language_code(code.lower()):
        return f"{code!r} must be lowercase: {code.lower()!r}"
    if base != code and vocab.is_language_code(base.lower()):
        return (
            f"{code!r} is a regional tag; use the ISO 639 code {base.lower()!r} here "
            "and put the full tag in language_bcp47 or language_details"
        )
    specials = ", ".join(vocab.SPECIAL_LANGUAGE_VALUES)
    return f"{code!r} is not an ISO 639-1/639-2/639-3 code or one of {specials}"


def _check_tags(metadata: Metadata, report: Report) -> None:
    value = metadata.get("tags")
    if value is not None:
        string_list(value, "tags", report)


def _check_thumbnail(metadata: Metadata, report: Report) -> None:
    value = metadata.get("thumbnail")
    if check_string(value, "thumbnail", report, nullable=True) and value and not is_url(value):
        report.warn(
            "thumbnail", f"{value!r} is not an http(s) URL, so social previews cannot use it"
        )


def _check_gated_fields(metadata: Metadata, report: Report) -> None:
    """`extra_gated_fields`: a mapping label -> type (docs); the dataset template lists them."""
    value = metadata.get("extra_gated_fields")
    if value is None:
        return
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        value = {key: spec for item in value for key, spec in item.items()}
    if not check_mapping(value, "extra_gated_fields", report):
        return
    for label, spec in value.items():
        _check_gated_field(spec, f"extra_gated_fields.{label}", report)


def _check_gated_field(spec: Any, path: str, report: Report) -> None:
    if isinstance(spec, dict):
        field_type = spec.get("type")
        if field_type == "select":
            options = spec.get("options")
            if not isinstance(options, list) or not options:
                report.error(f"{path}.options", "a select field needs a non-empty list of options")
            return
        spec = field_type
    if not isinstance(spec, str):
        report.error(path, f"must be a field type or a mapping with a type, not {kind(spec)}")
    elif spec not in vocab.GATED_FIELD_TYPES:
        report.warn(
            path,
            f"unknown field type {spec!r}; "
            f"use one of {', '.join(vocab.GATED_FIELD_TYPES)} or select",
        )


_COMMON_STRING_FIELDS = (
    "license_details",
    "extra_gated_prompt",
    "extra_gated_heading",
    "extra_gated_description",
    "extra_gated_button_content",
)


def check_common(metadata: Metadata, report: Report) -> None:
    _check_license(metadata, report)
    _check_language(metadata, report)
    _check_tags(metadata, report)
    _check_thumbnail(metadata, report)
    _check_gated_fields(metadata, report)
    check_plain_strings(metadata, _COMMON_STRING_FIELDS, report)
    if metadata.get("language_bcp47") is not None:
        string_list(metadata["language_bcp47"], "language_bcp47", report)
