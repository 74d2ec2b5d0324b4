"""The external inference engine used by the proxy tests: llama-cpp-python's OpenAI-compatible
server on the tiny GGUF of tests/tiny_engine.py, spoken to directly with httpx.

llama-cpp-python is installed by scripts/test (scripts/lib/engine.sh). Without it this module
is skipped, except under CI=true, where that is an error.
"""

from __future__ import annotations

import importlib.util
import json
import os

import httpx
import pytest

_SERVER_MODULES = (
    "llama_cpp",
    "fastapi",
    "uvicorn",
    "sse_starlette",
    "starlette_context",
    "pydantic_settings",
)
_MISSING = [name for name in _SERVER_MODULES if importlib.util.find_spec(name) is None]
if _MISSING:
    _MESSAGE = (
        f"{', '.join(_MISSING)} not installed: scripts/test installs llama-cpp-python[server] "
        "(ensure_llama_engine in scripts/lib/engine.sh)"
    )
    if os.environ.get("CI") == "true":
        raise RuntimeError(_MESSAGE)
    pytest.skip(_MESSAGE, allow_module_level=True)

from tiny_engine import HIDDEN, MODEL_NAME, build_gguf, start_engine  # noqa: E402
from tiny_models import WORDS  # noqa: E402

CHAT = {
    "model": MODEL_NAME,
    "messages": [
        {"role": "system", "content": "You are a tiny model."},
        {"role": "user", "content": "What is the capital of France?"},
    ],
    "max_tokens": 8,
    "temperature": 0,
}


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return build_gguf(tmp_path_factory.mktemp("tiny-engine"))


def _client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=30, trust_env=False)


@pytest.fixture(scope="module")
def engine(model):
    with start_engine(model) as url, _client(url) as client:
        yield client


@pytest.fixture(scope="module")
def embedding_engine(model):
    with start_engine(model, embedding=True) as url, _client(url) as client:
        yield client


def words(text: str) -> list[str]:
    found = text.split()
    assert found and set(found) <= set(WORDS), text
    return found


def test_models(engine):
    response = engine.get("/v1/models")
    assert response.status_code == 200
    assert [m["id"] for m in response.json()["data"]] == [MODEL_NAME]


def test_chat_completion(engine):
    response = engine.post("/v1/chat/completions", json=CHAT)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "chat.completion"
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert isinstance(choice["message"]["content"], str)
    assert len(words(choice["message"]["content"])) == 8  # one word a token
    assert choice["finish_reason"] == "length"
    usage = body["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] == 8
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    # Greedy decoding is deterministic.
    again = engine.post("/v1/chat/completions", json=CHAT).json()
    assert again["choices"][0]["message"]["content"] == choice["message"]["content"]


def test_chat_completion_stream(engine):
    expected = engine.post("/v1/chat/completions", json=CHAT).json()["choices"][0]["message"]
    with engine.stream("POST", "/v1/chat/completions", json={**CHAT, "stream": True}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(event.removeprefix("data: ")) for event in events[:-1]]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    deltas = [chunk["choices"][0]["delta"] for chunk in chunks]
    assert deltas[0].get("role") == "assistant"
    assert "".join(delta.get("content") or "" for delta in deltas) == expected["content"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_completion_and_stop(engine):
    request = {"model": MODEL_NAME, "prompt": "the water", "max_tokens": 6, "temperature": 0}
    response = engine.post("/v1/completions", json=request)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "text_completion"
    text = body["choices"][0]["text"]
    generated = words(text)
    assert len(generated) == 6 and body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 6
    # A stop string cuts the text before it.
    stop = " " + generated[3]
    stopped = engine.post("/v1/completions", json={**request, "stop": [stop]}).json()["choices"][0]
    assert stopped["text"] == text[: text.index(stop)]
    assert stopped["finish_reason"] == "stop"


def test_embeddings(embedding_engine):
    response = embedding_engine.post(
        "/v1/embeddings", json={"model": MODEL_NAME, "input": ["hello world", "the water is cold"]}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [item["index"] for item in body["data"]] == [0, 1]
    vectors = [item["embedding"] for item in body["data"]]
    for vector in vectors:
        assert len(vector) == HIDDEN and all(isinstance(x, float) for x in vector)
    assert vectors[0] != vectors[1]
    assert body["usage"]["prompt_tokens"] > 0


def test_embedding_engine_also_generates(engine, embedding_engine):
    # One server started with embedding=True answers the generation routes the same way.
    expected = engine.post("/v1/chat/completions", json=CHAT).json()["choices"][0]["message"]
    response = embedding_engine.post("/v1/chat/completions", json=CHAT)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == expected["content"]


def test_errors(engine):
    # Errors come back as OpenAI-style {"error": {...}} bodies.
    too_long = {"model": MODEL_NAME, "prompt": "the water " * 400, "max_tokens": 4}
    response = engine.post("/v1/completions", json=too_long)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "context_length_exceeded"
    # Embeddings need a server started with embedding=True.
    response = engine.post("/v1/embeddings", json={"model": MODEL_NAME, "input": "hello"})
    assert response.status_code == 500
    assert "embedding=True" in response.json()["error"]["message"]
