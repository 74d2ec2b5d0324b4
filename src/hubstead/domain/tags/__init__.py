"""Hub-computed model metadata: tags, library, pipeline_tag, transformersInfo, widgets.

Pure functions over a repository snapshot (file list + parsed card/config dicts); the web
layer reads the files and stores the result. See :mod:`.derive` for the tag order.
"""

from hubstead.domain.tags.derive import (
    DerivedModelData,
    RepoSnapshot,
    dataset_tags,
    derive_model_data,
    infer_pipeline_tag,
    summarize_safetensors,
)
from hubstead.domain.tags.pipelines import PIPELINE_TYPES

__all__ = [
    "PIPELINE_TYPES",
    "DerivedModelData",
    "RepoSnapshot",
    "dataset_tags",
    "derive_model_data",
    "infer_pipeline_tag",
    "summarize_safetensors",
]
