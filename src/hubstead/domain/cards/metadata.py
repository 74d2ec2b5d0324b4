"""Split a README.md into YAML front matter + Markdown body, and check the metadata.

The Hub validates the YAML block of README.md on every push (and through
`POST /api/validate-yaml`) and answers with `errors` (push refused) and `warnings` (push
accepted). This module reproduces that split so Hubstead can refuse and accept the same cards.
Where the Hub's own rule is unpublished, the choice is explained next to the rule; the research
notes (/work/shared/research/cards-tags-widgets.md, sections 1, 2, 4.5, 5.2, 10) are the source.

Parsing choices (why they differ from a bare `yaml.safe_load`):

* The front matter is found with the same pattern as the Hub server (quoted in huggingface_hub
  `repocard.REGEX_YAML_BLOCK`): an opening `---` line at the very start (after optional
  whitespace), the shortest block up to the next line that is `---` plus optional blanks.
  A BOM is tolerated because the Hub's pattern is a JavaScript one, where `\\s` covers U+FEFF.
  Consequence kept on purpose: `---` immediately followed by `---` is NOT a front matter block.
* The Hub's server is JavaScript, whose YAML libraries follow YAML 1.2: `no`, `yes`, `on`, `off`
  are strings there, not booleans. PyYAML follows YAML 1.1, which turns `language: no`
  (Norwegian) into `False`. The loader here uses YAML 1.2 booleans (`true`/`false` only).
* Dates stay strings, and `!!binary`, `!!set`, `!!timestamp`, `!!omap`, `!!pairs` are refused,
  so the metadata is always JSON-serialisable for the API's `cardData`.
* Duplicate keys are a syntax error (JavaScript YAML parsers reject them; PyYAML silently keeps
  the last one, which would hide a mistake).
* Aliases are capped (count, total expanded size, no self-reference) and deep nesting is a
  syntax error, so a hostile card cannot make a later JSON dump explode or loop.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from hubstead.domain.cards import vocabulary as vocab

REPO_TYPES = ("model", "dataset", "space")
MAX_YAML_ALIASES = 100
# Values that aliases may add once expanded, in total: counting aliases alone is not enough,
# because ten levels of ten aliases each expand to 10**10 values.
MAX_ALIAS_EXPANSION = 10_000

# Same semantics as the Hub server's pattern: \A instead of ^ and \Z instead of $ because in
# JavaScript (no `m` flag) both anchor to the whole string only; \ufeff added to the leading
# whitespace because JavaScript's \s includes it.
_FRONT_MATTER = re.compile(
    r"\A(?P<open>[\s\ufeff]*---(?:\r\n|\r|\n))"
    r"(?P<yaml>[\s\S]*?)"
    r"(?P<close>(?:\r\n|\r|\n)---[ \t]*(?:\r\n|\n|\Z))"
)


class CardSyntaxError(ValueError):
    """The README has a YAML block, but it is not valid YAML or not a mapping."""


@dataclass(frozen=True)
class CardDocument:
    metadata: dict
    body: str
    has_front_matter: bool


@dataclass(frozen=True)
class ValidationResult:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Errors refuse a push; warnings never do."""
        return not self.errors


# =============================================================================================
# Parsing


class _CardLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans, JSON-only types, unique keys and an alias budget."""

    def __init__(self, stream: str, first_line: int = 1) -> None:
        super().__init__(stream)
        self.first_line = first_line  # README line number of the block's first line
        self._aliases_seen = 0
        self._alias_expansion = 0
        self._node_sizes: dict[int, int] = {}  # id(node) -> expanded size, memoised
        self._open_anchors: set[str] = set()  # anchors of collections still being composed

    def readme_line(self, mark: yaml.Mark) -> int:
        return self.first_line + mark.line

    def compose_node(self, parent: Any, index: Any) -> Any:
        if not self.check_event(yaml.AliasEvent):
            return super().compose_node(parent, index)
        self._aliases_seen += 1
        if self._aliases_seen > MAX_YAML_ALIASES:
            raise CardSyntaxError(f"too many YAML aliases (more than {MAX_YAML_ALIASES})")
        if self.peek_event().anchor in self._open_anchors:
            raise CardSyntaxError("a YAML alias refers to the value that contains it")
        node = super().compose_node(parent, index)
        self._alias_expansion += self._expanded_size(node)
        if self._alias_expansion > MAX_ALIAS_EXPANSION:
            raise CardSyntaxError(f"YAML aliases expand to more than {MAX_ALIAS_EXPANSION} values")
        return node

    def compose_sequence_node(self, anchor: str | None) -> yaml.SequenceNode:
        return self._compose_open(anchor, super().compose_sequence_node)

    def compose_mapping_node(self, anchor: str | None) -> yaml.MappingNode:
        return self._compose_open(anchor, super().compose_mapping_node)

    def _compose_open(self, anchor: str | None, compose: Callable[[Any], Any]) -> Any:
        """Compose a collection while remembering its anchor, to refuse self-references."""
        if anchor is None:
            return compose(anchor)
        self._open_anchors.add(anchor)
        try:
            return compose(anchor)
        finally:
            self._open_anchors.discard(anchor)

    def _expanded_size(self, node: yaml.Node) -> int:
        """Number of values `node` stands for once every alias inside it is expanded."""
        if id(node) in self._node_sizes:
            return self._node_sizes[id(node)]
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        else:
            children = node.value if isinstance(node, yaml.SequenceNode) else []
        size = 1 + sum(self._expanded_size(child) for child in children)
        self._node_sizes[id(node)] = size
        return size

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if (
                not isinstance(key_node, yaml.ScalarNode)
                or key_node.tag == "tag:yaml.org,2002:merge"
            ):
                continue
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                line = self.readme_line(key_node.start_mark)
                raise CardSyntaxError(f"duplicated key {key!r} (README line {line})")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _install_yaml12_scalars(loader: type[yaml.SafeLoader]) -> None:
    """Drop the YAML 1.1 bool/timestamp resolvers and add the YAML 1.2 bool one.

    Explicit `!!binary`, `!!set`, `!!timestamp`, `!!omap` and `!!pairs` lose their constructors
    too, so they fail as syntax errors instead of producing values JSON cannot carry.
    """
    loader.yaml_constructors = {
        tag: constructor
        for tag, constructor in yaml.SafeLoader.yaml_constructors.items()
        if tag not in {f"tag:yaml.org,2002:{name}" for name in _NON_JSON_TYPES}
    }
    dropped = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp"}
    loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in dropped]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool",
        re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list("tTfF"),
    )


_NON_JSON_TYPES = ("binary", "set", "timestamp", "omap", "pairs")
_install_yaml12_scalars(_CardLoader)


def load_yaml(text: str) -> Any:
    """Any YAML document read with the card rules (JSON types only, unique keys, bounded
    aliases): other YAML files the hub reads, such as `.eval_results/*.yaml`, get the same
    defences as card metadata."""
    return _load_yaml_value(text, 1)


def _load_yaml_mapping(block: str, first_line: int) -> dict:
    data = _load_yaml_value(block, first_line)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CardSyntaxError(f"the metadata block must be a mapping, not {_kind(data)}")
    return data


def _load_yaml_value(block: str, first_line: int) -> Any:
    loader = _CardLoader(block, first_line)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" (README line {loader.readme_line(mark)})" if mark else ""
        detail = "; ".join(part for part in (exc.context, exc.problem) if part) or str(exc)
        raise CardSyntaxError(f"invalid YAML{where}: {detail}") from exc
    except yaml.YAMLError as exc:
        raise CardSyntaxError(f"invalid YAML: {exc}") from exc
    except RecursionError as exc:
        raise CardSyntaxError("invalid YAML: values are nested too deeply") from exc
    finally:
        loader.dispose()
    return data


def split_card(text: str) -> CardDocument:
    """Split README.md text into its metadata mapping and Markdown body, like the Hub does."""
    match = _FRONT_MATTER.search(text)
    if match is None:
        return CardDocument(metadata={}, body=text.removeprefix("\ufeff"), has_front_matter=False)
    first_line = 1 + len(re.findall(r"\r\n|\r|\n", match.group("open")))
    metadata = _load_yaml_mapping(match.group("yaml"), first_line)
    return CardDocument(metadata=metadata, body=text[match.end() :], has_front_matter=True)


# =============================================================================================
# Validation plumbing


class _Report:
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


def _kind(value: Any) -> str:
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


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _suggest(value: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' when a close choice exists, else ''."""
    lowered = {choice.lower(): choice for choice in choices}
    close = lowered.get(value.lower()) or next(
        iter(difflib.get_close_matches(value.lower(), list(lowered), n=1, cutoff=0.75)), None
    )
    if close is None:
        return ""
    return f" (did you mean {lowered.get(close, close)!r}?)"


def _string_list(value: Any, path: str, report: _Report) -> list[tuple[str, str]]:
    """Accept a string or a list of strings; return (path, item) pairs of the valid strings.

    A single string is accepted because huggingface_hub writes `datasets: glue` and the Hub's
    types declare `string | string[]` for most list fields.
    """
    if isinstance(value, str):
        return [(path, value)]
    if not isinstance(value, list):
        report.error(path, f"must be a string or a list of strings, not {_kind(value)}")
        return []
    items = []
    for index, item in enumerate(value):
        if isinstance(item, str):
            items.append((f"{path}[{index}]", item))
        else:
            report.error(f"{path}[{index}]", f"must be a string, not {_kind(item)}")
    return items


def _check_string(value: Any, path: str, report: _Report, nullable: bool = False) -> bool:
    if isinstance(value, str) or (nullable and value is None):
        return True
    report.error(path, f"must be a string, not {_kind(value)}")
    return False


def _check_mapping(value: Any, path: str, report: _Report) -> bool:
    if isinstance(value, dict):
        return True
    report.error(path, f"must be a mapping, not {_kind(value)}")
    return False


def _check_list(value: Any, path: str, report: _Report, what: str) -> bool:
    if isinstance(value, list):
        return True
    report.error(path, f"must be a list of {what}, not {_kind(value)}")
    return False


def _require(mapping: dict, key: str, path: str, report: _Report) -> Any:
    """The value under `key`, or None after an error naming the missing key."""
    value = mapping.get(key)
    if value is None:
        report.error(f"{path}.{key}", "is required")
    return value


def _is_url(value: str) -> bool:
    return re.fullmatch(r"https?://[^\s/$.?#][^\s]*", value) is not None


_ID_PART = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?")


def _is_repo_id(value: str) -> bool:
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


# =============================================================================================
# Fields shared by every card type


def _check_license(metadata: dict, report: _Report) -> None:
    value = metadata.get("license")
    licenses = [] if value is None else _string_list(value, "license", report)
    for path, license_id in licenses:
        if license_id not in vocab.LICENSES:
            hint = _suggest(license_id, vocab.LICENSE_IDS)
            report.error(
                path,
                f"must be one of [{', '.join(vocab.LICENSE_IDS)}] ({license_id!r} is not a license id{hint})",
            )
    is_other = any(license_id == "other" for _, license_id in licenses)
    _check_license_name(metadata.get("license_name"), is_other, report)
    _check_license_link(metadata.get("license_link"), is_other, report)


def _check_license_name(value: Any, is_other: bool, report: _Report) -> None:
    """The notes (§0, §2.1) say `license: other` requires `license_name` + `license_link`."""
    if value is None:
        if is_other:
            report.error(
                "license_name",
                "is required when license is 'other' (a slug such as my-license-1.0)",
            )
        return
    if not _check_string(value, "license_name", report):
        return
    if not is_other:
        report.warn("license_name", "is only used when license is 'other'; it is ignored here")
    elif not re.fullmatch(r"[a-z0-9][a-z0-9._+-]*", value):
        report.warn("license_name", f"{value!r} should be a lowercase slug such as my-license-1.0")


def _check_license_link(value: Any, is_other: bool, report: _Report) -> None:
    if value is None:
        if is_other:
            report.error(
                "license_link", "is required when license is 'other' (LICENSE, LICENSE.md or a URL)"
            )
        return
    if not _check_string(value, "license_link", report):
        return
    if not is_other:
        report.warn("license_link", "is only used when license is 'other'; it is ignored here")
    elif not (value in vocab.LICENSE_LINK_FILES or _is_url(value) or _is_repo_path(value)):
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


def _check_language(metadata: dict, report: _Report) -> None:
    """Bad codes only warn: the notes (§10) found no evidence that the Hub refuses them."""
    value = metadata.get("language")
    if value is None:
        return
    for path, code in _string_list(value, "language", report):
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


def _check_tags(metadata: dict, report: _Report) -> None:
    value = metadata.get("tags")
    if value is not None:
        _string_list(value, "tags", report)


def _check_thumbnail(metadata: dict, report: _Report) -> None:
    value = metadata.get("thumbnail")
    if _check_string(value, "thumbnail", report, nullable=True) and value and not _is_url(value):
        report.warn(
            "thumbnail", f"{value!r} is not an http(s) URL, so social previews cannot use it"
        )


def _check_plain_strings(metadata: dict, keys: Iterable[str], report: _Report) -> None:
    for key in keys:
        if key in metadata:
            _check_string(metadata[key], key, report, nullable=True)


def _check_gated_fields(metadata: dict, report: _Report) -> None:
    """`extra_gated_fields`: a mapping label -> type (docs); the dataset template lists them."""
    value = metadata.get("extra_gated_fields")
    if value is None:
        return
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        value = {key: spec for item in value for key, spec in item.items()}
    if not _check_mapping(value, "extra_gated_fields", report):
        return
    for label, spec in value.items():
        _check_gated_field(spec, f"extra_gated_fields.{label}", report)


def _check_gated_field(spec: Any, path: str, report: _Report) -> None:
    if isinstance(spec, dict):
        field_type = spec.get("type")
        if field_type == "select":
            options = spec.get("options")
            if not isinstance(options, list) or not options:
                report.error(f"{path}.options", "a select field needs a non-empty list of options")
            return
        spec = field_type
    if not isinstance(spec, str):
        report.error(path, f"must be a field type or a mapping with a type, not {_kind(spec)}")
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


def _check_common(metadata: dict, report: _Report) -> None:
    _check_license(metadata, report)
    _check_language(metadata, report)
    _check_tags(metadata, report)
    _check_thumbnail(metadata, report)
    _check_gated_fields(metadata, report)
    _check_plain_strings(metadata, _COMMON_STRING_FIELDS, report)
    if metadata.get("language_bcp47") is not None:
        _string_list(metadata["language_bcp47"], "language_bcp47", report)


# =============================================================================================
# Model cards


def _check_pipeline_tag(metadata: dict, report: _Report) -> None:
    value = metadata.get("pipeline_tag")
    if value is None or not _check_string(value, "pipeline_tag", report):
        return
    if value not in vocab.PIPELINE_TYPES:
        report.error(
            "pipeline_tag",
            f"must be one of [{', '.join(vocab.PIPELINE_TYPES)}] "
            f"({value!r} is not a pipeline type{_suggest(value, vocab.PIPELINE_TYPES)})",
        )


def _check_library_name(metadata: dict, report: _Report) -> None:
    """Unknown libraries only warn: any name is kept, the Hub just shows no snippet for it."""
    value = metadata.get("library_name")
    if value is None or not _check_string(value, "library_name", report):
        return
    if value not in vocab.MODEL_LIBRARIES:
        report.warn(
            "library_name",
            f"{value!r} is not a library known to the Hub{_suggest(value, vocab.MODEL_LIBRARIES)}; "
            "it is kept, but gets no library badge or code snippet",
        )


def _check_repo_id_list(metadata: dict, key: str, report: _Report, strict: bool) -> list[str]:
    """Model/dataset references: a bad id is an error when `strict`, else a warning."""
    value = metadata.get(key)
    if value is None:
        return []
    ids = []
    for path, repo_id in _string_list(value, key, report):
        if _is_repo_id(repo_id):
            ids.append(repo_id)
            continue
        message = f"{repo_id!r} is not a Hub repo id (namespace/name)"
        if repo_id.startswith(("http://", "https://")):
            message += "; give the id, not the URL"
        (report.error if strict else report.warn)(path, message)
    return ids


def _check_base_model(metadata: dict, report: _Report) -> None:
    base_models = _check_repo_id_list(metadata, "base_model", report, strict=True)
    relation = metadata.get("base_model_relation")
    if relation is None or not _check_string(relation, "base_model_relation", report):
        return
    if relation not in vocab.BASE_MODEL_RELATIONS:
        report.error(
            "base_model_relation",
            f"{relation!r} is not one of {', '.join(vocab.BASE_MODEL_RELATIONS)}",
        )
    elif "base_model" not in metadata:
        report.warn("base_model_relation", "is set but base_model is missing, so it is ignored")
    elif relation == "merge" and len(base_models) < 2:
        report.warn("base_model_relation", "a merge normally lists two or more base models")


def _check_new_version(metadata: dict, report: _Report) -> None:
    value = metadata.get("new_version")
    if value is None or not _check_string(value, "new_version", report):
        return
    if not _is_repo_id(value):
        report.error("new_version", f"{value!r} is not a Hub model id (namespace/name)")


def _check_inference(metadata: dict, report: _Report) -> None:
    """`inference`: a boolean (false turns the widget off) or `{parameters: {...}}`."""
    value = metadata.get("inference")
    if value is None or isinstance(value, bool):
        return
    if not isinstance(value, dict):
        report.error(
            "inference", f"must be true, false or a mapping with parameters, not {_kind(value)}"
        )
        return
    for key in value:
        if key != "parameters":
            report.warn(f"inference.{key}", "unknown key; only 'parameters' is used")
    if value.get("parameters") is not None:
        _check_mapping(value["parameters"], "inference.parameters", report)


def _check_co2(metadata: dict, report: _Report) -> None:
    value = metadata.get("co2_eq_emissions")
    if value is None or _is_number(value):
        return
    if not isinstance(value, dict):
        report.error(
            "co2_eq_emissions", f"must be a number (grams) or a mapping, not {_kind(value)}"
        )
        return
    emissions = _require(value, "emissions", "co2_eq_emissions", report)
    if emissions is not None and not _is_number(emissions):
        report.error(
            "co2_eq_emissions.emissions", f"must be a number of grams, not {_kind(emissions)}"
        )
    for key in ("source", "training_type", "geographical_location", "hardware_used"):
        if key in value:
            _check_string(value[key], f"co2_eq_emissions.{key}", report, nullable=True)
    training_type = value.get("training_type")
    if isinstance(training_type, str) and training_type not in vocab.CO2_TRAINING_TYPES:
        report.warn(
            "co2_eq_emissions.training_type",
            f"{training_type!r} is not pre-training or fine-tuning",
        )


# --- model-index -----------------------------------------------------------------------------


def _check_model_index(metadata: dict, report: _Report) -> None:
    """Required keys follow hub-docs `modelcard.md` (§1.3 of the notes); a non-list is refused."""
    value = metadata.get("model-index")
    if value is None or not _check_list(value, "model-index", report, "models"):
        return
    if not value:
        report.warn("model-index", "is empty; remove it or add results")
    for index, entry in enumerate(value):
        _check_model_index_entry(entry, f"model-index[{index}]", report)


def _check_model_index_entry(entry: Any, path: str, report: _Report) -> None:
    if not _check_mapping(entry, path, report):
        return
    name = _require(entry, "name", path, report)
    if name is not None:
        _check_string(name, f"{path}.name", report)
    results = _require(entry, "results", path, report)
    if results is None or not _check_list(results, f"{path}.results", report, "results"):
        return
    for index, result in enumerate(results):
        _check_eval_result(result, f"{path}.results[{index}]", report)


def _check_eval_result(result: Any, path: str, report: _Report) -> None:
    if not _check_mapping(result, path, report):
        return
    _check_eval_task(_require(result, "task", path, report), f"{path}.task", report)
    _check_eval_dataset(_require(result, "dataset", path, report), f"{path}.dataset", report)
    _check_eval_metrics(_require(result, "metrics", path, report), f"{path}.metrics", report)
    if result.get("source") is not None:
        _check_eval_source(result["source"], f"{path}.source", report)


def _check_required_strings(mapping: dict, keys: Iterable[str], path: str, report: _Report) -> None:
    for key in keys:
        value = _require(mapping, key, path, report)
        if value is not None:
            _check_string(value, f"{path}.{key}", report)


def _check_optional_strings(mapping: dict, keys: Iterable[str], path: str, report: _Report) -> None:
    for key in keys:
        if key in mapping:
            _check_string(mapping[key], f"{path}.{key}", report, nullable=True)


def _check_args(mapping: dict, path: str, report: _Report) -> None:
    args = mapping.get("args")
    if args is not None and not isinstance(args, (dict, str)):
        report.error(f"{path}.args", f"must be a mapping (or a string), not {_kind(args)}")


def _check_eval_task(task: Any, path: str, report: _Report) -> None:
    if task is None or not _check_mapping(task, path, report):
        return
    _check_required_strings(task, ("type",), path, report)
    _check_optional_strings(task, ("name",), path, report)


def _check_eval_dataset(dataset: Any, path: str, report: _Report) -> None:
    if dataset is None or not _check_mapping(dataset, path, report):
        return
    _check_required_strings(dataset, ("type", "name"), path, report)
    _check_optional_strings(dataset, ("config", "split", "revision"), path, report)
    _check_args(dataset, path, report)


def _check_eval_metrics(metrics: Any, path: str, report: _Report) -> None:
    if metrics is None or not _check_list(metrics, path, report, "metrics"):
        return
    if not metrics:
        report.warn(path, "is empty; each result should report at least one metric")
    for index, metric in enumerate(metrics):
        _check_eval_metric(metric, f"{path}[{index}]", report)


def _check_eval_metric(metric: Any, path: str, report: _Report) -> None:
    if not _check_mapping(metric, path, report):
        return
    _check_required_strings(metric, ("type",), path, report)
    value = _require(metric, "value", path, report)
    if value is not None and not (_is_number(value) or isinstance(value, str)):
        report.error(f"{path}.value", f"must be a number or a string, not {_kind(value)}")
    _check_optional_strings(metric, ("name", "config", "verifyToken"), path, report)
    _check_args(metric, path, report)
    if metric.get("verified") is not None and not isinstance(metric["verified"], bool):
        report.error(f"{path}.verified", f"must be a boolean, not {_kind(metric['verified'])}")


def _check_eval_source(source: Any, path: str, report: _Report) -> None:
    if not _check_mapping(source, path, report):
        return
    _check_required_strings(source, ("url",), path, report)
    _check_optional_strings(source, ("name",), path, report)


# --- widget ----------------------------------------------------------------------------------

_WIDGET_STRING_KEYS = (
    "text",
    "context",
    "src",
    "prompt",
    "candidate_labels",
    "source_sentence",
    "example_title",
    "group",
)
_WIDGET_INPUT_KEYS = ("text", "src", "source_sentence", "structured_data", "table", "messages")
_CHAT_ROLES = ("system", "user", "assistant")

# Inputs each widget needs (alternatives), after §5.2/§5.4 of the notes; a mismatch only warns.
_WIDGET_INPUTS_BY_PIPELINE: dict[str, tuple[tuple[str, ...], ...]] = {
    "question-answering": (("text", "context"),),
    "table-question-answering": (("text", "table"),),
    "zero-shot-classification": (("text", "candidate_labels"),),
    "sentence-similarity": (("source_sentence", "sentences"),),
    "document-question-answering": (("src", "text"),),
    "visual-question-answering": (("src", "text"),),
    "zero-shot-image-classification": (("src", "candidate_labels"),),
    "text-generation": (("text",), ("messages",)),
    "image-text-to-text": (("src", "text"), ("messages",)),
    "tabular-classification": (("structured_data",), ("table",)),
    "tabular-regression": (("structured_data",), ("table",)),
    **{
        task: (("text",),)
        for task in (
            "text-classification",
            "token-classification",
            "fill-mask",
            "summarization",
            "translation",
            "feature-extraction",
            "text-to-speech",
            "text-to-audio",
            "text-to-image",
        )
    },
    **{
        task: (("src",),)
        for task in (
            "automatic-speech-recognition",
            "audio-to-audio",
            "audio-classification",
            "voice-activity-detection",
            "image-classification",
            "object-detection",
            "image-segmentation",
            "image-to-image",
            "image-to-video",
            "image-to-text",
            "depth-estimation",
        )
    },
}


def _check_widget(metadata: dict, report: _Report) -> None:
    examples = metadata.get("widget")
    if examples is None or not _check_list(examples, "widget", report, "examples"):
        return
    pipeline_tag = metadata.get("pipeline_tag")
    for index, example in enumerate(examples):
        path = f"widget[{index}]"
        if _check_mapping(example, path, report):
            _check_widget_example(example, path, report)
            _check_widget_fits_pipeline(example, pipeline_tag, path, report)


def _check_widget_example(example: dict, path: str, report: _Report) -> None:
    _check_optional_strings(example, _WIDGET_STRING_KEYS, path, report)
    if not any(example.get(key) is not None for key in _WIDGET_INPUT_KEYS):
        report.warn(path, f"has no input; set one of {', '.join(_WIDGET_INPUT_KEYS)}")
    if example.get("sentences") is not None:
        _string_list_strict(example["sentences"], f"{path}.sentences", report)
    if example.get("multi_class") is not None and not isinstance(example["multi_class"], bool):
        report.error(
            f"{path}.multi_class", f"must be a boolean, not {_kind(example['multi_class'])}"
        )
    for key in ("table", "structured_data"):
        if example.get(key) is not None:
            _check_columns(example[key], f"{path}.{key}", report)
    if example.get("messages") is not None:
        _check_messages(example["messages"], f"{path}.messages", report)
    if example.get("parameters") is not None:
        _check_mapping(example["parameters"], f"{path}.parameters", report)
    if example.get("output") is not None:
        _check_widget_output(example["output"], f"{path}.output", report)


def _string_list_strict(value: Any, path: str, report: _Report) -> None:
    if _check_list(value, path, report, "strings"):
        for index, item in enumerate(value):
            _check_string(item, f"{path}[{index}]", report)


def _check_columns(table: Any, path: str, report: _Report) -> None:
    """Tables are column name -> list of cells (strings or numbers)."""
    if not _check_mapping(table, path, report):
        return
    for column, cells in table.items():
        cells_path = f"{path}.{column}"
        if not _check_list(cells, cells_path, report, "cells"):
            continue
        for index, cell in enumerate(cells):
            if not (isinstance(cell, str) or _is_number(cell)):
                report.error(
                    f"{cells_path}[{index}]", f"must be a string or a number, not {_kind(cell)}"
                )


def _check_messages(messages: Any, path: str, report: _Report) -> None:
    if not _check_list(messages, path, report, "chat messages"):
        return
    for index, message in enumerate(messages):
        message_path = f"{path}[{index}]"
        if not _check_mapping(message, message_path, report):
            continue
        role = _require(message, "role", message_path, report)
        if role is not None and role not in _CHAT_ROLES:
            report.error(f"{message_path}.role", f"{role!r} is not one of {', '.join(_CHAT_ROLES)}")
        content = _require(message, "content", message_path, report)
        if content is not None and not isinstance(content, (str, list)):
            report.error(
                f"{message_path}.content",
                f"must be a string or a list of parts, not {_kind(content)}",
            )


def _check_widget_output(output: Any, path: str, report: _Report) -> None:
    """Output shapes: [{label, score}], {answer, score}, {text} or {url}."""
    if isinstance(output, list):
        for index, item in enumerate(output):
            _check_label_score(item, f"{path}[{index}]", report)
        return
    if not isinstance(output, dict) or not any(key in output for key in ("text", "url", "answer")):
        report.error(path, "must be a list of {label, score} or a mapping with text, url or answer")
        return
    _check_optional_strings(output, ("text", "url", "answer"), path, report)
    if "score" in output and not _is_number(output["score"]):
        report.error(f"{path}.score", f"must be a number, not {_kind(output['score'])}")


def _check_label_score(item: Any, path: str, report: _Report) -> None:
    if not _check_mapping(item, path, report):
        return
    label = _require(item, "label", path, report)
    if label is not None:
        _check_string(label, f"{path}.label", report)
    score = _require(item, "score", path, report)
    if score is not None and not _is_number(score):
        report.error(f"{path}.score", f"must be a number, not {_kind(score)}")


def _check_widget_fits_pipeline(
    example: dict, pipeline_tag: Any, path: str, report: _Report
) -> None:
    alternatives = (
        _WIDGET_INPUTS_BY_PIPELINE.get(pipeline_tag) if isinstance(pipeline_tag, str) else None
    )
    if not alternatives:
        return
    if any(all(example.get(key) is not None for key in keys) for keys in alternatives):
        return
    wanted = " or ".join("+".join(keys) for keys in alternatives)
    report.warn(path, f"a {pipeline_tag} widget needs {wanted}")


_MODEL_STRING_FIELDS = ("mask_token", "instance_prompt", "description", "finetuned_from")


def _check_model(metadata: dict, report: _Report) -> None:
    _check_pipeline_tag(metadata, report)
    _check_library_name(metadata, report)
    _check_repo_id_list(metadata, "datasets", report, strict=False)
    if metadata.get("metrics") is not None:
        _string_list(metadata["metrics"], "metrics", report)
    _check_base_model(metadata, report)
    _check_new_version(metadata, report)
    _check_model_index(metadata, report)
    _check_widget(metadata, report)
    _check_inference(metadata, report)
    _check_co2(metadata, report)
    _check_plain_strings(metadata, _MODEL_STRING_FIELDS, report)
    if metadata.get("task_categories") is not None:
        report.warn("task_categories", "is a dataset card field; model cards use pipeline_tag")


# =============================================================================================
# Dataset cards


def _check_vocabulary_list(
    metadata: dict, key: str, allowed: Iterable[str], report: _Report, what: str
) -> None:
    """A list field whose values come from a fixed list; unknown values only warn (legacy cards)."""
    if metadata.get(key) is None:
        return
    allowed = tuple(allowed)
    for path, item in _string_list(metadata[key], key, report):
        if item not in allowed:
            report.warn(path, f"{item!r} is not a known {what}{_suggest(item, allowed)}")


def _check_configs(metadata: dict, report: _Report) -> None:
    """`configs` as the datasets library reads it (hub-docs datasets-manual-configuration.md)."""
    value = metadata.get("configs")
    if value is None or not _check_list(value, "configs", report, "subsets"):
        return
    names: set[str] = set()
    defaults = 0
    for index, config in enumerate(value):
        path = f"configs[{index}]"
        if not _check_mapping(config, path, report):
            continue
        name = config.get("config_name")
        if name is None:
            report.error(f"{path}.config_name", "is required, even for a single subset")
        elif _check_string(name, f"{path}.config_name", report):
            if name in names:
                report.error(f"{path}.config_name", f"{name!r} is used by more than one subset")
            names.add(name)
        defaults += config.get("default") is True
        _check_config_fields(config, path, report)
    if defaults > 1:
        report.error("configs", "only one subset can have default: true")


def _check_config_fields(config: dict, path: str, report: _Report) -> None:
    if "data_dir" in config:
        _check_string(config["data_dir"], f"{path}.data_dir", report, nullable=True)
    if config.get("default") is not None and not isinstance(config["default"], bool):
        report.error(f"{path}.default", f"must be a boolean, not {_kind(config['default'])}")
    if config.get("data_files") is not None:
        _check_data_files(config["data_files"], f"{path}.data_files", report)


def _check_data_files(value: Any, path: str, report: _Report) -> None:
    """A pattern, a list of patterns, or a list of {split, path} where path is one or many."""
    if isinstance(value, str):
        return
    if not isinstance(value, list):
        report.error(
            path,
            f"must be a path, a list of paths or a list of {{split, path}}, not {_kind(value)}",
        )
        return
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        if isinstance(item, str):
            continue
        if not _check_mapping(item, item_path, report):
            continue
        split = _require(item, "split", item_path, report)
        if split is not None:
            _check_string(split, f"{item_path}.split", report)
        files = _require(item, "path", item_path, report)
        if files is not None and not isinstance(files, str):
            _string_list_strict(files, f"{item_path}.path", report)


def _check_dataset_info(metadata: dict, report: _Report) -> None:
    value = metadata.get("dataset_info")
    if value is None:
        return
    if isinstance(value, dict):
        _check_dataset_info_entry(value, "dataset_info", report)
        return
    if not isinstance(value, list):
        report.error("dataset_info", f"must be a mapping or a list of mappings, not {_kind(value)}")
        return
    for index, entry in enumerate(value):
        path = f"dataset_info[{index}]"
        if _check_mapping(entry, path, report):
            if len(value) > 1 and entry.get("config_name") is None:
                report.warn(
                    path, "has no config_name; with several entries each one names its subset"
                )
            _check_dataset_info_entry(entry, path, report)


def _check_dataset_info_entry(entry: dict, path: str, report: _Report) -> None:
    _check_optional_strings(entry, ("config_name",), path, report)
    for key in ("download_size", "dataset_size"):
        if entry.get(key) is not None and not _is_count(entry[key]):
            report.error(
                f"{path}.{key}", f"must be a whole number of bytes, not {_kind(entry[key])}"
            )
    features = entry.get("features")
    if features is not None and not isinstance(features, (list, dict)):
        report.error(f"{path}.features", f"must be a list or a mapping, not {_kind(features)}")
    splits = entry.get("splits")
    if splits is not None and _check_list(splits, f"{path}.splits", report, "splits"):
        for index, split in enumerate(splits):
            _check_split_info(split, f"{path}.splits[{index}]", report)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_split_info(split: Any, path: str, report: _Report) -> None:
    if not _check_mapping(split, path, report):
        return
    name = _require(split, "name", path, report)
    if name is not None:
        _check_string(name, f"{path}.name", report)
    for key in ("num_bytes", "num_examples"):
        if split.get(key) is not None and not _is_count(split[key]):
            report.error(f"{path}.{key}", f"must be a whole number, not {_kind(split[key])}")


_DATASET_STRING_LISTS = (
    "annotations_creators",
    "language_creators",
    "source_datasets",
    "language_details",
)
_DATASET_STRING_FIELDS = ("pretty_name", "paperswithcode_id")


def _check_dataset(metadata: dict, report: _Report) -> None:
    _check_vocabulary_list(
        metadata, "task_categories", vocab.DATASET_TASK_CATEGORIES, report, "task category"
    )
    _check_vocabulary_list(metadata, "task_ids", sorted(vocab.DATASET_TASK_IDS), report, "task id")
    _check_vocabulary_list(
        metadata, "size_categories", vocab.DATASET_SIZE_CATEGORIES, report, "size category"
    )
    _check_vocabulary_list(
        metadata, "multilinguality", vocab.MULTILINGUALITY_VALUES, report, "multilinguality value"
    )
    _check_plain_strings(metadata, _DATASET_STRING_FIELDS, report)
    for key in _DATASET_STRING_LISTS:
        if metadata.get(key) is not None:
            _string_list(metadata[key], key, report)
    _check_configs(metadata, report)
    _check_dataset_info(metadata, report)
    train_eval_index = metadata.get("train-eval-index")
    if train_eval_index is not None:
        _check_list(train_eval_index, "train-eval-index", report, "mappings")
    if metadata.get("pipeline_tag") is not None:
        report.warn("pipeline_tag", "is a model card field; dataset cards use task_categories")


# =============================================================================================
# Public entry points

_CHECKS_BY_REPO_TYPE: dict[str, tuple[Callable[[dict, _Report], None], ...]] = {
    "model": (_check_common, _check_model),
    "dataset": (_check_common, _check_dataset),
    "space": (_check_common,),
}

_EMPTY_METADATA = (
    "is empty; add at least a license (and language, tags) so the Hub can index the repo"
)
_NO_FRONT_MATTER = (
    "README.md has no YAML metadata block (--- … ---) at the top; add one with at least a license"
)


def validate_metadata(metadata: dict, repo_type: str = "model") -> ValidationResult:
    """Check parsed card metadata with the Hub's rules; unknown keys are allowed and ignored."""
    if repo_type not in _CHECKS_BY_REPO_TYPE:
        raise ValueError(f"repo_type must be one of {', '.join(REPO_TYPES)}, not {repo_type!r}")
    report = _Report()
    if not isinstance(metadata, dict):
        report.error("metadata", f"must be a mapping, not {_kind(metadata)}")
        return report.result()
    if not metadata:
        report.warn("metadata", _EMPTY_METADATA)
    for check in _CHECKS_BY_REPO_TYPE[repo_type]:
        check(metadata, report)
    return report.result()


def hub_message(message: str, level: str = "Error") -> str:
    """A validator message ("path: detail") as the Hub lists it: `Error: "path" detail`.

    Clients show these lines verbatim (huggingface_hub prefixes each with "- "), and people and
    tests match on the Hub's wording, e.g. `- Error: "license" must be one of [...]`.
    """
    path, separator, detail = message.partition(": ")
    if not separator or " " in path:
        return f"{level}: {message}"
    return f'{level}: "{path}" {detail}'


def validate_card_text(text: str, repo_type: str = "model") -> ValidationResult:
    """Split a whole README.md and validate it; a YAML syntax problem becomes one error."""
    if repo_type not in _CHECKS_BY_REPO_TYPE:
        raise ValueError(f"repo_type must be one of {', '.join(REPO_TYPES)}, not {repo_type!r}")
    try:
        document = split_card(text)
    except CardSyntaxError as exc:
        return ValidationResult(errors=[f"metadata: {exc}"], warnings=[])
    if not document.has_front_matter:
        return ValidationResult(errors=[], warnings=[f"metadata: {_NO_FRONT_MATTER}"])
    return validate_metadata(document.metadata, repo_type)
