"""The `model-index` block of a model card (eval results in huggingface_hub's format).

Required keys follow hub-docs `modelcard.md` (§1.3 of the research notes).
"""

from __future__ import annotations

from typing import Any

from hubstead.domain.cards.fields import (
    check_list,
    check_mapping,
    check_optional_strings,
    check_required_strings,
    check_string,
    require,
)
from hubstead.domain.cards.report import Metadata, Report, is_number, kind


def check_model_index(metadata: Metadata, report: Report) -> None:
    """Required keys follow hub-docs `modelcard.md` (§1.3 of the notes); a non-list is refused."""
    value = metadata.get("model-index")
    if value is None or not check_list(value, "model-index", report, "models"):
        return
    if not value:
        report.warn("model-index", "is empty; remove it or add results")
    for index, entry in enumerate(value):
        _check_model_index_entry(entry, f"model-index[{index}]", report)


def _check_model_index_entry(entry: Any, path: str, report: Report) -> None:
    if not check_mapping(entry, path, report):
        return
    name = require(entry, "name", path, report)
    if name is not None:
        check_string(name, f"{path}.name", report)
    results = require(entry, "results", path, report)
    if results is None or not check_list(results, f"{path}.results", report, "results"):
        return
    for index, result in enumerate(results):
        _check_eval_result(result, f"{path}.results[{index}]", report)


def _check_eval_result(result: Any, path: str, report: Report) -> None:
    if not check_mapping(result, path, report):
        return
    _check_eval_task(require(result, "task", path, report), f"{path}.task", report)
    _check_eval_dataset(require(result, "dataset", path, report), f"{path}.dataset", report)
    _check_eval_metrics(require(result, "metrics", path, report), f"{path}.metrics", report)
    if result.get("source") is not None:
        _check_eval_source(result["source"], f"{path}.source", report)


def _check_args(mapping: dict[str, Any], path: str, report: Report) -> None:
    args = mapping.get("args")
    if args is not None and not isinstance(args, (dict, str)):
        report.error(f"{path}.args", f"must be a mapping (or a string), not {kind(args)}")


def _check_eval_task(task: Any, path: str, report: Report) -> None:
    if task is None or not check_mapping(task, path, report):
        return
    check_required_strings(task, ("type",), path, report)
    check_optional_strings(task, ("name",), path, report)


def _check_eval_dataset(dataset: Any, path: str, report: Report) -> None:
    if dataset is None or not check_mapping(dataset, path, report):
        return
    check_required_strings(dataset, ("type", "name"), path, report)
    check_optional_strings(dataset, ("config", "split", "revision"), path, report)
    _check_args(dataset, path, report)


def _check_eval_metrics(metrics: Any, path: str, report: Report) -> None:
    if metrics is None or not check_list(metrics, path, report, "metrics"):
        return
    if not metrics:
        report.warn(path, "is empty; each result should report at least one metric")
    for index, metric in enumerate(metrics):
        _check_eval_metric(metric, f"{path}[{index}]", report)


def _check_eval_metric(metric: Any, path: str, report: Report) -> None:
    if not check_mapping(metric, path, report):
        return
    check_required_strings(metric, ("type",), path, report)
    value = require(metric, "value", path, report)
    if value is not None and not (is_number(value) or isinstance(value, str)):
        report.error(f"{path}.value", f"must be a number or a string, not {kind(value)}")
    check_optional_strings(metric, ("name", "config", "verifyToken"), path, report)
    _check_args(metric, path, report)
    if metric.get("verified") is not None and not isinstance(metric["verified"], bool):
        report.error(f"{path}.verified", f"must be a boolean, not {kind(metric['verified'])}")


def _check_eval_source(source: Any, path: str, report: Report) -> None:
    if not check_mapping(source, path, report):
        return
    check_required_strings(source, ("url",), path, report)
    check_optional_strings(source, ("name",), path, report)
