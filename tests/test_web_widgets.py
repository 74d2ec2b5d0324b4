"""The model page's inference widgets, driven in Chromium against a live hub: tiny random-weight
models (tests/tiny_models.py) are uploaded, Compute is clicked, and the drawn answer is checked
against what the inference API itself answers for the same input. Widgets that cannot run say
why, and the page passes axe-core with a result drawn.

The hub gives a loaded model 3 MiB here (HUBSTEAD_INFERENCE_MEMORY_MB), enough for every tiny
model and too little for the 4 MiB one the budget test uploads; texts are limited to 2,000
characters so that an over-long input shows the API's own error in the widget."""

from __future__ import annotations

import io
import json
import re
import struct
import threading

import httpx
import pytest
from huggingface_hub import HfApi
from playwright.sync_api import expect

import tiny_models
from helpers import serious_accessibility_violations

HUB_ENV = {"HUBSTEAD_INFERENCE_MEMORY_MB": "3", "HUBSTEAD_INFERENCE_MAX_CHARS": "2000"}
WAIT = {"X-Wait-For-Model": "true"}
PAGE = {"Accept": "text/html"}
ANSWER_TIMEOUT = 90_000  # ms: the first answer waits for the worker to start and load the model
TASKS = (
    "text-classification",
    "token-classification",
    "fill-mask",
    "sentence-similarity",
    "image-classification",
)


def _without_chat_template(folder) -> None:
    """The tiny causal LM has a chat template (so it is a chat model); a plain one has none."""
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config.pop("chat_template", None)
    config_path.write_text(json.dumps(config))
    readme = folder / "README.md"
    readme.write_text(readme.read_text().replace('- text: "Once upon a time"', '- text: "the cat"'))


def _png(colour: tuple[int, int, int]) -> bytes:
    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (40, 40), colour).save(picture, format="PNG")
    return picture.getvalue()


def _with_example_image(folder) -> None:
    """The card's widget example is an image in the repository (`src: sample.png`)."""
    (folder / "sample.png").write_bytes(_png((200, 40, 40)))
    readme = folder / "README.md"
    front, _, body = readme.read_text().partition("\n---\n")
    readme.write_text(
        f"{front}\nwidget:\n- src: sample.png\n  example_title: A red square\n---\n{body}"
    )


def _upload(api: HfApi, name: str, folder) -> str:
    repo_id = api.create_repo(f"widget-{name}").repo_id
    api.upload_folder(folder_path=str(folder), repo_id=repo_id)
    return repo_id


@pytest.fixture(scope="module")
def models(api: HfApi, endpoint: str, tmp_path_factory) -> dict[str, str]:
    """The tiny models, uploaded. The inference worker is started and has loaded a pipeline
    (the token-classification model) while the others are built, so that the first test finds
    a running worker and a cold model: its wait is a model's load, not a process start."""
    root = tmp_path_factory.mktemp("tiny")
    first = "token-classification"
    ids = {first: _upload(api, first, tiny_models.build(first, root / first))}
    warm_up = threading.Thread(target=api_answer, args=(endpoint, ids[first], {"inputs": "hi"}))
    warm_up.start()
    for task in TASKS:
        if task not in ids:
            folder = tiny_models.build(task, root / task)
            if task == "image-classification":
                _with_example_image(folder)
            ids[task] = _upload(api, task, folder)
    ids["chat"] = _upload(api, "chat", tiny_models.build("text-generation", root / "chat"))
    plain = tiny_models.build("text-generation", root / "text-generation")
    _without_chat_template(plain)
    ids["text-generation"] = _upload(api, "text-generation", plain)
    warm_up.join(timeout=120)
    return ids


def api_answer(endpoint: str, repo_id: str, body: dict):
    response = httpx.post(f"{endpoint}/models/{repo_id}", json=body, headers=WAIT, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


def no_violations(page) -> None:
    violations = serious_accessibility_violations(page)
    assert violations == [], violations


def score_rows(page) -> list[tuple[str, float, float]]:
    """(label, score, bar width in %) of every drawn score bar."""
    return page.eval_on_selector_all(
        ".widget .score-row",
        """rows => rows.map(row => [row.dataset.label, Number(row.dataset.score),
            parseFloat(row.querySelector('.score-fill').style.width)])""",
    )


def record_statuses(page) -> None:
    """Keep every text the status line shows (some, like "Loading…", last a second only)."""
    page.evaluate(
        """() => { window.statuses = [];
            const status = document.getElementById('widget-status');
            new MutationObserver(() => window.statuses.push(status.textContent))
                .observe(status, {childList: true, characterData: true, subtree: true}); }"""
    )


def compute(page) -> None:
    button = page.locator("#widget-compute")
    expect(button).to_be_enabled()
    button.click()


def test_classification_waits_for_the_cold_model_then_draws_score_bars(models, endpoint, page):
    page.goto(f"{endpoint}/{models['text-classification']}")
    widget = page.locator(".widget")
    assert widget.locator("textarea").input_value()  # our own sample input (the card has none)
    record_statuses(page)
    compute(page)
    expect(widget.locator(".score-row").first).to_be_visible(timeout=ANSWER_TIMEOUT)
    # the model was cold: the API answered 503 + estimated_time, the widget said so and retried
    statuses = page.evaluate("window.statuses")
    assert any(re.fullmatch(r"Loading the model… \(about \d+ s\)", s) for s in statuses), statuses
    rows = score_rows(page)
    assert {label for label, _, _ in rows} == set(tiny_models.SENTIMENT_LABELS)
    assert abs(sum(score for _, score, _ in rows) - 1) < 1e-3
    assert abs(sum(width for _, _, width in rows) - 100) < 0.5
    assert [score for _, score, _ in rows] == sorted((s for _, s, _ in rows), reverse=True)
    expect(page.locator("#widget-status")).to_contain_text("Computed in")
    text = widget.locator("textarea").input_value()
    expected = api_answer(endpoint, models["text-classification"], {"inputs": text})[0]
    assert {row["label"]: round(row["score"], 4) for row in expected} == {
        label: round(score, 4) for label, score, _ in rows
    }
    no_violations(page)


def test_token_classification_highlights_the_entities_in_the_text(models, endpoint, page):
    page.goto(f"{endpoint}/{models['token-classification']}")
    text = "alice lives in paris with john and mary"
    page.locator("#widget-text").fill(text)
    compute(page)
    result = page.locator(".widget .entity-text")
    expect(result).to_be_visible(timeout=ANSWER_TIMEOUT)
    expected = api_answer(endpoint, models["token-classification"], {"inputs": text})
    marks = result.locator("mark")
    assert marks.count() == len(expected)
    for index, entity in enumerate(sorted(expected, key=lambda e: e["start"])):
        mark = marks.nth(index)
        label = entity.get("entity_group") or entity["entity"]
        assert mark.get_attribute("data-entity") == label
        assert mark.inner_text().startswith(text[entity["start"] : entity["end"]])
    # the whole text is drawn, in order, with the entity labels beside their words
    drawn = result.evaluate(
        """node => { const copy = node.cloneNode(true);
            copy.querySelectorAll('.entity-tag').forEach(tag => tag.remove());
            return copy.textContent; }"""
    )
    assert drawn == text
    if not expected:
        expect(page.locator(".widget-output")).to_contain_text("no entities")
    no_violations(page)


def test_fill_mask_lists_the_filled_words_with_scores(models, endpoint, page):
    page.goto(f"{endpoint}/{models['fill-mask']}")
    text = page.locator("#widget-text").input_value()
    assert "[MASK]" in text  # our sample, with the model's own mask token
    compute(page)
    expect(page.locator(".widget .score-row").first).to_be_visible(timeout=ANSWER_TIMEOUT)
    expected = api_answer(endpoint, models["fill-mask"], {"inputs": text})
    rows = score_rows(page)
    assert [label for label, _, _ in rows] == [
        row["token_str"].strip() or row["token_str"] for row in expected
    ]
    details = page.locator(".widget .score-detail").all_inner_texts()
    assert details == [row["sequence"] for row in expected]
    # a text without the mask token is refused before anything is sent
    page.locator("#widget-text").fill("no mask here")
    compute(page)
    expect(page.locator("#widget-status")).to_contain_text("[MASK]")


def test_text_generation_streams_the_text(models, endpoint, page):
    page.goto(f"{endpoint}/{models['text-generation']}")
    assert page.locator("#widget-text").input_value() == "the cat"  # the card's example
    compute(page)
    generated = page.locator(".widget .generated[data-done]")
    expect(generated).to_be_visible(timeout=ANSWER_TIMEOUT)
    completion = generated.locator(".completion").inner_text()
    expected = api_answer(
        endpoint,
        models["text-generation"],
        {"inputs": "the cat", "parameters": {"max_new_tokens": 40}},
    )[0]["generated_text"]
    assert completion and completion == expected
    assert generated.locator(".prompt").inner_text() == "the cat"
    no_violations(page)


def test_chat_model_answers_in_a_chat_box(models, endpoint, page):
    page.goto(f"{endpoint}/{models['chat']}")
    widget = page.locator(".widget")
    assert widget.get_attribute("data-widget") == "conversational"
    message = widget.get_by_label("Your message")
    message.fill("hello there, how are you?")
    widget.get_by_role("button", name="Send").click()
    reply = widget.locator(".chat-assistant[data-done]")
    expect(reply).to_be_visible(timeout=ANSWER_TIMEOUT)
    assert widget.locator(".chat-user .chat-text").inner_text() == "hello there, how are you?"
    expected = httpx.post(
        f"{endpoint}/models/{models['chat']}/v1/chat/completions",
        json={
            "messages": [{"role": "user", "content": "hello there, how are you?"}],
            "max_tokens": 64,
        },
        timeout=120,
    ).json()["choices"][0]["message"]["content"]
    assert reply.locator(".chat-text").inner_text() == (
        expected or "(The model answered with an empty message.)"
    )
    assert message.input_value() == ""  # ready for the next turn
    # a second turn keeps the conversation
    message.fill("and then?")
    widget.get_by_role("button", name="Send").click()
    expect(widget.locator(".chat-assistant[data-done]")).to_have_count(2, timeout=ANSWER_TIMEOUT)
    assert widget.locator(".chat-message").count() == 4
    no_violations(page)


def test_sentence_similarity_scores_each_sentence(models, endpoint, page):
    page.goto(f"{endpoint}/{models['sentence-similarity']}")
    source = page.locator("#widget-source_sentence").input_value()
    sentences = page.locator("#widget-sentences").input_value().splitlines()
    assert source and len(sentences) == 3
    compute(page)
    expect(page.locator(".widget .score-row").first).to_be_visible(timeout=ANSWER_TIMEOUT)
    expected = api_answer(
        endpoint,
        models["sentence-similarity"],
        {"inputs": {"source_sentence": source, "sentences": sentences}},
    )
    drawn = {label: score for label, score, _ in score_rows(page)}
    assert drawn == pytest.approx(dict(zip(sentences, expected)), abs=1e-4)
    no_violations(page)


def test_image_classification_takes_the_example_or_a_file(models, endpoint, page):
    page.goto(f"{endpoint}/{models['image-classification']}")
    sample = page.locator("#widget-sample img")
    expect(sample).to_be_visible()  # the card's example image, sent when no file is chosen
    assert sample.get_attribute("src").endswith("/resolve/main/sample.png")
    compute(page)
    expect(page.locator(".widget .score-row").first).to_be_visible(timeout=ANSWER_TIMEOUT)
    from_example = score_rows(page)
    assert {label for label, _, _ in from_example} == set(tiny_models.IMAGE_LABELS)
    assert abs(sum(width for _, _, width in from_example) - 100) < 0.5
    no_violations(page)
    page.get_by_label("Image file").set_input_files(
        {"name": "blue.png", "mimeType": "image/png", "buffer": _png((30, 120, 200))}
    )
    compute(page)
    expect(page.locator("#widget-status")).to_contain_text("Computed in", timeout=ANSWER_TIMEOUT)
    expected = httpx.post(
        f"{endpoint}/models/{models['image-classification']}",
        content=_png((30, 120, 200)),
        headers={**WAIT, "Content-Type": "image/png"},
        timeout=120,
    ).json()
    drawn = {label: score for label, score, _ in score_rows(page)}
    assert drawn == pytest.approx({row["label"]: row["score"] for row in expected}, abs=1e-4)
    assert page.locator(".widget .widget-picture").count() == 1


def test_api_errors_are_shown_in_the_widget(models, endpoint, page):
    page.goto(f"{endpoint}/{models['text-classification']}")
    page.locator("#widget-text").fill("word " * 500)  # 2,500 characters: over the hub's limit
    compute(page)
    status = page.locator("#widget-status")
    expect(status).to_contain_text("too long", timeout=ANSWER_TIMEOUT)
    assert "2000" in status.inner_text() and "is-error" in status.get_attribute("class")
    expect(page.locator("#widget-compute")).to_be_enabled()  # and it can be tried again


def _safetensors(size: int) -> bytes:
    """A valid safetensors file of about `size` bytes (one float32 tensor of zeros)."""
    count = size // 4
    header = json.dumps(
        {"w": {"dtype": "F32", "shape": [count], "data_offsets": [0, count * 4]}}
    ).encode()
    return struct.pack("<Q", len(header)) + header + bytes(count * 4)


def _model(api: HfApi, name: str, card: str, files: dict[str, bytes]) -> str:
    repo_id = api.create_repo(name).repo_id
    for path, data in {"README.md": card.encode(), **files}.items():
        api.upload_file(path_or_fileobj=data, path_in_repo=path, repo_id=repo_id)
    return repo_id


def test_widgets_that_cannot_run_say_why(api, endpoint, page):
    card = "---\npipeline_tag: text-classification\n{extra}---\n# A model\n"
    cases = {
        _model(
            api,
            "widget-off",
            card.format(extra="inference: false\n"),
            {"model.safetensors": _safetensors(64)},
        ): "inference: false",
        _model(
            api,
            "widget-huge",
            card.format(extra=""),
            {"model.safetensors": _safetensors(4 * 1024 * 1024)},
        ): "is larger than this hub's inference memory budget",
        _model(
            api, "widget-pickle", card.format(extra=""), {"pytorch_model.bin": b"not a pickle"}
        ): "pickle",
        _model(
            api,
            "widget-tabular",
            "---\npipeline_tag: tabular-regression\n---\n",
            {"model.safetensors": _safetensors(64)},
        ): "does not run tabular-regression",
    }
    for repo_id, reason in cases.items():
        page.goto(f"{endpoint}/{repo_id}")
        widget = page.locator(".widget")
        expect(widget.locator("#widget-reason")).to_contain_text(reason)
        expect(widget.locator("#widget-compute")).to_be_disabled()
        assert (
            widget.locator("#widget-compute").get_attribute("aria-describedby") == "widget-reason"
        )
    no_violations(page)
    # the numbers: 4 MiB of weights (from the safetensors header) against the operator's 3 MiB
    page.goto(f"{endpoint}/{api.whoami()['name']}/widget-huge")
    reason = page.locator("#widget-reason").inner_text()
    assert "(4 MiB of weights)" in reason and "(3 MiB)" in reason


def test_without_javascript_the_examples_and_a_note_are_there(models, endpoint):
    html = httpx.get(f"{endpoint}/{models['text-generation']}", headers=PAGE).text
    assert '<textarea id="widget-text" name="text" rows="3">the cat</textarea>' in html
    assert "<noscript>" in html and "needs JavaScript" in html
    assert re.search(r'<button type="submit" class="button" id="widget-compute" disabled>', html)
    assert re.search(r"/-/assets/widget\.[0-9a-f]{12}\.js", html)
