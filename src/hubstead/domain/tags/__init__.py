"""Hub-computed model metadata: tags, library, pipeline_tag, transformersInfo, widgets.

Pure functions over a repository snapshot (file list + parsed card/config dicts); the web
layer reads the files and stores the result. See :mod:`.tag_order` for the tag order.
"""

from hubstead.domain.cards.vocabulary import PIPELINE_TYPES
from hubstead.domain.tags.dataset_tags import dataset_tags
from hubstead.domain.tags.derive import DerivedModelData, derive_model_data
from hubstead.domain.tags.pipeline_tag import infer_pipeline_tag
from hubstead.domain.tags.safetensors_summary import summarize_safetensors
from hubstead.domain.tags.snapshot import RepoSnapshot

__all__ = [
    "PIPELINE_TYPES",
    "DerivedModelData",
    "RepoSnapshot",
    "dataset_tags",
    "derive_model_data",
    "infer_pipeline_tag",
    "summarize_safetensors",
]
