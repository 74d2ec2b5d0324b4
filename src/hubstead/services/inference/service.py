"""The inference use case: which task a request runs on which model folder, and its answer.

The caller's access to the repository is decided before this runs (the router: private and
gated repositories are treated exactly as for a download). Here: the card's `inference: false`
turns the API off for a model; the task comes from the pipeline tag; the model folder is the
repository at its head commit (`snapshot.py`); a cold model answers 503 with
`estimated_time` unless the caller waits for it (`X-Wait-For-Model: true`, or the operator's
setting), as the Hub's serverless API did.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubstead.domain.errors import BadRequest, Forbidden, HubError
from hubstead.domain.inference.tasks import InferenceRequest, resolve_task, shape_answer
from hubstead.services.cards import CardService
from hubstead.services.files import FileService
from hubstead.services.inference.pool import WorkerPool
from hubstead.services.inference.snapshot import Snapshots
from hubstead.services.inference.worker import estimate_seconds, weight_bytes
from hubstead.services.repos import RepoHandle
from hubstead.services.xet import XetService
from hubstead.settings import InferenceSettings


class ModelLoading(HubError):
    status = 503
    code = "ModelLoading"


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
    folder: Path
    pipeline_tag: str | None
    tags: list[str]

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
        cards: CardService,
        files: FileService,
        xet: XetService,
    ):
        self.settings = settings
        self.cards = cards
        self.snapshots = Snapshots(data_dir / "inference", files, xet, settings.allow_pickle)
        threads = settings.threads or max(1, (os.cpu_count() or 1) // max(1, settings.workers))
        self.pool = WorkerPool(
            settings.workers,
            settings.memory_mb * 1024 * 1024,
            settings.allow_pickle,
            settings.queue_per_worker,
            threads,
        )
        self._warming: set[asyncio.Task] = set()  # background loads, referenced until done

    def close(self) -> None:
        self.pool.close()

    # -- what runs --------------------------------------------------------------------------

    def target(self, handle: RepoHandle) -> Target:
        if not self.settings.enabled:
            raise Forbidden("The inference API is turned off on this hub (HUBSTEAD_INFERENCE=0)")
        card = self.cards.stored(handle.row.id)
        card_data = dict(card.card_data or {}) if card is not None else {}
        if card_data.get("inference") is False:
            raise Forbidden(
                f"Inference is turned off for {handle.id} (inference: false in its card)"
            )
        commit = handle.row.head_sha
        if not commit:
            raise BadRequest(f"{handle.id} has no commit to run")
        folder = self.snapshots.folder(handle, commit)
        tags = [str(tag) for tag in (card.tags or [])] if card is not None else []
        return Target(handle, commit, folder, card.pipeline_tag if card is not None else None, tags)

    def request_task(self, target: Target, forced: str | None, inputs: Any) -> str:
        return resolve_task(target.pipeline_tag, target.tags, forced, inputs)

    # -- running ----------------------------------------------------------------------------

    async def _ready(self, target: Target, task: str, wait: bool) -> None:
        """Cold model: 503 with the load estimate, unless the caller waits (it loads then)."""
        key = target.key(task)
        if self.pool.is_loaded(key) or wait or self.settings.wait_for_model:
            return
        estimate = self.pool.loading_estimate(key)
        if estimate is None:
            estimate = estimate_seconds(weight_bytes(target.folder))
            task_handle = asyncio.get_running_loop().create_task(self._warm(target, task))
            self._warming.add(task_handle)
            task_handle.add_done_callback(self._warming.discard)
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

    async def stream(
        self, target: Target, request: InferenceRequest, wait: bool
    ) -> AsyncIterator[tuple]:
        """A job's messages: ("token", text)…, then ("done", answer); errors raise."""
        await self._ready(target, request.task, wait)
        spec = {
            "model_key": target.key(request.task),
            "path": str(target.folder),
            "task": request.task,
            "inputs": request.inputs,
            "parameters": request.parameters,
            "stream": request.stream,
            "batch_key": request.batch_key,
        }
        deadline = time.monotonic() + self.settings.timeout
        messages = self.pool.submit(spec)
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

    async def answer(self, target: Target, request: InferenceRequest, wait: bool) -> Any:
        async for message in self.stream(target, request, wait):
            if message[0] == "done":
                return self.shape(request, message[1])
        raise InferenceFailed(500, "The worker ended the job without an answer", "generation")

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
