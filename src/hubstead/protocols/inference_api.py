"""The inference API: the Hub's task routes and the OpenAI-compatible ones.

- `POST /models/{id}` and `/hf-inference/models/{id}` (`InferenceClient(model=f"{hub}/models/{id}")`),
  `…/pipeline/{task}` (feature-extraction ⇄ sentence-similarity): `{"inputs", "parameters"}` in,
  the task's answer out; text-generation streams TGI events with `"stream": true`.
- `POST …/models/{id}/v1/chat/completions` (what the client posts to for chat with a model URL)
  and `POST /v1/chat/completions` (`base_url=f"{hub}/v1"`, the openai SDK), streamed as
  server-sent events too; `POST /v1/embeddings`.

Access is a download's (`Need.DOWNLOAD`: private and gated rules included), decided by the router
for path ids and by `open_repo` for ids named in the body. Errors on `/v1` take OpenAI's shape
(`{"error": {"message", "type", "code"}}`) with the Hub's headers.
"""

from __future__ import annotations

import base64
import json
import struct
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import Response, StreamingResponse

from hubstead.domain.errors import BadRequest, HubError, PayloadTooLarge, Unauthorized
from hubstead.domain.inference.tasks import MEDIA_TASKS, InferenceRequest, parse_json_request
from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.protocols.http import Ctx, error_response, json_response
from hubstead.protocols.routing import Body, Router, open_repo
from hubstead.protocols.urls import INFERENCE
from hubstead.services.access import Need
from hubstead.services.inference.metering import Caller

router = Router()
MiB = 1024 * 1024
BODY = Body(limit=64 * MiB, too_large="The request body is larger than the inference API takes")
UNSPECIFIED_MODELS = ("", "dummy", "tgi")


def _wait(ctx: Ctx) -> bool:
    return ctx.request.headers.get("x-wait-for-model", "").lower() == "true"


def _body_json(ctx: Ctx) -> Any:
    limit = ctx.hub.settings.inference.max_body_mb * MiB
    if len(ctx.body) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit // MiB} MiB")
    try:
        return json.loads(ctx.body or b"null")
    except (ValueError, RecursionError):
        raise BadRequest("The request body is not valid JSON") from None


async def _admit(ctx: Ctx) -> tuple[Caller, dict[str, str]]:
    """The caller, let through its rate limits (429 otherwise), and the headers telling it how
    much room is left. Called once access is decided, so a refused caller learns nothing."""
    address = ctx.client_address
    caller = Caller.of(ctx.principal, address)
    return caller, await ctx.hub.inference.admit(caller)


def _is_json(ctx: Ctx) -> bool:
    kind = ctx.request.headers.get("content-type", "")
    return "json" in kind or (not kind and ctx.body[:1] in (b"{", b"["))


# -- the Hub's task routes -----------------------------------------------------------------------


@router.repo_route("POST", "(?:/pipeline/{task})?", form=INFERENCE, need=Need.DOWNLOAD, body=BODY)
async def run_task(ctx: Ctx, task: str | None = None) -> Response:
    service = ctx.hub.inference
    target = service.target(ctx.repo)
    caller, room = await _admit(ctx)
    limits = ctx.hub.settings.inference
    body = _body_json(ctx) if _is_json(ctx) else None
    media = None if body is not None else ctx.body
    inputs = body.get("inputs") if isinstance(body, dict) else None
    name = service.request_task(target, task, inputs)
    if media is not None and name not in MEDIA_TASKS:
        raise BadRequest(f'{name} takes a JSON body with "inputs"')
    if media is not None and not media:
        raise BadRequest("The request body is empty")
    request = parse_json_request(
        name, body if body is not None else {"inputs": None}, limits.max_chars, media
    )
    if request.stream:  # a cold model's 503 comes before the stream, as for a plain request
        await service.ready(target, request.task, _wait(ctx))
        return _sse(_tgi_events(service, target, request, True, caller), room)
    response = json_response(await service.answer(target, request, _wait(ctx), caller))
    response.headers.update(room)
    return response


async def _tgi_events(
    service, target, request: InferenceRequest, wait: bool, caller: Caller
) -> AsyncIterator[str]:
    """text-generation as TGI streams it: one event per token, the last with the whole text."""
    index = 0
    try:
        async for message in service.stream(target, request, wait, caller):
            if message[0] == "token":
                index += 1
                yield _event(
                    {
                        "index": index,
                        "token": {"id": 0, "text": message[1], "logprob": 0.0, "special": False},
                        "generated_text": None,
                        "details": None,
                    }
                )
            elif message[0] == "done":
                output = message[1]
                final = output["generated_text"]
                if request.parameters.get("return_full_text"):
                    final = output["prompt"] + final
                index += 1
                yield _event(
                    {
                        "index": index,
                        "token": {"id": 0, "text": "", "logprob": 0.0, "special": True},
                        "generated_text": final,
                        "details": {
                            "finish_reason": output["finish_reason"],
                            "generated_tokens": output["generated_tokens"],
                            "seed": request.parameters.get("seed"),
                            "input_length": output["prompt_tokens"],
                        },
                    }
                )
    except HubError as error:
        yield _event({"error": error.message, "error_type": getattr(error, "kind", "generation")})
    yield "data: [DONE]\n\n"


# -- OpenAI-compatible routes --------------------------------------------------------------------


def _openai_error(error: HubError) -> Response:
    kinds = {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        429: "rate_limit_error",
    }
    response = error_response(error, "POST")
    payload = {
        "error": {
            "message": error.message,
            "type": kinds.get(error.status, "server_error"),
            "code": error.code,
            "param": None,
        }
    }
    body = json.dumps(payload).encode()
    headers = {
        k: v
        for k, v in response.headers.items()
        if k.lower() not in ("content-length", "content-type")
    }
    if error.status >= 500 and error.status != 503:
        headers["x-should-retry"] = "false"  # a failing model fails again: do not run it 3 times
    return Response(body, status_code=error.status, headers=headers, media_type="application/json")


def _open_model(ctx: Ctx, model: Any):
    if not isinstance(model, str) or model in UNSPECIFIED_MODELS:
        raise BadRequest('"model" must name a model repository of this hub (namespace/name)')
    try:
        repo_id = RepoId.parse(model)
    except ValueError:
        raise BadRequest(f'"model" {model!r} is not a repository id') from None
    return open_repo(ctx, RepoType.MODEL, repo_id.namespace, repo_id.name, Need.DOWNLOAD)


@router.repo_route("POST", "/v1/chat/completions", form=INFERENCE, need=Need.DOWNLOAD, body=BODY)
async def chat_for_model(ctx: Ctx) -> Response:
    return await _chat(ctx, ctx.repo)


@router.route("POST", "(?:/hf-inference)?/v1/chat/completions", body=BODY)
async def chat(ctx: Ctx) -> Response:
    try:
        body = _body_json(ctx)
        handle = _open_model(ctx, body.get("model") if isinstance(body, dict) else None)
    except HubError as error:
        return _openai_error(error)
    return await _chat(ctx, handle)


def _chat_request(body: Any) -> tuple[InferenceRequest, bool]:
    """The chat turn to run, and whether a stream ends with a usage chunk."""
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest('"messages" must be a non-empty list')
    clean = []
    for number, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise BadRequest(f"messages[{number}] must be an object with a role")
        content = message.get("content")
        if isinstance(content, list):  # OpenAI's content parts: the text ones
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        if not isinstance(content, str):
            raise BadRequest(f"messages[{number}].content must be a string")
        clean.append({"role": message["role"], "content": content})
    parameters: dict[str, Any] = {}
    max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
    if max_tokens is not None:
        if (
            isinstance(max_tokens, bool)
            or not isinstance(max_tokens, int)
            or not 1 <= max_tokens <= 1024
        ):
            raise BadRequest('"max_tokens" must be an integer from 1 to 1024')
        parameters["max_new_tokens"] = max_tokens
    else:
        parameters["max_new_tokens"] = 64
    for name in ("temperature", "top_p", "seed"):
        value = body.get(name)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise BadRequest(f'"{name}" must be a number')
            parameters[name] = value
    stop = body.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    if stop is not None:
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            raise BadRequest('"stop" must be a string or a list of strings')
        parameters["stop"] = stop
    options = body.get("stream_options") if isinstance(body.get("stream_options"), dict) else {}
    request = InferenceRequest("chat", clean, parameters, body.get("stream") is True)
    return request, bool(options.get("include_usage"))


async def _chat(ctx: Ctx, handle) -> Response:
    service = ctx.hub.inference
    try:
        body = _body_json(ctx)
        request, usage = _chat_request(body)
        target = service.target(handle)
        caller, room = await _admit(ctx)
        if request.stream:
            events = _chat_events(service, target, request, usage, str(handle.id), caller)
            return _sse(events, room)
        answer = None
        async for message in service.stream(target, request, True, caller):
            if message[0] == "done":
                answer = message[1]
    except HubError as error:
        return _openai_error(error)
    finish = {"eos_token": "stop", "stop_sequence": "stop"}.get(answer["finish_reason"], "length")
    response = json_response(
        {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(handle.id),
            "system_fingerprint": "hubstead",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer["generated_text"]},
                    "finish_reason": finish,
                    "logprobs": None,
                }
            ],
            "usage": _usage(answer),
        }
    )
    response.headers.update(room)
    return response


def _usage(answer: dict) -> dict:
    prompt, completion = answer["prompt_tokens"], answer["generated_tokens"]
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


async def _chat_events(
    service, target, request: InferenceRequest, usage: bool, model: str, caller: Caller
) -> AsyncIterator[str]:
    envelope = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "hubstead",
    }

    def chunk(delta: dict, finish: str | None = None) -> str:
        return _event(
            {
                **envelope,
                "choices": [
                    {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
                ],
            }
        )

    yield chunk({"role": "assistant", "content": ""})
    try:
        async for message in service.stream(target, request, True, caller):
            if message[0] == "token":
                yield chunk({"content": message[1]})
            elif message[0] == "done":
                answer = message[1]
                finish = {"eos_token": "stop", "stop_sequence": "stop"}.get(
                    answer["finish_reason"], "length"
                )
                yield chunk({}, finish)
                if usage:
                    yield _event({**envelope, "choices": [], "usage": _usage(answer)})
    except HubError as error:
        kind = getattr(error, "kind", "generation")
        yield _event({"error": {"message": error.message, "type": kind}, "error_type": kind})
    yield "data: [DONE]\n\n"


@router.route("POST", "(?:/hf-inference)?/v1/embeddings", body=BODY)
async def embeddings(ctx: Ctx) -> Response:
    service = ctx.hub.inference
    try:
        body = _body_json(ctx)
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object")
        handle = _open_model(ctx, body.get("model"))
        texts = body.get("input")
        single = isinstance(texts, str)
        request = parse_json_request(
            "feature-extraction",
            {"inputs": [texts] if single else texts, "dimensions": body.get("dimensions")},
            ctx.hub.settings.inference.max_chars,
        )
        encoding = body.get("encoding_format") or "float"
        if encoding not in ("float", "base64"):
            raise BadRequest('"encoding_format" must be "float" or "base64"')
        target = service.target(handle)
        caller, room = await _admit(ctx)
        vectors = await service.answer(target, request, True, caller)
    except HubError as error:
        return _openai_error(error)
    data = []
    for index, vector in enumerate(vectors):
        value: Any = vector
        if encoding == "base64":
            value = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": value})
    tokens = sum(len(text.split()) for text in request.inputs)
    response = json_response(
        {
            "object": "list",
            "data": data,
            "model": str(handle.id),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )
    response.headers.update(room)
    return response


# -- server-sent events -----------------------------------------------------------------------


def _event(data: dict) -> str:
    return f"data: {json.dumps(data, separators=(',', ':'))}\n\n"


def _sse(events: AsyncIterator[str], headers: dict[str, str]) -> Response:
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **headers},
    )


# -- usage ------------------------------------------------------------------------------------


@router.route("GET", "/api/inference/usage")
def usage(ctx: Ctx) -> Response:
    """The caller's inference over the last 30 days (per day, model and token) and its limits."""
    principal = ctx.principal
    if principal is None:
        raise Unauthorized("Sign in with a token to see your inference usage")
    meter = ctx.hub.inference.meter
    limits = {name: allowed for name, allowed, _ in meter.limits(Caller.of(principal, None))}
    return json_response(
        {
            "user": principal.name,
            "limits": {
                "requestsPerMinute": limits.get("minute"),
                "requestsPerDay": limits.get("day"),
            },
            "usage": meter.usage(principal.user_id),
        }
    )
