"""The inference worker: a separate process that loads models and runs them.

Models never run in a web process: a model can take seconds of CPU and gigabytes of memory,
and a crash (or a runaway generation) must not take the web server with it. The pool
(`pool.py`) starts workers with the `spawn` method and talks to each through a pipe:

    pool → worker   ("job", id, spec) · ("cancel", id) · ("stop",)
    worker → pool   ("loading", key, seconds) · ("loaded", key) · ("evicted", key)
                    ("token", id, text) · ("done", id, answer) · ("error", id, status, message, kind)

A worker runs one job at a time; jobs of the same batchable task, model and parameters that
wait together run as one batch. Loaded models stay in an LRU cache bounded by a memory budget
(the weight files' size estimates a model's memory). Weights load from safetensors only unless
the operator allows pickles (a pickle runs code when loaded); remote code never runs.
"""

from __future__ import annotations

import queue
import traceback
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PIPELINE_TASKS = {
    "text-classification",
    "token-classification",
    "fill-mask",
    "zero-shot-classification",
    "image-classification",
    "automatic-speech-recognition",
}
# transformers 5 has no pipelines for these any more: the worker runs the model classes itself
SEQ2SEQ_TASKS = {"summarization", "translation"}
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt")


class JobError(Exception):
    def __init__(self, status: int, message: str, kind: str = "generation"):
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


@dataclass
class Loaded:
    kind: str  # "pipeline" (a transformers pipeline) or "model" (model + tokenizer)
    handle: Any
    tokenizer: Any
    size: int


def weight_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.suffix in WEIGHT_SUFFIXES)


class ModelCache:
    """Loaded models by (folder, kind), least recently used evicted past the budget."""

    def __init__(self, budget: int, allow_pickle: bool, notify):
        self.budget, self.allow_pickle, self.notify = budget, allow_pickle, notify
        self.models: OrderedDict[str, Loaded] = OrderedDict()

    def get(self, key: str, path: Path, task: str) -> Loaded:
        found = self.models.get(key)
        if found is not None:
            self.models.move_to_end(key)
            return found
        size = weight_bytes(path)
        while self.models and sum(m.size for m in self.models.values()) + size > self.budget:
            old, _ = self.models.popitem(last=False)
            self.notify(("evicted", old))
        self.notify(("loading", key, estimate_seconds(size)))
        loaded = self._load(path, task, size)
        self.models[key] = loaded
        self.notify(("loaded", key))
        return loaded

    def _load(self, path: Path, task: str, size: int) -> Loaded:
        import transformers

        common = {"trust_remote_code": False, "use_safetensors": not self.allow_pickle}
        if task in PIPELINE_TASKS:
            pipe = transformers.pipeline(
                task,
                model=str(path),
                trust_remote_code=False,
                model_kwargs={"use_safetensors": not self.allow_pickle},
                device="cpu",
            )
            return Loaded("pipeline", pipe, getattr(pipe, "tokenizer", None), size)
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(path), trust_remote_code=False)
        if task in ("text-generation", "chat"):
            model = transformers.AutoModelForCausalLM.from_pretrained(str(path), **common)
            if tokenizer.pad_token_id is None:
                tokenizer.pad_token = tokenizer.eos_token
        elif task in SEQ2SEQ_TASKS:
            model = transformers.AutoModelForSeq2SeqLM.from_pretrained(str(path), **common)
        elif task == "question-answering":
            model = transformers.AutoModelForQuestionAnswering.from_pretrained(str(path), **common)
        else:  # embeddings
            model = transformers.AutoModel.from_pretrained(str(path), **common)
        model.eval()
        return Loaded("model", model, tokenizer, size)


def _task_prefix(model, task: str) -> str:
    """The input prefix the config asks for (T5: "translate English to French: ")."""
    params = getattr(model.config, "task_specific_params", None) or {}
    for name, values in params.items():
        if name.startswith(task) and isinstance(values, dict):
            return str(values.get("prefix") or "")
    return ""


def estimate_seconds(size: int) -> float:
    """A cold model's load time as the clients are told it (`estimated_time`)."""
    return round(1.0 + size / (200 * 1024 * 1024), 1)


class Worker:
    def __init__(self, conn, budget: int, allow_pickle: bool):
        self.conn = conn
        self.jobs: queue.Queue = queue.Queue()
        self.cancelled: set[int] = set()
        self.cache = ModelCache(budget, allow_pickle, self.send)

    def send(self, message: tuple) -> None:
        self.conn.send(message)  # one thread reads and writes the pipe (see `drain`)

    def drain(self, block: bool = False) -> None:
        """Move the messages waiting on the pipe to the job queue and the cancelled set
        (waiting for one first if `block`). The one thread reads the pipe, before each batch
        and between generated tokens: a second reader thread would need the GIL to move jobs
        while a model runs, and the jobs that could join a batch would still be in the pipe."""
        timeout: float | None = None if block else 0
        while self.conn.poll(timeout):
            timeout = 0
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                self.jobs.put(None)
                return
            if message[0] == "job":
                self.jobs.put((message[1], message[2]))
            elif message[0] == "cancel":
                self.cancelled.add(message[1])
            elif message[0] == "stop":
                self.jobs.put(None)
                return

    def is_cancelled(self, job_id: int) -> bool:
        self.drain()
        return job_id in self.cancelled

    def run(self) -> None:
        while True:
            self.drain(block=self.jobs.empty())
            item = self.jobs.get_nowait()
            if item is None:
                return
            batch = [item, *self._companions(item)]
            batch = [job for job in batch if job[0] not in self.cancelled]
            if batch:
                self._run_batch(batch)

    def _companions(self, first: tuple) -> list[tuple]:
        """Jobs waiting now that can run in one batch with `first`."""
        key = first[1].get("batch_key")
        if key is None:
            return []
        taken, kept = [], []
        while True:
            try:
                item = self.jobs.get_nowait()
            except queue.Empty:
                break
            if (
                item is not None
                and item[1].get("batch_key") == key
                and item[1]["model_key"] == first[1]["model_key"]
                and len(taken) < 31
            ):
                taken.append(item)
            else:
                kept.append(item)
        for item in kept:
            self.jobs.put(item)
        return taken

    def _run_batch(self, batch: list[tuple]) -> None:
        spec = batch[0][1]
        try:
            loaded = self.cache.get(spec["model_key"], Path(spec["path"]), spec["task"])
            if len(batch) > 1:
                answers = run_pipeline(loaded, spec, [job[1]["inputs"] for job in batch])
                for (job_id, _), answer in zip(batch, answers):
                    self.send(("done", job_id, answer))
                return
            job_id = batch[0][0]
            answer = run(
                loaded,
                spec,
                lambda text: self.send(("token", job_id, text)),
                lambda: self.is_cancelled(job_id),
            )
            self.send(("done", job_id, answer))
        except JobError as error:
            for job_id, _ in batch:
                self.send(("error", job_id, error.status, error.message, error.kind))
        except Exception as error:  # noqa: BLE001 - a model's failure is the request's error
            detail = f"{type(error).__name__}: {error}"
            traceback.print_exc()
            for job_id, _ in batch:
                self.send(("error", job_id, 500, detail[:2000], "generation"))
        finally:
            for job_id, _ in batch:
                self.cancelled.discard(job_id)


# -- running a job -----------------------------------------------------------------------------


def run(loaded: Loaded, spec: dict, on_text, cancelled) -> Any:
    task = spec["task"]
    if spec.get("warm"):  # loading it was the job
        return None
    if task in ("feature-extraction", "sentence-similarity", "embeddings"):
        return run_embeddings(loaded, spec)
    if task in ("text-generation", "chat"):
        return run_generation(loaded, spec, on_text if spec.get("stream") else None, cancelled)
    return run_pipeline(loaded, spec, [spec["inputs"]])[0]


def run_pipeline(loaded: Loaded, spec: dict, inputs: list) -> list:
    task, params = spec["task"], dict(spec.get("parameters") or {})
    if task in ("feature-extraction", "sentence-similarity"):
        return [run_embeddings(loaded, {**spec, "inputs": item}) for item in inputs]
    if task == "question-answering":
        return [run_question_answering(loaded, item, params) for item in inputs]
    if task in SEQ2SEQ_TASKS:
        return [run_seq2seq(loaded, task, item, params) for item in inputs]
    pipe = loaded.handle
    if task == "zero-shot-classification":
        labels = params.pop("candidate_labels")
        return [pipe(item, candidate_labels=labels, **params) for item in inputs]
    if task in ("image-classification", "automatic-speech-recognition"):
        return [pipe(_media(task, item), **params) for item in inputs]
    if task == "text-classification":
        params.setdefault("top_k", None)  # every label, as the Hub answers
    if task == "token-classification":
        params.setdefault("aggregation_strategy", "simple")
    if len(inputs) == 1:
        return [pipe(inputs[0], **params)]
    # a pipeline given a list runs it one input at a time unless told a batch size
    return list(pipe(inputs, batch_size=len(inputs), **params))


def _generate_kwargs(generate: dict) -> dict:
    allowed = {
        "max_new_tokens",
        "min_new_tokens",
        "num_beams",
        "do_sample",
        "temperature",
        "top_k",
        "top_p",
    }
    return {k: v for k, v in generate.items() if k in allowed and v is not None}


def _media(task: str, data: bytes) -> Any:
    import io

    if task == "image-classification":
        from PIL import Image, UnidentifiedImageError

        try:
            image = Image.open(io.BytesIO(data))
            image.load()
        except (UnidentifiedImageError, OSError):
            raise JobError(400, "The body is not an image this hub can read") from None
        return image.convert("RGB")
    return _audio(data)


def _audio(data: bytes) -> Any:
    """16 kHz mono float samples from a WAV file (the format every client can send)."""
    import io
    import wave

    import numpy as np

    try:
        with wave.open(io.BytesIO(data)) as wav:
            rate, channels, width = wav.getframerate(), wav.getnchannels(), wav.getsampwidth()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError):
        raise JobError(400, "The body is not a WAV audio file (send 16-bit PCM WAV)") from None
    if width != 2:
        raise JobError(400, "Only 16-bit PCM WAV audio is accepted")
    samples = np.frombuffer(frames, dtype="<i2").astype("float32") / 32768.0
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return {"raw": samples, "sampling_rate": rate}


def run_seq2seq(loaded: Loaded, task: str, text: str, params: dict) -> dict:
    import torch

    tokenizer, model = loaded.tokenizer, loaded.handle
    encoded = tokenizer(_task_prefix(model, task) + text, return_tensors="pt", truncation=True)
    generate = _generate_kwargs(params.get("generate_parameters") or {})
    generate.setdefault("max_new_tokens", 64)
    with torch.no_grad():
        output = model.generate(**encoded, **generate)
    key = "summary_text" if task == "summarization" else "translation_text"
    return {key: tokenizer.decode(output[0], skip_special_tokens=True)}


def run_question_answering(loaded: Loaded, item: dict, params: dict) -> Any:
    """The best answer span in the context (start ≤ end, at most max_answer_len tokens)."""
    import torch

    tokenizer, model = loaded.tokenizer, loaded.handle
    encoded = tokenizer(
        item["question"],
        item["context"],
        return_tensors="pt",
        truncation="only_second",
        return_offsets_mapping=True,
    )
    offsets = encoded.pop("offset_mapping")[0].tolist()
    sequence = encoded.sequence_ids(0)
    with torch.no_grad():
        output = model(**encoded)
    start_scores = output.start_logits[0].softmax(-1)
    end_scores = output.end_logits[0].softmax(-1)
    context = [i for i, s in enumerate(sequence) if s == 1]
    longest = int(params.get("max_answer_len") or 15)
    spans = []
    for start in context:
        for end in context:
            if start <= end < start + longest:
                spans.append((float(start_scores[start] * end_scores[end]), start, end))
    spans.sort(reverse=True)
    answers = []
    for score, start, end in spans[: int(params.get("top_k") or 1)]:
        begin, finish = offsets[start][0], offsets[end][1]
        answers.append(
            {"score": score, "start": begin, "end": finish, "answer": item["context"][begin:finish]}
        )
    if not answers:
        return {"score": 0.0, "start": 0, "end": 0, "answer": ""}
    return answers[0] if len(answers) == 1 else answers


def run_embeddings(loaded: Loaded, spec: dict) -> Any:
    """Mean-pooled sentence embeddings (what sentence-transformers and TEI answer); cosine
    similarities for sentence-similarity."""
    import torch

    params = spec.get("parameters") or {}
    inputs = spec["inputs"]
    if spec["task"] == "sentence-similarity":
        texts = [inputs["source_sentence"], *inputs["sentences"]]
    else:
        texts = inputs if isinstance(inputs, list) else [inputs]
    tokenizer, model = loaded.tokenizer, loaded.handle
    encoded = tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**encoded).last_hidden_state
    mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    vectors = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    if params.get("dimensions"):
        vectors = vectors[:, : int(params["dimensions"])]
    if spec["task"] == "sentence-similarity":
        normed = torch.nn.functional.normalize(vectors, dim=-1)
        return (normed[1:] @ normed[0]).tolist()
    if params.get("normalize") or spec.get("normalize"):
        vectors = torch.nn.functional.normalize(vectors, dim=-1)
    rows = vectors.tolist()
    return rows if isinstance(inputs, list) else rows[0]


def run_generation(loaded: Loaded, spec: dict, on_text, cancelled) -> dict:
    """Text generation or a chat turn, streamed token by token when asked."""
    import torch
    import transformers

    tokenizer, model = loaded.tokenizer, loaded.handle
    params = dict(spec.get("parameters") or {})
    if spec["task"] == "chat":
        try:
            prompt_ids = tokenizer.apply_chat_template(
                spec["inputs"], add_generation_prompt=True, return_tensors="pt", return_dict=True
            )["input_ids"]
        except Exception as error:  # noqa: BLE001 - a template that cannot render these messages
            raise JobError(
                400,
                f"The model's chat template cannot render these messages: {error}",
                "validation",
            ) from None
    else:
        prompt_ids = tokenizer(spec["inputs"], return_tensors="pt")["input_ids"]
    limit = getattr(model.config, "max_position_embeddings", None) or getattr(
        model.config, "n_positions", None
    )
    max_new = int(params.get("max_new_tokens") or 64)
    if limit and prompt_ids.shape[1] + max_new > limit:
        if prompt_ids.shape[1] >= limit:
            raise JobError(
                422,
                f"The input is {prompt_ids.shape[1]} tokens; this model takes at most {limit}",
                "validation",
            )
        max_new = limit - prompt_ids.shape[1]
    if params.get("seed") is not None:
        torch.manual_seed(int(params["seed"]))
    sampling = bool(params.get("do_sample")) or (
        params.get("temperature") not in (None, 0) and params.get("do_sample") is not False
    )
    kwargs: dict[str, Any] = {
        "max_new_tokens": max_new,
        "do_sample": sampling,
        "pad_token_id": tokenizer.pad_token_id,
    }
    if sampling:
        for name in ("temperature", "top_k", "top_p", "typical_p"):
            if params.get(name) is not None:
                kwargs[name] = params[name]
    if params.get("repetition_penalty"):
        kwargs["repetition_penalty"] = params["repetition_penalty"]
    if params.get("stop"):
        kwargs["stop_strings"], kwargs["tokenizer"] = list(params["stop"]), tokenizer

    class Cancelled(transformers.StoppingCriteria):
        def __call__(self, input_ids, scores, **_):
            return cancelled()

    streamer = _Streamer(tokenizer, on_text) if on_text is not None else None
    with torch.no_grad():
        output = model.generate(
            prompt_ids,
            attention_mask=torch.ones_like(prompt_ids),
            streamer=streamer,
            stopping_criteria=transformers.StoppingCriteriaList([Cancelled()]),
            **kwargs,
        )
    new_ids = output[0][prompt_ids.shape[1] :]
    text = tokenizer.decode(new_ids, skip_special_tokens=True)
    for stop in params.get("stop") or []:
        if stop in text:
            text = text[: text.index(stop) + len(stop)]
    eos = tokenizer.eos_token_id
    if len(new_ids) and eos is not None and int(new_ids[-1]) == eos:
        finish = "eos_token"
    elif params.get("stop") and any(text.endswith(s) for s in params["stop"]):
        finish = "stop_sequence"
    else:
        finish = "length"
    return {
        "generated_text": text,
        "prompt": tokenizer.decode(prompt_ids[0], skip_special_tokens=True),
        "finish_reason": finish,
        "generated_tokens": int(len(new_ids)),
        "prompt_tokens": int(prompt_ids.shape[1]),
    }


class _Streamer:
    """Sends the text of each new token as soon as it decodes to whole characters."""

    def __init__(self, tokenizer, on_text):
        self.tokenizer, self.on_text = tokenizer, on_text
        self.ids: list[int] = []
        self.sent = 0
        self.prompt_seen = False

    def put(self, value) -> None:
        if not self.prompt_seen:  # generate() first hands over the prompt
            self.prompt_seen = True
            return
        self.ids.extend(int(v) for v in value.reshape(-1).tolist())
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if text.endswith("\ufffd"):  # half a character: wait for the next token
            return
        if len(text) > self.sent:
            self.on_text(text[self.sent :])
            self.sent = len(text)

    def end(self) -> None:
        return


def main(conn, budget: int, allow_pickle: bool, threads: int) -> None:
    """The worker process' entry point."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # models come from the hub's own folders
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch

    torch.set_num_threads(max(1, threads))
    import transformers.pipelines  # noqa: F401 - seconds of imports, before any model waits for them

    Worker(conn, budget, allow_pickle).run()
