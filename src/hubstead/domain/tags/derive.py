"""Derive the Hub's computed model metadata from a repository snapshot.

The Hub server that computes ``tags``, ``pipeline_tag``, ``library_name``, ``transformersInfo``
and friends is closed source, so these rules are rebuilt from the public docs and from real API
payloads (see ``/work/shared/research/cards-tags-widgets.md`` §3–§5). Everything here is a pure
function over dicts and lists: the caller reads files, we only decide.

Tag order (payload-observed; hosted-service flags are not emitted, see below)::

    library, file formats, model_type, transformersInfo.pipeline_tag, card pipeline_tag /
    inferred pipeline_tag, card tags, pipeline:<task_specific_params>, conversational,
    custom_code, languages, dataset:*, arxiv:*, base_model:*, license:*, model-index,
    diffusers:<Pipeline>, region:<r>

de-duplicated with the first occurrence kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from posixpath import basename

from hubstead.domain.tags import pipelines as P
from hubstead.domain.tags.widgets import card_widget_examples, default_widget_inputs, widget_type

# Why no ``endpoints_compatible`` / ``autotrain_compatible`` / ``text-generation-inference`` /
# ``deploy:*``: they advertise Hugging Face's hosted services, their rules are unpublished, and
# Hubstead offers none of those services, so claiming them would mislead clients that filter on
# them. ``region:us`` is kept because every real payload carries it (even for default-region
# repos) and clients parse it; it is configurable per call.
#
# Where this order departs from the research notes' inferred pattern: ``arxiv:*`` comes before
# ``base_model:*`` (real Qwen2.5-Instruct payloads), and ``conversational`` / ``custom_code``
# sit between the card tags and the languages (real Qwen2.5 and custom-code payloads).


@dataclass(frozen=True)
class RepoSnapshot:
    """What the derivation needs to know about one model revision.

    ``config`` is the parsed ``config.json``. Repos without one may pass the file that plays its
    role instead: ``model_index.json`` for diffusers pipelines, ``adapter_config.json`` for PEFT
    adapters; both are recognised by their keys.
    """

    files: list[str]
    card_metadata: dict
    card_text: str
    config: dict | None
    tokenizer_config: dict | None = None
    model_index_required: bool = False


@dataclass(frozen=True)
class DerivedModelData:
    tags: list[str]
    library_name: str | None
    pipeline_tag: str | None
    transformers_info: dict | None
    config: dict | None
    mask_token: str | None
    widget_data: list[dict] = field(default_factory=list)
    eval_results: list[dict] = field(default_factory=list)


# ---------------------------------------------------------------- small helpers


def _str_list(value: object) -> list[str]:
    """Card fields may be a string or a list of strings; anything else is ignored."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v.strip()]
    return []


def _unique(items: Iterable[str]) -> list[str]:
    """De-duplicate keeping the first occurrence (the Hub's tag list never repeats)."""
    return list(dict.fromkeys(items))


def _config_kind(config: dict | None) -> str | None:
    """Which file ``config`` holds: transformers config, diffusers model_index or PEFT adapter."""
    if not isinstance(config, dict):
        return None
    if "_class_name" in config and any(k.startswith("_diffusers") for k in config):
        return "diffusers"
    if "peft_type" in config:
        return "peft"
    return "transformers"


def _transformers_config(snapshot: RepoSnapshot) -> dict:
    return snapshot.config if _config_kind(snapshot.config) == "transformers" else {}  # type: ignore[return-value]


# ---------------------------------------------------------------- files → format tags


def _is_root(path: str) -> bool:
    return "/" not in path


def _has_pytorch(path: str) -> bool:
    """Only root-level weights count: SD-2-1 has sub-folder .bin files but no ``pytorch`` tag."""
    name = basename(path)
    if not _is_root(path):
        return False
    return (name.startswith("pytorch_model") and name.endswith(".bin")) or name.endswith((".pt", ".pth"))


def _has_coreml(path: str) -> bool:
    return path.startswith("coreml/") or path.endswith(".mlmodel") or ".mlpackage" in path


# Order observed on bert-base-uncased / gpt2 / paraphrase-albert; tensorboard, gguf and keras
# placements are not observed together with all others (best effort).
FILE_FORMAT_RULES: tuple[tuple[str, object], ...] = (
    ("pytorch", _has_pytorch),
    ("tf", lambda p: _is_root(p) and basename(p).startswith("tf_model") and p.endswith(".h5")),
    ("jax", lambda p: _is_root(p) and basename(p).startswith("flax_model") and p.endswith(".msgpack")),
    ("tflite", lambda p: p.endswith(".tflite")),
    ("rust", lambda p: basename(p) == "rust_model.ot"),
    ("coreml", _has_coreml),
    ("tensorboard", lambda p: "tfevents" in basename(p)),
    ("onnx", lambda p: p.endswith(".onnx")),
    ("safetensors", lambda p: p.endswith(".safetensors")),
    ("openvino", lambda p: basename(p).startswith("openvino_model") and p.endswith(".xml")),
    ("gguf", lambda p: p.endswith(".gguf")),
    ("keras", lambda p: p.endswith(".keras")),
)


def file_format_tags(files: list[str]) -> list[str]:
    """Framework/format tags implied by the repo's files, in the Hub's order."""
    return [tag for tag, matches in FILE_FORMAT_RULES if any(matches(f) for f in files)]  # type: ignore[operator]


# ---------------------------------------------------------------- library

# Library keys a card tag can select (documented: "a supported library name used as a tag").
KNOWN_LIBRARIES: frozenset[str] = frozenset({
    "adapter-transformers", "allennlp", "asteroid", "bertopic", "diffusers", "espnet", "fairseq",
    "fastai", "fasttext", "flair", "keras", "keras-hub", "tf-keras", "ml-agents", "mlx", "nemo",
    "open_clip", "paddlenlp", "PaddleOCR", "peft", "pyannote-audio", "sample-factory",
    "sentence-transformers", "setfit", "sklearn", "spacy", "span-marker", "speechbrain",
    "stable-baselines3", "stanza", "timm", "transformers", "transformers.js", "univa",
    "unity-sentis", "gguf", "llama-cpp-python", "mlc-llm", "ultralytics", "model2vec", "gliner",
})

# File signals, most specific first (a setfit repo also has modules.json, a diffusers pipeline
# has sub-folder config.json files...).
_LIBRARY_FILE_RULES: tuple[tuple[str, object], ...] = (
    ("diffusers", lambda fs: "model_index.json" in fs),
    ("setfit", lambda fs: "config_setfit.json" in fs),
    ("sentence-transformers",
     lambda fs: "modules.json" in fs or "config_sentence_transformers.json" in fs),
    ("peft", lambda fs: "adapter_config.json" in fs and "config.json" not in fs),
    ("open_clip", lambda fs: "open_clip_config.json" in fs),
    ("sklearn", lambda fs: "sklearn_model.joblib" in fs),
    ("speechbrain", lambda fs: "hyperparams.yaml" in fs),
)


def resolve_library(snapshot: RepoSnapshot) -> str | None:
    """Card ``library_name``, then a library-named card tag, then file signals (docs §3.6)."""
    card = snapshot.card_metadata or {}
    explicit = card.get("library_name")
    if isinstance(explicit, str) and explicit.strip():
        return explicit.strip()
    for tag in _str_list(card.get("tags")):
        if tag in KNOWN_LIBRARIES:
            return tag
    return _library_from_files(snapshot)


def _library_from_files(snapshot: RepoSnapshot) -> str | None:
    files = set(snapshot.files)
    for library, matches in _LIBRARY_FILE_RULES:
        if matches(files):  # type: ignore[operator]
            return library
    config = _transformers_config(snapshot)
    if "config.json" in files and (config.get("architectures") or config.get("model_type")):
        return "transformers"
    return _library_from_extensions(snapshot.files)


def _library_from_extensions(files: list[str]) -> str | None:
    """Single-file formats that imply the loader (only when nothing richer matched)."""
    for suffix, library in ((".nemo", "nemo"), (".gguf", "gguf"), (".keras", "keras"),
                            (".sentis", "unity-sentis")):
        if any(f.endswith(suffix) for f in files):
            return library
    return None


# ---------------------------------------------------------------- transformersInfo

_AUDIO_MODEL_TYPES = frozenset({
    "wav2vec2", "wav2vec2-bert", "wav2vec2-conformer", "hubert", "wavlm", "data2vec-audio",
    "unispeech", "unispeech-sat", "sew", "sew-d", "whisper", "audio-spectrogram-transformer",
})
_NON_MODEL_AUTO_KEYS = frozenset({
    "AutoConfig", "AutoTokenizer", "AutoProcessor", "AutoImageProcessor", "AutoFeatureExtractor",
    "AutoVideoProcessor",
})


def _conditional_generation_auto_class(config: dict) -> tuple[str, str | None]:
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


def auto_class_for(architecture: str, config: dict) -> tuple[str, str | None] | None:
    """(Auto class, task override) for an architecture: the table first, then the suffixes."""
    if architecture in P.ARCHITECTURE_AUTO_CLASS:
        return P.ARCHITECTURE_AUTO_CLASS[architecture], P.ARCHITECTURE_TASK_OVERRIDES.get(architecture)
    if architecture.endswith("ForConditionalGeneration"):
        return _conditional_generation_auto_class(config)
    model_type = str(config.get("model_type", ""))
    if architecture.endswith("ForSequenceClassification") and model_type in _AUDIO_MODEL_TYPES:
        return "AutoModelForAudioClassification", None
    for suffix, auto_class in P.SUFFIX_AUTO_CLASS:
        if architecture.endswith(suffix):
            return auto_class, None
    return None


def task_for_auto_class(auto_class: str, config: dict) -> str | None:
    """Hub task of an Auto class, refined by model type where the class is ambiguous."""
    model_type = str(config.get("model_type", ""))
    if auto_class == "AutoModelForSeq2SeqLM" and model_type in P.SEQ2SEQ_TASK_BY_MODEL_TYPE:
        return P.SEQ2SEQ_TASK_BY_MODEL_TYPE[model_type]
    if auto_class == "AutoModel" and model_type in P.VISION_MODEL_TYPES:
        return "image-feature-extraction"
    return P.AUTO_CLASS_TASK.get(auto_class)


_TEXT_TASKS = frozenset({
    "text-classification", "token-classification", "table-question-answering",
    "question-answering", "zero-shot-classification", "translation", "summarization",
    "feature-extraction", "text-generation", "fill-mask", "sentence-similarity",
    "multiple-choice", "text-ranking",
})
_IMAGE_TASKS = frozenset({
    "image-classification", "object-detection", "image-segmentation", "depth-estimation",
    "image-feature-extraction", "image-to-image", "video-classification", "keypoint-detection",
})


def processor_for(task: str | None, model_type: str) -> str:
    """Pre-processing class the code snippet loads next to the model."""
    if task == "audio-classification" or (task == "feature-extraction" and model_type in _AUDIO_MODEL_TYPES):
        return "AutoFeatureExtractor"
    if task in _TEXT_TASKS:
        return "AutoTokenizer"
    if task in _IMAGE_TASKS:
        return "AutoImageProcessor"
    return "AutoProcessor"


def _custom_code_info(architecture: str, auto_map: dict) -> dict | None:
    """Custom-code models: the auto_map entry that points at ``architectures[0]`` (else the first)."""
    model_keys = [k for k, v in auto_map.items() if k not in _NON_MODEL_AUTO_KEYS and isinstance(v, str)]
    if not model_keys:
        return None
    matching = [k for k in model_keys if auto_map[k].rsplit(".", 1)[-1] == architecture]
    key = (matching or model_keys)[0]
    info = {"auto_model": key, "custom_class": auto_map[key],
            "pipeline_tag": P.AUTO_CLASS_TASK.get(key)}
    for processor in ("AutoProcessor", "AutoTokenizer"):
        if processor in auto_map:
            info["processor"] = processor
            break
    return {k: v for k, v in info.items() if v is not None}


def compute_transformers_info(config: dict) -> dict | None:
    """``transformersInfo``: Auto class, task and processor for ``architectures[0]``."""
    architectures = config.get("architectures")
    if not isinstance(architectures, list) or not architectures or not isinstance(architectures[0], str):
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


def _standard_info(architecture: str, config: dict) -> dict | None:
    resolved = auto_class_for(architecture, config)
    if resolved is None:
        return None
    auto_class, override = resolved
    task = override or task_for_auto_class(auto_class, config)
    info = {"auto_model": auto_class, "pipeline_tag": task,
            "processor": processor_for(task, str(config.get("model_type", "")))}
    return {k: v for k, v in info.items() if v is not None}


# ---------------------------------------------------------------- pipeline_tag

def _diffusers_task(class_name: str) -> str | None:
    """Task of a diffusers pipeline class, from the naming conventions of diffusers."""
    name = class_name.lower()
    if "img2img" in name or "imagetoimage" in name or "inpaint" in name or "instructpix2pix" in name:
        return "image-to-image"
    if "img2vid" in name or "imagetovideo" in name or "stablevideodiffusion" in name or "i2v" in name:
        return "image-to-video"
    if "video" in name or "animatediff" in name or "text2vid" in name:
        return "text-to-video"
    if "audio" in name or "music" in name:
        return "text-to-audio"
    if name in {"ddpmpipeline", "ddimpipeline", "pndmpipeline", "ldmsuperresolutionpipeline",
                "scoresdevepipeline", "karrasvepipeline", "dancediffusionpipeline"}:
        return "unconditional-image-generation"
    return "text-to-image" if name.endswith("pipeline") else None


def infer_pipeline_tag(snapshot: RepoSnapshot, library_name: str | None) -> str | None:
    """Card value, else the config's architecture (transformers), else library defaults, else tags."""
    card = snapshot.card_metadata or {}
    if P.is_pipeline_type(card.get("pipeline_tag")):
        return card["pipeline_tag"]
    inferred = _library_pipeline(snapshot, library_name)
    return inferred or P.first_pipeline_in(_str_list(card.get("tags")))


def _library_pipeline(snapshot: RepoSnapshot, library_name: str | None) -> str | None:
    if library_name == "transformers":
        info = compute_transformers_info(_transformers_config(snapshot))
        return info.get("pipeline_tag") if info else None
    if library_name == "sentence-transformers":
        return "sentence-similarity"
    if library_name == "diffusers" and _config_kind(snapshot.config) == "diffusers":
        return _diffusers_task(str(snapshot.config.get("_class_name", "")))  # type: ignore[union-attr]
    return None


# ---------------------------------------------------------------- card-derived tags

_ARXIV_RE = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf)/|(?:huggingface\.co|hf\.co)/papers/)"
    r"(\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})",
    re.IGNORECASE,
)


def arxiv_ids(card_text: str) -> list[str]:
    """Paper ids linked from the card (arXiv abs/pdf or HF paper pages), versions dropped."""
    return _unique(m.group(1) for m in _ARXIV_RE.finditer(card_text or ""))


def base_model_relation(snapshot: RepoSnapshot, base_models: list[str]) -> str:
    """Explicit relation, else inferred (the Hub "will infer" it; these signals are INF)."""
    explicit = (snapshot.card_metadata or {}).get("base_model_relation")
    if explicit in ("adapter", "merge", "quantized", "finetune"):
        return explicit
    files = snapshot.files
    if "adapter_config.json" in files or _config_kind(snapshot.config) == "peft":
        return "adapter"
    if any(f.endswith(".gguf") for f in files) or "quantization_config" in _transformers_config(snapshot):
        return "quantized"
    return "merge" if len(base_models) > 1 else "finetune"


def base_model_tags(snapshot: RepoSnapshot) -> list[str]:
    """``base_model:<id>`` for each base, then ``base_model:<relation>:<id>``."""
    bases = _str_list((snapshot.card_metadata or {}).get("base_model"))
    if not bases:
        return []
    relation = base_model_relation(snapshot, bases)
    return [f"base_model:{b}" for b in bases] + [f"base_model:{relation}:{b}" for b in bases]


def _task_specific_tags(config: dict) -> list[str]:
    """Legacy documented rule: each ``task_specific_params`` key becomes ``pipeline:<key>``."""
    params = config.get("task_specific_params")
    return [f"pipeline:{k}" for k in params] if isinstance(params, dict) else []


def _chat_template_present(snapshot: RepoSnapshot) -> bool:
    tok = snapshot.tokenizer_config or {}
    return bool(tok.get("chat_template")) or "chat_template.jinja" in snapshot.files \
        or "chat_template.json" in snapshot.files


def _has_custom_code(config: dict) -> bool:
    auto_map = config.get("auto_map")
    return isinstance(auto_map, dict) and bool(auto_map)


# ---------------------------------------------------------------- config projection, mask token

_SPECIAL_TOKENS = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")
_TOKENIZER_KEYS = (*_SPECIAL_TOKENS, "chat_template", "use_default_system_prompt")
_QUANT_KEYS = ("bits", "load_in_4bit", "load_in_8bit", "quant_method")


def project_config(snapshot: RepoSnapshot) -> dict | None:
    """The ``config`` subset the API returns (ModelData.config in huggingface.js)."""
    kind = _config_kind(snapshot.config)
    config = snapshot.config or {}
    out: dict = {}
    if kind == "transformers":
        for key in ("architectures", "auto_map", "model_type"):
            if key in config:
                out[key] = config[key]
        quant = config.get("quantization_config")
        if isinstance(quant, dict):
            out["quantization_config"] = {k: quant[k] for k in _QUANT_KEYS if k in quant}
    elif kind == "diffusers":
        out["diffusers"] = {"_class_name": config.get("_class_name")}
    elif kind == "peft":
        out["peft"] = {k: config[k] for k in ("base_model_name_or_path", "task_type") if k in config}
    tok = {k: v for k, v in (snapshot.tokenizer_config or {}).items() if k in _TOKENIZER_KEYS}
    if tok:
        out["tokenizer_config"] = tok
    return out or None


# Mask tokens by model type for tokenizers that do not write it into tokenizer_config.json
# (bert-base-uncased's only holds do_lower_case, yet the Hub reports "[MASK]").
MASK_TOKEN_BY_MODEL_TYPE: dict[str, str] = {
    **dict.fromkeys(("bert", "distilbert", "electra", "mobilebert", "albert", "deberta",
                     "deberta-v2", "big_bird", "layoutlm", "ernie", "convbert", "roformer",
                     "squeezebert", "modernbert", "tapas", "funnel", "megatron-bert"), "[MASK]"),
    **dict.fromkeys(("roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "bart", "mbart",
                     "longformer", "mpnet", "data2vec-text", "luke", "ibert", "esm"), "<mask>"),
    **dict.fromkeys(("xlm", "flaubert"), "<special1>"),
}


def _token_text(value: object) -> str | None:
    """Special tokens are either strings or serialized AddedToken objects."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return value["content"]
    return None


def resolve_mask_token(snapshot: RepoSnapshot) -> str | None:
    """Card override, then the tokenizer's own token, then the model type's usual token."""
    card_value = (snapshot.card_metadata or {}).get("mask_token")
    if isinstance(card_value, str) and card_value:
        return card_value
    from_tokenizer = _token_text((snapshot.tokenizer_config or {}).get("mask_token"))
    if from_tokenizer:
        return from_tokenizer
    return MASK_TOKEN_BY_MODEL_TYPE.get(str(_transformers_config(snapshot).get("model_type", "")))


# ---------------------------------------------------------------- eval results

def eval_results(model_index: object) -> list[dict]:
    """Flatten ``model-index`` to one row per metric, like huggingface_hub's EvalResult.

    Malformed entries are skipped rather than raised: the push-time validator is where bad
    metadata is rejected; a read path should still show the valid part.
    """
    rows: list[dict] = []
    for model in model_index if isinstance(model_index, list) else []:
        if not isinstance(model, dict):
            continue
        for result in model.get("results") or []:
            if isinstance(result, dict):
                rows.extend(_result_rows(str(model.get("name", "")), result))
    return rows


def _result_rows(model_name: str, result: dict) -> list[dict]:
    task = result.get("task") if isinstance(result.get("task"), dict) else {}
    dataset = result.get("dataset") if isinstance(result.get("dataset"), dict) else {}
    source = result.get("source") if isinstance(result.get("source"), dict) else {}
    base = {
        "model_name": model_name,
        "task_type": task.get("type"), "task_name": task.get("name"),
        "dataset_type": dataset.get("type"), "dataset_name": dataset.get("name"),
        "dataset_config": dataset.get("config"), "dataset_split": dataset.get("split"),
        "dataset_revision": dataset.get("revision"), "dataset_args": dataset.get("args"),
        "source_name": source.get("name"), "source_url": source.get("url"),
    }
    rows = []
    for metric in result.get("metrics") or []:
        if not isinstance(metric, dict) or "type" not in metric or "value" not in metric:
            continue
        rows.append({**base,
                     "metric_type": metric["type"], "metric_value": metric["value"],
                     "metric_name": metric.get("name"), "metric_config": metric.get("config"),
                     "metric_args": metric.get("args"), "verify_token": metric.get("verifyToken"),
                     "verified": bool(metric.get("verified", False))})
    return rows


# ---------------------------------------------------------------- safetensors

def summarize_safetensors(headers: list[dict]) -> dict:
    """Parameter count per dtype over all shards (the ``safetensors`` field of the API).

    Each header is the parsed JSON header of one file: tensor name → {dtype, shape,
    data_offsets}, plus an optional ``__metadata__`` entry that is not a tensor.
    """
    per_dtype: dict[str, int] = {}
    for header in headers:
        for name, tensor in header.items():
            if name == "__metadata__" or not isinstance(tensor, dict):
                continue
            count = 1
            for dim in tensor.get("shape", []):
                count *= int(dim)
            dtype = str(tensor.get("dtype"))
            per_dtype[dtype] = per_dtype.get(dtype, 0) + count
    return {"parameters": per_dtype, "total": sum(per_dtype.values())}


# ---------------------------------------------------------------- dataset repos

_TEXT_EXT = (".txt",)
_IMAGE_EXT = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tiff")
_AUDIO_EXT = (".wav", ".mp3", ".flac", ".ogg", ".m4a", ".opus")
_VIDEO_EXT = (".mp4", ".avi", ".mov", ".mkv", ".webm")
_FORMAT_BY_EXT: tuple[tuple[tuple[str, ...], str], ...] = (
    ((".parquet",), "parquet"), ((".csv", ".tsv"), "csv"), ((".json", ".jsonl", ".json.gz", ".jsonl.gz"), "json"),
    ((".arrow",), "arrow"), (_TEXT_EXT, "text"), ((".tar",), "webdataset"),
    (_IMAGE_EXT, "imagefolder"), (_AUDIO_EXT, "audiofolder"), (_VIDEO_EXT, "videofolder"),
)
_DATASET_KEYS = ("task_categories", "task_ids", "annotations_creators", "language_creators",
                 "multilinguality", "source_datasets", "language", "license", "size_categories")
_MODALITY_BY_MODEL_MODALITY = {"nlp": "text", "cv": "image", "audio": "audio", "tabular": "tabular"}
_CV_TASKS = _IMAGE_TASKS | {"text-to-image", "image-to-text", "unconditional-image-generation",
                            "zero-shot-image-classification", "mask-generation"}
_AUDIO_TASKS = frozenset({"automatic-speech-recognition", "audio-classification", "text-to-speech",
                          "text-to-audio", "audio-to-audio", "voice-activity-detection"})


def _data_files(files: list[str]) -> list[str]:
    """Files that hold data (the card, repo metadata and hidden files are not data)."""
    return [f for f in files if not basename(f).startswith(".") and basename(f) != "README.md"]


def _dataset_formats(files: list[str]) -> list[str]:
    data = _data_files(files)
    return [fmt for exts, fmt in _FORMAT_BY_EXT if any(f.lower().endswith(exts) for f in data)]


def _dataset_modalities(tasks: list[str], files: list[str]) -> list[str]:
    found: list[str] = []
    lowered = [f.lower() for f in _data_files(files)]
    if any(t in _AUDIO_TASKS for t in tasks) or any(f.endswith(_AUDIO_EXT) for f in lowered):
        found.append("audio")
    if any(t in _CV_TASKS for t in tasks) or any(f.endswith(_IMAGE_EXT) for f in lowered):
        found.append("image")
    if any(t.startswith("tabular") or t == "time-series-forecasting" for t in tasks):
        found.append("tabular")
    if any(t in _TEXT_TASKS or t.startswith("text") for t in tasks):
        found.append("text")
    if any(f.endswith(_VIDEO_EXT) for f in lowered):
        found.append("video")
    return sorted(set(found))


def _dataset_libraries(formats: list[str]) -> list[str]:
    if not formats:
        return []
    libs = ["datasets"]
    if {"parquet", "csv", "json"} & set(formats):
        libs += ["pandas", "mlcroissant", "polars"]
    elif "webdataset" in formats:
        libs += ["webdataset", "mlcroissant"]
    else:
        libs.append("mlcroissant")
    return libs


def dataset_tags(card_metadata: dict, files: list[str], region: str | None = "us") -> list[str]:
    """Tags of a dataset repo (best effort: the Hub's dataset rules are unpublished).

    Order follows real dataset payloads: the keyed card fields in a fixed order (not card
    order), then the file-derived ``format:`` / ``modality:`` / ``library:`` tags, then the
    region, then free-form card ``tags``.
    """
    card = card_metadata or {}
    tags = [f"{key}:{value}" for key in _DATASET_KEYS for value in _str_list(card.get(key))]
    formats = _dataset_formats(files)
    tasks = _str_list(card.get("task_categories"))
    tags += [f"format:{f}" for f in formats]
    tags += [f"modality:{m}" for m in _dataset_modalities(tasks, files)]
    tags += [f"library:{lib}" for lib in _dataset_libraries(formats)]
    if region:
        tags.append(f"region:{region}")
    tags += _str_list(card.get("tags"))
    return _unique(tags)


# ---------------------------------------------------------------- assembly


def _tag_list(snapshot: RepoSnapshot, library: str | None, pipeline: str | None,
              info: dict | None, region: str | None) -> list[str]:
    card = snapshot.card_metadata or {}
    config = _transformers_config(snapshot)
    card_tags = _str_list(card.get("tags"))
    tags: list[str] = [library] if library else []
    tags += file_format_tags(snapshot.files)
    tags += _str_list(config.get("model_type"))
    if info and info.get("pipeline_tag"):
        tags.append(info["pipeline_tag"])
    if pipeline and pipeline not in card_tags:
        tags.append(pipeline)
    tags += card_tags
    tags += _task_specific_tags(config)
    tags += ["conversational"] if _chat_template_present(snapshot) else []
    tags += ["custom_code"] if _has_custom_code(config) else []
    tags += _str_list(card.get("language"))
    tags += [f"dataset:{d}" for d in _str_list(card.get("datasets"))]
    tags += [f"arxiv:{a}" for a in arxiv_ids(snapshot.card_text)]
    tags += base_model_tags(snapshot)
    tags += [f"license:{lic}" for lic in _str_list(card.get("license"))]
    tags += ["model-index"] if card.get("model-index") else []
    if _config_kind(snapshot.config) == "diffusers" and snapshot.config.get("_class_name"):  # type: ignore[union-attr]
        tags.append(f"diffusers:{snapshot.config['_class_name']}")  # type: ignore[index]
    tags += [f"region:{region}"] if region else []
    return _unique(tags)


def derive_model_data(snapshot: RepoSnapshot, region: str | None = "us") -> DerivedModelData:
    """All Hub-computed fields of a model revision, in one pass."""
    library = resolve_library(snapshot)
    pipeline = infer_pipeline_tag(snapshot, library)
    info = compute_transformers_info(_transformers_config(snapshot))
    tags = _tag_list(snapshot, library, pipeline, info, region)
    mask_token = resolve_mask_token(snapshot)
    card = snapshot.card_metadata or {}
    widgets = card_widget_examples(card.get("widget")) or default_widget_inputs(
        widget_type(pipeline, tags), _str_list(card.get("language")), mask_token)
    return DerivedModelData(
        tags=tags, library_name=library, pipeline_tag=pipeline, transformers_info=info,
        config=project_config(snapshot), mask_token=mask_token, widget_data=widgets,
        eval_results=eval_results(card.get("model-index")),
    )
