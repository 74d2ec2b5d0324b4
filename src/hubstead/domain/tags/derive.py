"""Derive the Hub's computed model metadata from a repository snapshot.

The Hub server that computes ``tags``, ``pipeline_tag``, ``library_name``, ``transformersInfo``
and friends is closed source, so these rules are rebuilt from the public docs and from real API
payloads (see ``/work/shared/research/cards-tags-widgets.md`` §3–§5). Everything here is a pure
function over dicts and lists: the caller reads files, we only decide.

This module only assembles the parts, each in its own module: :mod:`.library`,
:mod:`.pipeline_tag`, :mod:`.transformers_info`, :mod:`.config_projection` (config and mask
token), :mod:`.tag_order` (the tag list and its order), :mod:`.widgets`, :mod:`.model_index`
(eval results from the card), plus :mod:`.safetensors_summary` and :mod:`.dataset_tags`, which
the caller uses on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hubstead.domain.tags.config_projection import project_config, resolve_mask_token
from hubstead.domain.tags.library import resolve_library
from hubstead.domain.tags.model_index import eval_results
from hubstead.domain.tags.pipeline_tag import infer_pipeline_tag
from hubstead.domain.tags.snapshot import JsonObject, RepoSnapshot, str_list, transformers_config
from hubstead.domain.tags.tag_order import model_tags
from hubstead.domain.tags.transformers_info import TransformersInfo, compute_transformers_info
from hubstead.domain.tags.widgets import card_widget_examples, default_widget_inputs, widget_type


@dataclass(frozen=True)
class DerivedModelData:
    tags: list[str]
    library_name: str | None
    pipeline_tag: str | None
    transformers_info: TransformersInfo | None
    config: JsonObject | None
    mask_token: str | None
    widget_data: list[JsonObject] = field(default_factory=list)
    eval_results: list[JsonObject] = field(default_factory=list)


def derive_model_data(snapshot: RepoSnapshot, region: str | None = "us") -> DerivedModelData:
    """All Hub-computed fields of a model revision, in one pass."""
    library = resolve_library(snapshot)
    pipeline = infer_pipeline_tag(snapshot, library)
    info = compute_transformers_info(transformers_config(snapshot))
    tags = model_tags(snapshot, library, pipeline, info, region)
    mask_token = resolve_mask_token(snapshot)
    card = snapshot.card_metadata or {}
    widgets = card_widget_examples(card.get("widget")) or default_widget_inputs(
        widget_type(pipeline, tags), str_list(card.get("language")), mask_token
    )
    return DerivedModelData(
        tags=tags,
        library_name=library,
        pipeline_tag=pipeline,
        transformers_info=info,
        config=project_config(snapshot),
        mask_token=mask_token,
        widget_data=widgets,
        eval_results=eval_results(card.get("model-index")),
    )
