"""Whether the model page's widget can run a model on this hub, which widget it is, and if it
cannot run, why.

A Compute button is a promise that a click gets an answer. When the hub would refuse the
request anyway, the page says so before anyone clicks, in the words the refusal would use. So
the decision is the serving rule every other part of the hub reads (domain/inference/serving.py:
inference on, no `inference: false`, a task the hub runs, safetensors weights within the memory
budget, or an external engine), applied to the facts the stored card already has: viewing a page
reads no git tree and never touches the workers or loads a model.

The widget comes from the pipeline tag, except that a text-generation model with a chat
template (tagged `conversational`) gets a chat box, which runs the `chat` task through the
OpenAI-compatible route.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from hubstead.domain.inference.serving import weight_bytes
from hubstead.domain.inference.tasks import TASKS
from hubstead.domain.tags.widgets import widget_type
from hubstead.settings import InferenceSettings

CHAT_WIDGET = "conversational"


class CardFacts(Protocol):
    """What is read of a card: a stored `RepoCard` row or a freshly `DerivedCard`."""

    card_data: dict
    tags: list
    pipeline_tag: str | None
    derived: dict


@dataclass(frozen=True)
class ModelFacts:
    """The facts the decision needs, read from the card by `model_facts` (or built by a test)."""

    repo_id: str
    pipeline_tag: str | None
    tags: tuple[str, ...] = ()
    card_data: Mapping[str, Any] | None = None
    weight_bytes: int | None = None  # from the safetensors headers; None: unknown


@dataclass(frozen=True)
class Availability:
    """The widget to show and whether its Compute button works.

    `widget` is what the page draws (a pipeline tag, or "conversational" for chat models);
    `task` is the inference task a Compute runs ("chat" for the conversational widget); None
    when the card names no task or the widget has no form here. `reason` is for people, empty
    when the widget can run.
    """

    widget: str | None
    task: str | None
    runnable: bool
    reason: str = ""


def widget_task(pipeline_tag: str | None, tags: Iterable[str]) -> tuple[str | None, str | None]:
    """(the widget shown, the task a Compute runs)."""
    widget = widget_type(pipeline_tag, [str(tag) for tag in tags])
    if widget == CHAT_WIDGET:
        return widget, "chat" if pipeline_tag == "text-generation" else None
    return widget, widget if widget in TASKS else None


def decide(settings: InferenceSettings, facts: ModelFacts) -> Availability:
    """The widget, and whether it can run: the hub's serving rule first (the refusal a request
    would get), then whether this widget has a form for the task."""
    widget, task = widget_task(facts.pipeline_tag, facts.tags)
    refusal = settings.serving_rules().refusal(
        facts.repo_id, facts.pipeline_tag, facts.tags, facts.card_data, facts.weight_bytes
    )
    if refusal is not None:
        return Availability(widget, task, False, refusal)
    if task is None:  # served through /pipeline/{task} only (text2text-generation…)
        return Availability(
            widget,
            None,
            False,
            f"The page has no widget for {widget} models; the inference API still answers "
            "them under /models/{id}/pipeline/{task}.",
        )
    return Availability(widget, task, True)


def model_facts(repo_id: str, card: CardFacts | None) -> ModelFacts:
    """The card's task, tags, settings and weight size (no card yet: nothing is known)."""
    if card is None:
        return ModelFacts(repo_id, None)
    return ModelFacts(
        repo_id=repo_id,
        pipeline_tag=card.pipeline_tag,
        tags=tuple(str(tag) for tag in (card.tags or [])),
        card_data=dict(card.card_data or {}),
        weight_bytes=weight_bytes(card.derived),
    )


def for_repo(settings: InferenceSettings, repo_id: str, card: CardFacts | None) -> Availability:
    """`decide` for a repository as its stored card describes it."""
    return decide(settings, model_facts(repo_id, card))
