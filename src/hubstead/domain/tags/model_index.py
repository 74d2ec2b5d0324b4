"""The card's ``model-index`` block, flattened to one row per metric.

These rows (``DerivedModelData.eval_results``) are the card's eval results; the
``.eval_results/*.yaml`` files, served as ``evalResults``, are read by
:mod:`hubstead.domain.tags.eval_results`.
"""

from __future__ import annotations

from hubstead.domain.tags.snapshot import JsonObject


def eval_results(model_index: object) -> list[JsonObject]:
    """Flatten ``model-index`` to one row per metric, like huggingface_hub's EvalResult.

    Malformed entries are skipped rather than raised: the push-time validator is where bad
    metadata is rejected; a read path should still show the valid part.
    """
    rows: list[JsonObject] = []
    for model in model_index if isinstance(model_index, list) else []:
        if not isinstance(model, dict):
            continue
        for result in model.get("results") or []:
            if isinstance(result, dict):
                rows.extend(_result_rows(str(model.get("name", "")), result))
    return rows


def _result_rows(model_name: str, result: JsonObject) -> list[JsonObject]:
    task = _mapping(result.get("task"))
    dataset = _mapping(result.get("dataset"))
    source = _mapping(result.get("source"))
    base = {
        "model_name": model_name,
        "task_type": task.get("type"),
        "task_name": task.get("name"),
        "dataset_type": dataset.get("type"),
        "dataset_name": dataset.get("name"),
        "dataset_config": dataset.get("config"),
        "dataset_split": dataset.get("split"),
        "dataset_revision": dataset.get("revision"),
        "dataset_args": dataset.get("args"),
        "source_name": source.get("name"),
        "source_url": source.get("url"),
    }
    rows = []
    for metric in result.get("metrics") or []:
        if not isinstance(metric, dict) or "type" not in metric or "value" not in metric:
            continue
        rows.append(
            {
                **base,
                "metric_type": metric["type"],
                "metric_value": metric["value"],
                "metric_name": metric.get("name"),
                "metric_config": metric.get("config"),
                "metric_args": metric.get("args"),
                "verify_token": metric.get("verifyToken"),
                "verified": bool(metric.get("verified", False)),
            }
        )
    return rows


def _mapping(value: object) -> JsonObject:
    return value if isinstance(value, dict) else {}
