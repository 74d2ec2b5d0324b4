"""Dataset-card fields: task vocabularies, `configs` (subsets and data files), `dataset_info`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hubstead.domain.cards import vocabulary as vocab
from hubstead.domain.cards.fields import (
    check_list,
    check_mapping,
    check_optional_strings,
    check_plain_strings,
    check_string,
    require,
    string_list,
    string_list_strict,
)
from hubstead.domain.cards.report import Metadata, Report, kind, suggest


def _check_vocabulary_list(
    metadata: Metadata, key: str, allowed: Iterable[str], report: Report, what: str
) -> None:
    """A list field whose values come from a fixed list; unknown values only warn (legacy cards)."""
    if metadata.get(key) is None:
        return
    allowed = tuple(allowed)
    for path, item in string_list(metadata[key], key, report):
        if item not in allowed:
            report.warn(path, f"{item!r} is not a known {what}{suggest(item, allowed)}")


def _check_configs(metadata: Metadata, report: Report) -> None:
    """`configs` as the datasets library reads it (hub-docs datasets-manual-configuration.md)."""
    value = metadata.get("configs")
    if value is None or not check_list(value, "configs", report, "subsets"):
        return
    names: set[str] = set()
    defaults = 0
    for index, config in enumerate(value):
        path = f"configs[{index}]"
        if not check_mapping(config, path, report):
            continue
        name = config.get("config_name")
        if name is None:
            report.error(f"{path}.config_name", "is required, even for a single subset")
        elif check_string(name, f"{path}.config_name", report):
            if name in names:
                report.error(f"{path}.config_name", f"{name!r} is used by more than one subset")
            names.add(name)
        defaults += config.get("default") is True
        _check_config_fields(config, path, report)
    if defaults > 1:
        report.error("configs", "only one subset can have default: true")


def _check_config_fields(config: dict[str, Any], path: str, report: Report) -> None:
    if "data_dir" in config:
        check_string(config["data_dir"], f"{path}.data_dir", report, nullable=True)
    if config.get("default") is not None and not isinstance(config["default"], bool):
        report.error(f"{path}.default", f"must be a boolean, not {kind(config['default'])}")
    if config.get("data_files") is not None:
        _check_data_files(config["data_files"], f"{path}.data_files", report)


def _check_data_files(value: Any, path: str, report: Report) -> None:
    """A pattern, a list of patterns, or a list of {split, path} where path is one or many."""
    if isinstance(value, str):
        return
    if not isinstance(value, list):
        report.error(
            path,
            f"must be a path, a list of paths or a list of {{split, path}}, not {kind(value)}",
        )
        return
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        if isinstance(item, str):
            continue
        if not check_mapping(item, item_path, report):
            continue
        split = require(item, "split", item_path, report)
        if split is not None:
            check_string(split, f"{item_path}.split", report)
        files = require(item, "path", item_path, report)
        if files is not None and not isinstance(files, str):
            string_list_strict(files, f"{item_path}.path", report)


def _check_dataset_info(metadata: Metadata, report: Report) -> None:
    value = metadata.get("dataset_info")
    if value is None:
        return
    if isinstance(value, dict):
        _check_dataset_info_entry(value, "dataset_info", report)
        return
    if not isinstance(value, list):
        report.error("dataset_info", f"must be a mapping or a list of mappings, not {kind(value)}")
        return
    for index, entry in enumerate(value):
        path = f"dataset_info[{index}]"
        if check_mapping(entry, path, report):
            if len(value) > 1 and entry.get("config_name") is None:
                report.warn(
                    path, "has no config_name; with several entries each one names its subset"
                )
            _check_dataset_info_entry(entry, path, report)


def _check_dataset_info_entry(entry: dict[str, Any], path: str, report: Report) -> None:
    check_optional_strings(entry, ("config_name",), path, report)
    for key in ("download_size", "dataset_size"):
        if entry.get(key) is not None and not _is_count(entry[key]):
            report.error(
                f"{path}.{key}", f"must be a whole number of bytes, not {kind(entry[key])}"
            )
    features = entry.get("features")
    if features is not None and not isinstance(features, (list, dict)):
        report.error(f"{path}.features", f"must be a list or a mapping, not {kind(features)}")
    splits = entry.get("splits")
    if splits is not None and check_list(splits, f"{path}.splits", report, "splits"):
        for index, split in enumerate(splits):
            _check_split_info(split, f"{path}.splits[{index}]", report)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_split_info(split: Any, path: str, report: Report) -> None:
    if not check_mapping(split, path, report):
        return
    name = require(split, "name", path, report)
    if name is not None:
        check_string(name, f"{path}.name", report)
    for key in ("num_bytes", "num_examples"):
        if split.get(key) is not None and not _is_count(split[key]):
            report.error(f"{path}.{key}", f"must be a whole number, not {kind(split[key])}")


_DATASET_STRING_LISTS = (
    "annotations_creators",
    "language_creators",
    "source_datasets",
    "language_details",
)
_DATASET_STRING_FIELDS = ("pretty_name", "paperswithcode_id")


def check_dataset(metadata: Metadata, report: Report) -> None:
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
    check_plain_strings(metadata, _DATASET_STRING_FIELDS, report)
    for key in _DATASET_STRING_LISTS:
        if metadata.get(key) is not None:
            string_list(metadata[key], key, report)
    _check_configs(metadata, report)
    _check_dataset_info(metadata, report)
    train_eval_index = metadata.get("train-eval-index")
    if train_eval_index is not None:
        check_list(train_eval_index, "train-eval-index", report, "mappings")
    if metadata.get("pipeline_tag") is not None:
        report.warn("pipeline_tag", "is a model card field; dataset cards use task_categories")
