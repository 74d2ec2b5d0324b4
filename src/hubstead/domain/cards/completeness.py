"""The completeness checklist of a card: which of the sections a good card has are written.

The sections follow the seeds of issue 13 and Mitchell et al., "Model Cards for Model
Reporting" (2018): what the model is; intended uses and limitations; bias, risks and ethics;
training parameters; the datasets; evaluation results; and a license in the metadata. Dataset
cards get a shorter list after the Hub's dataset card template (what the data is, its
structure, how it was made, its biases, its license).

A section is found by its Markdown heading (keywords, case-insensitive) and counts as written
only when it holds something besides placeholders: a template's HTML comment hints,
"[More Information Needed]", `{{ jinja }}` leftovers and bare "**Label:**" lines do not count.
So a fresh card made from a template lists its sections as present but empty. Some items are
also satisfied by metadata (`datasets:`, `model-index`, `dataset_info`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from markdown_it import MarkdownIt

from hubstead.domain.cards import vocabulary as vocab
from hubstead.domain.cards.lint import card_layout
from hubstead.domain.cards.loader import CardSyntaxError, split_card


@dataclass(frozen=True)
class Item:
    """One entry of the checklist. `present`: a heading for it exists (it may still be empty);
    `line`: the README line of that heading, for the editor to jump to."""

    key: str
    label: str
    done: bool
    hint: str
    present: bool = False
    line: int | None = None

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Section:
    """A heading of the card body and whether it has content of its own (up to the next
    heading of any level)."""

    title: str
    line: int  # 1-based, in the whole README
    level: int
    has_content: bool


# =============================================================================================
# Reading the body

_PARSER = MarkdownIt("commonmark")
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_PLACEHOLDERS = re.compile(
    r"\[?more information needed\]?|\{\{.*?\}\}|\{%.*?%\}|\bTODO\b|\bTBD\b|\bN/A\b|\.\.\.|…",
    re.I,
)
# a line that asks to be replaced ("Replace this paragraph with a short summary.")
_ASKS_TO_BE_REPLACED = re.compile(
    r"\breplace this (?:paragraph|text|line|sentence|section)\b", re.I
)
_TABLE_DELIMITER = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
# "Developed by:" once its placeholder is gone: a label with nothing after it
_LABEL_ONLY = re.compile(r"^\s*(?:[-*+]|\d+[.)])?\s*(?:\*\*|__)?[^:*_]{1,80}:\s*(?:\*\*|__)?\s*$")
# "- **Model type:** …", a template's fact line: templates fill some from the metadata
# ("- **License:** mit"), so they alone do not make a section written
_BOLD_FACT = re.compile(r"^\s*[-*+]\s*(?:\*\*|__)[^*_]{1,80}(?:\*\*|__)")
_MARKUP_ONLY = re.compile(r"^\s*(?:```\S*|~~~\S*|[-=*_|:>#\s]+)\s*$")


def _without_comments(text: str) -> str:
    """HTML comments removed, their line breaks kept so line numbers stay."""
    return _COMMENT.sub(lambda match: "\n" * match.group(0).count("\n"), text)


def _is_content(line: str, next_line: str = "") -> bool:
    """Whether a line says something: not a placeholder, a bare label, markup, or the header
    row of a table (a table with no rows but placeholders is still empty)."""
    if _ASKS_TO_BE_REPLACED.search(line) or _TABLE_DELIMITER.match(next_line):
        return False
    line = _PLACEHOLDERS.sub("", line)
    if not line.strip() or any(p.match(line) for p in (_LABEL_ONLY, _BOLD_FACT, _MARKUP_ONLY)):
        return False
    return re.search(r"\w", line) is not None


def sections(body: str, body_line: int = 1) -> tuple[bool, list[Section]]:
    """(whether the body has content before its first heading, its headings in order)."""
    text = _without_comments(body.replace("\r\n", "\n").replace("\r", "\n"))
    lines = text.split("\n")
    tokens = _PARSER.parse(text)
    headings = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.map is not None:
            title = tokens[index + 1].content if index + 1 < len(tokens) else ""
            headings.append((token.map[0], token.map[1], int(token.tag[1]), title))
    found = []
    for position, (start, end, level, title) in enumerate(headings):
        stop = headings[position + 1][0] if position + 1 < len(headings) else len(lines)
        found.append(Section(title.strip(), body_line + start, level, _written(lines, end, stop)))
    first = headings[0][0] if headings else len(lines)
    return _written(lines, 0, first), found


def _written(lines: list[str], start: int, stop: int) -> bool:
    return any(
        _is_content(lines[index], lines[index + 1] if index + 1 < stop else "")
        for index in range(start, stop)
    )


def _normal_title(title: str) -> str:
    title = re.sub(r"[*_`\[\]()]", "", title.lower()).replace("&", " and ")
    return re.sub(r"[^\w\s-]", " ", title).strip()


# =============================================================================================
# The lists

Metadata = dict[str, Any]


@dataclass(frozen=True)
class _Rule:
    key: str
    label: str
    hint: str
    heading: re.Pattern[str] | None = None  # a heading for it
    unless: re.Pattern[str] | None = None  # ... that is not one of these (another item's)
    metadata: Callable[[Metadata], bool] | None = None  # metadata that satisfies it
    intro: bool = False  # the text under the title (or before any heading) also counts


def _words(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(patterns), re.I)


_DATA = _words(r"\bdata\b", r"\bdatasets?\b", r"\bcorp(?:us|ora)\b")
_BIAS = _words(
    r"\bbias(?:es)?\b",
    r"\brisks?\b",
    r"\bethic",
    r"\bfairness\b",
    r"\bharms?\b",
    r"\bsafety\b",
    r"\bsocietal\b",
    r"\bresponsible\b",
)


def _has(key: str) -> Callable[[Metadata], bool]:
    return lambda metadata: bool(metadata.get(key))


def _has_license(metadata: Metadata) -> bool:
    value = metadata.get("license")
    ids = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return bool(ids) and all(
        isinstance(item, str) and item in vocab.LICENSES and item != "unknown" for item in ids
    )


_LICENSE = _Rule(
    "license",
    "License",
    "Set `license:` in the metadata to a license id (for example apache-2.0), or `other` "
    "with license_name and license_link.",
    metadata=_has_license,
)

MODEL_RULES: tuple[_Rule, ...] = (
    _Rule(
        "description",
        "What the model is",
        "Add a “Model description”: what the model is, who made it and what it does, in a few "
        "sentences (the text under the title counts too).",
        heading=_words(
            r"^(?:model )?(?:description|details|overview|summary|introduction|about)\b",
            r"\bmodel (?:description|details|summary|overview)\b",
        ),
        intro=True,
    ),
    _Rule(
        "uses",
        "Intended uses and limitations",
        "Add an “Intended uses and limitations” section: what the model is for, and what it "
        "should not be used for.",
        heading=_words(
            r"\buses\b",
            r"\bintended\b",
            r"\buse cases?\b",
            r"\b(?:direct|downstream) use\b",
            r"\bout-? ?of-? ?scope\b",
            r"\blimitations?\b",
            r"\bmisuse\b",
        ),
    ),
    _Rule(
        "bias",
        "Bias, risks and ethical considerations",
        "Add a “Bias, risks and limitations” section: known biases, risks and ethical "
        "considerations, and what users should do about them.",
        heading=_BIAS,
    ),
    _Rule(
        "training",
        "Training parameters and procedure",
        "Add a “Training procedure” section: hyperparameters, hardware, and a link to the "
        "experiment tracking run.",
        heading=_words(
            r"\btraining\b",
            r"\bhyper-?parameters?\b",
            r"\bfine-?tuning\b",
            r"\bexperiments?\b",
            r"\bprocedure\b",
        ),
        unless=_DATA,
    ),
    _Rule(
        "datasets",
        "Datasets",
        "Add a “Training data” section (or list the ids in the metadata as `datasets:`): which "
        "data the model learned from, and how it was filtered and split.",
        heading=_DATA,
        metadata=_has("datasets"),
    ),
    _Rule(
        "evaluation",
        "Evaluation results",
        "Add an “Evaluation results” section (or `model-index` results in the metadata): the "
        "metrics, and the data and split they were measured on.",
        heading=_words(
            r"\bevaluations?\b",
            r"\bresults?\b",
            r"\bmetrics?\b",
            r"\bbenchmarks?\b",
            r"\bperformance\b",
            r"\btesting\b",
        ),
        metadata=lambda metadata: (
            isinstance(metadata.get("model-index"), list) and bool(metadata["model-index"])
        ),
    ),
    _LICENSE,
)

DATASET_RULES: tuple[_Rule, ...] = (
    _Rule(
        "description",
        "What the dataset is",
        "Add a “Dataset description”: what the data is, where it comes from and what it is "
        "for, in a few sentences (the text under the title counts too).",
        heading=_words(
            r"^(?:dataset )?(?:description|details|overview|summary|introduction|about)\b",
            r"\bdataset (?:description|details|summary|overview)\b",
        ),
        intro=True,
    ),
    _Rule(
        "structure",
        "Dataset structure",
        "Add a “Dataset structure” section: the fields, the splits and an example record.",
        heading=_words(
            r"\bstructure\b",
            r"\bfields\b",
            r"\bsplits?\b",
            r"\binstances\b",
            r"\bschema\b",
            r"\bcolumns\b",
            r"\bfeatures\b",
        ),
        metadata=_has("dataset_info"),
    ),
    _Rule(
        "creation",
        "How it was made",
        "Add a “Dataset creation” section: the sources, how the data was collected, processed "
        "and annotated.",
        heading=_words(
            r"\bcreation\b",
            r"\bsources?\b",
            r"\bcollection\b",
            r"\bcuration\b",
            r"\bannotations?\b",
            r"\bprovenance\b",
            r"\bprocessing\b",
        ),
    ),
    _Rule(
        "bias",
        "Bias, risks and limitations",
        "Add a “Bias, risks and limitations” section: who is over- or under-represented, "
        "personal or sensitive information, and known limitations.",
        heading=_words(
            _BIAS.pattern, r"\blimitations?\b", r"\bpersonal\b", r"\bsensitive\b", r"\bprivacy\b"
        ),
    ),
    _LICENSE,
)

RULES_BY_REPO_TYPE: dict[str, tuple[_Rule, ...]] = {"model": MODEL_RULES, "dataset": DATASET_RULES}


def _item(rule: _Rule, metadata: Metadata, intro: bool, found: list[Section]) -> Item:
    matching = [
        section
        for section in found
        if rule.heading is not None
        and rule.heading.search(_normal_title(section.title))
        and not (rule.unless is not None and rule.unless.search(_normal_title(section.title)))
    ]
    if rule.intro and found and found[0].level == 1 and found[0].has_content:
        matching.insert(0, found[0])  # the text under the card's title
    written = [section for section in matching if section.has_content]
    by_metadata = rule.metadata is not None and rule.metadata(metadata)
    done = by_metadata or bool(written) or (rule.intro and intro)
    present = bool(matching) or by_metadata
    line = (written or matching)[0].line if matching else None
    if done or not matching:
        hint = rule.hint
    else:
        hint = (
            f"Fill in “{matching[0].title}”, which has only placeholder text so far: "
            f"{rule.hint.partition(': ')[2]}"
        )
    return Item(rule.key, rule.label, done, hint, present, line)


def checklist(
    metadata: Metadata, body: str, repo_type: str = "model", body_line: int = 1
) -> list[Item]:
    """The checklist for a card already split into metadata and body (the stored card)."""
    rules = RULES_BY_REPO_TYPE.get(repo_type)
    if rules is None:
        return []
    intro, found = sections(body, body_line)
    return [_item(rule, metadata, intro, found) for rule in rules]


def check_completeness(text: str, repo_type: str = "model") -> list[Item]:
    """The checklist of a whole README (metadata with errors counts as no metadata)."""
    layout = card_layout(text)
    try:
        metadata = split_card(text).metadata
    except CardSyntaxError:
        metadata = {}
    return checklist(metadata, layout.body, repo_type, layout.body_line)
