"""The ``config`` projection the API serves, and the model's mask token."""

from __future__ import annotations

from hubstead.domain.tags.snapshot import JsonObject, RepoSnapshot, config_kind, transformers_config

_SPECIAL_TOKENS = (
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
)
_TOKENIZER_KEYS = (*_SPECIAL_TOKENS, "chat_template", "use_default_system_prompt")
_QUANT_KEYS = ("bits", "load_in_4bit", "load_in_8bit", "quant_method")


def project_config(snapshot: RepoSnapshot) -> JsonObject | None:
    """The ``config`` subset the API returns (ModelData.config in huggingface.js)."""
    kind = config_kind(snapshot.config)
    config = snapshot.config or {}
    out: JsonObject = {}
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
        out["peft"] = {
            k: config[k] for k in ("base_model_name_or_path", "task_type") if k in config
        }
    tok = {k: v for k, v in (snapshot.tokenizer_config or {}).items() if k in _TOKENIZER_KEYS}
    if tok:
        out["tokenizer_config"] = tok
    return out or None


# Mask tokens by model type for tokenizers that do not write it into tokenizer_config.json
# (bert-base-uncased's only holds do_lower_case, yet the Hub reports "[MASK]").
MASK_TOKEN_BY_MODEL_TYPE: dict[str, str] = {
    **dict.fromkeys(
        (
            "bert",
            "distilbert",
            "electra",
            "mobilebert",
            "albert",
            "deberta",
            "deberta-v2",
            "big_bird",
            "layoutlm",
            "ernie",
            "convbert",
            "roformer",
            "squeezebert",
            "modernbert",
            "tapas",
            "funnel",
            "megatron-bert",
        ),
        "[MASK]",
    ),
    **dict.fromkeys(
        (
            "roberta",
            "xlm-roberta",
            "xlm-roberta-xl",
            "camembert",
            "bart",
            "mbart",
            "longformer",
            "mpnet",
            "data2vec-text",
            "luke",
            "ibert",
            "esm",
        ),
        "<mask>",
    ),
    **dict.fromkeys(("xlm", "flaubert"), "<special1>"),
}


def _token_text(value: object) -> str | None:
    """Special tokens are either strings or serialized AddedToken objects."""
    if isinstance(value, str):
        return value
    content = value.get("content") if isinstance(value, dict) else None
    return content if isinstance(content, str) else None


def resolve_mask_token(snapshot: RepoSnapshot) -> str | None:
    """Card override, then the tokenizer's own token, then the model type's usual token."""
    card_value = (snapshot.card_metadata or {}).get("mask_token")
    if isinstance(card_value, str) and card_value:
        return card_value
    from_tokenizer = _token_text((snapshot.tokenizer_config or {}).get("mask_token"))
    if from_tokenizer:
        return from_tokenizer
    return MASK_TOKEN_BY_MODEL_TYPE.get(str(transformers_config(snapshot).get("model_type", "")))
