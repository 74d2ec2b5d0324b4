"""Default widget inputs, used when a model card has no ``widget:`` list.

The Hub shows one widget per model, chosen by ``pipeline_tag`` (``conversational`` for chat
models). Without card examples it falls back to per-language sample inputs; the ``<mask>``
placeholder in fill-mask samples is replaced by the model's own mask token, otherwise the
widget would send a token the tokenizer does not know. The sample texts are public data from
the Hub's widget defaults (huggingface.js ``default-widget-inputs``); only a subset of
languages is carried here.
"""

from __future__ import annotations

import copy
from typing import Any, TypeAlias

MASK_PLACEHOLDER = "<mask>"

# One widget example ({"text": ...}, {"source_sentence": ..., "sentences": [...]}, ...); the
# tables below may give a plain string for {"text": string}.
WidgetExample: TypeAlias = dict[str, Any]
_Samples: TypeAlias = dict[str, list[str | WidgetExample]]

_EIFFEL_EN = (
    "The tower is 324 metres (1,063 ft) tall, about the same height as an 81-storey building, "
    "and the tallest structure in Paris. Its base is square, measuring 125 metres (410 ft) on "
    "each side. During its construction, the Eiffel Tower surpassed the Washington Monument to "
    "become the tallest man-made structure in the world, a title it held for 41 years until the "
    "Chrysler Building in New York City was finished in 1930. It was the first structure to "
    "reach a height of 300 metres. Due to the addition of a broadcasting aerial at the top of "
    "the tower in 1957, it is now taller than the Chrysler Building by 5.2 metres (17 ft). "
    "Excluding transmitters, the Eiffel Tower is the second tallest free-standing structure in "
    "France after the Millau Viaduct."
)
_AMAZON_EN = (
    "The Amazon rainforest (Portuguese: Floresta Amazônica or Amazônia; Spanish: Selva "
    "Amazónica, Amazonía or usually Amazonia; French: Forêt amazonienne; Dutch: "
    "Amazoneregenwoud), also known in English as Amazonia or the Amazon Jungle, is a moist "
    "broadleaf forest that covers most of the Amazon basin of South America. This basin "
    "encompasses 7,000,000 square kilometres (2,700,000 sq mi), of which 5,500,000 square "
    "kilometres (2,100,000 sq mi) are covered by the rainforest. This region includes territory "
    "belonging to nine nations. The majority of the forest is contained within Brazil, with 60% "
    "of the rainforest, followed by Peru with 13%, Colombia with 10%, and with minor amounts in "
    "Venezuela, Ecuador, Bolivia, Guyana, Suriname and French Guiana. States or departments in "
    'four nations contain "Amazonas" in their names. The Amazon represents over half of the '
    "planet's remaining rainforests, and comprises the largest and most biodiverse tract of "
    "tropical rainforest in the world, with an estimated 390 billion individual trees divided "
    "into 16,000 species."
)

_EN: _Samples = {
    "text-classification": ["I like you. I love you"],
    "token-classification": [
        "My name is Wolfgang and I live in Berlin",
        "My name is Sarah and I live in London",
        "My name is Clara and I live in Berkeley, California.",
    ],
    "table-question-answering": [
        {
            "text": "How many stars does the transformers repository have?",
            "table": {
                "Repository": ["Transformers", "Datasets", "Tokenizers"],
                "Stars": [36542, 4512, 3934],
                "Contributors": [651, 77, 34],
                "Programming language": ["Python", "Python", "Rust, Python and NodeJS"],
            },
        }
    ],
    "question-answering": [
        {"text": "Where do I live?", "context": "My name is Wolfgang and I live in Berlin"},
        {"text": "Where do I live?", "context": "My name is Sarah and I live in London"},
        {"text": "What's my name?", "context": "My name is Clara and I live in Berkeley."},
        {
            "text": "Which name is also used to describe the Amazon rainforest in English?",
            "context": _AMAZON_EN,
        },
    ],
    "zero-shot-classification": [
        {
            "text": "I have a problem with my iphone that needs to be resolved asap!",
            "candidate_labels": "urgent, not urgent, phone, tablet, computer",
            "multi_class": True,
        },
        {
            "text": "Last week I upgraded my iOS version and ever since then my phone has been "
            "overheating whenever I use your app.",
            "candidate_labels": "mobile, website, billing, account access",
            "multi_class": False,
        },
    ],
    "translation": [
        "My name is Wolfgang and I live in Berlin",
        "My name is Sarah and I live in London",
    ],
    "summarization": [_EIFFEL_EN],
    "conversational": [
        "Hi, what can you help me with?",
        "What is 84 * 3 / 2?",
        "Tell me an interesting fact about the universe!",
        "Explain quantum computing in simple terms.",
    ],
    "text-generation": [
        "My name is Julien and I like to",
        "I like traveling by train because",
        "Paris is an amazing place to visit,",
        "Once upon a time,",
    ],
    "fill-mask": ["Paris is the <mask> of France.", "The goal of life is <mask>."],
    "sentence-similarity": [
        {
            "source_sentence": "That is a happy person",
            "sentences": [
                "That is a happy dog",
                "That is a very happy person",
                "Today is a sunny day",
            ],
        }
    ],
}

_FR: _Samples = {
    "text-classification": ["Je t'apprécie beaucoup. Je t'aime."],
    "token-classification": ["Mon nom est Wolfgang et je vis à Berlin"],
    "question-answering": [
        {"text": "Où est-ce que je vis?", "context": "Mon nom est Wolfgang et je vis à Berlin"},
    ],
    "translation": ["Mon nom est Wolfgang et je vis à Berlin"],
    "text-generation": [
        "Mon nom est Julien et j'aime",
        "Mon nom est Thomas et mon principal",
        "Il était une fois",
    ],
    "fill-mask": ["Paris est la <mask> de la France."],
    "sentence-similarity": [
        {
            "source_sentence": "C'est une personne heureuse",
            "sentences": [
                "C'est un chien heureux",
                "C'est une personne très heureuse",
                "Aujourd'hui est une journée ensoleillée",
            ],
        }
    ],
}

_ES: _Samples = {
    "text-classification": ["Te quiero. Te amo."],
    "token-classification": ["Me llamo Wolfgang y vivo en Berlin"],
    "question-answering": [
        {"text": "¿Dónde vivo?", "context": "Me llamo Wolfgang y vivo en Berlin"},
    ],
    "translation": ["Me llamo Wolfgang y vivo en Berlin"],
    "text-generation": [
        "Me llamo Julien y me gusta",
        "Me llamo Thomas y mi principal",
        "Érase una vez,",
    ],
    "fill-mask": [
        "Mi nombre es <mask> y vivo en Nueva York.",
        "El español es un idioma muy <mask> en el mundo.",
    ],
    "sentence-similarity": [
        {
            "source_sentence": "Esa es una persona feliz",
            "sentences": [
                "Ese es un perro feliz",
                "Esa es una persona muy feliz",
                "Hoy es un día soleado",
            ],
        }
    ],
}

_IT: _Samples = {
    "text-classification": ["Mi piaci. Ti amo"],
    "translation": ["Mi chiamo Wolfgang e vivo a Berlino", "Mi chiamo Sarah e vivo a Londra"],
    "text-generation": ["Mi chiamo Loreto e mi piace", "C'era una volta"],
    "fill-mask": ["Roma è la <mask> d'Italia.", "Lo scopo della vita è <mask>."],
}

_RU: _Samples = {
    "text-classification": ["Ты мне нравишься. Я тебя люблю"],
    "translation": ["Меня зовут Вольфганг и я живу в Берлине"],
    "text-generation": ["Меня зовут Жюльен и", "Однажды"],
    "fill-mask": ["Меня зовут <mask> и я инженер живущий в Нью-Йорке."],
}

_UK: _Samples = {
    "translation": ["Мене звати Вольфґанґ і я живу в Берліні."],
    "fill-mask": ["Мене звати <mask>."],
}

_ZH: _Samples = {
    "text-classification": ["我喜欢你。 我爱你"],
    "translation": ["我叫沃尔夫冈，我住在柏林。", "我叫萨拉，我住在伦敦。"],
    "text-generation": ["我叫朱利安，我喜欢", "从前，"],
    "fill-mask": ["巴黎是<mask>国的首都。", "生活的真谛是<mask>。"],
}

_DE: _Samples = {
    "question-answering": [
        {"text": "Wo wohne ich?", "context": "Mein Name ist Wolfgang und ich lebe in Berlin"},
    ],
    "sentence-similarity": [
        {
            "source_sentence": "Das ist eine glückliche Person",
            "sentences": [
                "Das ist ein glücklicher Hund",
                "Das ist eine sehr glückliche Person",
                "Heute ist ein sonniger Tag",
            ],
        }
    ],
}

DEFAULT_WIDGET_INPUTS: dict[str, _Samples] = {
    "en": _EN,
    "zh": _ZH,
    "fr": _FR,
    "es": _ES,
    "ru": _RU,
    "uk": _UK,
    "it": _IT,
    "de": _DE,
}


def widget_type(pipeline_tag: str | None, tags: list[str]) -> str | None:
    """The widget shown: the pipeline, except chat models get the ``conversational`` widget."""
    if pipeline_tag in ("text-generation", "image-text-to-text") and "conversational" in tags:
        return "conversational"
    return pipeline_tag


def _substitute_mask(value: object, mask_token: str) -> object:
    """Replace the placeholder in every string of an example (texts may be nested in dicts)."""
    if isinstance(value, str):
        return value.replace(MASK_PLACEHOLDER, mask_token)
    if isinstance(value, list):
        return [_substitute_mask(v, mask_token) for v in value]
    if isinstance(value, dict):
        return {k: _substitute_mask(v, mask_token) for k, v in value.items()}
    return value


def _substitute_mask_in_example(example: WidgetExample, mask_token: str) -> WidgetExample:
    return {k: _substitute_mask(v, mask_token) for k, v in example.items()}


def _as_example(item: str | WidgetExample) -> WidgetExample:
    """Plain strings in the tables and in cards mean ``{"text": ...}``."""
    return {"text": item} if isinstance(item, str) else copy.deepcopy(item)


def default_widget_inputs(
    widget: str | None, languages: list[str], mask_token: str | None = None
) -> list[WidgetExample]:
    """Default examples for a widget type, in the first card language that has some, else English.

    English is the fallback because every language table is partial; an empty list means the
    task has no text defaults (vision/audio widgets take user files).
    """
    if widget is None:
        return []
    for lang in [*languages, "en"]:
        samples = DEFAULT_WIDGET_INPUTS.get(lang, {}).get(widget)
        if samples:
            examples = [_as_example(s) for s in samples]
            if mask_token and widget == "fill-mask":
                examples = [_substitute_mask_in_example(e, mask_token) for e in examples]
            return examples
    return []


def card_widget_examples(card_widget: object) -> list[WidgetExample]:
    """Normalize the card's ``widget:`` list (strings become ``{"text": ...}``; junk is dropped)."""
    if not isinstance(card_widget, list):
        return []
    return [_as_example(w) for w in card_widget if isinstance(w, (str, dict))]
