"""The card linter (findings pinned to README lines, with "did you mean" fixes) and the
completeness checklist (issue 13): pure functions over README text, no server."""

from __future__ import annotations

import pytest

from hubstead.domain.cards import validate_card_text
from hubstead.domain.cards.completeness import check_completeness, checklist, sections
from hubstead.domain.cards.lint import Finding, card_layout, did_you_mean, lint_card


def only(findings: list[Finding], path: str) -> Finding:
    matching = [finding for finding in findings if finding.path == path]
    assert len(matching) == 1, findings
    return matching[0]


def fixed(text: str, finding: Finding) -> str:
    """`text` with `finding`'s fix applied, the way the editor's "Apply fix" does it."""
    lines = text.split("\n")
    line = lines[finding.line - 1]
    assert finding.column is not None and finding.end_column is not None
    assert line[finding.column : finding.end_column] == finding.original
    assert finding.fix is not None
    lines[finding.line - 1] = line[: finding.column] + finding.fix + line[finding.end_column :]
    return "\n".join(lines)


# =============================================================================================
# Linter: the validator's findings, at their lines


def test_a_bad_license_is_an_error_at_its_line_with_the_fix():
    text = "---\nlanguage: en\nlicense: apache2\n---\n# A model\n"
    finding = only(lint_card(text), "license")
    assert (finding.line, finding.severity, finding.fix) == (3, "error", "apache-2.0")
    assert finding.message == "'apache2' is not a license id"  # the list of 83 ids is cut
    assert (finding.column, finding.end_column, finding.original) == (9, 16, "apache2")
    repaired = fixed(text, finding)
    assert "license: apache-2.0\n" in repaired
    assert lint_card(repaired) == [] and validate_card_text(repaired).ok


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("Apache-2.0", "apache-2.0"),  # case
        ("apache_2.0", "apache-2.0"),  # `_` for `-`
        ("Apache 2.0", "apache-2.0"),  # a space
        ("cc_by_4.0", "cc-by-4.0"),
        ("MIT", "mit"),
        ("gpl3", "gpl-3.0"),  # a close spelling (difflib)
    ],
)
def test_license_suggestions_normalise_case_and_separators(written, meant):
    finding = only(lint_card(f"---\nlicense: {written}\n---\n"), "license")
    assert finding.fix == meant


def test_a_quoted_value_keeps_its_quotes_when_fixed():
    text = '---\nlicense: "Apache_2.0"\n---\n'
    finding = only(lint_card(text), "license")
    assert finding.fix == '"apache-2.0"' and finding.original == '"Apache_2.0"'
    assert fixed(text, finding) == '---\nlicense: "apache-2.0"\n---\n'


def test_list_items_point_at_their_own_line():
    text = "---\nlicense: mit\nlanguage:\n- en\n- English\n- EN\n- fr-FR\n---\n"
    findings = lint_card(text)
    assert [(f.path, f.line, f.severity, f.fix) for f in findings] == [
        ("language[1]", 5, "warning", "en"),  # a language's name
        ("language[2]", 6, "warning", "en"),  # upper case
        ("language[3]", 7, "warning", "fr"),  # a regional tag
    ]


def test_pipeline_tag_and_library_suggestions():
    text = "---\nlicense: mit\npipeline_tag: text-clasification\nlibrary_name: transfomers\n---\n"
    findings = lint_card(text)
    pipeline = only(findings, "pipeline_tag")
    assert (pipeline.line, pipeline.severity, pipeline.fix) == (3, "error", "text-classification")
    library = only(findings, "library_name")
    assert (library.line, library.severity, library.fix) == (4, "warning", "transformers")
    assert "did you mean" not in library.message  # the fix carries the suggestion


def test_dataset_vocabularies_are_suggested_too():
    text = "---\nlicense: mit\ntask_categories:\n- text-clasification\n---\n"
    finding = only(lint_card(text, "dataset"), "task_categories[0]")
    assert (finding.line, finding.severity, finding.fix) == (4, "warning", "text-classification")


def test_a_missing_nested_key_points_at_the_mapping_that_lacks_it():
    text = """---
license: mit
model-index:
- name: my-model
  results:
  - task:
      name: Text Classification
    dataset:
      type: imdb
      name: IMDB
    metrics:
    - type: accuracy
      value: 0.9
---
"""
    finding = only(lint_card(text), "model-index[0].results[0].task.type")
    assert (finding.line, finding.severity, finding.message) == (6, "error", "is required")
    assert finding.fix is None


def test_license_other_without_its_name_points_at_the_license():
    findings = lint_card("---\nlanguage: en\nlicense: other\n---\n")
    assert {(f.path, f.line, f.severity) for f in findings} == {
        ("license_name", 3, "error"),
        ("license_link", 3, "error"),
    }


def test_every_validator_message_becomes_one_finding():
    text = (
        "---\nlicense: apache2\npipeline_tag: nope\nthumbnail: not-a-url\n"
        "language: EN\nbase_model: https://x/y\n---\n"
    )
    result = validate_card_text(text)
    findings = lint_card(text)
    assert sum(f.severity == "error" for f in findings) == len(result.errors)
    assert sum(f.severity == "warning" for f in findings) == len(result.warnings)
    assert [f.line for f in findings] == sorted(f.line for f in findings)


# =============================================================================================
# Linter: its own warnings


@pytest.mark.parametrize(
    ("key", "meant"),
    [
        ("licence", "license"),
        ("pipline_tag", "pipeline_tag"),
        ("pipeline-tag", "pipeline_tag"),
        ("Library_Name", "library_name"),
        ("langauge", "language"),
        ("model_index", "model-index"),
    ],
)
def test_keys_that_look_like_typos_of_known_keys_warn(key, meant):
    text = f"---\ntags:\n- demo\n{key}: x\n---\n"
    finding = only(lint_card(text), key)
    assert (finding.line, finding.severity, finding.fix) == (4, "warning", meant)
    assert fixed(text, finding) == f"---\ntags:\n- demo\n{meant}: x\n---\n"


def test_unknown_keys_that_look_like_nothing_known_are_left_alone():
    assert lint_card("---\nlicense: mit\nmy_custom_field: 1\nauthor: me\n---\n") == []


def test_a_missing_license_warns_at_the_metadata_block():
    text = "\n---\nlanguage: en\ntags:\n- x\n---\n# Card\n"
    finding = only(lint_card(text), "license")
    assert (finding.line, finding.severity) == (2, "warning")
    assert "no license" in finding.message


def test_no_metadata_block_warns_once_at_the_top():
    findings = lint_card("# Just a title\n\nSome text.\n")
    assert [(f.line, f.severity, f.path) for f in findings] == [(1, "warning", "metadata")]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("---\nlicense: mit\ntags: [a, b\n---\n", 3),  # an unclosed flow list
        ("---\nlicense: mit\nlanguage: en\n  bad: indent\n---\n", 4),
        ("---\nlicense: mit\nlicense: apache-2.0\n---\n", 3),  # a duplicated key
    ],
)
def test_a_yaml_syntax_error_is_one_error_at_its_line(text, line):
    findings = lint_card(text)
    assert [(f.line, f.severity, f.path) for f in findings] == [(line, "error", "metadata")]
    assert "README line" not in findings[0].message  # the line is the finding's own


def test_lines_count_crlf_and_a_bom():
    text = "\ufeff---\r\nlanguage: en\r\nlicense: apache2\r\n---\r\n"
    assert only(lint_card(text), "license").line == 3
    layout = card_layout(text)
    assert (layout.first_line, layout.body_line) == (2, 5)


def test_did_you_mean_returns_nothing_for_unrelated_words():
    assert did_you_mean("banana", ["apache-2.0", "mit"]) is None
    assert did_you_mean("MIT", ["apache-2.0", "mit"]) == "mit"


# =============================================================================================
# Completeness checklist

FULL_MODEL_CARD = """---
license: apache-2.0
datasets:
- acme/reviews
---
# Review classifier

A DistilBERT model fine-tuned to tell positive from negative product reviews.

## Intended uses and limitations

Sorting English product reviews. It is not meant for other languages.

## Bias, risks and ethical considerations

Reviews of some product groups are rare in the training data.

## Training procedure

Learning rate 2e-5, batch size 16, 3 epochs on one GPU; runs on https://mlflow.example/1.

## Evaluation

Accuracy 0.91 on the test split.
"""


def states(items) -> dict[str, bool]:
    return {item.key: item.done for item in items}


def test_a_complete_model_card_has_every_item_done():
    items = check_completeness(FULL_MODEL_CARD)
    assert [item.key for item in items] == [
        "description",
        "uses",
        "bias",
        "training",
        "datasets",
        "evaluation",
        "license",
    ]
    assert all(item.done for item in items), items
    lines = {item.key: item.line for item in items}
    assert lines["uses"] == 10 and lines["training"] == 18  # README lines of the headings


def test_an_empty_card_has_nothing_done_and_says_what_to_add():
    items = check_completeness("")
    assert not any(item.done or item.present for item in items)
    assert all(item.hint for item in items)
    assert "license" in next(item.hint for item in items if item.key == "license")


def test_headings_are_matched_by_keywords_in_any_case():
    text = """---
license: mit
---
# M

Text about the model.

## USES

For sorting.

## Known Limitations And Biases

Some.

### Hyperparameters

- learning_rate: 2e-05

## Training Data

IMDB reviews.

## Results

| metric | value |
|---|---|
| accuracy | 0.9 |
"""
    assert all(states(check_completeness(text)).values())


def test_placeholders_and_comment_hints_do_not_count_as_content():
    text = """---
license: mit
---
# My model

<!-- Provide a quick summary of what the model is. -->

## Model description

<!-- A longer description. -->

- **Developed by:** [More Information Needed]
- **License:** mit

## Intended uses and limitations

[More Information Needed]

## Bias, risks and limitations

{{ bias | default("[More Information Needed]", true) }}

## Training procedure

TODO

## Training data

...

## Evaluation results

| Dataset | Metric | Value |
|---|---|---|
| [More Information Needed] | | |
"""
    items = {item.key: item for item in check_completeness(text)}
    for key in ("description", "uses", "bias", "training", "datasets", "evaluation"):
        assert items[key].present and not items[key].done, key
        assert items[key].hint.startswith("Fill in “"), items[key].hint
    assert items["license"].done


def test_metadata_satisfies_datasets_and_evaluation():
    text = """---
license: mit
datasets: imdb
model-index:
- name: m
  results: []
---
# m
"""
    done = states(check_completeness(text))
    assert done["datasets"] and done["evaluation"] and done["license"]
    assert not done["uses"]


@pytest.mark.parametrize("value", ["apache2", "unknown", "[]"])
def test_a_license_must_be_a_known_id(value):
    done = states(check_completeness(f"---\nlicense: {value}\n---\n"))
    assert not done["license"]


def test_headings_inside_code_blocks_are_not_sections():
    text = "# M\n\nA model.\n\n```\n## Uses\nnot a heading\n```\n"
    intro, found = sections(text)
    assert intro is False and [s.title for s in found] == ["M"]
    assert not states(check_completeness(text))["uses"]


def test_training_data_counts_for_datasets_not_for_training():
    text = "# M\n\n## Training data\n\nIMDB.\n"
    done = states(check_completeness(text))
    assert done["datasets"] and not done["training"]


def test_a_dataset_card_has_its_own_list():
    text = """---
license: cc-by-4.0
---
# Reviews

Product reviews with a sentiment label.

## Dataset structure

Two fields: `text` and `label`; splits train and test.

## Source data

Scraped from a public forum in 2023.
"""
    items = check_completeness(text, "dataset")
    assert [item.key for item in items] == [
        "description",
        "structure",
        "creation",
        "bias",
        "license",
    ]
    assert states(items) == {
        "description": True,
        "structure": True,
        "creation": True,
        "bias": False,
        "license": True,
    }


def test_spaces_have_no_checklist():
    assert check_completeness("# A space\n", "space") == []


def test_the_stored_card_parts_give_the_same_list():
    """The card page checks the stored metadata and body (no README read)."""
    layout = card_layout(FULL_MODEL_CARD)
    metadata = {"license": "apache-2.0", "datasets": ["acme/reviews"]}
    assert states(checklist(metadata, layout.body)) == states(check_completeness(FULL_MODEL_CARD))


def test_a_card_with_broken_yaml_still_has_its_body_checked():
    text = "---\nlicense: [mit\n---\n# M\n\nA model that does things.\n"
    done = states(check_completeness(text))
    assert done["description"] and not done["license"]


def test_a_typo_of_a_key_that_is_also_set_gets_no_fix():
    """Renaming `licence` to `license` next to a `license` would make a duplicate key."""
    finding = only(lint_card("---\nlicense: mit\nlicence: mit\n---\n"), "licence")
    assert (finding.line, finding.severity, finding.fix) == (3, "warning", None)
    assert "'license' is set too" in finding.message
