"""Evaluation results stored as `.eval_results/*.yaml` files in a model repository.

The Hub's `evalResults` field lists these files' entries, one item per entry, as
`{"filename", "data": {"dataset": {"id", "task_id", "revision"?}, "value", …}}`; a file that
fails validation appears once as `{"filename", "error"}`, which clients skip with a warning.
The older `model-index` block of the card is not part of this field: it is served as
`model-index` and inside `cardData`, as the Hub does (huggingface_hub's parser for
`evalResults` requires `dataset.id` and `dataset.task_id`, so a flattened model-index there
crashes every client that reads the repository).
"""

from __future__ import annotations

from typing import Any

from hubstead.domain.cards import CardSyntaxError, load_yaml

EVAL_RESULTS_DIR = ".eval_results/"
MAX_EVAL_RESULT_FILES = 100
MAX_EVAL_RESULT_BYTES = 1024 * 1024


def is_eval_results_file(path: str) -> bool:
    """A YAML file directly inside `.eval_results/`."""
    if not path.startswith(EVAL_RESULTS_DIR):
        return False
    name = path[len(EVAL_RESULTS_DIR) :]
    return "/" not in name and name.endswith((".yaml", ".yml"))


def parse_eval_results_file(filename: str, text: str) -> list[dict[str, Any]]:
    """The `evalResults` items of one file: its valid entries, or one error item."""
    try:
        document = load_yaml(text)
    except CardSyntaxError as error:
        return [{"filename": filename, "error": str(error)}]
    entries = document if isinstance(document, list) else [document]
    problems = [
        problem for index, entry in enumerate(entries) if (problem := entry_problem(entry, index))
    ]
    if problems:
        return [{"filename": filename, "error": "; ".join(problems)}]
    return [{"filename": filename, "data": entry} for entry in entries]


def entry_problem(entry: Any, index: int) -> str | None:
    """Why an entry is not a valid eval result, or None (the fields the client requires)."""
    where = f"entry {index}"
    if not isinstance(entry, dict):
        return f"{where} must be a mapping"
    dataset = entry.get("dataset")
    if not isinstance(dataset, dict):
        return f"{where}: 'dataset' must be a mapping with 'id' and 'task_id'"
    for key in ("id", "task_id"):
        if not isinstance(dataset.get(key), str) or not dataset[key].strip():
            return f"{where}: 'dataset.{key}' must be a non-empty string"
    if "revision" in dataset and not isinstance(dataset["revision"], str):
        return f"{where}: 'dataset.revision' must be a string"
    if "value" not in entry or entry["value"] is None:
        return f"{where}: 'value' is required"
    source = entry.get("source")
    if source is not None and not (isinstance(source, dict) and isinstance(source.get("url"), str)):
        return f"{where}: 'source' must be a mapping with a 'url'"
    for key in ("date", "notes", "verifyToken"):
        if key in entry and not isinstance(entry[key], str):
            return f"{where}: '{key}' must be a string"
    return None


def is_wire_item(item: Any) -> bool:
    """Whether a stored item has the shape the client parses (older hubs stored flat rows)."""
    return (
        isinstance(item, dict)
        and isinstance(item.get("filename"), str)
        and (
            "error" in item
            or (isinstance(item.get("data"), dict) and entry_problem(item["data"], 0) is None)
        )
    )
