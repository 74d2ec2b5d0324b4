"""Whether the hub serves a model's inference, and if not, why: one rule for the API's
refusals, the model page's widget, `model_info`'s `inference` field and `inference=warm`
listings (whose SQL form, in services/discovery.py, follows this function's steps).

A model is served when inference is on, its card does not say `inference: false`, its
pipeline tag is a task the hub runs, and either an external engine serves it or its weights are
safetensors (pickles only when the operator allows them) within the workers' memory budget.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hubstead.domain.inference.tasks import ALSO_SERVES, TASKS

# tasks an external (OpenAI-compatible) engine answers: chat and completions, embeddings
ENGINE_PIPELINES = frozenset({"text-generation", "feature-extraction", "sentence-similarity"})
LOCAL_PIPELINES = frozenset(TASKS | set(ALSO_SERVES))
DTYPE_BYTES = {
    "F64": 8, "I64": 8, "U64": 8, "F32": 4, "I32": 4, "U32": 4, "F16": 2, "BF16": 2,
    "I16": 2, "U16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I8": 1, "U8": 1, "BOOL": 1,
}  # fmt: skip


def weight_bytes(derived: Mapping[str, Any] | None) -> int | None:
    """The weights' size from the safetensors parameter counts per dtype (None: unknown)."""
    summary = (derived or {}).get("safetensors")
    counts = summary.get("parameters") if isinstance(summary, dict) else None
    if not isinstance(counts, dict) or not counts:
        return None
    return sum(int(n) * DTYPE_BYTES.get(str(dtype).upper(), 4) for dtype, n in counts.items())


def inference_off(card_data: Mapping[str, Any] | None) -> bool:
    return (card_data or {}).get("inference") is False


@dataclass(frozen=True)
class ServingRules:
    enabled: bool
    allow_pickle: bool
    memory_bytes: int
    engine_patterns: tuple[str, ...] = ()

    def routed(self, repo_id: str) -> bool:
        lowered = repo_id.lower()
        return any(fnmatch.fnmatchcase(lowered, p.lower()) for p in self.engine_patterns)

    def refusal(
        self,
        repo_id: str,
        pipeline_tag: str | None,
        tags: Iterable[str],
        card_data: Mapping[str, Any] | None,
        size: int | None,
    ) -> str | None:
        """None when the model is served; otherwise the reason, in words for its page."""
        if not self.enabled:
            return "Inference is turned off on this hub."
        if inference_off(card_data):
            return "The model card turns inference off (inference: false)."
        if self.routed(repo_id):
            if pipeline_tag not in ENGINE_PIPELINES:
                return (
                    f"An external engine serves this model, which answers "
                    f"{', '.join(sorted(ENGINE_PIPELINES))}; not {pipeline_tag or 'this model'}."
                )
            return None
        if not pipeline_tag:
            return "The model has no pipeline tag, so the hub does not know which task to run."
        if pipeline_tag not in LOCAL_PIPELINES:
            return f"The hub does not run {pipeline_tag} models."
        tag_set = set(tags)
        if "safetensors" not in tag_set:
            if "pytorch" in tag_set and not self.allow_pickle:
                return (
                    "The weights are pickle files only, which run code when loaded; this hub "
                    "loads safetensors only."
                )
            if "pytorch" not in tag_set:
                return "The repository has no weights the hub can load (safetensors)."
        if size is not None and size > self.memory_bytes:
            return (
                f"The model ({size / 2**20:,.0f} MiB of weights) is larger than this hub's "
                f"inference memory budget ({self.memory_bytes / 2**20:,.0f} MiB)."
            )
        return None
