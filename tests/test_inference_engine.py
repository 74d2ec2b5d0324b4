"""Models served by an external engine (issue 12): Hubstead in front of a real one.

The engine is llama-cpp-python's OpenAI-compatible server (installed by scripts/test, see
scripts/lib/engine.sh) on a tiny GGUF built here with random weights (tests/tiny_engine.py).
Chosen because it installs from PyPI, compiles in about two minutes of CPU and runs a model of
under 1 MB in a second; vLLM's CPU build pulls its own torch and gigabytes, and TGI and TEI are
not on PyPI. Its greedy decoding is deterministic, so what a client gets through Hubstead is
compared with what the engine answers directly, for chat (plain and streamed), text
generation through the Hub's `/models/{id}` route (plain and TGI-streamed) and embeddings,
through the official clients; access rules, limits and usage apply as for a local model.
"""

from __future__ import annotations

import importlib.util
import json
import os

import httpx
import openai
import pytest
from huggingface_hub import HfApi, InferenceClient
from huggingface_hub.errors import HfHubHTTPError

if importlib.util.find_spec("llama_cpp") is None:  # scripts/test installs it
    if os.environ.get("CI") == "true":
        raise RuntimeError("llama-cpp-python is not installed (scripts/lib/engine.sh)")
    pytest.skip("llama-cpp-python is not installed", allow_module_level=True)

from helpers import inference_usage  # noqa: E402
from tiny_engine import HIDDEN, MODEL_NAME, build_gguf, free_port, start_engine  # noqa: E402

ENGINE_PORT = free_port()
ENGINE = f"http://127.0.0.1:{ENGINE_PORT}"
HUB_ENV = {
    "HUBSTEAD_INFERENCE_ENGINES": json.dumps(
        [{"models": ["alice/llama-*", "acme/llama-*"], "url": f"{ENGINE}/v1", "model": MODEL_NAME}]
    )
}
MESSAGES = [{"role": "user", "content": "tell me about the water"}]


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    model = build_gguf(tmp_path_factory.mktemp("gguf"))
    with start_engine(model, embedding=True, port=ENGINE_PORT) as url:
        yield url


@pytest.fixture(scope="module")
def routed(api: HfApi, engine) -> dict[str, str]:
    """Model repositories without weights, whose cards name the task: the engine serves them."""
    cards = {
        "chat": "---\npipeline_tag: text-generation\ntags: [conversational]\n---\n# A chat model\n",
        "embed": "---\npipeline_tag: feature-extraction\n---\n# An embedder\n",
    }
    ids = {}
    for name, card in cards.items():
        repo_id = api.create_repo(f"llama-{name}").repo_id
        api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo_id)
        ids[name] = repo_id
    return ids


def direct(path: str, body: dict) -> dict:
    response = httpx.post(f"{ENGINE}{path}", json={"model": MODEL_NAME, **body}, timeout=60)
    response.raise_for_status()
    return response.json()


def test_chat_through_the_hub_is_the_engines_answer(routed, endpoint, hub):
    expected = direct(
        "/v1/chat/completions", {"messages": MESSAGES, "max_tokens": 6, "temperature": 0}
    )["choices"][0]["message"]["content"]
    sdk = openai.OpenAI(base_url=f"{endpoint}/v1", api_key=hub.tokens["alice"], max_retries=0)
    reply = sdk.chat.completions.create(
        model=routed["chat"], messages=MESSAGES, max_tokens=6, temperature=0
    )
    assert reply.choices[0].message.content == expected and expected.strip()
    assert reply.model == routed["chat"] and reply.choices[0].finish_reason == "length"
    assert reply.usage.completion_tokens == 6 and reply.usage.prompt_tokens > 0
    chunks = list(
        sdk.chat.completions.create(
            model=routed["chat"],
            messages=MESSAGES,
            max_tokens=6,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == expected
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1
    assert chunks[-1].usage.completion_tokens > 0
    # the client's own chat route, by model URL
    by_url = InferenceClient(
        model=f"{endpoint}/models/{routed['chat']}", token=hub.tokens["alice"]
    ).chat_completion(MESSAGES, max_tokens=6, temperature=0)
    assert by_url.choices[0].message.content == expected


def test_text_generation_route_is_proxied_as_completions(routed, endpoint, hub):
    prompt = "the water of the"
    expected = direct("/v1/completions", {"prompt": prompt, "max_tokens": 5, "temperature": 0})
    text = expected["choices"][0]["text"]
    client = InferenceClient(model=f"{endpoint}/models/{routed['chat']}", token=hub.tokens["alice"])
    assert client.text_generation(prompt, max_new_tokens=5, temperature=0) == text
    pieces = list(client.text_generation(prompt, max_new_tokens=5, temperature=0, stream=True))
    assert "".join(pieces) == text and len(pieces) > 1
    full = client.text_generation(prompt, max_new_tokens=5, temperature=0, return_full_text=True)
    assert full == prompt + text
    words = text.split()
    stopped = client.text_generation(
        prompt, max_new_tokens=5, temperature=0, stop=[words[1]], details=True
    )
    assert stopped.details.finish_reason == "eos_token"
    assert words[1] not in stopped.generated_text


def test_embeddings_are_the_engines_vectors(routed, endpoint, hub):
    expected = direct("/v1/embeddings", {"input": ["the water", "a tree"]})
    vectors = [row["embedding"] for row in expected["data"]]
    sdk = openai.OpenAI(base_url=f"{endpoint}/v1", api_key=hub.tokens["alice"], max_retries=0)
    got = sdk.embeddings.create(model=routed["embed"], input=["the water", "a tree"])
    assert len(got.data) == 2 and len(got.data[0].embedding) == HIDDEN
    assert got.data[1].embedding == pytest.approx(vectors[1], abs=1e-5)
    client = InferenceClient(
        model=f"{endpoint}/models/{routed['embed']}", token=hub.tokens["alice"]
    )
    one = client.feature_extraction("the water")
    assert one.shape[-1] == HIDDEN
    assert list(one.reshape(-1)) == pytest.approx(vectors[0], abs=1e-5)
    scores = client.sentence_similarity("the water", other_sentences=["the water", "a tree"])
    assert scores[0] == pytest.approx(1.0, abs=1e-4) and -1 <= scores[1] <= 1


def test_access_rules_and_usage_apply_before_the_engine(api, routed, endpoint, hub):
    secret = api.create_repo("llama-secret", private=True).repo_id
    api.upload_file(
        path_or_fileobj=b"---\npipeline_tag: text-generation\n---\n",
        path_in_repo="README.md",
        repo_id=secret,
    )
    outsider = openai.OpenAI(base_url=f"{endpoint}/v1", api_key=hub.tokens["bob"], max_retries=0)
    with pytest.raises(openai.NotFoundError):
        outsider.chat.completions.create(model=secret, messages=MESSAGES, max_tokens=2)
    with pytest.raises(HfHubHTTPError) as anonymous:
        InferenceClient(model=f"{endpoint}/models/{secret}").text_generation("hi")
    assert anonymous.value.response.status_code in (401, 404)
    off = api.create_repo("llama-off").repo_id
    api.upload_file(
        path_or_fileobj=b"---\npipeline_tag: text-generation\ninference: false\n---\n",
        path_in_repo="README.md",
        repo_id=off,
    )
    with pytest.raises(openai.PermissionDeniedError):
        outsider.chat.completions.create(model=off, messages=MESSAGES, max_tokens=2)
    reader = openai.OpenAI(
        base_url=f"{endpoint}/v1", api_key=hub.tokens["alice_read"], max_retries=0
    )
    reader.chat.completions.create(model=routed["chat"], messages=MESSAGES, max_tokens=3)
    usage = inference_usage(
        endpoint,
        hub.tokens["alice_read"],
        lambda body: any(
            r["model"] == routed["chat"] and r["token"] == "alice-read" for r in body["usage"]
        ),
    )["usage"]
    row = next(r for r in usage if r["model"] == routed["chat"] and r["token"] == "alice-read")
    assert row["requests"] == 1 and row["generatedTokens"] == 3 and row["inputTokens"] > 0
    info = api.model_info(routed["chat"], expand=["inference", "inferenceProviderMapping"])
    assert info.inference == "warm"
    assert [m.task for m in info.inference_provider_mapping] == ["conversational"]
