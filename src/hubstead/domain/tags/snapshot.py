"""What tag derivation reads about one model revision, and the helpers every part shares."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeAlias

# A parsed JSON object (config.json, tokenizer_config.json) or card mapping.
JsonObject: TypeAlias = dict[str, Any]


@dataclass(frozen=True)
class RepoSnapshot:
    """What the derivation needs to know about one model revision.

    ``config`` is the parsed ``config.json``. Repos without one may pass the file that plays its
    role instead: ``model_index.json`` for diffusers pipelines, ``adapter_config.json`` for PEFT
    adapters; both are recognised by their keys.
    """

    files: list[str]
    card_metadata: JsonObject
    card_text: str
    config: JsonObject | None
    tokenizer_config: JsonObject | None = None
    model_index_required: bool = False


def str_list(value: object) -> list[str]:
    """Card fields may be a string or a list of strings; anything else is ignored."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v.strip()]
    return []


def unique(items: Iterable[str]) -> list[str]:
    """De-duplicate keeping the first occurrence (the Hub's tag list never repeats)."""
    return list(dict.fromkeys(items))


def config_kind(config: JsonObject | None) -> str | None:
    """Which file ``config`` holds: transformers config, diffusers model_index or PEFT adapter."""
    if not isinstance(config, dict):
        return None
    if "_class_name" in config and any(k.startswith("_diffusers") for k in config):
        return "diffusers"
    if "peft_type" in config:
        return "peft"
    return "transformers"


def transformers_config(snapshot: RepoSnapshot) -> JsonObject:
    """``config`` when it is a transformers ``config.json``, else an empty mapping."""
    config = snapshot.config
    return config if config is not None and config_kind(config) == "transformers" else {}
