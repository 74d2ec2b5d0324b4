"""Pipeline types grouped by modality, the way the filter sidebar and `/tasks` show them.

Every type of `vocabulary.PIPELINE_TYPES` belongs to exactly one group; a type missing from the
table below falls into "Other", so a refreshed vocabulary never drops a task from the pages.
"""

from __future__ import annotations

from hubstead.domain.cards.vocabulary import PIPELINE_TYPES

MODALITIES: tuple[tuple[str, str], ...] = (
    ("multimodal", "Multimodal"),
    ("nlp", "Natural Language Processing"),
    ("vision", "Computer Vision"),
    ("audio", "Audio"),
    ("tabular", "Tabular"),
    ("rl", "Reinforcement Learning"),
    ("other", "Other"),
)

_GROUPS: dict[str, tuple[str, ...]] = {
    "multimodal": (
        "audio-text-to-text image-text-to-text image-text-to-image image-text-to-video "
        "visual-question-answering document-question-answering video-text-to-text "
        "visual-document-retrieval any-to-any"
    ).split(),
    "nlp": (
        "text-classification token-classification table-question-answering question-answering "
        "zero-shot-classification translation summarization feature-extraction text-generation "
        "fill-mask sentence-similarity table-to-text multiple-choice text-ranking text-retrieval"
    ).split(),
    "vision": (
        "depth-estimation image-classification object-detection image-segmentation "
        "text-to-image image-to-text image-to-image image-to-video unconditional-image-generation "
        "video-classification text-to-video zero-shot-image-classification mask-generation "
        "zero-shot-object-detection text-to-3d image-to-3d image-feature-extraction "
        "keypoint-detection video-to-video"
    ).split(),
    "audio": (
        "text-to-speech text-to-audio automatic-speech-recognition audio-to-audio "
        "audio-classification voice-activity-detection"
    ).split(),
    "tabular": "tabular-classification tabular-regression tabular-to-text time-series-forecasting".split(),
    "rl": "reinforcement-learning robotics".split(),
    "other": "graph-ml other".split(),
}
MODALITY_OF: dict[str, str] = {task: group for group, tasks in _GROUPS.items() for task in tasks}

# Labels where title-casing the id reads wrong.
_LABELS = {
    "text-to-3d": "Text-to-3D",
    "image-to-3d": "Image-to-3D",
    "graph-ml": "Graph Machine Learning",
    "any-to-any": "Any-to-Any",
}


def task_label(task: str) -> str:
    """`text-classification` → "Text Classification"."""
    return _LABELS.get(task) or " ".join(word.capitalize() for word in task.split("-"))


def modality(task: str) -> str:
    return MODALITY_OF.get(task, "other")


def grouped(counts: dict[str, int], *, keep_empty: bool = False) -> list[dict]:
    """Tasks by modality, in vocabulary order: [{"id", "label", "tasks": [{id, label, count}]}].

    Tasks without a count are left out unless `keep_empty`; so are groups left with no task."""
    order = {task: i for i, task in enumerate(PIPELINE_TYPES)}
    tasks = list(PIPELINE_TYPES) if keep_empty else [t for t in counts if counts[t] > 0]
    tasks += [t for t in counts if t not in order and t not in tasks]
    groups = []
    for group, label in MODALITIES:
        members = sorted(
            (t for t in tasks if modality(t) == group), key=lambda t: order.get(t, len(order))
        )
        if members:
            groups.append(
                {
                    "id": group,
                    "label": label,
                    "tasks": [
                        {"id": t, "label": task_label(t), "count": counts.get(t, 0)}
                        for t in members
                    ],
                }
            )
    return groups
