"""The `widget` examples of a model card, and whether they fit the card's pipeline_tag."""

from __future__ import annotations

from typing import Any

from hubstead.domain.cards.fields import (
    check_list,
    check_mapping,
    check_optional_strings,
    check_string,
    require,
    string_list_strict,
)
from hubstead.domain.cards.report import Metadata, Report, is_number, kind

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


def check_widget(metadata: Metadata, report: Report) -> None:
    examples = metadata.get("widget")
    if examples is None or not check_list(examples, "widget", report, "examples"):
        return
    pipeline_tag = metadata.get("pipeline_tag")
    for index, example in enumerate(examples):
        path = f"widget[{index}]"
        if check_mapping(example, path, report):
            _check_widget_example(example, path, report)
            _check_widget_fits_pipeline(example, pipeline_tag, path, report)


def _check_widget_example(example: dict[str, Any], path: str, report: Report) -> None:
    check_optional_strings(example, _WIDGET_STRING_KEYS, path, report)
    if not any(example.get(key) is not None for key in _WIDGET_INPUT_KEYS):
        report.warn(path, f"has no input; set one of {', '.join(_WIDGET_INPUT_KEYS)}")
    if example.get("sentences") is not None:
        string_list_strict(example["sentences"], f"{path}.sentences", report)
    if example.get("multi_class") is not None and not isinstance(example["multi_class"], bool):
        report.error(
            f"{path}.multi_class", f"must be a boolean, not {kind(example['multi_class'])}"
        )
    for key in ("table", "structured_data"):
        if example.get(key) is not None:
            _check_columns(example[key], f"{path}.{key}", report)
    if example.get("messages") is not None:
        _check_messages(example["messages"], f"{path}.messages", report)
    if example.get("parameters") is not None:
        check_mapping(example["parameters"], f"{path}.parameters", report)
    if example.get("output") is not None:
        _check_widget_output(example["output"], f"{path}.output", report)


def _check_columns(table: Any, path: str, report: Report) -> None:
    """Tables are column name -> list of cells (strings or numbers)."""
    if not check_mapping(table, path, report):
        return
    for column, cells in table.items():
        cells_path = f"{path}.{column}"
        if not check_list(cells, cells_path, report, "cells"):
            continue
        for index, cell in enumerate(cells):
            if not (isinstance(cell, str) or is_number(cell)):
                report.error(
                    f"{cells_path}[{index}]", f"must be a string or a number, not {kind(cell)}"
                )


def _check_messages(messages: Any, path: str, report: Report) -> None:
    if not check_list(messages, path, report, "chat messages"):
        return
    for index, message in enumerate(messages):
        message_path = f"{path}[{index}]"
        if not check_mapping(message, message_path, report):
            continue
        role = require(message, "role", message_path, report)
        if role is not None and role not in _CHAT_ROLES:
            report.error(f"{message_path}.role", f"{role!r} is not one of {', '.join(_CHAT_ROLES)}")
        content = require(message, "content", message_path, report)
        if content is not None and not isinstance(content, (str, list)):
            report.error(
                f"{message_path}.content",
                f"must be a string or a list of parts, not {kind(content)}",
            )


def _check_widget_output(output: Any, path: str, report: Report) -> None:
    """Output shapes: [{label, score}], {answer, score}, {text} or {url}."""
    if isinstance(output, list):
        for index, item in enumerate(output):
            _check_label_score(item, f"{path}[{index}]", report)
        return
    if not isinstance(output, dict) or not any(key in output for key in ("text", "url", "answer")):
        report.error(path, "must be a list of {label, score} or a mapping with text, url or answer")
        return
    check_optional_strings(output, ("text", "url", "answer"), path, report)
    if "score" in output and not is_number(output["score"]):
        report.error(f"{path}.score", f"must be a number, not {kind(output['score'])}")


def _check_label_score(item: Any, path: str, report: Report) -> None:
    if not check_mapping(item, path, report):
        return
    label = require(item, "label", path, report)
    if label is not None:
        check_string(label, f"{path}.label", report)
    score = require(item, "score", path, report)
    if score is not None and not is_number(score):
        report.error(f"{path}.score", f"must be a number, not {kind(score)}")


def _check_widget_fits_pipeline(
    example: dict[str, Any], pipeline_tag: Any, path: str, report: Report
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
