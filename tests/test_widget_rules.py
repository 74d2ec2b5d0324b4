"""The rules behind the model page's widget, without a server: whether Compute can run
(services/inference/availability.py) and what the form is prefilled with (web/widgets.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hubstead.services.inference.availability import ModelFacts, decide
from hubstead.settings import InferenceSettings
from hubstead.web.widgets import DEFAULT_EXAMPLES, build_widget

MiB = 1024 * 1024
SETTINGS = InferenceSettings(memory_mb=100)
RUNNABLE = ModelFacts(
    "alice/m", "text-classification", ("text-classification", "safetensors"), {}, 10 * MiB
)


def test_a_model_the_hub_can_run():
    availability = decide(SETTINGS, RUNNABLE)
    assert availability.runnable and availability.reason == ""
    assert (availability.widget, availability.task) == (
        "text-classification",
        "text-classification",
    )


@pytest.mark.parametrize(
    ("settings", "facts", "reason"),
    [
        (replace(SETTINGS, enabled=False), RUNNABLE, "turned off on this hub"),
        (SETTINGS, replace(RUNNABLE, card_data={"inference": False}), "inference: false"),
        (SETTINGS, replace(RUNNABLE, pipeline_tag=None), "no pipeline tag"),
        (SETTINGS, replace(RUNNABLE, pipeline_tag="text-to-image"), "not run text-to-image"),
        (SETTINGS, replace(RUNNABLE, tags=("text-classification",)), "no weights"),
        (SETTINGS, replace(RUNNABLE, tags=("pytorch",)), "pickle"),
        (replace(SETTINGS, memory_mb=8), RUNNABLE, "(10 MiB of weights) is larger than"),
        (SETTINGS, replace(RUNNABLE, pipeline_tag="text2text-generation"), "no widget for"),
    ],
)
def test_widgets_that_cannot_run_say_why(settings, facts, reason):
    availability = decide(settings, facts)
    assert not availability.runnable
    assert reason in availability.reason


def test_the_first_rule_a_request_would_meet_is_the_reason():
    facts = replace(RUNNABLE, card_data={"inference": False}, tags=("pytorch",))
    assert decide(replace(SETTINGS, enabled=False), facts).reason == (
        "Inference is turned off on this hub."
    )
    assert "inference: false" in decide(SETTINGS, facts).reason


def test_pickles_run_where_the_operator_allows_them():
    facts = replace(RUNNABLE, tags=("text-classification", "pytorch"))
    assert not decide(SETTINGS, facts).runnable
    assert decide(replace(SETTINGS, allow_pickle=True), facts).runnable


def test_chat_models_get_the_chat_widget():
    chat = replace(RUNNABLE, pipeline_tag="text-generation", tags=("conversational", "safetensors"))
    availability = decide(SETTINGS, chat)
    assert (availability.widget, availability.task, availability.runnable) == (
        "conversational",
        "chat",
        True,
    )
    plain = decide(SETTINGS, replace(chat, tags=("safetensors",)))
    assert (plain.widget, plain.task) == ("text-generation", "text-generation")


def _widget(facts: ModelFacts, mask: str | None = None):
    return build_widget(
        repo_id="alice/m",
        availability=decide(SETTINGS, facts),
        card_data=dict(facts.card_data or {}),
        mask_token=mask,
        inference_url="/models/alice/m",
        resolve_base="/alice/m/resolve/main",
    )


def test_the_form_is_prefilled_with_the_cards_examples_else_our_own():
    card = {"widget": [{"text": "I love it", "example_title": "Love"}, "plain string"]}
    widget = _widget(replace(RUNNABLE, card_data=card))
    assert widget.from_card and [e.title for e in widget.examples] == ["Love", "Example 2"]
    assert widget.examples[1].values == {"text": "plain string"}
    ours = _widget(RUNNABLE)
    assert not ours.from_card
    assert ours.first.values["text"] == DEFAULT_EXAMPLES["text-classification"][0]["text"]
    assert ours.config["url"] == "/models/alice/m" and ours.config["runnable"] is True


def test_examples_take_the_tasks_fields():
    mask = _widget(replace(RUNNABLE, pipeline_tag="fill-mask"), mask="[MASK]")
    assert "[MASK]" in mask.first.values["text"] and "<mask>" not in mask.first.values["text"]
    similarity = _widget(replace(RUNNABLE, pipeline_tag="sentence-similarity"))
    assert len(similarity.first.values["sentences"].splitlines()) == 3
    zero_shot = _widget(
        replace(
            RUNNABLE,
            pipeline_tag="zero-shot-classification",
            card_data={"widget": [{"text": "t", "candidate_labels": "a, b", "multi_class": True}]},
        )
    )
    assert zero_shot.first.values == {"text": "t", "candidate_labels": "a, b", "multi_class": True}
    image = _widget(
        replace(
            RUNNABLE,
            pipeline_tag="image-classification",
            card_data={"widget": [{"src": "images/cat.png"}, {"src": "https://example.org/d.jpg"}]},
        )
    )
    assert [e.src for e in image.examples] == [
        "/alice/m/resolve/main/images/cat.png",
        "https://example.org/d.jpg",
    ]
    chat = _widget(
        replace(
            RUNNABLE,
            pipeline_tag="text-generation",
            tags=("conversational", "safetensors"),
            card_data={
                "widget": [
                    {
                        "messages": [
                            {"role": "system", "content": "Be brief."},
                            {"role": "user", "content": "Hi"},
                        ]
                    }
                ],
                "inference": {"parameters": {"temperature": 0.5}},
            },
        )
    )
    assert chat.first.values == {"text": "Hi"}
    assert chat.first.messages == [{"role": "system", "content": "Be brief."}]
    assert chat.config["parameters"] == {"max_tokens": 64, "temperature": 0.5}
