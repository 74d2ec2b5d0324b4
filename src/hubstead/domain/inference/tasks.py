"""Tasks of the inference API: the request each accepts and the answer each gives.

The contract is the official client (huggingface_hub's InferenceClient, the hf-inference
provider) more than the task specs where the two disagree: text-classification answers a list
of lists, summarization and translation a one-element list, zero-shot a list of
{label, score} (the transformers pipeline's {sequence, labels, scores} is reshaped).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

from hubstead.domain.errors import BadRequest

TEXT_TASKS = (
    "text-classification",
    "token-classification",
    "fill-mask",
    "question-answering",
    "zero-shot-classification",
    "summarization",
    "translation",
    "text-generation",
    "feature-extraction",
    "sentence-similarity",
)
MEDIA_TASKS = ("image-classification", "automatic-speech-recognition")
TASKS = frozenset(TEXT_TASKS + MEDIA_TASKS)
# pipeline tags that serve another task's requests as well
ALSO_SERVES = {
    "sentence-similarity": ("feature-extraction",),
    "feature-extraction": ("sentence-similarity",),
    "text2text-generation": ("text-generation", "summarization", "translation"),
}
# tasks whose requests for the same model and parameters may run as one batch
BATCHABLE = frozenset(
    {"text-classification", "token-classification", "fill-mask", "feature-extraction"}
)
# the parameters each task passes on to the model (anything else is accepted and ignored, as
# the Hub does: clients send the whole TGI parameter set to any text-generation model)
PARAMETERS: dict[str, frozenset[str]] = {
    "text-classification": frozenset({"top_k", "function_to_apply"}),
    "token-classification": frozenset({"aggregation_strategy", "ignore_labels", "stride"}),
    "fill-mask": frozenset({"top_k", "targets"}),
    "question-answering": frozenset(
        {
            "top_k",
            "doc_stride",
            "max_answer_len",
            "max_seq_len",
            "max_question_len",
            "handle_impossible_answer",
            "align_to_words",
        }
    ),
    "zero-shot-classification": frozenset(
        {"candidate_labels", "multi_label", "hypothesis_template"}
    ),
    "summarization": frozenset(
        {"clean_up_tokenization_spaces", "truncation", "generate_parameters"}
    ),
    "translation": frozenset(
        {
            "src_lang",
            "tgt_lang",
            "clean_up_tokenization_spaces",
            "truncation",
            "generate_parameters",
        }
    ),
    "text-generation": frozenset(
        {
            "max_new_tokens",
            "do_sample",
            "temperature",
            "top_k",
            "top_p",
            "repetition_penalty",
            "return_full_text",
            "seed",
            "stop",
            "details",
            "typical_p",
        }
    ),
    "feature-extraction": frozenset({"normalize", "truncate", "prompt_name", "dimensions"}),
    "sentence-similarity": frozenset(),
    "image-classification": frozenset({"top_k", "function_to_apply"}),
    "automatic-speech-recognition": frozenset({"return_timestamps"}),
}
MAX_NEW_TOKENS = 1024
DEFAULT_NEW_TOKENS = 64


@dataclass
class InferenceRequest:
    """One validated request: the task, its inputs (text, a structure, or media bytes) and the
    parameters the model takes."""

    task: str
    inputs: Any
    parameters: dict[str, Any] = field(default_factory=dict)
    stream: bool = False

    @property
    def batch_key(self) -> tuple[str, tuple[tuple[str, str], ...]] | None:
        """Requests with the same key may be answered by one batched call (None: never)."""
        if self.task not in BATCHABLE or not isinstance(self.inputs, str):
            return None
        return (self.task, tuple(sorted((k, repr(v)) for k, v in self.parameters.items())))


def resolve_task(pipeline_tag: str | None, tags: list[str], forced: str | None, inputs: Any) -> str:
    """The task a request runs: the one named by the route (`/pipeline/{task}`), else the model's
    pipeline tag; an embedding model answers a {source_sentence, sentences} input as
    sentence-similarity and any other as feature-extraction, as the Hub does."""
    if forced:
        task = forced
        served = {pipeline_tag, *ALSO_SERVES.get(pipeline_tag or "", ()), *tags}
        if task not in TASKS:
            raise BadRequest(f"Task {task!r} is not served by this hub's inference API")
        if task not in served:
            raise BadRequest(
                f"This model does not serve {task!r} (its pipeline is {pipeline_tag!r})"
            )
        return task
    if not pipeline_tag:
        raise BadRequest("This model has no pipeline_tag: the inference API cannot tell its task")
    if pipeline_tag in ("feature-extraction", "sentence-similarity"):
        is_pairs = isinstance(inputs, dict) and "source_sentence" in inputs
        return "sentence-similarity" if is_pairs else "feature-extraction"
    if pipeline_tag not in TASKS:
        raise BadRequest(f"Task {pipeline_tag!r} is not served by this hub's inference API")
    return pipeline_tag


def _text(value: Any, what: str, limit: int) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{what} must be a string")
    if len(value) > limit:
        raise BadRequest(f"{what} is too long ({len(value)} characters; the limit is {limit})")
    return value


def _texts(value: Any, what: str, limit: int) -> str | list[str]:
    if isinstance(value, list):
        if not value or len(value) > 256:
            raise BadRequest(f"{what} must hold 1 to 256 strings")
        return [_text(item, f"{what}[{i}]", limit) for i, item in enumerate(value)]
    return _text(value, what, limit)


def _number(params: dict[str, Any], name: str, low: float, high: float, integer: bool) -> None:
    if name not in params or params[name] is None:
        params.pop(name, None)
        return
    value = params[name]
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
        raise BadRequest(
            f'"{name}" must be a{"n integer" if integer else " number"} from {low} to {high}'
        )


def parse_json_request(
    task: str, body: Any, max_chars: int, media: bytes | None = None
) -> InferenceRequest:
    """Validate a JSON request (`{"inputs": …, "parameters": {…}}`; feature-extraction takes its
    parameters at the root, text-generation its `stream` flag) into an InferenceRequest."""
    if not isinstance(body, dict):
        raise BadRequest('The request body must be a JSON object with "inputs"')
    if "inputs" not in body:
        raise BadRequest('The request body has no "inputs"')
    raw_params = body.get("parameters") or {}
    if not isinstance(raw_params, dict):
        raise BadRequest('"parameters" must be an object')
    if task == "feature-extraction":
        raw_params = {
            **{k: v for k, v in body.items() if k not in ("inputs", "parameters")},
            **raw_params,
        }
    params = {k: v for k, v in raw_params.items() if k in PARAMETERS[task] and v is not None}
    inputs = body["inputs"]
    stream = body.get("stream") is True
    if task in MEDIA_TASKS:
        if media is None:
            inputs = _media_from_json(inputs)
        else:
            inputs = media
    elif task == "question-answering":
        if not isinstance(inputs, dict):
            raise BadRequest('"inputs" must be an object with "question" and "context"')
        inputs = {
            "question": _text(inputs.get("question"), "inputs.question", max_chars),
            "context": _text(inputs.get("context"), "inputs.context", max_chars),
        }
    elif task == "sentence-similarity":
        if not isinstance(inputs, dict):
            raise BadRequest('"inputs" must be an object with "source_sentence" and "sentences"')
        sentences = inputs.get("sentences")
        if not isinstance(sentences, list) or not sentences:
            raise BadRequest('"inputs.sentences" must be a non-empty list of strings')
        inputs = {
            "source_sentence": _text(
                inputs.get("source_sentence"), "inputs.source_sentence", max_chars
            ),
            "sentences": _texts(sentences, "inputs.sentences", max_chars),
        }
    elif task == "feature-extraction":
        inputs = _texts(inputs, '"inputs"', max_chars)
    else:
        inputs = _text(inputs, '"inputs"', max_chars)
    _check_parameters(task, params)
    return InferenceRequest(task, inputs, params, stream and task == "text-generation")


def _media_from_json(inputs: Any) -> bytes:
    if not isinstance(inputs, str):
        raise BadRequest('"inputs" must be the base64 of an image or audio file')
    try:
        return base64.b64decode(inputs, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest('"inputs" is not valid base64') from None


def _check_parameters(task: str, params: dict[str, Any]) -> None:
    _number(params, "top_k", 1, 100, integer=True)
    _number(params, "temperature", 0, 100, integer=False)
    _number(params, "top_p", 0, 1, integer=False)
    _number(params, "repetition_penalty", 0, 100, integer=False)
    _number(params, "seed", 0, 2**32 - 1, integer=True)
    _number(params, "dimensions", 1, 65536, integer=True)
    if task == "text-generation":
        _number(params, "max_new_tokens", 1, MAX_NEW_TOKENS, integer=True)
        params.setdefault("max_new_tokens", DEFAULT_NEW_TOKENS)
        stop = params.get("stop")
        if stop is not None and not (
            isinstance(stop, list) and all(isinstance(s, str) for s in stop)
        ):
            raise BadRequest('"stop" must be a list of strings')
    if task == "zero-shot-classification":
        labels = params.get("candidate_labels")
        if isinstance(labels, str):
            labels = [part.strip() for part in labels.split(",") if part.strip()]
        if (
            not isinstance(labels, list)
            or not labels
            or not all(isinstance(x, str) for x in labels)
        ):
            raise BadRequest('"parameters.candidate_labels" must be a non-empty list of strings')
        params["candidate_labels"] = labels[:64]
    if task == "fill-mask" and "targets" in params:
        targets = params["targets"]
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise BadRequest('"targets" must be a list of strings')


# -- answers -----------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """JSON-ready values: numpy scalars and arrays as Python numbers and lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return value


def shape_answer(request: InferenceRequest, output: Any) -> Any:
    """The task's answer in the shape the clients parse, from the pipeline's output."""
    output = _plain(output)
    task = request.task
    if task == "text-classification":
        rows = output if output and isinstance(output[0], list) else [output]
        return rows
    if task == "zero-shot-classification":
        return [
            {"label": label, "score": score}
            for label, score in zip(output["labels"], output["scores"])
        ]
    if task in ("summarization", "translation"):
        rows = output if isinstance(output, list) else [output]
        key = "summary_text" if task == "summarization" else "translation_text"
        return [{key: str(row.get(key) or row.get("generated_text") or "")} for row in rows[:1]]
    if task == "question-answering":
        return output[0] if isinstance(output, list) and len(output) == 1 else output
    if task == "token-classification":
        return [
            {**{k: v for k, v in row.items() if k != "index"}, "word": str(row.get("word", ""))}
            for row in output
        ]
    return output
