"""Card metadata: README.md splitting (the Hub's front-matter pattern) and metadata validation.

The corpus in tests/data/cards/ holds hand-written cards; expected.json lists, for each one,
the repo type to validate it as and substrings of every expected error and warning. The test
checks the exact number of messages, so a rule that starts firing where it should not is caught.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from hubstead.domain.cards import (
    CardDocument,
    CardSyntaxError,
    ValidationResult,
    split_card,
    validate_card_text,
    validate_metadata,
)
from hubstead.domain.cards import vocabulary as vocab

CARDS_DIR = Path(__file__).parent / "data" / "cards"
EXPECTED: dict[str, dict] = json.loads((CARDS_DIR / "expected.json").read_text(encoding="utf-8"))


def read_card(name: str) -> str:
    """Read bytes faithfully: keep CRLF and the BOM, which the parser must handle itself."""
    with open(CARDS_DIR / name, encoding="utf-8", newline="") as handle:
        return handle.read()


# =============================================================================================
# Corpus


def test_corpus_and_expectations_match_one_to_one():
    card_names = {path.name for path in CARDS_DIR.glob("*.md")}
    assert card_names == set(EXPECTED)
    assert len(card_names) >= 30
    repo_types = {entry["repo_type"] for entry in EXPECTED.values()}
    assert repo_types == {"model", "dataset"}
    assert any(entry["errors"] for entry in EXPECTED.values())
    assert any(entry["warnings"] and not entry["errors"] for entry in EXPECTED.values())
    assert any(not entry["warnings"] and not entry["errors"] for entry in EXPECTED.values())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_card(name: str):
    expected = EXPECTED[name]
    result = validate_card_text(read_card(name), expected["repo_type"])

    assert len(result.errors) == len(expected["errors"]), result.errors
    assert len(result.warnings) == len(expected["warnings"]), result.warnings
    for fragment in expected["errors"]:
        assert any(fragment in message for message in result.errors), (fragment, result.errors)
    for fragment in expected["warnings"]:
        assert any(fragment in message for message in result.warnings), (fragment, result.warnings)
    assert result.ok is (not expected["errors"])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_message_starts_with_the_field_it_is_about(name: str):
    text = read_card(name)
    result = validate_card_text(text, EXPECTED[name]["repo_type"])
    try:
        keys = set(split_card(text).metadata) | {"metadata"}
    except CardSyntaxError:
        keys = {"metadata"}
    for message in result.errors + result.warnings:
        field_path, separator, detail = message.partition(": ")
        assert separator and detail, message
        top_level_key = field_path.split("[")[0].split(".")[0]
        assert top_level_key in keys or detail.startswith("is required"), message


# =============================================================================================
# split_card


def test_split_full_card_keeps_nested_values_and_unknown_keys():
    document = split_card(read_card("model_full_valid.md"))

    assert document.has_front_matter is True
    assert document.metadata["language"] == ["en", "fr"]
    assert document.metadata["pinned"] is True
    assert document.metadata["mask_token"] == "[MASK]"
    result = document.metadata["model-index"][0]["results"][0]
    assert result["metrics"][0] == {"type": "accuracy", "value": 0.931, "name": "Test accuracy"}
    assert result["metrics"][1]["value"] == "0.92 ± 0.01"
    assert document.metadata["extra_gated_fields"]["Use case"]["options"][1] == {
        "label": "Something else",
        "value": "other",
    }
    assert document.body.startswith("\n# Review sentiment\n")
    assert "---" not in document.body


def test_split_tolerates_bom_and_crlf():
    text = read_card("model_bom_crlf.md")
    assert text.startswith("\ufeff---\r\n")

    document = split_card(text)

    assert document.metadata == {"license": "mit", "language": "de", "pipeline_tag": "translation"}
    assert document.body == (
        "\r\n# Windows card\r\n\r\n"
        "Saved by an editor that writes a byte order mark and CRLF line ends.\r\n"
    )


def test_split_without_front_matter_returns_whole_text_as_body():
    text = read_card("model_no_front_matter.md")
    assert split_card(text) == CardDocument(metadata={}, body=text, has_front_matter=False)


def test_split_empty_block_is_front_matter_with_empty_metadata():
    document = split_card("---\n\n---\nbody")
    assert document == CardDocument(metadata={}, body="body", has_front_matter=True)


def test_split_two_adjacent_dash_lines_are_not_front_matter():
    # The Hub's pattern needs a line break after the opening '---' AND before the closing one.
    text = read_card("model_dashes_only.md")
    assert split_card(text) == CardDocument(metadata={}, body=text, has_front_matter=False)


def test_split_stops_at_the_first_closing_line_and_keeps_later_rulers_in_the_body():
    text = "---\nlicense: mit\n---\n# Title\n\n---\n\nafter a ruler\n---\n"
    document = split_card(text)
    assert document.metadata == {"license": "mit"}
    assert document.body == "# Title\n\n---\n\nafter a ruler\n---\n"


@pytest.mark.parametrize(
    ("text", "metadata", "body"),
    [
        ("\n\n  ---\na: 1\n---\nrest", {"a": 1}, "rest"),  # leading whitespace before the opener
        ("---\na: 1\n---  \t\nrest", {"a": 1}, "rest"),  # blanks after the closing dashes
        ("---\na: 1\n---", {"a": 1}, ""),  # closing line at the very end, no line break
        ("---\ra: 1\r---", {"a": 1}, ""),  # old Mac line ends
    ],
)
def test_split_front_matter_variants(text: str, metadata: dict, body: str):
    assert split_card(text) == CardDocument(metadata=metadata, body=body, has_front_matter=True)


@pytest.mark.parametrize(
    "text",
    [
        "intro\n---\na: 1\n---\n",  # the block must be at the top
        "---\na: 1\n---x\nrest",  # the closing line is only dashes and blanks
        "---\na: 1\n----\nrest",  # four dashes are a ruler, not a closing line
        "--- \na: 1\n---\n",  # the opening line cannot have trailing blanks
    ],
)
def test_split_non_front_matter(text: str):
    document = split_card(text)
    assert document.has_front_matter is False
    assert document.metadata == {}
    assert document.body == text


def test_split_reads_scalars_as_yaml_1_2_like_the_hub():
    document = split_card(
        "---\nlanguage: no\na: yes\nb: on\nc: off\nd: true\ne: False\n"
        "released: 2024-05-01\nsteps: 10\nratio: 1.5\nempty:\n---\n"
    )
    assert document.metadata == {
        "language": "no",
        "a": "yes",
        "b": "on",
        "c": "off",
        "d": True,
        "e": False,
        "released": "2024-05-01",
        "steps": 10,
        "ratio": 1.5,
        "empty": None,
    }
    json.dumps(document.metadata)  # dates stay strings: cardData must be JSON


def test_split_allows_yaml_merge_keys():
    document = split_card("---\nbase: &base {a: 1, b: 2}\nderived:\n  <<: *base\n  b: 3\n---\n")
    assert document.metadata["derived"] == {"a": 1, "b": 3}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("---\nlicense: mit\ntags: [a\n---\n", "invalid YAML (README line 3)"),
        ("---\n- a\n- b\n---\n", "must be a mapping, not a list"),
        ("---\njust a sentence\n---\n", "must be a mapping, not a string"),
        ("\n---\nlicense: mit\nlicense: gpl\n---\n", "duplicated key 'license' (README line 4)"),
        ("---\nx: {k: 1, k: 2}\n---\n", "duplicated key 'k'"),
    ],
)
def test_split_rejects_bad_yaml(text: str, fragment: str):
    with pytest.raises(CardSyntaxError) as raised:
        split_card(text)
    assert fragment in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_split_caps_yaml_aliases():
    def card(alias_count: int) -> str:
        return (
            "---\nanchor: &a [x]\n" + "".join(f"k{i}: *a\n" for i in range(alias_count)) + "---\n"
        )

    assert len(split_card(card(100)).metadata) == 101
    with pytest.raises(CardSyntaxError, match="too many YAML aliases"):
        split_card(card(101))


def test_split_caps_what_aliases_expand_to():
    # Ten levels of ten aliases: only 100 aliases, but 10**10 values once expanded.
    levels = ["l0: &l0 [a, a, a, a, a, a, a, a, a, a]"]
    levels += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 11)]
    with pytest.raises(CardSyntaxError, match="aliases expand to more than 10000 values"):
        split_card("---\n" + "\n".join(levels) + "\n---\n")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("---\na: &a [1, *a]\n---\n", "refers to the value that contains it"),
        ("---\nblob: !!binary aGVsbG8=\n---\n", "could not determine a constructor"),
        ("---\nseen: !!set {x, y}\n---\n", "could not determine a constructor"),
        ("---\nwhen: !!timestamp 2020-01-01\n---\n", "could not determine a constructor"),
        ("---\nrun: !!python/object/apply:os.system [ls]\n---\n", "could not determine"),
        ("---\ndeep: " + "[" * 5000 + "]" * 5000 + "\n---\n", "nested too deeply"),
    ],
)
def test_split_only_produces_json_values(text: str, fragment: str):
    with pytest.raises(CardSyntaxError) as raised:
        split_card(text)
    assert fragment in str(raised.value)


# =============================================================================================
# validate_metadata / validate_card_text


def test_validation_result_ok_reflects_errors_only():
    assert ValidationResult(errors=[], warnings=["x: y"]).ok is True
    assert ValidationResult(errors=["x: y"], warnings=[]).ok is False


def test_validate_card_text_equals_split_then_validate():
    text = read_card("model_inference_co2_invalid.md")
    assert validate_card_text(text) == validate_metadata(split_card(text).metadata)


def test_validate_card_text_turns_syntax_errors_into_one_error():
    result = validate_card_text("---\na: [\n---\n")
    assert result.ok is False
    assert len(result.errors) == 1 and result.errors[0].startswith("metadata: invalid YAML")
    assert result.warnings == []


def test_validate_does_not_modify_the_metadata():
    metadata = split_card(read_card("dataset_configs_invalid.md")).metadata
    snapshot = copy.deepcopy(metadata)
    validate_metadata(metadata, "dataset")
    assert metadata == snapshot


def test_validate_rejects_non_mapping_and_unknown_repo_type():
    result = validate_metadata(["license", "mit"])  # type: ignore[arg-type]
    assert result.errors == ["metadata: must be a mapping, not a list"]
    with pytest.raises(ValueError, match="repo_type"):
        validate_metadata({}, "kernel")
    with pytest.raises(ValueError, match="repo_type"):
        validate_card_text("# hi", "models")


def test_empty_metadata_only_warns():
    result = validate_metadata({})
    assert result.ok
    assert len(result.warnings) == 1 and result.warnings[0].startswith("metadata: is empty")


def test_repo_type_selects_the_rules():
    text = read_card("dataset_model_fields_ignored.md")
    assert validate_card_text(text, "dataset") == ValidationResult(errors=[], warnings=[])

    as_model = validate_card_text(text, "model")
    assert [message.split(":")[0] for message in as_model.errors] == [
        "base_model",
        "model-index",
        "widget",
    ]


def test_space_cards_get_only_the_shared_rules():
    result = validate_metadata(
        {"license": "foo", "pipeline_tag": "nope", "configs": "x", "sdk": "gradio"}, "space"
    )
    assert (
        len(result.errors) == 1
        and result.errors[0].startswith("license: must be one of [apache-2.0,")
        and "'foo'" in result.errors[0]
    )


def test_null_values_count_as_absent():
    # An empty YAML value (`license:`) parses to null; the Hub's API reports `model-index: null`.
    metadata = {
        "license": None,
        "pipeline_tag": None,
        "model-index": None,
        "widget": None,
        "base_model": None,
    }
    assert validate_metadata(metadata) == ValidationResult([], [])


@pytest.mark.parametrize("license_id", vocab.LICENSE_IDS)
def test_every_hub_license_id_is_accepted(license_id: str):
    metadata = {"license": license_id}
    if license_id == "other":
        metadata |= {"license_name": "acme-1.0", "license_link": "https://example.org/l"}
    assert validate_metadata(metadata) == ValidationResult([], [])


def test_license_other_inside_a_list_still_needs_name_and_link():
    result = validate_metadata({"license": ["mit", "other"]}, "dataset")
    assert [message.split(":")[0] for message in result.errors] == ["license_name", "license_link"]


def test_license_error_lists_the_valid_ids_in_hub_order():
    (message,) = validate_metadata({"license": "mitt"}).errors
    assert "(did you mean 'mit'?)" in message
    listed = message.split("must be one of [", 1)[1].split("]", 1)[0].split(", ")
    assert listed == list(vocab.LICENSE_IDS)


@pytest.mark.parametrize("pipeline_type", vocab.PIPELINE_TYPES)
def test_every_pipeline_type_is_a_valid_tag_and_task_category(pipeline_type: str):
    assert validate_metadata({"pipeline_tag": pipeline_type}).errors == []
    dataset_result = validate_metadata({"task_categories": [pipeline_type]}, "dataset")
    assert dataset_result == ValidationResult([], [])


def test_every_subtask_is_a_valid_dataset_task_id():
    task_ids = sorted(vocab.DATASET_TASK_IDS)
    assert validate_metadata({"task_ids": task_ids}, "dataset") == ValidationResult([], [])


@pytest.mark.parametrize("code", ["en", "zh", "no", "bh", "yue", "fra", "multilingual", "code"])
def test_language_codes_accepted(code: str):
    assert validate_metadata({"language": code}) == ValidationResult([], [])


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("xx", "'xx' is not an ISO 639-1/639-2/639-3 code"),
        ("Fr", "'Fr' must be lowercase: 'fr'"),
        ("pt_BR", "'pt_BR' is a regional tag; use the ISO 639 code 'pt'"),
        ("english", "'english' is not an ISO"),
    ],
)
def test_language_problems_only_warn(code: str, fragment: str):
    result = validate_metadata({"language": [code]})
    assert result.errors == []
    assert len(result.warnings) == 1 and fragment in result.warnings[0]
    assert result.warnings[0].startswith("language[0]: ")


def test_base_model_ids():
    assert validate_metadata({"base_model": "gpt2"}).ok
    assert validate_metadata(
        {"base_model": ["org/a.b-c_d", "x/y"], "base_model_relation": "merge"}
    ) == (ValidationResult([], []))
    bad_ids = ["org/", "/name", "a--b/c", "org/name.git", "org/-x", "a" * 97]
    result = validate_metadata({"base_model": bad_ids})
    assert [message.split(":")[0] for message in result.errors] == [
        f"base_model[{i}]" for i in range(len(bad_ids))
    ]


def test_merge_with_one_parent_only_warns():
    result = validate_metadata({"base_model": "acme/a", "base_model_relation": "merge"})
    assert result.ok
    assert result.warnings == [
        "base_model_relation: a merge normally lists two or more base models"
    ]


def test_widget_inputs_follow_the_pipeline():
    examples = [
        {"source_sentence": "A happy person", "sentences": ["A joyful person", "A sad person"]},
        {"text": "only text"},
    ]
    result = validate_metadata({"pipeline_tag": "sentence-similarity", "widget": examples})
    assert result.errors == []
    assert result.warnings == [
        "widget[1]: a sentence-similarity widget needs source_sentence+sentences"
    ]


def test_widget_chat_messages_are_checked():
    widget = [{"messages": [{"role": "robot", "content": "hi"}, {"role": "user"}, "hello"]}]
    result = validate_metadata({"pipeline_tag": "text-generation", "widget": widget})
    assert result.errors == [
        "widget[0].messages[0].role: 'robot' is not one of system, user, assistant",
        "widget[0].messages[1].content: is required",
        "widget[0].messages[2]: must be a mapping, not a string",
    ]


def test_dataset_size_categories_accept_a_single_string():
    assert validate_metadata({"size_categories": "n<1K"}, "dataset") == ValidationResult([], [])
    result = validate_metadata({"size_categories": "1k<n<10k"}, "dataset")
    assert result.warnings == [
        "size_categories: '1k<n<10k' is not a known size category (did you mean '1K<n<10K'?)"
    ]


def test_dataset_info_as_single_mapping():
    info = {
        "features": [{"name": "text", "dtype": "string"}],
        "splits": [{"name": "train", "num_examples": 3}],
    }
    assert validate_metadata({"dataset_info": info}, "dataset") == ValidationResult([], [])
    info["splits"][0]["num_examples"] = True
    assert validate_metadata({"dataset_info": info}, "dataset").errors == [
        "dataset_info.splits[0].num_examples: must be a whole number, not a boolean"
    ]


# =============================================================================================
# Vocabulary tables


def test_license_table_matches_the_hub_docs():
    assert len(vocab.LICENSE_IDS) == 83 == len(set(vocab.LICENSE_IDS))
    assert vocab.LICENSE_IDS[:3] == ("apache-2.0", "mit", "openrail")
    assert vocab.LICENSE_IDS[-3:] == ("gemma", "unknown", "other")
    assert (
        vocab.LICENSES["cc-by-nc-sa-4.0"]
        == "Creative Commons Attribution Non Commercial Share Alike 4.0"
    )
    assert all(license_id == license_id.lower() for license_id in vocab.LICENSE_IDS)


def test_pipeline_table_matches_huggingface_js():
    assert len(vocab.PIPELINE_TYPES) == 57 == len(set(vocab.PIPELINE_TYPES))
    assert vocab.PIPELINE_TYPES[0] == "text-classification"
    assert vocab.PIPELINE_TYPES[-1] == "other"
    assert set(vocab.PIPELINE_SUBTASKS) <= set(vocab.PIPELINE_TYPES)
    assert len(vocab.DATASET_TASK_IDS) == 74


def test_language_tables():
    assert len(vocab.ISO_639_1_CODES) == 184
    assert all(
        len(code) == 2 and code.isalpha() and code.islower() for code in vocab.ISO_639_1_CODES
    )
    assert vocab.is_language_code("eng") and vocab.is_language_code("multilingual")
    assert not vocab.is_language_code("en-US")
    assert not vocab.is_language_code("ENG")
    assert not vocab.is_language_code("abcd")


def test_size_categories_and_libraries():
    assert (
        vocab.DATASET_SIZE_CATEGORIES[0] == "n<1K" and vocab.DATASET_SIZE_CATEGORIES[-1] == "n>1T"
    )
    assert len(vocab.DATASET_SIZE_CATEGORIES) == 11
    assert len(vocab.MODEL_LIBRARIES) == 240 == len(set(vocab.MODEL_LIBRARIES))
    assert {"transformers", "diffusers", "sentence-transformers", "PaddleOCR"} <= set(
        vocab.MODEL_LIBRARIES
    )
