"""Split a README.md into YAML front matter + Markdown body, and read YAML with the card rules.

The Hub splits README.md with its own pattern and reads the block with a JavaScript YAML parser;
this module reproduces both so Hubstead finds the same metadata (the checks are in
:mod:`hubstead.domain.cards.validate`).

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
* The parse itself is bounded: a metadata block larger than the hub's limit
  (`MetadataLimits.max_bytes`, `HUBSTEAD_MAX_METADATA_BYTES`) is refused unread, and one that
  holds more values than its size allows for (one per `BYTES_PER_VALUE` bytes of the limit) is
  refused as soon as the parser reaches that many. PyYAML composes a value in some 10-15 µs, so
  a few hundred KiB of `[0,0,0,…]` used to cost seconds of CPU per request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

import yaml

from hubstead.domain.cards.report import kind

MAX_YAML_ALIASES = 100
# Values that aliases may add once expanded, in total: counting aliases alone is not enough,
# because ten levels of ten aliases each expand to 10**10 values.
MAX_ALIAS_EXPANSION = 10_000
# A value costs PyYAML 10-15 µs to compose whatever its size, so what a block costs is its
# number of values more than its bytes. Real cards spend 6 to 9 bytes per value (9 in an MTEB
# model-index, 6 in a dataset's `dataset_info` features); a budget of one value per 6 bytes of
# the size limit refuses none of them and makes no block cost more to parse than a real card of
# the largest size does, however tiny its values (`[0,0,0,…]` is 2 bytes per value).
BYTES_PER_VALUE = 6
DEFAULT_MAX_METADATA_BYTES = 512 * 1024


@dataclass(frozen=True)
class MetadataLimits:
    """How much card metadata the hub parses. The Hub itself takes a README of up to 10 MiB
    (git's limit for a file outside LFS) and parses it in JavaScript; PyYAML is some ten times
    slower, so the default stops at 512 KiB, which the largest cards seen (MTEB evaluation
    results, datasets with hundreds of configs) stay under."""

    max_bytes: int = DEFAULT_MAX_METADATA_BYTES

    @property
    def max_values(self) -> int:
        return max(1000, self.max_bytes // BYTES_PER_VALUE)


# Where the limits come from. The domain reads no environment: hubstead.settings, the one place
# that does, installs its reader here with `use_limits` when it is imported (the git hook
# imports it too), so every process applies the same `HUBSTEAD_MAX_METADATA_BYTES`.
_limits_source: Callable[[], MetadataLimits] = MetadataLimits


def use_limits(source: Callable[[], MetadataLimits]) -> None:
    """Read the metadata limits from `source` each time a card is parsed."""
    global _limits_source
    _limits_source = source


def metadata_limits() -> MetadataLimits:
    return _limits_source()


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
    metadata: dict[str, Any]
    body: str
    has_front_matter: bool


# =============================================================================================
# Parsing

_Node = TypeVar("_Node", bound=yaml.Node)


class _CardLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans, JSON-only types, unique keys and an alias budget."""

    def __init__(self, stream: str, first_line: int = 1) -> None:
        super().__init__(stream)
        self.first_line = first_line  # README line number of the block's first line
        self._max_values = metadata_limits().max_values
        self._values = 0
        self._aliases_seen = 0
        self._alias_expansion = 0
        self._node_sizes: dict[int, int] = {}  # id(node) -> expanded size, memoised
        self._open_anchors: set[str] = set()  # anchors of collections still being composed

    def readme_line(self, mark: yaml.Mark) -> int:
        return self.first_line + mark.line

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        # every value, key and alias passes here, as the parser reaches it: counting them stops
        # the parse itself, not only what comes after it
        self._values += 1
        if self._values > self._max_values:
            raise CardSyntaxError(
                f"the YAML metadata holds more than {self._max_values:,} values, "
                "more than this hub parses"
            )
        if not self.check_event(yaml.AliasEvent):
            return super().compose_node(parent, index)
        self._aliases_seen += 1
        if self._aliases_seen > MAX_YAML_ALIASES:
            raise CardSyntaxError(f"too many YAML aliases (more than {MAX_YAML_ALIASES})")
        # types-PyYAML leaves peek_event unannotated; after check_event it is the alias event.
        alias: yaml.AliasEvent = self.peek_event()  # type: ignore[no-untyped-call]
        if alias.anchor in self._open_anchors:
            raise CardSyntaxError("a YAML alias refers to the value that contains it")
        node = super().compose_node(parent, index)
        if node is not None:  # an alias always stands for a composed node
            self._alias_expansion += self._expanded_size(node)
        if self._alias_expansion > MAX_ALIAS_EXPANSION:
            raise CardSyntaxError(f"YAML aliases expand to more than {MAX_ALIAS_EXPANSION} values")
        return node

    # types-PyYAML declares `anchor` as a dict; PyYAML passes the anchor name (str | None).
    def compose_sequence_node(self, anchor: Any) -> yaml.SequenceNode:
        return self._compose_open(anchor, super().compose_sequence_node)

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        return self._compose_open(anchor, super().compose_mapping_node)

    def _compose_open(self, anchor: str | None, compose: Callable[[Any], _Node]) -> _Node:
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

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
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


def _load_yaml_mapping(block: str, first_line: int) -> dict[str, Any]:
    data = _load_yaml_value(block, first_line)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CardSyntaxError(f"the metadata block must be a mapping, not {kind(data)}")
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
    block = match.group("yaml")
    limit = metadata_limits().max_bytes
    size = len(block.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise CardSyntaxError(
            f"the YAML metadata block is {size:,} bytes, more than the {limit:,} this hub accepts"
        )
    metadata = _load_yaml_mapping(block, first_line)
    return CardDocument(metadata=metadata, body=text[match.end() :], has_front_matter=True)
