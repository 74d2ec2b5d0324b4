"""External engines: models whose inference an OpenAI-compatible server answers.

An operator maps models to an engine (`HUBSTEAD_INFERENCE_ENGINES`: vLLM, TGI's Messages API,
TEI's `/v1/embeddings`, llama.cpp's server all speak this protocol). Hubstead has already
authenticated the caller, applied the repository's access rules and the rate limits when a job
gets here; this module turns the job into the engine's request and the engine's answer (streamed
server-sent events included) into the same messages a local worker sends — ("token", text)…
then ("done", output) — so every route, stream and usage count works the same for both.

httpx (already a dependency of the official client) is the HTTP client: async, streaming, and
its connection pool is kept for the hub's lifetime.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import logging
import math
from collections.abc import AsyncIterator
from typing import Any

import httpx

from hubstead.domain.errors import BadRequest, HubError
from hubstead.settings import EngineRoute

log = logging.getLogger("hubstead.inference")
logging.getLogger("httpx").setLevel(logging.WARNING)  # not a log line per proxied request
ENGINE_TASKS = ("chat", "text-generation", "feature-extraction", "sentence-similarity")
FINISH = {"stop": "eos_token", "length": "length"}  # OpenAI's reasons → the workers' reasons


class EngineFailed(HubError):
    """The engine refused or failed a request; `kind` as the workers report it."""

    def __init__(self, status: int, message: str, kind: str = "generation"):
        super().__init__(message, status=status)
        self.kind = kind


def route_for(routes: tuple[EngineRoute, ...], repo_id: str) -> EngineRoute | None:
    """The first route whose pattern matches the repository id (case-insensitively, as ids)."""
    for route in routes:
        if fnmatch.fnmatchcase(repo_id.lower(), route.pattern.lower()):
            return route
    return None


class Engines:
    def __init__(self, routes: tuple[EngineRoute, ...], timeout: float):
        self.routes = routes
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=10.0))

    async def aclose(self) -> None:
        await self._client.aclose()

    def route(self, repo_id: str) -> EngineRoute | None:
        return route_for(self.routes, repo_id)

    async def run(
        self,
        route: EngineRoute,
        repo_id: str,
        task: str,
        inputs: Any,
        parameters: dict,
        stream: bool = False,
    ) -> AsyncIterator[tuple]:
        """A job's messages, as a worker would send them."""
        model = route.model or repo_id
        generate = self._generate if stream else self._complete
        if task == "chat":
            body = {"model": model, "messages": inputs, **_sampling(parameters)}
            async for message in generate(route, "/v1/chat/completions", body, chat=True):
                yield message
        elif task == "text-generation":
            body = {"model": model, "prompt": inputs, **_sampling(parameters)}
            async for message in generate(route, "/v1/completions", body, chat=False):
                if message[0] == "done":
                    message = ("done", {**message[1], "prompt": inputs})
                yield message
        elif task in ("feature-extraction", "sentence-similarity"):
            yield ("done", await self._embed(route, model, task, inputs, parameters))
        else:
            raise BadRequest(
                f"{repo_id} is served by an external engine, which runs "
                f"{', '.join(ENGINE_TASKS)}; not {task}"
            )

    async def _complete(
        self, route: EngineRoute, path: str, body: dict, chat: bool
    ) -> AsyncIterator[tuple]:
        """One answer: the whole text, the finish reason and the engine's token counts."""
        answer = await self._post(route, path, {**body, "stream": False})
        choice = (answer.get("choices") or [{}])[0]
        text = (choice.get("message") or {}).get("content") if chat else choice.get("text")
        usage = answer.get("usage") or {}
        yield ("done", _generated(str(text or ""), choice.get("finish_reason"), usage, 0))

    async def _generate(
        self, route: EngineRoute, path: str, body: dict, chat: bool
    ) -> AsyncIterator[tuple]:
        """Stream from the engine: each piece of text as it arrives, then the whole text, the
        finish reason and the token counts (the engine's, when it sends a usage chunk; else
        the pieces, which is what an engine streams one token at a time)."""
        body = {**body, "stream": True, "stream_options": {"include_usage": True}}
        pieces: list[str] = []
        finish, usage = "length", {}
        async with self._stream(route, path, body) as response:
            async for data in _events(response):
                if data.get("usage"):
                    usage = data["usage"]
                for choice in data.get("choices") or []:
                    text = (
                        (choice.get("delta") or {}).get("content") if chat else choice.get("text")
                    )
                    if text:
                        pieces.append(text)
                        yield ("token", text)
                    if choice.get("finish_reason"):
                        finish = choice["finish_reason"]
        yield ("done", _generated("".join(pieces), finish, usage, len(pieces)))

    async def _embed(
        self, route: EngineRoute, model: str, task: str, inputs: Any, parameters: dict
    ) -> Any:
        if task == "sentence-similarity":
            texts = [inputs["source_sentence"], *inputs["sentences"]]
        else:
            texts = inputs if isinstance(inputs, list) else [inputs]
        body: dict[str, Any] = {"model": model, "input": texts, "encoding_format": "float"}
        if parameters.get("dimensions"):
            body["dimensions"] = int(parameters["dimensions"])
        response = await self._post(route, "/v1/embeddings", body)
        rows = sorted(response.get("data") or [], key=lambda row: row.get("index", 0))
        vectors = [[float(x) for x in row.get("embedding") or []] for row in rows]
        if len(vectors) != len(texts):
            raise EngineFailed(
                502, f"The engine answered {len(vectors)} embeddings for {len(texts)} inputs"
            )
        if task == "sentence-similarity":
            source, others = vectors[0], vectors[1:]
            return [_cosine(source, other) for other in others]
        if parameters.get("normalize"):
            vectors = [_normalized(vector) for vector in vectors]
        return vectors if isinstance(inputs, list) else vectors[0]

    # -- HTTP ---------------------------------------------------------------------------------

    def _headers(self, route: EngineRoute) -> dict[str, str]:
        return {"Authorization": f"Bearer {route.api_key}"} if route.api_key else {}

    async def _post(self, route: EngineRoute, path: str, body: dict) -> dict:
        try:
            response = await self._client.post(
                route.url + path, json=body, headers=self._headers(route)
            )
        except httpx.HTTPError as error:
            raise _unreachable(route, error) from None
        if response.status_code >= 400:
            raise _refusal(response.status_code, response.content)
        try:
            return response.json()
        except ValueError:
            raise EngineFailed(502, "The engine's answer is not JSON") from None

    @contextlib.asynccontextmanager
    async def _stream(
        self, route: EngineRoute, path: str, body: dict
    ) -> AsyncIterator[httpx.Response]:
        """The engine's streamed answer: connection errors and refusals are raised as the
        hub's errors before the first event is read (a broken stream: see `_events`)."""
        try:
            async with self._client.stream(
                "POST", route.url + path, json=body, headers=self._headers(route)
            ) as response:
                if response.status_code >= 400:
                    raise _refusal(response.status_code, await response.aread())
                yield response
        except httpx.HTTPError as error:
            raise _unreachable(route, error) from None


async def _events(response: httpx.Response) -> AsyncIterator[dict]:
    """The JSON objects of a server-sent event stream, up to `[DONE]`."""
    try:
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                return
            try:
                event = json.loads(data)
            except ValueError:
                raise EngineFailed(502, "The engine sent an event that is not JSON") from None
            if isinstance(event, dict) and event.get("error"):
                raise EngineFailed(502, f"The engine failed: {_message(event)}")
            if isinstance(event, dict):
                yield event
    except httpx.HTTPError as error:
        raise EngineFailed(502, f"The engine's stream broke off: {error}") from None


def _generated(text: str, finish: str | None, usage: dict, pieces: int) -> dict:
    """A generation's answer as the workers give it."""
    return {
        "generated_text": text,
        "finish_reason": FINISH.get(finish or "", "length"),
        "prompt_tokens": int(usage.get("prompt_tokens") or 0),
        "generated_tokens": int(usage.get("completion_tokens") or pieces),
        "prompt": "",
    }


def _sampling(parameters: dict) -> dict:
    """The workers' generation parameters, as OpenAI names them."""
    body: dict[str, Any] = {"max_tokens": int(parameters.get("max_new_tokens") or 64)}
    for name in ("temperature", "top_p", "seed", "stop"):
        if parameters.get(name) is not None:
            body[name] = parameters[name]
    if parameters.get("do_sample") is False:
        body["temperature"] = 0
    return body


def _message(payload: Any) -> str:
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error)
    if error:
        return str(error)
    return str(payload.get("detail") or payload) if isinstance(payload, dict) else str(payload)


def _refusal(status: int, content: bytes) -> EngineFailed:
    """An engine's 4xx is the caller's mistake and keeps its status; its 5xx is a bad gateway."""
    try:
        text = _message(json.loads(content))
    except ValueError:
        text = content[:500].decode("utf-8", "replace")
    if 400 <= status < 500 and status not in (401, 403, 404):
        return EngineFailed(status, f"The engine refused the request: {text}", "validation")
    return EngineFailed(502, f"The engine failed ({status}): {text}")


def _unreachable(route: EngineRoute, error: Exception) -> EngineFailed:
    """The caller learns the engine is down, not where the operator runs it (that is logged)."""
    log.warning("inference engine %s unreachable: %s", route.url, error)
    return EngineFailed(502, "The inference engine serving this model is not reachable")


def _normalized(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(_normalized(a), _normalized(b)))
