"""Which local applications can run a model: the Hub's `apps=` list filter.

The Hub decides this per model from its tags, pipeline, library and config (the "Use this
model" menu); a listing filtered by `apps=llama.cpp,ollama` returns the models for which any of
the named apps qualifies. The rules below follow the apps' documented requirements as the Hub
applies them. One approximation: the Hub reads the GGUF header (context length) to call a
model llama.cpp-ready; Hubstead does not parse GGUF headers and takes "has a .gguf file" (the
`gguf` tag) instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TEXT_GENERATION_TASKS = frozenset({"text-generation", "image-text-to-text"})
QUANTIZED_FOR_SERVERS = frozenset({"awq", "gptq", "aqlm", "marlin"})


@dataclass(frozen=True)
class AppModel:
    """The facts about a model that the rules read."""

    tags: frozenset[str]
    pipeline_tag: str | None = None
    library_name: str | None = None
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def quant_method(self) -> str | None:
        quant = self.config.get("quantization_config")
        return quant.get("quant_method") if isinstance(quant, dict) else None

    @property
    def chat_template(self) -> str:
        template = (self.config.get("tokenizer_config") or {}).get("chat_template")
        if isinstance(template, list):  # named templates: [{"name": …, "template": …}]
            return " ".join(str(t.get("template", "")) for t in template if isinstance(t, dict))
        return template if isinstance(template, str) else ""


def _gguf(m: AppModel) -> bool:
    return "gguf" in m.tags


def _mlx(m: AppModel) -> bool:
    return "mlx" in m.tags


def _server_llm(m: AppModel, with_gguf: bool) -> bool:
    """vLLM/SGLang: a transformers (or server-quantized) text generator."""
    loadable = (
        "transformers" in m.tags
        or m.quant_method in QUANTIZED_FOR_SERVERS
        or (with_gguf and _gguf(m))
    )
    return loadable and m.pipeline_tag in TEXT_GENERATION_TASKS


def _diffusers_image(m: AppModel, lora_too: bool) -> bool:
    if m.library_name != "diffusers":
        return False
    return m.pipeline_tag == "text-to-image" or (lora_too and "lora" in m.tags)


def _tool_calling_agent(m: AppModel) -> bool:
    return (_gguf(m) or _mlx(m)) and "conversational" in m.tags and "tools" in m.chat_template


LOCAL_APPS: dict[str, Callable[[AppModel], bool]] = {
    "llama.cpp": _gguf,
    "node-llama-cpp": _gguf,
    "vllm": lambda m: _server_llm(m, with_gguf=True),
    "sglang": lambda m: _server_llm(m, with_gguf=False),
    "mlx-lm": lambda m: _mlx(m) and m.pipeline_tag == "text-generation",
    "tgi": lambda m: "text-generation-inference" in m.tags,
    "lmstudio": lambda m: _gguf(m) or _mlx(m),
    "localai": _gguf,
    "jan": _gguf,
    "atomic-chat": lambda m: _gguf(m) or _mlx(m),
    "backyard": _gguf,
    "sanctum": _gguf,
    "jellybox": lambda m: (
        _gguf(m) or ("safetensors" in m.tags and _diffusers_image(m, lora_too=True))
    ),
    "msty": _gguf,
    "recursechat": _gguf,
    "drawthings": lambda m: _diffusers_image(m, lora_too=True),
    "diffusionbee": lambda m: _diffusers_image(m, lora_too=False),
    "invoke": lambda m: _diffusers_image(m, lora_too=False),
    "joyfusion": lambda m: {"coreml", "joyfusion"} <= m.tags and m.pipeline_tag == "text-to-image",
    "ollama": _gguf,
    "unsloth": lambda m: "unsloth" in m.tags or _gguf(m),
    "docker-model-runner": lambda m: _gguf(m) or _server_llm(m, with_gguf=True),
    "lemonade": lambda m: _gguf(m) or bool({"ryzenai-hybrid", "ryzenai-npu"} & m.tags),
    "pi": _tool_calling_agent,
    "hermes-agent": _tool_calling_agent,
    "openclaw": _tool_calling_agent,
}


def compatible_apps(
    tags: list[str],
    pipeline_tag: str | None,
    library_name: str | None,
    config: dict[str, Any] | None,
) -> list[str]:
    """The local apps that can run this model, in the order of LOCAL_APPS."""
    model = AppModel(frozenset(str(t) for t in tags), pipeline_tag, library_name, config or {})
    return [name for name, runs in LOCAL_APPS.items() if runs(model)]
