"""The tiny models of tests/tiny_models.py: each folder is complete and runs offline.

Each runs through `transformers.pipeline` where transformers 5 still has a pipeline for its task;
summarization, translation and question-answering (pipelines removed in v5) run through their
AutoModel class as those pipelines did.
"""

from __future__ import annotations

import importlib.util
import json
import math
import time
from pathlib import Path

import huggingface_hub.constants
import numpy as np
import pytest
import torch
import transformers
import yaml
from transformers import AutoConfig, AutoTokenizer, pipeline

import tiny_models
from tiny_models import PIPELINE_TASK, TASKS, build

HAS_SENTENCE_TRANSFORMERS = importlib.util.find_spec("sentence_transformers") is not None

ARCHITECTURES = {
    "text-classification": "BertForSequenceClassification",
    "token-classification": "BertForTokenClassification",
    "fill-mask": "BertForMaskedLM",
    "question-answering": "BertForQuestionAnswering",
    "zero-shot-classification": "BertForSequenceClassification",
    "summarization": "BartForConditionalGeneration",
    "translation": "T5ForConditionalGeneration",
    "text-generation": "GPT2LMHeadModel",
    "feature-extraction": "BertModel",
    "sentence-similarity": "BertModel",
    "image-classification": "ViTForImageClassification",
    "automatic-speech-recognition": "Wav2Vec2ForCTC",
}

BUILD_SECONDS: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def offline():
    """Offline for this module only: the other modules' clients talk to a live hub."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        patch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
        yield


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """Every task's model, built once for the module."""
    root = tmp_path_factory.mktemp("tiny-models")
    folders = {}
    for task in TASKS:
        start = time.perf_counter()
        folders[task] = build(task, root / task)
        BUILD_SECONDS[task] = time.perf_counter() - start
    return folders


def front_matter(folder: Path) -> dict:
    text = (folder / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])


def config_of(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text(encoding="utf-8"))


def test_tasks_are_the_pipeline_tags():
    assert set(TASKS) == set(ARCHITECTURES)
    assert len(TASKS) == len(set(TASKS))
    with pytest.raises(ValueError, match="unknown task"):
        build("text-to-image", Path("/nonexistent"))


@pytest.mark.parametrize("task", TASKS)
def test_folder(models, task):
    folder = models[task]
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert (folder / "model.safetensors").is_file()
    assert not [p for p in files if p.suffix in (".bin", ".pt", ".pth", ".ckpt", ".h5")]
    assert sum(p.stat().st_size for p in files) < 3 * 1024 * 1024
    assert BUILD_SECONDS[task] < 3

    config = config_of(folder)
    assert config["architectures"] == [ARCHITECTURES[task]]
    assert "auto_map" not in config  # no remote code
    for key in ("max_position_embeddings", "n_positions"):
        if key in config:
            assert config[key] >= 128
    meta = front_matter(folder)
    assert meta["pipeline_tag"] == task
    assert meta["library_name"] == "transformers"
    assert meta["license"] == "mit"
    assert task in meta["tags"]


def test_labels(models):
    def labels(task):
        config = config_of(models[task])
        assert {int(i): name for i, name in config["id2label"].items()} == {
            i: name for name, i in config["label2id"].items()
        }
        return [config["id2label"][str(i)] for i in range(len(config["id2label"]))]

    assert labels("text-classification") == ["NEGATIVE", "POSITIVE"]
    assert labels("token-classification") == ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    assert labels("zero-shot-classification") == ["entailment", "neutral", "contradiction"]
    assert labels("image-classification") == list(tiny_models.IMAGE_LABELS)


def test_readme_extras(models):
    widget = front_matter(models["text-generation"])["widget"]
    assert widget and isinstance(widget[0]["text"], str)
    meta = front_matter(models["sentence-similarity"])
    assert meta["pipeline_tag"] == "sentence-similarity"
    assert meta["tags"] == ["sentence-similarity", "feature-extraction"]


@pytest.mark.parametrize("task", ["text-classification", "text-generation", "translation"])
def test_build_is_deterministic(models, tmp_path, task):
    again = build(task, tmp_path / task)
    assert contents(models[task]) == contents(again)


def contents(folder: Path) -> dict[Path, bytes]:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# --- inference -----------------------------------------------------------------------------------


def run_pipeline(models, task):
    assert PIPELINE_TASK[task] is not None
    return pipeline(PIPELINE_TASK[task], model=str(models[task]), device="cpu")


def test_text_classification(models):
    out = run_pipeline(models, "text-classification")("This movie was wonderful!", top_k=None)
    assert sorted(r["label"] for r in out) == ["NEGATIVE", "POSITIVE"]
    assert math.isclose(sum(r["score"] for r in out), 1.0, rel_tol=1e-4)
    [best] = run_pipeline(models, "text-classification")(["I hate this terrible film."])
    assert best["label"] in ("NEGATIVE", "POSITIVE") and 0 < best["score"] <= 1


def test_token_classification(models):
    pipe = run_pipeline(models, "token-classification")
    out = pipe("John and Mary live in Paris.", ignore_labels=[])
    assert out and {r["entity"] for r in out} <= set(tiny_models.NER_LABELS)
    assert all({"word", "score", "start", "end"} <= set(r) for r in out)
    assert [r["word"] for r in out] == ["john", "and", "mary", "live", "in", "paris", "."]


def test_fill_mask(models):
    pipe = run_pipeline(models, "fill-mask")
    out = pipe(f"Paris is the {pipe.tokenizer.mask_token} of France.", top_k=3)
    assert len(out) == 3
    vocab = pipe.tokenizer.get_vocab()
    assert all(r["token"] in vocab.values() and r["token_str"] for r in out)
    assert all(isinstance(r["sequence"], str) for r in out)


def test_zero_shot_classification(models):
    pipe = run_pipeline(models, "zero-shot-classification")
    labels = ["sport", "politics", "music"]
    out = pipe("The band played a new song last night.", candidate_labels=labels)
    assert sorted(out["labels"]) == sorted(labels)
    assert math.isclose(sum(out["scores"]), 1.0, rel_tol=1e-4)


def test_question_answering(models):
    """What the removed question-answering pipeline did: the likeliest span of the context."""
    from transformers import AutoModelForQuestionAnswering

    folder = str(models["question-answering"])
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForQuestionAnswering.from_pretrained(folder).eval()
    question, context = "What is the capital of France?", "Paris is the capital of France."
    inputs = tokenizer(question, context, return_tensors="pt", return_offsets_mapping=True)
    offsets = inputs.pop("offset_mapping")[0]
    with torch.no_grad():
        out = model(**inputs)
    in_context = torch.tensor([i == 1 for i in inputs.sequence_ids(0)])
    start_logits = out.start_logits[0].masked_fill(~in_context, -1e9)
    end_logits = out.end_logits[0].masked_fill(~in_context, -1e9)
    scores = start_logits[:, None] + end_logits[None, :]
    scores = scores.masked_fill(~torch.ones_like(scores, dtype=torch.bool).triu(), -1e9)
    start, end = divmod(int(scores.argmax()), scores.shape[1])
    answer = context[int(offsets[start][0]) : int(offsets[end][1])]
    assert answer and answer in context


def generate(folder: Path, text: str) -> str:
    from transformers import AutoModelForSeq2SeqLM

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForSeq2SeqLM.from_pretrained(str(folder)).eval()
    inputs = tokenizer([text], return_tensors="pt", truncation=True)
    output = model.generate(**inputs, max_new_tokens=8)
    assert output.shape[0] == 1 and output.shape[1] <= 9 + 1
    return tokenizer.decode(output[0], skip_special_tokens=True)


def test_summarization(models):
    """What the removed summarization pipeline did: generate from the text."""
    text = " ".join([tiny_models.CORPUS] * 3)
    assert isinstance(generate(models["summarization"], text), str)


def test_translation(models):
    """What the removed translation pipeline did: generate from the task's prefix and the text."""
    config = AutoConfig.from_pretrained(str(models["translation"]))
    prefix = config.task_specific_params["translation_en_to_fr"]["prefix"]
    assert isinstance(generate(models["translation"], prefix + "The house is small."), str)
    tokenizer = AutoTokenizer.from_pretrained(str(models["translation"]))
    words = tokenizer.tokenize("the house is small")
    assert words == ["▁the", "▁house", "▁is", "▁small"]


def test_text_generation(models):
    pipe = run_pipeline(models, "text-generation")
    [out] = pipe("Once upon a time", max_new_tokens=5, do_sample=False)
    assert isinstance(out["generated_text"], str)
    assert out["generated_text"].startswith("Once upon a time")

    tokenizer = pipe.tokenizer
    assert tokenizer.eos_token == tokenizer.pad_token == "<|endoftext|>"
    messages = [{"role": "user", "content": "Hello there"}]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert rendered == "<|user|>\nHello there<|endoftext|>\n<|assistant|>\n"
    tokenizer_config = json.loads((models["text-generation"] / "tokenizer_config.json").read_text())
    assert tokenizer_config["chat_template"] == tiny_models.CHAT_TEMPLATE

    [chat] = pipe(messages, max_new_tokens=5, do_sample=False)
    assert chat["generated_text"][-1]["role"] == "assistant"
    assert isinstance(chat["generated_text"][-1]["content"], str)


@pytest.mark.parametrize("task", ["feature-extraction", "sentence-similarity"])
def test_feature_extraction(models, task):
    pipe = run_pipeline(models, task)
    text = "The quick brown fox jumps over the lazy dog."
    [vectors] = pipe(text)
    assert len(vectors) == len(pipe.tokenizer(text)["input_ids"])
    assert {len(v) for v in vectors} == {tiny_models.HIDDEN}


def test_sentence_transformers_files(models):
    folder = models["sentence-similarity"]
    if not HAS_SENTENCE_TRANSFORMERS:
        # without the package the folder is plain transformers (no half-written module files)
        assert not (folder / "modules.json").exists()
        assert (folder / "config.json").exists() and (folder / "model.safetensors").exists()
        return
    from sentence_transformers import SentenceTransformer

    pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] is True
    embeddings = SentenceTransformer(str(folder), device="cpu").encode(["a cat", "a dog"])
    assert embeddings.shape == (2, tiny_models.HIDDEN)


def test_image_classification_model(models):
    """The weights and config, without an image processor (which needs Pillow or torchvision)."""
    from transformers import AutoModelForImageClassification

    folder = str(models["image-classification"])
    model = AutoModelForImageClassification.from_pretrained(folder).eval()
    processor = json.loads(
        (models["image-classification"] / "preprocessor_config.json").read_text()
    )
    size = processor["size"]
    with torch.no_grad():
        logits = model(pixel_values=torch.zeros(1, 3, size["height"], size["width"])).logits
    assert logits.shape == (1, len(tiny_models.IMAGE_LABELS))


def test_image_classification(models):
    from PIL import Image

    gradient = np.linspace(0, 255, 64 * 48 * 3).reshape(48, 64, 3).astype(np.uint8)
    out = run_pipeline(models, "image-classification")(Image.fromarray(gradient), top_k=None)
    assert sorted(r["label"] for r in out) == sorted(tiny_models.IMAGE_LABELS)
    assert math.isclose(sum(r["score"] for r in out), 1.0, rel_tol=1e-4)


def test_automatic_speech_recognition(models):
    pipe = run_pipeline(models, "automatic-speech-recognition")
    t = np.arange(16000, dtype=np.float32) / 16000
    audio = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    out = pipe(audio)
    assert isinstance(out["text"], str)
    assert set(out["text"]) <= set(" 'ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    out = pipe({"raw": audio, "sampling_rate": 16000})
    assert isinstance(out["text"], str)


def test_no_remote_code_anywhere(models):
    assert int(transformers.__version__.split(".")[0]) >= 5
    for folder in models.values():
        assert not list(folder.rglob("*.py"))
        for path in folder.rglob("*.json"):
            assert "auto_map" not in path.read_text()
