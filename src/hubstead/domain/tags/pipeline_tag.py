"""The single ``pipeline_tag`` of a model: the card's, else inferred from config or tags."""

from __future__ import annotations

from hubstead.domain.tags import pipelines as P
from hubstead.domain.tags.snapshot import RepoSnapshot, config_kind, str_list, transformers_config
from hubstead.domain.tags.transformers_info import compute_transformers_info


def _diffusers_task(class_name: str) -> str | None:
    """Task of a diffusers pipeline class, from the naming conventions of diffusers."""
    name = class_name.lower()
    if (
        "img2img" in name
        or "imagetoimage" in name
        or "inpaint" in name
        or "instructpix2pix" in name
    ):
        return "image-to-image"
    if (
        "img2vid" in name
        or "imagetovideo" in name
        or "stablevideodiffusion" in name
        or "i2v" in name
    ):
        return "image-to-video"
    if "video" in name or "animatediff" in name or "text2vid" in name:
        return "text-to-video"
    if "audio" in name or "music" in name:
        return "text-to-audio"
    if name in {
        "ddpmpipeline",
        "ddimpipeline",
        "pndmpipeline",
        "ldmsuperresolutionpipeline",
        "scoresdevepipeline",
        "karrasvepipeline",
        "dancediffusionpipeline",
    }:
        return "unconditional-image-generation"
    return "text-to-image" if name.endswith("pipeline") else None


def infer_pipeline_tag(snapshot: RepoSnapshot, library_name: str | None) -> str | None:
    """Card value, else the config's architecture (transformers), else library defaults, else tags."""
    card = snapshot.card_metadata or {}
    card_value = card.get("pipeline_tag")
    if P.is_pipeline_type(card_value):
        return card_value
    inferred = _library_pipeline(snapshot, library_name)
    return inferred or P.first_pipeline_in(str_list(card.get("tags")))


def _library_pipeline(snapshot: RepoSnapshot, library_name: str | None) -> str | None:
    if library_name == "transformers":
        info = compute_transformers_info(transformers_config(snapshot))
        return info.get("pipeline_tag") if info else None
    if library_name == "sentence-transformers":
        return "sentence-similarity"
    config = snapshot.config
    if library_name == "diffusers" and config is not None and config_kind(config) == "diffusers":
        return _diffusers_task(str(config.get("_class_name", "")))
    return None
