"""Tags of a dataset repository: keyed card fields, then format, modality and library tags."""

from __future__ import annotations

from posixpath import basename

from hubstead.domain.tags import pipelines as P
from hubstead.domain.tags.snapshot import JsonObject, str_list, unique

_TEXT_EXT = (".txt",)
_IMAGE_EXT = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tiff")
_AUDIO_EXT = (".wav", ".mp3", ".flac", ".ogg", ".m4a", ".opus")
_VIDEO_EXT = (".mp4", ".avi", ".mov", ".mkv", ".webm")
_FORMAT_BY_EXT: tuple[tuple[tuple[str, ...], str], ...] = (
    ((".parquet",), "parquet"),
    ((".csv", ".tsv"), "csv"),
    ((".json", ".jsonl", ".json.gz", ".jsonl.gz"), "json"),
    ((".arrow",), "arrow"),
    (_TEXT_EXT, "text"),
    ((".tar",), "webdataset"),
    (_IMAGE_EXT, "imagefolder"),
    (_AUDIO_EXT, "audiofolder"),
    (_VIDEO_EXT, "videofolder"),
)
_DATASET_KEYS = (
    "task_categories",
    "task_ids",
    "annotations_creators",
    "language_creators",
    "multilinguality",
    "source_datasets",
    "language",
    "license",
    "size_categories",
)
_CV_TASKS = P.IMAGE_TASKS | {
    "text-to-image",
    "image-to-text",
    "unconditional-image-generation",
    "zero-shot-image-classification",
    "mask-generation",
}
_AUDIO_TASKS = frozenset(
    {
        "automatic-speech-recognition",
        "audio-classification",
        "text-to-speech",
        "text-to-audio",
        "audio-to-audio",
        "voice-activity-detection",
    }
)


def _data_files(files: list[str]) -> list[str]:
    """Files that hold data (the card, repo metadata and hidden files are not data)."""
    return [f for f in files if not basename(f).startswith(".") and basename(f) != "README.md"]


def _dataset_formats(files: list[str]) -> list[str]:
    data = _data_files(files)
    return [fmt for exts, fmt in _FORMAT_BY_EXT if any(f.lower().endswith(exts) for f in data)]


def _dataset_modalities(tasks: list[str], files: list[str]) -> list[str]:
    found: list[str] = []
    lowered = [f.lower() for f in _data_files(files)]
    if any(t in _AUDIO_TASKS for t in tasks) or any(f.endswith(_AUDIO_EXT) for f in lowered):
        found.append("audio")
    if any(t in _CV_TASKS for t in tasks) or any(f.endswith(_IMAGE_EXT) for f in lowered):
        found.append("image")
    if any(t.startswith("tabular") or t == "time-series-forecasting" for t in tasks):
        found.append("tabular")
    if any(t in P.TEXT_TASKS or t.startswith("text") for t in tasks):
        found.append("text")
    if any(f.endswith(_VIDEO_EXT) for f in lowered):
        found.append("video")
    return sorted(set(found))


def _dataset_libraries(formats: list[str]) -> list[str]:
    if not formats:
        return []
    libs = ["datasets"]
    if {"parquet", "csv", "json"} & set(formats):
        libs += ["pandas", "mlcroissant", "polars"]
    elif "webdataset" in formats:
        libs += ["webdataset", "mlcroissant"]
    else:
        libs.append("mlcroissant")
    return libs


def dataset_tags(
    card_metadata: JsonObject, files: list[str], region: str | None = "us"
) -> list[str]:
    """Tags of a dataset repo (best effort: the Hub's dataset rules are unpublished).

    Order follows real dataset payloads: the keyed card fields in a fixed order (not card
    order), then the file-derived ``format:`` / ``modality:`` / ``library:`` tags, then the
    region, then free-form card ``tags``.
    """
    card = card_metadata or {}
    tags = [f"{key}:{value}" for key in _DATASET_KEYS for value in str_list(card.get(key))]
    formats = _dataset_formats(files)
    tasks = str_list(card.get("task_categories"))
    tags += [f"format:{f}" for f in formats]
    tags += [f"modality:{m}" for m in _dataset_modalities(tasks, files)]
    tags += [f"library:{lib}" for lib in _dataset_libraries(formats)]
    if region:
        tags.append(f"region:{region}")
    tags += str_list(card.get("tags"))
    return unique(tags)
