"""The inference API (issue 12) through the official client: tiny models built here from a
config with random weights (tests/tiny_models.py), uploaded to a live hub, run by its worker
processes and read back through InferenceClient's own parsers."""

from __future__ import annotations

import io
import struct
import wave

import httpx
import openai
import pytest
from huggingface_hub import HfApi, InferenceClient
from huggingface_hub.errors import HfHubHTTPError
from prometheus_client.parser import text_string_to_metric_families

import tiny_models

WAIT = {"X-Wait-For-Model": "true"}
# these tests call anonymously, more than the default 60 a minute; limits: test_inference_metering
HUB_ENV = {"HUBSTEAD_INFERENCE_ANONYMOUS_RATE_LIMIT": "0"}
RUN = list(tiny_models.TASKS)


@pytest.fixture(scope="module")
def models(api: HfApi, tmp_path_factory) -> dict[str, str]:
    ids = {}
    root = tmp_path_factory.mktemp("tiny")
    for task in RUN:
        folder = tiny_models.build(task, root / task)
        repo_id = api.create_repo(f"tiny-{task}").repo_id
        api.upload_folder(folder_path=str(folder), repo_id=repo_id)
        ids[task] = repo_id
    return ids


def client(endpoint: str, repo_id: str, token: str | None = None) -> InferenceClient:
    return InferenceClient(model=f"{endpoint}/models/{repo_id}", token=token, headers=WAIT)


def test_text_tasks_answer_in_the_clients_shapes(models, endpoint):
    labels = client(endpoint, models["text-classification"]).text_classification("I love it")
    assert {item.label for item in labels} == {"POSITIVE", "NEGATIVE"}
    assert abs(sum(item.score for item in labels) - 1) < 1e-4
    masks = client(endpoint, models["fill-mask"]).fill_mask("the cat sat on the [MASK].")
    assert masks and all(isinstance(m.token_str, str) and "[MASK]" not in m.sequence for m in masks)
    entities = client(endpoint, models["token-classification"]).token_classification(
        "alice lives in paris"
    )
    assert isinstance(entities, list)
    answer = client(endpoint, models["question-answering"]).question_answering(
        question="where does alice live?", context="alice lives in paris with her cat"
    )
    assert answer.answer in "alice lives in paris with her cat" and 0 <= answer.score <= 1
    zero = client(endpoint, models["zero-shot-classification"]).zero_shot_classification(
        "the weather is nice", candidate_labels=["weather", "sports"]
    )
    assert {item.label for item in zero} == {"weather", "sports"}
    summary = client(endpoint, models["summarization"]).summarization("the cat sat on the mat " * 5)
    assert isinstance(summary.summary_text, str)
    translation = client(endpoint, models["translation"]).translation("the cat is here")
    assert isinstance(translation.translation_text, str)


def test_concurrent_requests_batched_get_their_own_answers(models, endpoint):
    """Requests waiting together run as one padded batch: each still gets the answer it
    would get alone (inputs of different lengths, so the padding shows if it leaks)."""
    from concurrent.futures import ThreadPoolExecutor

    url = f"{endpoint}/models/{models['text-classification']}"
    texts = [" ".join(["word"] * n) + f" {n}" for n in range(1, 25)]

    def ask(text: str) -> dict:
        response = httpx.post(url, json={"inputs": text}, headers=WAIT, timeout=120)
        assert response.status_code == 200, response.text
        return {item["label"]: item["score"] for item in response.json()[0]}

    alone = [ask(text) for text in texts]
    with ThreadPoolExecutor(12) as pool:
        together = list(pool.map(ask, texts))
    for single, batched in zip(alone, together):
        assert batched == pytest.approx(single, abs=1e-4)
    # every job was counted on its way in and out: none is left waiting or running
    jobs = [
        sample
        for family in text_string_to_metric_families(httpx.get(f"{endpoint}/-/metrics").text)
        for sample in family.samples
        if sample.name == "hubstead_inference_jobs"
    ]
    assert {s.labels["task"]: s.value for s in jobs}.get("text-classification") == 0


def test_embeddings_and_similarity(models, endpoint):
    vector = client(endpoint, models["feature-extraction"]).feature_extraction("hello world")
    assert vector.shape[-1] == tiny_models.HIDDEN
    scores = client(endpoint, models["sentence-similarity"]).sentence_similarity(
        "the cat", other_sentences=["the cat", "a dog runs"]
    )
    assert len(scores) == 2 and abs(scores[0] - 1) < 1e-4


def test_text_generation_plain_and_streamed(models, endpoint):
    gen = client(endpoint, models["text-generation"])
    text = gen.text_generation("the cat", max_new_tokens=5, seed=1)
    assert isinstance(text, str)
    details = gen.text_generation("the cat", max_new_tokens=4, details=True)
    assert details.details.generated_tokens <= 4
    pieces = list(gen.text_generation("the cat", max_new_tokens=6, stream=True))
    assert all(isinstance(p, str) for p in pieces)


def test_chat_completion_plain_and_streamed(models, endpoint):
    chat = InferenceClient(base_url=f"{endpoint}/v1", headers=WAIT)
    messages = [{"role": "user", "content": "hello there"}]
    reply = chat.chat_completion(messages, model=models["text-generation"], max_tokens=5)
    assert reply.choices[0].message.role == "assistant"
    assert reply.usage.completion_tokens <= 5
    chunks = list(
        chat.chat_completion(messages, model=models["text-generation"], max_tokens=5, stream=True)
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")
    by_url = client(endpoint, models["text-generation"]).chat_completion(messages, max_tokens=3)
    assert by_url.model == models["text-generation"]


def test_the_openai_sdk_chats_streams_and_embeds(models, endpoint, hub):
    sdk = openai.OpenAI(base_url=f"{endpoint}/v1", api_key=hub.tokens["alice"], max_retries=0)
    messages = [{"role": "user", "content": "hello there"}]
    reply = sdk.chat.completions.create(
        model=models["text-generation"], messages=messages, max_tokens=4, seed=3
    )
    assert reply.object == "chat.completion" and reply.model == models["text-generation"]
    assert isinstance(reply.choices[0].message.content, str)
    assert reply.choices[0].finish_reason in ("stop", "length")
    assert 0 < reply.usage.completion_tokens <= 4
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    stream = sdk.chat.completions.create(
        model=models["text-generation"],
        messages=messages,
        max_tokens=4,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert isinstance(text, str)
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens <= 4
    finished = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finished[-1] in ("stop", "length")
    # the SDK asks for base64 unless told otherwise, and decodes it into floats
    vectors = sdk.embeddings.create(model=models["feature-extraction"], input=["a", "b c"])
    assert [len(item.embedding) for item in vectors.data] == [tiny_models.HIDDEN] * 2
    assert all(isinstance(x, float) for x in vectors.data[0].embedding)
    floats = sdk.embeddings.create(
        model=models["feature-extraction"], input="a", encoding_format="float"
    )
    assert floats.data[0].embedding == pytest.approx(vectors.data[0].embedding, abs=1e-5)
    with pytest.raises(openai.NotFoundError):
        sdk.chat.completions.create(model="alice/no-such-model", messages=messages)
    with pytest.raises(openai.BadRequestError):
        sdk.chat.completions.create(model=models["text-generation"], messages=[])


def test_embeddings_route_speaks_openai(models, endpoint):
    response = httpx.post(
        f"{endpoint}/v1/embeddings",
        json={"model": models["feature-extraction"], "input": ["a", "b c"]},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "list" and len(body["data"]) == 2
    assert len(body["data"][1]["embedding"]) == tiny_models.HIDDEN


def _wav(seconds: float = 1.0, rate: int = 16000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(struct.pack(f"<{int(rate * seconds)}h", *([0] * int(rate * seconds))))
    return out.getvalue()


def test_speech_recognition_takes_audio_bytes(models, endpoint):
    result = client(endpoint, models["automatic-speech-recognition"]).automatic_speech_recognition(
        _wav()
    )
    assert isinstance(result.text, str)


def test_cold_model_answers_503_with_an_estimate(models, endpoint, api, tmp_path):
    repo_id = api.create_repo("tiny-cold").repo_id
    folder = tiny_models.build("text-classification", tmp_path / "tiny-cold")
    api.upload_folder(folder_path=str(folder), repo_id=repo_id)
    response = httpx.post(f"{endpoint}/models/{repo_id}", json={"inputs": "hi"}, timeout=60)
    assert response.status_code == 503
    assert response.json()["estimated_time"] > 0 and int(response.headers["Retry-After"]) >= 1
    waited = httpx.post(
        f"{endpoint}/models/{repo_id}", json={"inputs": "hi"}, headers=WAIT, timeout=120
    )
    assert waited.status_code == 200 and isinstance(waited.json()[0], list)


def test_private_and_disabled_models_are_refused(models, endpoint, api, hub):
    secret = api.create_repo("tiny-secret", private=True).repo_id
    with pytest.raises(HfHubHTTPError) as error:
        client(endpoint, secret).text_classification("hi")
    assert error.value.response.status_code in (401, 404)
    off = api.create_repo("tiny-off").repo_id
    api.upload_file(
        path_or_fileobj=b"---\npipeline_tag: text-classification\ninference: false\n---\n",
        path_in_repo="README.md",
        repo_id=off,
    )
    response = httpx.post(
        f"{endpoint}/models/{off}", json={"inputs": "hi"}, headers=WAIT, timeout=60
    )
    assert response.status_code == 403 and "inference: false" in response.json()["error"]


def test_pickle_weights_are_not_loaded(endpoint, api):
    repo_id = api.create_repo("tiny-pickle").repo_id
    api.upload_file(
        path_or_fileobj=b"---\npipeline_tag: text-classification\n---\n",
        path_in_repo="README.md",
        repo_id=repo_id,
    )
    api.upload_file(
        path_or_fileobj=b"not really a pickle", path_in_repo="pytorch_model.bin", repo_id=repo_id
    )
    response = httpx.post(
        f"{endpoint}/models/{repo_id}", json={"inputs": "hi"}, headers=WAIT, timeout=60
    )
    assert response.status_code == 422 and "pickle" in response.json()["error"]


def test_bad_requests_get_clear_errors(models, endpoint):
    classify = f"{endpoint}/models/{models['text-classification']}"
    for body, needle in (
        ({"parameters": {}}, 'no "inputs"'),
        ({"inputs": 5}, "must be a string"),
        ({"inputs": "hi", "parameters": {"top_k": "many"}}, "top_k"),
        ([], "JSON object"),
    ):
        response = httpx.post(classify, json=body, headers=WAIT, timeout=60)
        assert response.status_code == 400, body
        assert needle in response.json()["error"] and response.headers["X-Error-Message"]
    broken = httpx.post(
        classify,
        content=b"{not json",
        headers={**WAIT, "Content-Type": "application/json"},
        timeout=60,
    )
    assert broken.status_code == 400 and "not valid JSON" in broken.json()["error"]
    missing = httpx.post(
        f"{endpoint}/models/alice/no-such-model", json={"inputs": "hi"}, timeout=60
    )
    assert missing.status_code in (401, 404) and missing.headers["X-Error-Code"] == "RepoNotFound"
    chat = httpx.post(
        f"{endpoint}/v1/chat/completions",
        json={"model": models["text-generation"], "messages": []},
        timeout=60,
    )
    assert chat.status_code == 400 and "messages" in chat.json()["error"]["message"]
    unnamed = httpx.post(
        f"{endpoint}/v1/chat/completions",
        json={"model": "dummy", "messages": [{"role": "user", "content": "hi"}]},
        timeout=60,
    )
    assert unnamed.status_code == 400 and unnamed.json()["error"]["type"] == "invalid_request_error"
    embed = httpx.post(
        f"{endpoint}/v1/embeddings",
        json={"model": models["feature-extraction"], "input": "hi", "encoding_format": "int8"},
        timeout=60,
    )
    assert embed.status_code == 400 and "encoding_format" in embed.json()["error"]["message"]


def test_image_classification_takes_image_bytes(models, endpoint):
    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (48, 40), (200, 30, 30)).save(picture, format="PNG")
    labels = client(endpoint, models["image-classification"]).image_classification(
        picture.getvalue()
    )
    assert {item.label for item in labels} <= set(tiny_models.IMAGE_LABELS) and labels
    garbage = httpx.post(
        f"{endpoint}/models/{models['image-classification']}",
        content=b"not an image",
        headers=WAIT,
        timeout=60,
    )
    assert garbage.status_code == 400 and "not an image" in garbage.json()["error"]
