"""Model-card fields: pipeline_tag, library_name, base models, inference, CO2, and the
model card check that also runs the model-index and widget checks."""

from __future__ import annotations

from hubstead.domain.cards import vocabulary as vocab
from hubstead.domain.cards.fields import (
    check_mapping,
    check_plain_strings,
    check_string,
    is_repo_id,
    require,
    string_list,
)
from hubstead.domain.cards.model_index import check_model_index
from hubstead.domain.cards.report import Metadata, Report, is_number, kind, suggest
from hubstead.domain.cards.widgets import check_widget


def _check_pipeline_tag(metadata: Metadata, report: Report) -> None:
    value = metadata.get("pipeline_tag")
    if value is None or not check_string(value, "pipeline_tag", report):
        return
    if value not in vocab.PIPELINE_TYPES:
        report.error(
            "pipeline_tag",
            f"must be one of [{', '.join(vocab.PIPELINE_TYPES)}] "
            f"({value!r} is not a pipeline type{suggest(value, vocab.PIPELINE_TYPES)})",
        )


def _check_library_name(metadata: Metadata, report: Report) -> None:
    """Unknown libraries only warn: any name is kept, the Hub just shows no snippet for it."""
    value = metadata.get("library_name")
    if value is None or not check_string(value, "library_name", report):
        return
    if value not in vocab.MODEL_LIBRARIES:
        report.warn(
            "library_name",
            f"{value!r} is not a library known to the Hub{suggest(value, vocab.MODEL_LIBRARIES)}; "
            "it is kept, but gets no library badge or code snippet",
        )


def _check_repo_id_list(metadata: Metadata, key: str, report: Report, strict: bool) -> list[str]:
    """Model/dataset references: a bad id is an error when `strict`, else a warning."""
    value = metadata.get(key)
    if value is None:
        return []
    ids = []
    for path, repo_id in string_list(value, key, report):
        if is_repo_id(repo_id):
            ids.append(repo_id)
            continue
        message = f"{repo_id!r} is not a Hub repo id (namespace/name)"
        if repo_id.startswith(("http://", "https://")):
            message += "; give the id, not the URL"
        (report.error if strict else report.warn)(path, message)
    return ids


def _check_base_model(metadata: Metadata, report: Report) -> None:
    base_models = _check_repo_id_list(metadata, "base_model", report, strict=True)
    relation = metadata.get("base_model_relation")
    if relation is None or not check_string(relation, "base_model_relation", report):
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


def _check_new_version(metadata: Metadata, report: Report) -> None:
    value = metadata.get("new_version")
    if value is None or not check_string(value, "new_version", report):
        return
    if not is_repo_id(value):
        report.error("new_version", f"{value!r} is not a Hub model id (namespace/name)")


def _check_inference(metadata: Metadata, report: Report) -> None:
    """`inference`: a boolean (false turns the widget off) or `{parameters: {...}}`."""
    value = metadata.get("inference")
    if value is None or isinstance(value, bool):
        return
    if not isinstance(value, dict):
        report.error(
            "inference", f"must be true, false or a mapping with parameters, not {kind(value)}"
        )
        return
    for key in value:
        if key != "parameters":
            report.warn(f"inference.{key}", "unknown key; only 'parameters' is used")
    if value.get("parameters") is not None:
        check_mapping(value["parameters"], "inference.parameters", report)


def _check_co2(metadata: Metadata, report: Report) -> None:
    value = metadata.get("co2_eq_emissions")
    if value is None or is_number(value):
        return
    if not isinstance(value, dict):
        report.error(
            "co2_eq_emissions", f"must be a number (grams) or a mapping, not {kind(value)}"
        )
        return
    emissions = require(value, "emissions", "co2_eq_emissions", report)
    if emissions is not None and not is_number(emissions):
        report.error(
            "co2_eq_emissions.emissions", f"must be a number of grams, not {kind(emissions)}"
        )
    for key in ("source", "training_type", "geographical_location", "hardware_used"):
        if key in value:
            check_string(value[key], f"co2_eq_emissions.{key}", report, nullable=True)
    training_type = value.get("training_type")
    if isinstance(training_type, str) and training_type not in vocab.CO2_TRAINING_TYPES:
        report.warn(
            "co2_eq_emissions.training_type",
            f"{training_type!r} is not pre-training or fine-tuning",
        )


_MODEL_STRING_FIELDS = ("mask_token", "instance_prompt", "description", "finetuned_from")


def check_model(metadata: Metadata, report: Report) -> None:
    _check_pipeline_tag(metadata, report)
    _check_library_name(metadata, report)
    _check_repo_id_list(metadata, "datasets", report, strict=False)
    if metadata.get("metrics") is not None:
        string_list(metadata["metrics"], "metrics", report)
    _check_base_model(metadata, report)
    _check_new_version(metadata, report)
    check_model_index(metadata, report)
    check_widget(metadata, report)
    _check_inference(metadata, report)
    _check_co2(metadata, report)
    check_plain_strings(metadata, _MODEL_STRING_FIELDS, report)
    if metadata.get("task_categories") is not None:
        report.warn("task_categories", "is a dataset card field; model cards use pipeline_tag")
