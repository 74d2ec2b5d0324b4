"""The ordered ``tags`` list of a model revision, and the tags read from its files and card.

Tag order (payload-observed; hosted-service flags are not emitted, see below)::

    library, file formats, model_type, transformersInfo.pipeline_tag, card pipeline_tag /
    inferred pipeline_tag, card tags, pipeline:<task_specific_params>, conversational,
    custom_code, languages, dataset:*, arxiv:*, base_model:*, license:*, model-index,
    diffusers:<Pipeline>, region:<r>

de-duplicated with the first occurrence kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from posixpath import basename

from hubstead.domain.cards.vocabulary import BASE_MODEL_RELATIONS
from hubstead.domain.tags.snapshot import (
    JsonObject,
    RepoSnapshot,
    config_kind,
    str_list,
    transformers_config,
    unique,
)
from hubstead.domain.tags.transformers_info import TransformersInfo

# Why no ``endpoints_compatible`` / ``autotrain_compatible`` / ``text-generation-inference`` /
# ``deploy:*``: they advertise Hugging Face's hosted services, their rules are unpublished, and
# Hubstead offers none of those services, so claiming them would mislead clients that filter on
# them. ``region:us`` is kept because every real payload carries it (even for default-region
# repos) and clients parse it; it is configurable per call.
#
# Where this order departs from the research notes' inferred pattern: ``arxiv:*`` comes before
# ``base_model:*`` (real Qwen2.5-Instruct payloads), and ``conversational`` / ``custom_code``
# sit between the card tags and the languages (real Qwen2.5 and custom-code payloads).


# ---------------------------------------------------------------- files → format tags


def _is_root(path: str) -> bool:
    return "/" not in path


def _has_pytorch(path: str) -> bool:
    """Only root-level weights count: SD-2-1 has sub-folder .bin files but no ``pytorch`` tag."""
    name = basename(path)
    if not _is_root(path):
        return False
    return (name.startswith("pytorch_model") and name.endswith(".bin")) or name.endswith(
        (".pt", ".pth")
    )


def _has_coreml(path: str) -> bool:
    return path.startswith("coreml/") or path.endswith(".mlmodel") or ".mlpackage" in path


# Order observed on bert-base-uncased / gpt2 / paraphrase-albert; tensorboard, gguf and keras
# placements are not observed together with all others (best effort).
FILE_FORMAT_RULES: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("pytorch", _has_pytorch),
    ("tf", lambda p: _is_root(p) and basename(p).startswith("tf_model") and p.endswith(".h5")),
    (
        "jax",
        lambda p: _is_root(p) and basename(p).startswith("flax_model") and p.endswith(".msgpack"),
    ),
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
    return [tag for tag, matches in FILE_FORMAT_RULES if any(matches(f) for f in files)]


# ---------------------------------------------------------------- card-derived tags

_ARXIV_RE = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf)/|(?:huggingface\.co|hf\.co)/papers/)"
    r"(\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})",
    re.IGNORECASE,
)


def arxiv_ids(card_text: str) -> list[str]:
    """Paper ids linked from the card (arXiv abs/pdf or HF paper pages), versions dropped."""
    return unique(m.group(1) for m in _ARXIV_RE.finditer(card_text or ""))


def base_model_relation(snapshot: RepoSnapshot, base_models: list[str]) -> str:
    """Explicit relation, else inferred (the Hub "will infer" it; these signals are INF)."""
    explicit = (snapshot.card_metadata or {}).get("base_model_relation")
    if isinstance(explicit, str) and explicit in BASE_MODEL_RELATIONS:
        return explicit
    files = snapshot.files
    if "adapter_config.json" in files or config_kind(snapshot.config) == "peft":
        return "adapter"
    if any(f.endswith(".gguf") for f in files) or "quantization_config" in transformers_config(
        snapshot
    ):
        return "quantized"
    return "merge" if len(base_models) > 1 else "finetune"


def base_model_tags(snapshot: RepoSnapshot) -> list[str]:
    """``base_model:<id>`` for each base, then ``base_model:<relation>:<id>``."""
    bases = str_list((snapshot.card_metadata or {}).get("base_model"))
    if not bases:
        return []
    relation = base_model_relation(snapshot, bases)
    return [f"base_model:{b}" for b in bases] + [f"base_model:{relation}:{b}" for b in bases]


def _task_specific_tags(config: JsonObject) -> list[str]:
    """Legacy documented rule: each ``task_specific_params`` key becomes ``pipeline:<key>``."""
    params = config.get("task_specific_params")
    return [f"pipeline:{k}" for k in params] if isinstance(params, dict) else []


def _chat_template_present(snapshot: RepoSnapshot) -> bool:
    tok = snapshot.tokenizer_config or {}
    return (
        bool(tok.get("chat_template"))
        or "chat_template.jinja" in snapshot.files
        or "chat_template.json" in snapshot.files
    )


def _has_custom_code(config: JsonObject) -> bool:
    auto_map = config.get("auto_map")
    return isinstance(auto_map, dict) and bool(auto_map)


# ---------------------------------------------------------------- the whole list


def model_tags(
    snapshot: RepoSnapshot,
    library: str | None,
    pipeline: str | None,
    info: TransformersInfo | None,
    region: str | None,
) -> list[str]:
    """The model's tag list in the Hub's order (module docstring)."""
    card = snapshot.card_metadata or {}
    config = transformers_config(snapshot)
    card_tags = str_list(card.get("tags"))
    tags: list[str] = [library] if library else []
    tags += file_format_tags(snapshot.files)
    tags += str_list(config.get("model_type"))
    if info and info.get("pipeline_tag"):
        tags.append(info["pipeline_tag"])
    if pipeline and pipeline not in card_tags:
        tags.append(pipeline)
    tags += card_tags
    tags += _task_specific_tags(config)
    tags += ["conversational"] if _chat_template_present(snapshot) else []
    tags += ["custom_code"] if _has_custom_code(config) else []
    tags += str_list(card.get("language"))
    tags += [f"dataset:{d}" for d in str_list(card.get("datasets"))]
    tags += [f"arxiv:{a}" for a in arxiv_ids(snapshot.card_text)]
    tags += base_model_tags(snapshot)
    tags += [f"license:{lic}" for lic in str_list(card.get("license"))]
    tags += ["model-index"] if card.get("model-index") else []
    pipeline_config = snapshot.config
    if (
        pipeline_config is not None
        and config_kind(pipeline_config) == "diffusers"
        and pipeline_config.get("_class_name")
    ):
        tags.append(f"diffusers:{pipeline_config['_class_name']}")
    tags += [f"region:{region}"] if region else []
    return unique(tags)
