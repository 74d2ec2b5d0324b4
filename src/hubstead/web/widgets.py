"""The model page's inference widget: its input form, example inputs and the script's settings.

One widget per model, chosen by its task (`services/inference/availability.py` decides which
and whether it can run). The form is drawn on the server, prefilled with the first example, so
a page without JavaScript still shows the inputs; `static/widget.js` sends them to the hub's
inference API and draws the answer. The examples are the card's `widget:` list, else this
hub's own sample inputs for the task (below).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hubstead.domain.tags.widgets import MASK_PLACEHOLDER, card_widget_examples
from hubstead.services.inference.availability import Availability
from hubstead.web.tasks import task_label

# Our own sample inputs, used when a card gives no `widget:` examples. `<mask>` is replaced by
# the model's mask token. Image and audio widgets have none: people choose a file.
_SUMMARY_TEXT = (
    "Community gardens have spread across many cities over the last twenty years. Residents "
    "rent a small plot for a modest yearly fee and grow vegetables, herbs and flowers side by "
    "side. Besides fresh food, the gardens give neighbours a reason to meet: volunteers run "
    "workshops on composting and seed saving, schools bring classes to learn where food comes "
    "from, and older gardeners pass on what decades of weather have taught them. City planners "
    "now count the gardens as green space that cools streets in summer and soaks up heavy rain."
)
_LIGHTHOUSE = (
    "The lighthouse on Gull Rock was built in 1871 from granite quarried on the mainland. Its "
    "lamp was first lit with whale oil, then kerosene, and it has run on solar power since 1996. "
    "A keeper lived on the island until 1959."
)
DEFAULT_EXAMPLES: dict[str, list[dict[str, Any]]] = {
    "text-classification": [
        {
            "text": "What a lovely afternoon by the lake, I would go back tomorrow.",
            "example_title": "A good day",
        },
        {"text": "The train was late again and nobody told us why.", "example_title": "A bad day"},
    ],
    "token-classification": [
        {
            "text": "Ada Lovelace wrote about the engine Charles Babbage designed in London.",
            "example_title": "People and a city",
        },
        {
            "text": "Marie travelled from Warsaw to Paris to study physics at the Sorbonne.",
            "example_title": "Cities and a university",
        },
    ],
    "fill-mask": [
        {"text": "Fresh bread from the oven smells <mask>.", "example_title": "Bread"},
        {"text": "She opened the window to let in some fresh <mask>.", "example_title": "Window"},
    ],
    "question-answering": [
        {"text": "What powers the lamp today?", "context": _LIGHTHOUSE, "example_title": "Power"},
        {"text": "When was the lighthouse built?", "context": _LIGHTHOUSE, "example_title": "Age"},
    ],
    "zero-shot-classification": [
        {
            "text": "The battery is empty after an hour, even when I do not touch the phone.",
            "candidate_labels": "hardware, software, billing, delivery",
            "multi_class": False,
            "example_title": "A phone problem",
        },
        {
            "text": "Our team scored twice in extra time and won the cup final.",
            "candidate_labels": "sport, politics, music, weather",
            "multi_class": False,
            "example_title": "A match",
        },
    ],
    "summarization": [{"text": _SUMMARY_TEXT, "example_title": "Community gardens"}],
    "translation": [
        {"text": "The museum is closed on Mondays.", "example_title": "Opening hours"},
        {
            "text": "Could you tell me the way to the railway station?",
            "example_title": "Directions",
        },
    ],
    "text-generation": [
        {"text": "The best thing about a rainy Sunday is", "example_title": "Rainy Sunday"},
        {
            "text": "The first settlers on the far side of the Moon found",
            "example_title": "Moon settlers",
        },
    ],
    "conversational": [
        {"text": "Which herbs are easy to grow on a kitchen windowsill?", "example_title": "Herbs"},
        {
            "text": "Explain what a hash function does in two sentences.",
            "example_title": "Hash functions",
        },
    ],
    "feature-extraction": [
        {"text": "A quiet street lined with chestnut trees.", "example_title": "A street"}
    ],
    "sentence-similarity": [
        {
            "source_sentence": "The cat is asleep on the warm windowsill.",
            "sentences": [
                "A cat naps in the sun by the window.",
                "The dog barks at the postman.",
                "Share prices fell sharply on Tuesday.",
            ],
            "example_title": "A sleeping cat",
        }
    ],
}

# The parameters each widget sends unless the card or the example says otherwise.
DEFAULT_PARAMETERS: dict[str, dict[str, Any]] = {
    "text-generation": {"max_new_tokens": 40},
    "conversational": {"max_tokens": 64},
}
MAX_EXAMPLES = 10


@dataclass(frozen=True)
class Field:
    """One input of the form: `name` is the example key it is filled from."""

    name: str
    label: str
    kind: str = "textarea"  # textarea · input · checkbox · file
    rows: int = 3
    hint: str = ""
    accept: str = ""


_TEXT = Field("text", "Text")
FIELDS: dict[str, tuple[Field, ...]] = {
    "text-classification": (_TEXT,),
    "token-classification": (_TEXT,),
    "fill-mask": (_TEXT,),
    "question-answering": (
        Field("text", "Question", "input"),
        Field("context", "Context", rows=5),
    ),
    "zero-shot-classification": (
        _TEXT,
        Field(
            "candidate_labels", "Possible labels", "input", hint="Separate the labels by commas."
        ),
        Field("multi_class", "More than one label can be true", "checkbox"),
    ),
    "summarization": (Field("text", "Text to summarize", rows=6),),
    "translation": (Field("text", "Text to translate"),),
    "text-generation": (Field("text", "Prompt"),),
    "conversational": (Field("text", "Your message", rows=2),),
    "feature-extraction": (_TEXT,),
    "sentence-similarity": (
        Field("source_sentence", "Source sentence", "input"),
        Field(
            "sentences",
            "Sentences to compare with it",
            rows=4,
            hint="One sentence a line.",
        ),
    ),
    "image-classification": (
        Field("file", "Image file", "file", hint="PNG, JPEG, GIF or WebP.", accept="image/*"),
    ),
    "automatic-speech-recognition": (
        Field(
            "file",
            "Audio file",
            "file",
            hint="A WAV file (16-bit PCM).",
            accept=".wav,audio/wav,audio/x-wav,audio/wave",
        ),
    ),
}


@dataclass
class Example:
    title: str
    values: dict[str, Any]  # field name → string (checkbox: bool)
    parameters: dict[str, Any] = field(default_factory=dict)
    src: str | None = None  # an image or audio file's URL (a path in the repository, resolved)
    messages: list[dict[str, str]] = field(default_factory=list)  # earlier chat turns


@dataclass
class Widget:
    """What the template draws and the script reads (`config`)."""

    widget: str | None
    task: str | None
    label: str
    runnable: bool
    reason: str
    fields: tuple[Field, ...]
    examples: list[Example]
    from_card: bool  # the examples are the card's (else this hub's samples)
    mask_token: str | None
    config: dict[str, Any]

    @property
    def first(self) -> Example | None:
        return self.examples[0] if self.examples else None

    @property
    def is_chat(self) -> bool:
        return self.widget == "conversational"

    @property
    def is_file(self) -> bool:
        return any(f.kind == "file" for f in self.fields)


def _text_of(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _resolve_src(src: Any, resolve_base: str) -> str | None:
    """A `src` is a URL or a path in the repository (resolved on its default branch)."""
    if not isinstance(src, str) or not src.strip():
        return None
    src = src.strip()
    if src.startswith(("https://", "http://", "/")):
        return src
    return f"{resolve_base}/{src.lstrip('./')}"


def _example(
    number: int, raw: dict[str, Any], fields: tuple[Field, ...], resolve_base: str, mask: str | None
) -> Example | None:
    """A card (or default) example as the form's values; None when it fills no field."""
    values: dict[str, Any] = {}
    for item in fields:
        if item.kind == "file":
            continue
        value = raw.get(item.name)
        if item.kind == "checkbox":
            values[item.name] = value is True
        elif value is not None:
            text = _text_of(value)
            values[item.name] = text.replace(MASK_PLACEHOLDER, mask) if mask else text
    messages: list[dict[str, str]] = []
    raw_messages = raw.get("messages")
    if isinstance(raw_messages, list):  # chat examples: earlier turns, then the user's last one
        turns = [
            {"role": str(m.get("role")), "content": _text_of(m.get("content"))}
            for m in raw_messages
            if isinstance(m, dict) and m.get("role") in ("system", "user", "assistant")
        ]
        if turns and turns[-1]["role"] == "user" and "text" not in values:
            values["text"] = turns.pop()["content"]
        messages = turns
    src = _resolve_src(raw.get("src"), resolve_base)
    if not any(isinstance(v, str) and v for v in values.values()) and not src and not messages:
        return None
    parameters = raw.get("parameters")
    return Example(
        title=str(raw.get("example_title") or f"Example {number}"),
        values=values,
        parameters=dict(parameters) if isinstance(parameters, dict) else {},
        src=src,
        messages=messages,
    )


def card_parameters(card_data: dict[str, Any]) -> dict[str, Any]:
    """The card's `inference: {parameters: {...}}` (the legacy default pipeline parameters)."""
    inference = card_data.get("inference")
    if isinstance(inference, dict) and isinstance(inference.get("parameters"), dict):
        return dict(inference["parameters"])
    return {}


def build_widget(
    *,
    repo_id: str,
    availability: Availability,
    card_data: dict[str, Any],
    mask_token: str | None,
    inference_url: str,
    resolve_base: str,
) -> Widget:
    """The widget of one model page: its fields, its examples (the card's, else our samples),
    and the settings `widget.js` reads from the page."""
    kind = availability.widget
    fields = FIELDS.get(kind or "", (_TEXT,))
    card_examples = card_widget_examples(card_data.get("widget"))
    raw_examples = card_examples or DEFAULT_EXAMPLES.get(kind or "", [])
    examples = [
        example
        for number, raw in enumerate(raw_examples, 1)
        if (example := _example(number, raw, fields, resolve_base, mask_token)) is not None
    ][:MAX_EXAMPLES]
    parameters = {**DEFAULT_PARAMETERS.get(kind or "", {}), **card_parameters(card_data)}
    config = {
        "model": repo_id,
        "widget": kind,
        "task": availability.task,
        "runnable": availability.runnable,
        "url": inference_url,
        "chatUrl": f"{inference_url}/v1/chat/completions",
        "parameters": parameters,
        "maskToken": mask_token,
        "examples": [
            {
                "title": e.title,
                "values": e.values,
                "parameters": e.parameters,
                "src": e.src,
                "messages": e.messages,
            }
            for e in examples
        ],
    }
    return Widget(
        widget=kind,
        task=availability.task,
        label=task_label(kind) if kind else "",
        runnable=availability.runnable,
        reason=availability.reason,
        fields=fields,
        examples=examples,
        from_card=bool(card_examples),
        mask_token=mask_token,
        config=config,
    )
