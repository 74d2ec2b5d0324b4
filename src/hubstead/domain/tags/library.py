"""``library_name``: the card's, else a library-named card tag, else what the files show."""

from __future__ import annotations

from collections.abc import Callable

from hubstead.domain.tags.snapshot import RepoSnapshot, str_list, transformers_config

# Library keys a card tag can select (documented: "a supported library name used as a tag").
KNOWN_LIBRARIES: frozenset[str] = frozenset(
    {
        "adapter-transformers",
        "allennlp",
        "asteroid",
        "bertopic",
        "diffusers",
        "espnet",
        "fairseq",
        "fastai",
        "fasttext",
        "flair",
        "keras",
        "keras-hub",
        "tf-keras",
        "ml-agents",
        "mlx",
        "nemo",
        "open_clip",
        "paddlenlp",
        "PaddleOCR",
        "peft",
        "pyannote-audio",
        "sample-factory",
        "sentence-transformers",
        "setfit",
        "sklearn",
        "spacy",
        "span-marker",
        "speechbrain",
        "stable-baselines3",
        "stanza",
        "timm",
        "transformers",
        "transformers.js",
        "univa",
        "unity-sentis",
        "gguf",
        "llama-cpp-python",
        "mlc-llm",
        "ultralytics",
        "model2vec",
        "gliner",
    }
)

# File signals, most specific first (a setfit repo also has modules.json, a diffusers pipeline
# has sub-folder config.json files...).
_LIBRARY_FILE_RULES: tuple[tuple[str, Callable[[set[str]], bool]], ...] = (
    ("diffusers", lambda fs: "model_index.json" in fs),
    ("setfit", lambda fs: "config_setfit.json" in fs),
    (
        "sentence-transformers",
        lambda fs: "modules.json" in fs or "config_sentence_transformers.json" in fs,
    ),
    ("peft", lambda fs: "adapter_config.json" in fs and "config.json" not in fs),
    ("open_clip", lambda fs: "open_clip_config.json" in fs),
    ("sklearn", lambda fs: "sklearn_model.joblib" in fs),
    ("speechbrain", lambda fs: "hyperparams.yaml" in fs),
)


def resolve_library(snapshot: RepoSnapshot) -> str | None:
    """Card ``library_name``, then a library-named card tag, then file signals (docs §3.6)."""
    card = snapshot.card_metadata or {}
    explicit = card.get("library_name")
    if isinstance(explicit, str) and explicit.strip():
        return explicit.strip()
    for tag in str_list(card.get("tags")):
        if tag in KNOWN_LIBRARIES:
            return tag
    return _library_from_files(snapshot)


def _library_from_files(snapshot: RepoSnapshot) -> str | None:
    files = set(snapshot.files)
    for library, matches in _LIBRARY_FILE_RULES:
        if matches(files):
            return library
    config = transformers_config(snapshot)
    if "config.json" in files and (config.get("architectures") or config.get("model_type")):
        return "transformers"
    return _library_from_extensions(snapshot.files)


def _library_from_extensions(files: list[str]) -> str | None:
    """Single-file formats that imply the loader (only when nothing richer matched)."""
    for suffix, library in (
        (".nemo", "nemo"),
        (".gguf", "gguf"),
        (".keras", "keras"),
        (".sentis", "unity-sentis"),
    ):
        if any(f.endswith(suffix) for f in files):
            return library
    return None
