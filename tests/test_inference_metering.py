"""Inference rate limits, usage accounting, access rules and what the listings report (issue
12), against a live hub with small limits: per-token and per-address minute windows, usage per
token and model through GET /api/inference/usage, gated and private models refused as for a
download, and `inference=warm` / `inferenceProviderMapping` read back through the client."""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest
from huggingface_hub import HfApi, InferenceClient
from huggingface_hub.errors import HfHubHTTPError

import tiny_models
from helpers import inference_usage

WAIT = {"X-Wait-For-Model": "true"}
UNREACHABLE_ENGINE = "http://127.0.0.1:9"  # the discard port: nothing answers there
HUB_ENV = {
    "HUBSTEAD_INFERENCE_RATE_LIMIT": "3",
    "HUBSTEAD_INFERENCE_ANONYMOUS_RATE_LIMIT": "2",
    "HUBSTEAD_INFERENCE_ENGINES": json.dumps(
        [{"models": "alice/remote-*", "url": UNREACHABLE_ENGINE, "model": "served-name"}]
    ),
}


@pytest.fixture(scope="module")
def classifier(api: HfApi, tmp_path_factory) -> str:
    folder = tiny_models.build("text-classification", tmp_path_factory.mktemp("tiny") / "m")
    repo_id = api.create_repo("metered").repo_id
    api.upload_folder(folder_path=str(folder), repo_id=repo_id)
    return repo_id


def _fresh_minute() -> None:
    """Limits count in fixed minute windows: start a burst early in one, so that it is one."""
    into = time.time() % 60
    if into > 40:
        time.sleep(60.5 - into)


def _post(endpoint: str, repo_id: str, token: str | None) -> httpx.Response:
    headers = {**WAIT, **({"Authorization": f"Bearer {token}"} if token else {})}
    return httpx.post(
        f"{endpoint}/models/{repo_id}", json={"inputs": "hi"}, headers=headers, timeout=120
    )


def test_each_token_gets_its_own_minute_window_then_429(classifier, endpoint, hub):
    assert _post(endpoint, classifier, hub.tokens["admin"]).status_code == 200  # loads it
    _fresh_minute()
    answers = [_post(endpoint, classifier, hub.tokens["bob"]) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers[:3]] == ["2", "1", "0"]
    refused = answers[3]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-Error-Code"] == "RateLimited"
    assert "3 requests per minute" in refused.json()["error"]
    # another token has a window of its own
    other = _post(endpoint, classifier, hub.tokens["alice"])
    assert other.status_code == 200 and other.headers["X-RateLimit-Limit"] == "3"
    # the official clients see the 429 as an error carrying the status
    with pytest.raises(HfHubHTTPError) as error:
        InferenceClient(
            model=f"{endpoint}/models/{classifier}", token=hub.tokens["bob"], headers=WAIT
        ).text_classification("hi")
    assert error.value.response.status_code == 429
    sdk = openai.OpenAI(base_url=f"{endpoint}/v1", api_key=hub.tokens["bob"], max_retries=0)
    with pytest.raises(openai.RateLimitError) as limited:
        sdk.embeddings.create(model=classifier, input="hi")
    assert limited.value.response.headers["Retry-After"]


def test_anonymous_callers_are_limited_per_address(classifier, endpoint):
    _fresh_minute()
    codes = [_post(endpoint, classifier, None).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_usage_is_counted_per_token_and_model(classifier, endpoint, hub):
    token = hub.tokens["alice_read"]
    for _ in range(2):
        assert _post(endpoint, classifier, token).status_code == 200
    bad = httpx.post(
        f"{endpoint}/models/{classifier}",
        json={"inputs": 5},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert bad.status_code == 400
    body = inference_usage(
        endpoint,
        token,
        lambda body: any(r["token"] == "alice-read" and r["requests"] >= 2 for r in body["usage"]),
    )
    assert body["user"] == "alice" and body["limits"]["requestsPerMinute"] == 3
    rows = [row for row in body["usage"] if row["token"] == "alice-read"]
    assert len(rows) == 1
    row = rows[0]
    assert row["model"] == classifier and row["requests"] == 2 and row["failures"] == 0
    assert row["inputTokens"] == 2 and row["computeMs"] >= 0
    anonymous = httpx.get(f"{endpoint}/api/inference/usage")
    assert anonymous.status_code == 401


def test_gated_models_need_granted_access(api, endpoint, hub, tmp_path):
    folder = tiny_models.build("text-classification", tmp_path / "gated")
    repo_id = api.create_repo("gated-model").repo_id
    api.upload_folder(folder_path=str(folder), repo_id=repo_id)
    api.update_repo_settings(repo_id, gated="manual")
    refused = _post(endpoint, repo_id, hub.tokens["bob"])
    assert refused.status_code == 403 and refused.headers["X-Error-Code"] == "GatedRepo"
    owner = _post(endpoint, repo_id, hub.tokens["alice"])
    assert owner.status_code == 200


def test_listings_report_which_models_the_hub_serves(api, classifier, endpoint):
    off = api.create_repo("inference-off").repo_id
    api.upload_file(
        path_or_fileobj=b"---\npipeline_tag: text-classification\ninference: false\n---\n",
        path_in_repo="README.md",
        repo_id=off,
    )
    pickled = api.create_repo("pickled").repo_id
    api.upload_file(
        path_or_fileobj=b"---\npipeline_tag: text-classification\n---\n",
        path_in_repo="README.md",
        repo_id=pickled,
    )
    api.upload_file(path_or_fileobj=b"x", path_in_repo="pytorch_model.bin", repo_id=pickled)
    remote = api.create_repo("remote-llm").repo_id  # served by the (unreachable) engine
    api.upload_file(
        path_or_fileobj=b"---\npipeline_tag: text-generation\ntags: [conversational]\n---\n",
        path_in_repo="README.md",
        repo_id=remote,
    )
    warm = {m.id for m in api.list_models(author="alice", inference="warm")}
    assert classifier in warm and remote in warm
    assert off not in warm and pickled not in warm
    full = {m.id: m for m in api.list_models(author="alice", full=True)}
    assert full[classifier].inference == "warm"
    mapping = full[classifier].inference_provider_mapping
    assert [(m.provider, m.provider_id, m.task) for m in mapping] == [
        ("hf-inference", classifier, "text-classification")
    ]
    assert full[off].inference is None and full[off].inference_provider_mapping == []
    info = api.model_info(remote, expand=["inference", "inferenceProviderMapping"])
    assert info.inference == "warm"
    assert [(m.provider, m.status, m.task) for m in info.inference_provider_mapping] == [
        ("hf-inference", "live", "conversational")
    ]
    assert api.model_info(pickled).inference is None


def test_an_unreachable_engine_is_a_bad_gateway_that_names_no_address(api, endpoint, hub):
    remote = "alice/remote-llm"
    sdk = openai.OpenAI(base_url=f"{endpoint}/v1", api_key=hub.tokens["admin"], max_retries=0)
    with pytest.raises(openai.APIStatusError) as error:
        sdk.chat.completions.create(model=remote, messages=[{"role": "user", "content": "hi"}])
    assert error.value.status_code == 502
    assert "not reachable" in str(error.value) and UNREACHABLE_ENGINE not in str(error.value)
