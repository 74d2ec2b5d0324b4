"""The card linter: the metadata validator's errors and warnings, each pinned to its README line,
with "did you mean" fixes, plus the mistakes the validator lets through (typos in key names, a
missing license).

The validator (:mod:`.validate`) is what decides whether a commit is refused; the linter never
disagrees with it, it only says *where* and *how to fix*: every validator message becomes one
finding, and the linter's own checks are warnings. The editor shows the findings next to their
lines before the commit, so a refused commit is never the first sign of a mistake.

Lines come from a second, composing pass over the front matter (PyYAML's nodes carry marks):
a validator path such as `model-index[0].results[0].task.type` is walked down the node tree to
the deepest node that exists, so a missing key points at the mapping that lacks it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import cache
from typing import Literal

import yaml

from hubstead.domain.cards import vocabulary as vocab
from hubstead.domain.cards.loader import _FRONT_MATTER, CardSyntaxError, split_card
from hubstead.domain.cards.validate import validate_card_text

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One problem of a card. `line` is 1-based in the whole README; `path` names the metadata
    field ("license", "language[1]", "metadata" for the block itself). `fix` is a replacement for
    the text between `column` and `end_column` (0-based, on `line`), which held `original`."""

    line: int
    severity: Severity
    message: str
    path: str = "metadata"
    fix: str | None = None
    column: int | None = None
    end_column: int | None = None
    original: str | None = None

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class CardLayout:
    """Where the parts of a README are: the YAML block (None without one) starts on README line
    `first_line`; the Markdown body starts on `body_line`."""

    block: str | None
    first_line: int
    body: str
    body_line: int


def card_layout(text: str) -> CardLayout:
    """Locate the front matter with the Hub's own pattern (the loader's), without parsing it, so
    a card with broken YAML still has a body to check."""
    match = _FRONT_MATTER.search(text)
    if match is None:
        return CardLayout(None, 1, text.removeprefix("\ufeff"), 1)
    first_line = 1 + _count_lines(match.group("open"))
    body_line = 1 + _count_lines(text[: match.end()])
    return CardLayout(match.group("yaml"), first_line, text[match.end() :], body_line)


def _count_lines(text: str) -> int:
    return len(re.findall(r"\r\n|\r|\n", text))


# =============================================================================================
# Suggestions


def _normal(value: str) -> str:
    return re.sub(r"[\s_]+", "-", value.strip().lower())


def _compact(value: str) -> str:
    return re.sub(r"[^a-z0-9]", "", value.lower())


def _versionless(value: str) -> str:
    """Letters and digits without a trailing ".0": `gpl3` and `gpl-3.0` are the same."""
    return re.sub(r"(?<=\d)0+$", "", _compact(value))


def did_you_mean(value: str, choices: Iterable[str], cutoff: float = 0.75) -> str | None:
    """The choice `value` was most likely meant to be: the same once case, `_`, `-` and spaces
    are normalised, the same letters and digits (a ".0" version suffix left out), or a close
    spelling (difflib). Earlier choices win ties (the vocabularies list common ones first)."""
    choices = tuple(choices)
    by_normal = {_normal(choice): choice for choice in choices}
    if _normal(value) in by_normal:
        return by_normal[_normal(value)]
    for key in (_compact, _versionless):
        by_key: dict[str, str] = {}
        for choice in choices:
            by_key.setdefault(key(choice), choice)
        if key(value) and key(value) in by_key:
            return by_key[key(value)]
    close = difflib.get_close_matches(_normal(value), list(by_normal), n=1, cutoff=cutoff)
    return by_normal[close[0]] if close else None


@cache
def _language_names() -> dict[str, str]:
    """English language name (lowercase) -> ISO 639-1 code, for `language: English`."""
    names: dict[str, str] = {}
    for code in sorted(vocab.ISO_639_1_CODES):
        name = vocab.language_name(code)
        if name:
            names.setdefault(name.lower(), code)
            names.setdefault(name.lower().split(" (")[0].split(";")[0], code)
    return names


def _language_fix(code: str) -> str | None:
    lowered = code.strip().lower()
    if vocab.is_language_code(lowered):
        return lowered
    base = re.split(r"[-_]", lowered, maxsplit=1)[0]
    if base != lowered and vocab.is_language_code(base):
        return base
    return _language_names().get(lowered)


_VOCABULARIES: dict[str, tuple[str, ...]] = {
    "license": vocab.LICENSE_IDS,
    "pipeline_tag": vocab.PIPELINE_TYPES,
    "library_name": vocab.MODEL_LIBRARIES,
    "task_categories": vocab.DATASET_TASK_CATEGORIES,
    "task_ids": tuple(sorted(vocab.DATASET_TASK_IDS)),
    "size_categories": vocab.DATASET_SIZE_CATEGORIES,
    "multilinguality": vocab.MULTILINGUALITY_VALUES,
    "base_model_relation": vocab.BASE_MODEL_RELATIONS,
    "co2_eq_emissions.training_type": vocab.CO2_TRAINING_TYPES,
}


def _suggest_value(path: str, value: str) -> str | None:
    field = re.sub(r"\[\d+\]", "", path)
    if field == "language":
        fix = _language_fix(value)
        return fix if fix != value else None
    choices = _VOCABULARIES.get(field)
    return did_you_mean(value, choices) if choices else None


# =============================================================================================
# Known keys (for typos in key names)

_COMMON_KEYS = frozenset(
    """
    license license_name license_link license_details language language_bcp47
    language_details tags thumbnail datasets extra_gated_prompt extra_gated_fields
    extra_gated_heading extra_gated_description extra_gated_button_content
    extra_gated_eu_disallowed gated pretty_name
    """.split()  # noqa: SIM905 - a compact data table
)
_KEYS_BY_REPO_TYPE: dict[str, frozenset[str]] = {
    "model": _COMMON_KEYS
    | frozenset(
        """
        pipeline_tag library_name metrics base_model base_model_relation new_version
        model-index widget inference co2_eq_emissions mask_token instance_prompt description
        finetuned_from model_name
        """.split()  # noqa: SIM905
    ),
    "dataset": _COMMON_KEYS
    | frozenset(
        """
        task_categories task_ids size_categories multilinguality annotations_creators
        language_creators source_datasets paperswithcode_id configs dataset_info
        train-eval-index viewer
        """.split()  # noqa: SIM905
    ),
    "space": _COMMON_KEYS
    | frozenset(
        """
        title emoji colorFrom colorTo sdk sdk_version python_version app_file app_port
        base_path fullWidth header short_description models pinned hf_oauth
        hf_oauth_scopes hf_oauth_expiration_minutes hf_oauth_authorized_org disable_embedding
        startup_duration_timeout custom_headers preload_from_hub suggested_hardware
        suggested_storage
        """.split()  # noqa: SIM905
    ),
}
_ALL_KEYS = frozenset().union(*_KEYS_BY_REPO_TYPE.values())


# =============================================================================================
# Locating a validator path in the YAML nodes

_SEGMENT = re.compile(r"\[(\d+)\]|([^.\[]+)")
# A required key that is missing points at the key it goes with.
_RELATED_KEY = {"license_name": "license", "license_link": "license"}


def _segments(path: str) -> list[str | int]:
    return [int(index) if index else name for index, name in _SEGMENT.findall(path)]


def _child(node: yaml.Node, segment: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    """(key node or item node, value node) of `segment` under `node`, if it exists."""
    if isinstance(segment, int):
        if isinstance(node, yaml.SequenceNode) and segment < len(node.value):
            item = node.value[segment]
            return item, item
        return None
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == segment:
                return key, value
    if isinstance(node, yaml.SequenceNode):  # a list of one-key mappings, read as one mapping
        for item in node.value:
            found = _child(item, segment)
            if found is not None:
                return found
    return None


def _locate(root: yaml.Node, path: str) -> tuple[yaml.Node | None, yaml.Node | None, bool]:
    """(the value node of `path`, the key node that names it, whether the whole path exists);
    when it does not, the deepest pair that does."""
    key: yaml.Node | None = None
    node: yaml.Node = root
    for segment in _segments(path):
        found = _child(node, segment)
        if found is None:
            return (node if key is not None else None), key, False
        key, node = found
    return node, key, True


@dataclass(frozen=True)
class _Place:
    line: int
    scalar: yaml.ScalarNode | None  # the value, when it is a one-line scalar (fixable)


def _place(root: yaml.Node | None, path: str, layout: CardLayout) -> _Place:
    """The README line a validator path points at."""
    block_line = layout.first_line - 1 if layout.block is not None else 1  # the `---` line
    if root is None or path == "metadata":
        return _Place(block_line, None)
    value, key, complete = _locate(root, path)
    if not complete and key is None and path in _RELATED_KEY:
        value, key, complete = _locate(root, _RELATED_KEY[path])
        complete = False
    if key is None:
        return _Place(block_line, None)
    if complete and isinstance(value, yaml.ScalarNode):
        one_line = value.start_mark.line == value.end_mark.line and value.style in (None, "'", '"')
        return _Place(layout.first_line + value.start_mark.line, value if one_line else None)
    return _Place(layout.first_line + key.start_mark.line, None)


# =============================================================================================
# Findings

_ONE_OF = re.compile(r"^must be one of \[[^\]]*\] \((?P<inner>.*)\)$", re.S)
_DID_YOU_MEAN = re.compile(r" ?\(did you mean '(?P<choice>[^']*)'\?\)")
_README_LINE = re.compile(r" ?\(README line (?P<line>\d+)\)")


def _with_fix(finding: Finding, scalar: yaml.ScalarNode | None, fix: str | None) -> Finding:
    if scalar is None or fix is None or fix == scalar.value:
        return finding
    quote = scalar.style or ""
    return Finding(
        finding.line,
        finding.severity,
        finding.message,
        finding.path,
        fix=f"{quote}{fix}{quote}",
        column=scalar.start_mark.column,
        end_column=scalar.end_mark.column,
        original=scalar.start_mark.buffer[scalar.start_mark.pointer : scalar.end_mark.pointer]
        if scalar.start_mark.buffer
        else None,
    )


def _from_validator(
    message: str, severity: Severity, root: yaml.Node | None, layout: CardLayout
) -> Finding:
    """A validator message ("path: detail") as a finding at its line, the long "must be one of
    [every id]" lists cut, its "did you mean" turned into a fix."""
    path, _, detail = message.partition(": ")
    inner = _ONE_OF.match(detail)
    detail = inner.group("inner") if inner else detail
    suggested = _DID_YOU_MEAN.search(detail)
    detail = _DID_YOU_MEAN.sub("", detail)
    place = _place(root, path, layout)
    finding = Finding(place.line, severity, detail, path)
    if place.scalar is None:
        return finding
    fix = _suggest_value(path, place.scalar.value) or (
        suggested.group("choice") if suggested else None
    )
    return _with_fix(finding, place.scalar, fix)


def _syntax_finding(error: CardSyntaxError, layout: CardLayout) -> Finding:
    text = str(error)
    where = _README_LINE.search(text)
    line = int(where.group("line")) if where else max(1, layout.first_line - 1)
    return Finding(line, "error", _README_LINE.sub("", text), "metadata")


def _key_typos(root: yaml.MappingNode, repo_type: str, layout: CardLayout) -> list[Finding]:
    """Unknown top-level keys that look like a known one (`licence`, `pipline_tag`): the Hub
    keeps them silently, and the field they were meant to be stays empty."""
    findings = []
    known = sorted(_KEYS_BY_REPO_TYPE.get(repo_type, _ALL_KEYS))
    present = {key.value for key, _ in root.value if isinstance(key, yaml.ScalarNode)}
    for key, _ in root.value:
        if not isinstance(key, yaml.ScalarNode) or key.value in _ALL_KEYS:
            continue
        meant = did_you_mean(key.value, known, cutoff=0.8)
        if meant is None:
            continue
        line = layout.first_line + key.start_mark.line
        if meant in present:  # renaming it would duplicate the key: say so, offer no fix
            message = f"unknown key {key.value!r}: it is kept but not used ({meant!r} is set too)"
            findings.append(Finding(line, "warning", message, key.value))
            continue
        message = f"unknown key {key.value!r}: it is kept but not used"
        findings.append(_with_fix(Finding(line, "warning", message, key.value), key, meant))
    return findings


def _missing_license(root: yaml.MappingNode, layout: CardLayout) -> list[Finding]:
    keys = {key.value for key, _ in root.value if isinstance(key, yaml.ScalarNode)}
    if "license" in keys or not keys:
        return []
    return [
        Finding(
            layout.first_line - 1,
            "warning",
            "no license: add one (for example `license: apache-2.0`) so people know how they "
            "may use this repository",
            "license",
        )
    ]


def _compose(layout: CardLayout) -> yaml.Node | None:
    if layout.block is None:
        return None
    try:
        return yaml.compose(layout.block, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return None


_SEVERITY_ORDER = {"error": 0, "warning": 1}


def lint_card(text: str, repo_type: str = "model") -> list[Finding]:
    """Every problem of a README's metadata, in line order: the validator's errors (a commit is
    refused on them) and warnings, and the linter's own warnings."""
    layout = card_layout(text)
    try:
        split_card(text)
    except CardSyntaxError as error:
        return [_syntax_finding(error, layout)]
    result = validate_card_text(text, repo_type)
    root = _compose(layout)
    findings = [_from_validator(m, "error", root, layout) for m in result.errors]
    findings += [_from_validator(m, "warning", root, layout) for m in result.warnings]
    if isinstance(root, yaml.MappingNode):
        findings += _key_typos(root, repo_type, layout)
        findings += _missing_license(root, layout)
    return sorted(findings, key=lambda f: (f.line, _SEVERITY_ORDER[f.severity]))
