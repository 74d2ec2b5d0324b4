"""``transformersInfo``: the Auto class, task and processor a transformers model loads with.

The architecture (``config.json`` ``architectures[0]``) is looked up in the tables of
:mod:`hubstead.domain.tags.pipelines`, else recognised by its class-name suffix; custom-code
models (``auto_map``) name their own classes.
"""

from __future__ import annotations

from typing import TypeAlias

from hubstead.domain.tags import pipelines as P
from hubstead.domain.tags.snapshot import JsonObject

# {"auto_model", "pipeline_tag"?, "processor"?, "custom_class"?}: all values are strings.
TransformersInfo: TypeAlias = dict[str, str]

_AUDIO_MODEL_TYPES = frozenset(
    {
        "wav2vec2",
        "wav2vec2-bert",
        "wav2vec2-conformer",
        "hubert",
        "wavlm",
        "data2vec-audio",
        "unispeech",
        "unispeech-sat",
        "sew",
        "sew-d",
        "whisper",
        "audio-spectrogram-transformer",
    }
)
_NON_MODEL_AUTO_KEYS = frozenset(
    {
        "AutoConfig",
        "AutoTokenizer",
        "AutoProcessor",
        "AutoImageProcessor",
        "AutoFeatureExtractor",
        "AutoVideoProcessor",
    }
)


def _conditional_generation_auto_class(config: JsonObject) -> tuple[str, str | None]:
    """``…ForConditionalGeneration`` means different heads depending on the model family."""
    model_type = str(config.get("model_type", ""))
    if model_type in P.SPEECH_SEQ2SEQ_MODEL_TYPES:
        return "AutoModelForSpeechSeq2Seq", None
    if model_type in P.TEXT_TO_AUDIO_MODEL_TYPES:
        return "AutoModelForTextToWaveform", None
    if model_type in P.IMAGE_TO_TEXT_MODEL_TYPES:
        return "AutoModelForImageTextToText", "image-to-text"
    if model_type in P.AUDIO_TEXT_TO_TEXT_MODEL_TYPES or "audio_config" in config:
        return "AutoModelForSeq2SeqLM", "audio-text-to-text"
    if model_type in P.IMAGE_TEXT_TO_TEXT_MODEL_TYPES or "vision_config" in config:
        return "AutoModelForImageTextToText", None
    return "AutoModelForSeq2SeqLM", None


def auto_class_for(architecture: str, config: JsonObject) -> tuple[str, str | None] | None:
    """(Auto class, task override) for an architecture: the table first, then the suffixes."""
    if architecture in P.ARCHITECTURE_AUTO_CLASS:
        return P.ARCHITECTURE_AUTO_CLASS[architecture], P.ARCHITECTURE_TASK_OVERRIDES.get(
            architecture
        )
    if architecture.endswith("ForConditionalGeneration"):
        return _conditional_generation_auto_class(config)
    model_type = str(config.get("model_type", ""))
    if architecture.endswith("ForSequenceClassification") and model_type in _AUDIO_MODEL_TYPES:
        return "AutoModelForAudioClassification", None
    for suffix, auto_class in P.SUFFIX_AUTO_CLASS:
        if architecture.endswith(suffix):
            return auto_class, None
    return None


def task_for_auto_class(auto_class: str, config: JsonObject) -> str | None:
    """Hub task of an Auto class, refined by model type where the class is ambiguous."""
    model_type = str(config.get("model_type", ""))
    if auto_class == "AutoModelForSeq2SeqLM" and model_type in P.SEQ2SEQ_TASK_BY_MODEL_TYPE:
        return P.SEQ2SEQ_TASK_BY_MODEL_TYPE[model_type]
    if auto_class == "AutoModel" and model_type in P.VISION_MODEL_TYPES:
        return "image-feature-extraction"
    return P.AUTO_CLASS_TASK.get(auto_class)


def processor_for(task: str | None, model_type: str) -> str:
    """Pre-processing class the code snippet loads next to the model."""
    if task == "audio-classification" or (
        task == "feature-extraction" and model_type in _AUDIO_MODEL_TYPES
    ):
        return "AutoFeatureExtractor"
    if task in P.TEXT_TASKS:
        return "AutoTokenizer"
    if task in P.IMAGE_TASKS:
        return "AutoImageProcessor"
    return "AutoProcessor"


def _custom_code_info(architecture: str, auto_map: JsonObject) -> TransformersInfo | None:
    """Custom-code models: the auto_map entry that points at ``architectures[0]`` (else the first)."""
    model_keys = [
        k for k, v in auto_map.items() if k not in _NON_MODEL_AUTO_KEYS and isinstance(v, str)
    ]
    if not model_keys:
        return None
    matching = [k for k in model_keys if auto_map[k].rsplit(".", 1)[-1] == architecture]
    key = (matching or model_keys)[0]
    info: dict[str, str | None] = {
        "auto_model": key,
        "custom_class": auto_map[key],
        "pipeline_tag": P.AUTO_CLASS_TASK.get(key),
    }
    for processor in ("AutoProcessor", "AutoTokenizer"):
        if processor in auto_map:
            info["processor"] = processor
            break
    return {k: v for k, v in info.items() if v is not None}


def compute_transformers_info(config: JsonObject) -> TransformersInfo | None:
    """``transformersInfo``: Auto class, task and processor for ``architectures[0]``."""
    architectures = config.get("architectures")
    if (
        not isinstance(architectures, list)
        or not architectures
        or not isinstance(architectures[0], str)
    ):
        return None
    architecture = architectures[0]
    standard = _standard_info(architecture, config)
    auto_map = config.get("auto_map")
    custom = _custom_code_info(architecture, auto_map) if isinstance(auto_map, dict) else None
    if custom is None:
        return standard
    # Remote code wins (that is what trust_remote_code loads); a known architecture still
    # tells which processor the snippet should use.
    if standard and "processor" not in custom:
        custom["processor"] = standard["processor"]
    return custom


def _standard_info(architecture: str, config: JsonObject) -> TransformersInfo | None:
    resolved = auto_class_for(architecture, config)
    if resolved is None:
        return None
    auto_class, override = resolved
    task = override or task_for_auto_class(auto_class, config)
    info: dict[str, str | None] = {
        "auto_model": auto_class,
        "pipeline_tag": task,
        "processor": processor_for(task, str(config.get("model_type", ""))),
    }
    return {k: v for k, v in info.items() if v is not None}
