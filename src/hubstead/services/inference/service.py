"""The inference use case: which task a request runs on which model folder, and its answer.

The caller's access to the repository is decided before this runs (the router: private and
gated repositories are treated exactly as for a download). Here: the card's `inference: false`
turns the API off for a model; the task comes from the pipeline tag; the model folder is the
repository at its head commit (`snapshot.py`); a cold model answers 503 with
`estimated_time` unless the caller waits for it (`X-Wait-For-Model: true`, or the operator's
setting), as the Hub's serverless API did. A model the operator maps to an external engine
(`engines.py`) skips the folder and the workers: its jobs go to that engine. Every job is
metered (`metering.py`): admitted against the caller's limits first, its usage recorded after.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubstead.domain.errors import BadRequest, Forbidden, HubError
from hubstead.domain.inference.serving import inference_off
from hubstead.domain.inference.tasks import InferenceRequest, resolve_task, shape_answer
from hubstead.services.cards import CardService
from hubstead.services.files import FileService
from hubstead.services.inference.availability import model_facts
from hubstead.services.inference.engines import Engines
from hubstead.services.inference.host import RemotePool
from hubstead.services.inference.metering import FLUSH_SECONDS, Caller, Meter, Outcome
from hubstead.services.inference.pool import WorkerPool
from hubstead.services.inference.snapshot import Snapshots
from hubstead.services.inference.worker import estimate_seconds
from hubstead.services.inference.worker import weight_bytes as folder_weight_bytes
from hubstead.services.repos import RepoHandle
from hubstead.services.xet import XetService
from hubstead.settings import EngineRoute, InferenceSettings
from hubstead.storage.database import Database


def pool_arguments(settings: InferenceSettings) -> tuple:
    """The WorkerPool's arguments: workers, memory budget, pickles, queue, torch threads."""
    # by default the CPUs but one (the web processes need one to answer while a model runs:
    # torch's threads spin between operations) shared among the workers
    spare = max(1, (os.cpu_count() or 1) - 1)
    threads = settings.threads or max(1, spare // max(1, settings.workers))
    return (
        settings.workers,
        settings.memory_mb * 1024 * 1024,
        settings.allow_pickle,
        settings.queue_per_worker,
        threads,
    )


log = logging.getLogger("hubstead.inference")
_NOTHING = object()


class ModelLoading(HubError):
    status = 503
    code = "ModelLoading"


class ModelNotServed(HubError):
    """The hub does not run this model (its task, its weights, its size): see the message."""

    status = 422
    code = "ModelNotServed"


class InferenceTimeout(HubError):
    status = 504
    code = "Timeout"


class InferenceFailed(HubError):
    """A worker's refusal or failure, with the TGI-style kind the clients map to their errors."""

    def __init__(self, status: int, message: str, kind: str):
        super().__init__(message, status=status)
        self.kind = kind


@dataclass(frozen=True)
class Target:
    """A model ready to run: its folder, cache key, task family and card facts."""

    handle: RepoHandle
    commit: str
    folder: Path | None  # None when an external engine serves the model
    pipeline_tag: str | None
    tags: list[str]
    engine: EngineRoute | None = None

    def key(self, task: str) -> str:
        """The loaded model's key: one per commit and way of loading it (a chat and a
        text-generation request share a causal LM; both embedding tasks share an encoder)."""
        family = {"chat": "text-generation", "sentence-similarity": "feature-extraction"}
        return f"{self.handle.row.storage_key}@{self.commit}/{family.get(task, task)}"


class InferenceService:
    def __init__(
        self,
        settings: InferenceSettings,
        data_dir: Path,
        db: Database,
        cards: CardService,
        files: FileService,
        xet: XetService,
    ):
        self.settings = settings
        self.rules = settings.serving_rules()
        self.cards = cards
        self.meter = Meter(db, settings)
        self.engines = Engines(settings.engines, settings.timeout)
        self.snapshots = Snapshots(data_dir / "inference", files, xet, settings.allow_pickle)
        self.pool: WorkerPool | RemotePool
        if settings.host_socket and settings.host_key:
            self.pool = RemotePool(settings.host_socket, bytes.fromhex(settings.host_key))
        else:
            self.pool = WorkerPool(*pool_arguments(settings))
        self._targets: dict[tuple, Target] = {}  # see target()
        self._recording: set[asyncio.Task] = set()  # usage rows being written
        self._warming_keys: dict[str, float] = {}  # models this process is loading: estimates
        self._warming: set[asyncio.Task] = set()  # background loads, referenced until done

    def close(self) -> None:
        self.pool.close()

    async def aclose(self) -> None:
        if self._recording:  # usage rows still being written
            await asyncio.wait(list(self._recording), timeout=10)
        await asyncio.to_thread(self.meter.flush)
        await self.engines.aclose()
        self.close()

    # -- what runs --------------------------------------------------------------------------

    def refusal(self, repo_id: str, card) -> str | None:
        """Why the hub does not serve this model (None: it does); see domain.inference.serving.
        `card`: the stored RepoCard (or a derived card), None when there is none."""
        facts = model_facts(repo_id, card)
        return self.rules.refusal(
            repo_id, facts.pipeline_tag, facts.tags, facts.card_data, facts.weight_bytes
        )

    def provider_mapping(self, repo_id: str, card) -> dict | None:
        """The model's `inferenceProviderMapping` entry: this hub, as the `hf-inference`
        provider, when it serves the model (the task a chat model is mapped under is
        `conversational`, as on the Hub)."""
        if card is None or self.refusal(repo_id, card) is not None:
            return None
        task = card.pipeline_tag
        if task == "text-generation" and "conversational" in (card.tags or []):
            task = "conversational"
        return {"provider": "hf-inference", "providerId": repo_id, "status": "live", "task": task}

    def target(self, handle: RepoHandle) -> Target:
        """What a request for this repository runs. Kept per (repository, name, head commit):
        a card changes only with a commit, so a kept answer is never stale, and a warm model's
        request reads no card and touches no folder."""
        key = (handle.row.id, str(handle.id), handle.row.head_sha)
        kept = self._targets.get(key)
        if kept is not None:
            return dataclasses.replace(kept, handle=handle)
        target, current = self._target(handle)
        if current:
            if len(self._targets) >= 1024:
                self._targets.pop(next(iter(self._targets)))
            self._targets[key] = target
        return target

    def _target(self, handle: RepoHandle) -> tuple[Target, bool]:
        """The target, and whether the card it was read from is the head commit's."""
        card = self.cards.stored(handle.row.id)
        refusal = self.refusal(str(handle.id), card)
        if refusal is not None and not self.settings.enabled:
            raise Forbidden(f"{refusal} (HUBSTEAD_INFERENCE=0)")
        if refusal is not None and card is not None and inference_off(card.card_data):
            raise Forbidden(
                f"Inference is turned off for {handle.id} (inference: false in its card)"
            )
        if refusal is not None and card is not None and card.pipeline_tag:
            # no pipeline tag: the request may still name its task (…/pipeline/{task})
            raise ModelNotServed(f"{handle.id}: {refusal}")
        commit = handle.row.head_sha
        if not commit:
            raise BadRequest(f"{handle.id} has no commit to run")
        tags = [str(tag) for tag in (card.tags or [])] if card is not None else []
        pipeline_tag = card.pipeline_tag if card is not None else None
        current = card is not None and card.commit == commit
        engine = self.engines.route(str(handle.id))
        if engine is not None:
            return Target(handle, commit, None, pipeline_tag, tags, engine), current
        folder = self.snapshots.folder(handle, commit)
        return Target(handle, commit, folder, pipeline_tag, tags), current

    def request_task(self, target: Target, forced: str | None, inputs: Any) -> str:
        return resolve_task(target.pipeline_tag, target.tags, forced, inputs)

    # -- running ----------------------------------------------------------------------------

    async def ready(self, target: Target, task: str, wait: bool) -> None:
        """Cold model: 503 with the load estimate, unless the caller waits (it loads then)."""
        key = target.key(task)
        if target.engine is not None or self.pool.is_loaded(key) or wait:
            return
        if self.settings.wait_for_model:
            return
        assert target.folder is not None
        estimate = self.pool.loading_estimate(key) or self._warming_keys.get(key)
        if estimate is None:  # nobody loads it yet: a job that only loads it
            estimate = estimate_seconds(folder_weight_bytes(target.folder))
            self._warming_keys[key] = estimate
            task_handle = asyncio.get_running_loop().create_task(self._warm(target, task))
            self._warming.add(task_handle)
            task_handle.add_done_callback(self._warming.discard)
            task_handle.add_done_callback(lambda _: self._warming_keys.pop(key, None))
        raise ModelLoading(
            f"Model {target.handle.id} is currently loading",
            headers={"Retry-After": str(max(1, int(estimate + 0.999)))},
        ).with_body({"estimated_time": estimate})

    async def _warm(self, target: Target, task: str) -> None:
        """Load a model in the background (a job that only loads it)."""
        spec = {
            "model_key": target.key(task),
            "path": str(target.folder),
            "task": task,
            "warm": True,
        }
        try:
            async for _ in self.pool.submit(spec):
                pass
        except HubError:
            pass  # the next request reports what is wrong

    def _messages(self, target: Target, request: InferenceRequest) -> AsyncIterator[tuple]:
        if target.engine is not None:
            return self.engines.run(
                target.engine,
                str(target.handle.id),
                request.task,
                request.inputs,
                request.parameters,
                request.stream,
            )
        spec = {
            "model_key": target.key(request.task),
            "path": str(target.folder),
            "task": request.task,
            "inputs": request.inputs,
            "parameters": request.parameters,
            "stream": request.stream,
            "batch_key": request.batch_key,
        }
        return self.pool.submit(spec)

    async def stream(
        self,
        target: Target,
        request: InferenceRequest,
        wait: bool,
        caller: Caller | None = None,
    ) -> AsyncIterator[tuple]:
        """A job's messages: ("token", text)…, then ("done", answer); errors raise. The job's
        usage is recorded for the caller when it ends, however it ends."""
        started = time.monotonic()
        answer: Any = None
        try:
            await self.ready(target, request.task, wait)
            async for message in self._run(target, request):
                if message[0] == "done":
                    answer = message[1]
                yield message
        finally:
            if caller is not None:
                outcome = _outcome(request, answer, time.monotonic() - started)
                self._record(caller, target.handle.row.id, outcome)

    def _record(self, caller: Caller, repo_row_id: int, outcome: Outcome) -> None:
        """Count the usage; the rows are written (in a thread) within FLUSH_SECONDS."""
        if self.meter.record(caller, repo_row_id, outcome):
            loop = asyncio.get_running_loop()
            loop.call_later(FLUSH_SECONDS, self._flush_soon, loop)

    def _flush_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        task = loop.create_task(asyncio.to_thread(self.meter.flush))
        self._recording.add(task)
        task.add_done_callback(self._flushed)

    def _flushed(self, task: asyncio.Task) -> None:
        self._recording.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("could not write inference usage", exc_info=task.exception())

    async def admit(self, caller: Caller) -> dict[str, str]:
        """The caller let through its limits (429 otherwise): the X-RateLimit-* headers."""
        if not self.meter.limits(caller):
            return {}
        admission = await asyncio.to_thread(self.meter.admit, caller)
        return admission.headers

    async def _run(self, target: Target, request: InferenceRequest) -> AsyncIterator[tuple]:
        deadline = time.monotonic() + self.settings.timeout
        messages = self._messages(target, request)
        try:
            while True:
                try:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError
                    message = await asyncio.wait_for(messages.__anext__(), remaining)
                except TimeoutError:
                    raise InferenceTimeout(
                        f"Inference took longer than {self.settings.timeout:g} s"
                    ) from None
                except StopAsyncIteration:
                    return
                if message[0] == "error":
                    _, status, text, kind = message
                    raise InferenceFailed(status, text, kind)
                yield message
                if message[0] == "done":
                    return
        finally:
            await messages.aclose()

    async def answer(
        self, target: Target, request: InferenceRequest, wait: bool, caller: Caller | None = None
    ) -> Any:
        output: Any = _NOTHING
        # read to the end (closing the stream when done): the job's slot in the worker's
        # queue and its usage row are released now, not when the generator is collected
        async with contextlib.aclosing(self.stream(target, request, wait, caller)) as messages:
            async for message in messages:
                if message[0] == "done":
                    output = message[1]
        if output is _NOTHING:
            raise InferenceFailed(500, "The worker ended the job without an answer", "generation")
        return self.shape(request, output)

    def shape(self, request: InferenceRequest, output: Any) -> Any:
        if request.task == "text-generation":
            full = request.parameters.get("return_full_text", False)
            text = (
                (output["prompt"] + output["generated_text"]) if full else output["generated_text"]
            )
            answer: dict[str, Any] = {"generated_text": text}
            if request.parameters.get("details"):
                answer["details"] = {
                    "finish_reason": output["finish_reason"],
                    "generated_tokens": output["generated_tokens"],
                    "seed": request.parameters.get("seed"),
                    "prefill": [],
                    "tokens": [],
                }
                return answer
            return [answer]
        return shape_answer(request, output)


def _outcome(request: InferenceRequest, answer: Any, seconds: float) -> Outcome:
    """What a job cost: tokens for generation, inputs for the other tasks."""
    compute_ms = int(seconds * 1000)
    if answer is None:
        return Outcome(ok=False, compute_ms=compute_ms)
    if isinstance(answer, dict) and "generated_tokens" in answer:
        return Outcome(
            True, int(answer.get("prompt_tokens") or 0), int(answer["generated_tokens"]), compute_ms
        )
    inputs = request.inputs
    count = len(inputs) if isinstance(inputs, list) and request.task != "chat" else 1
    return Outcome(True, count, 0, compute_ms)
