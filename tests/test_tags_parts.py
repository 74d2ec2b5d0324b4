"""Pipeline inference, processors, file-format and arxiv tags, widgets, safetensors and dataset
tags: the parts the whole-repository tag lists of test_tags.py are assembled from."""

from __future__ import annotations

import pytest

from hubstead.domain.tags import (
    PIPELINE_TYPES,
    dataset_tags,
    derive_model_data,
    infer_pipeline_tag,
    summarize_safetensors,
)
from hubstead.domain.tags.tag_order import arxiv_ids, file_format_tags
from hubstead.domain.tags.transformers_info import compute_transformers_info
from hubstead.domain.tags.widgets import default_widget_inputs
from test_tags import snap

# ------------------------------------------------------------------ pipeline inference


def test_there_are_57_pipeline_types_in_order():
    assert len(PIPELINE_TYPES) == 57 == len(set(PIPELINE_TYPES))
    assert PIPELINE_TYPES[0] == "text-classification" and PIPELINE_TYPES[-1] == "other"


ARCHITECTURE_CASES = [
    ("BertForMaskedLM", "bert", "fill-mask", "AutoModelForMaskedLM"),
    ("BertForPreTraining", "bert", "fill-mask", "AutoModelForPreTraining"),
    (
        "RobertaForQuestionAnswering",
        "roberta",
        "question-answering",
        "AutoModelForQuestionAnswering",
    ),
    (
        "DistilBertForSequenceClassification",
        "distilbert",
        "text-classification",
        "AutoModelForSequenceClassification",
    ),
    (
        "XLMRobertaForTokenClassification",
        "xlm-roberta",
        "token-classification",
        "AutoModelForTokenClassification",
    ),
    ("AlbertModel", "albert", "feature-extraction", "AutoModel"),
    ("GPT2LMHeadModel", "gpt2", "text-generation", "AutoModelForCausalLM"),
    ("LlamaForCausalLM", "llama", "text-generation", "AutoModelForCausalLM"),
    ("MistralForCausalLM", "mistral", "text-generation", "AutoModelForCausalLM"),
    ("Qwen2ForCausalLM", "qwen2", "text-generation", "AutoModelForCausalLM"),
    ("T5ForConditionalGeneration", "t5", "text-generation", "AutoModelForSeq2SeqLM"),
    ("BartForConditionalGeneration", "bart", "text-generation", "AutoModelForSeq2SeqLM"),
    ("MarianMTModel", "marian", "translation", "AutoModelForSeq2SeqLM"),
    ("PegasusForConditionalGeneration", "pegasus", "summarization", "AutoModelForSeq2SeqLM"),
    (
        "WhisperForConditionalGeneration",
        "whisper",
        "automatic-speech-recognition",
        "AutoModelForSpeechSeq2Seq",
    ),
    ("Wav2Vec2ForCTC", "wav2vec2", "automatic-speech-recognition", "AutoModelForCTC"),
    (
        "Wav2Vec2ForSequenceClassification",
        "wav2vec2",
        "audio-classification",
        "AutoModelForAudioClassification",
    ),
    ("MusicgenForConditionalGeneration", "musicgen", "text-to-audio", "AutoModelForTextToWaveform"),
    ("SpeechT5ForTextToSpeech", "speecht5", "text-to-speech", "AutoModelForTextToSpectrogram"),
    ("ViTForImageClassification", "vit", "image-classification", "AutoModelForImageClassification"),
    ("ViTModel", "vit", "image-feature-extraction", "AutoModel"),
    ("DetrForObjectDetection", "detr", "object-detection", "AutoModelForObjectDetection"),
    (
        "SegformerForSemanticSegmentation",
        "segformer",
        "image-segmentation",
        "AutoModelForSemanticSegmentation",
    ),
    (
        "Mask2FormerForUniversalSegmentation",
        "mask2former",
        "image-segmentation",
        "AutoModelForUniversalSegmentation",
    ),
    ("DPTForDepthEstimation", "dpt", "depth-estimation", "AutoModelForDepthEstimation"),
    (
        "CLIPModel",
        "clip",
        "zero-shot-image-classification",
        "AutoModelForZeroShotImageClassification",
    ),
    (
        "OwlViTForObjectDetection",
        "owlvit",
        "zero-shot-object-detection",
        "AutoModelForZeroShotObjectDetection",
    ),
    ("SamModel", "sam", "mask-generation", "AutoModelForMaskGeneration"),
    ("LlavaForConditionalGeneration", "llava", "image-text-to-text", "AutoModelForImageTextToText"),
    ("BlipForConditionalGeneration", "blip", "image-to-text", "AutoModelForImageTextToText"),
    (
        "ViltForQuestionAnswering",
        "vilt",
        "visual-question-answering",
        "AutoModelForVisualQuestionAnswering",
    ),
    (
        "LayoutLMv3ForQuestionAnswering",
        "layoutlmv3",
        "document-question-answering",
        "AutoModelForDocumentQuestionAnswering",
    ),
    (
        "TapasForQuestionAnswering",
        "tapas",
        "table-question-answering",
        "AutoModelForTableQuestionAnswering",
    ),
    (
        "VideoMAEForVideoClassification",
        "videomae",
        "video-classification",
        "AutoModelForVideoClassification",
    ),
    ("Swin2SRForImageSuperResolution", "swin2sr", "image-to-image", "AutoModelForImageToImage"),
    # Not in the table: resolved by the suffix heuristic.
    ("NewArchForMaskedLM", "newarch", "fill-mask", "AutoModelForMaskedLM"),
    ("NewArchForCausalLM", "newarch", "text-generation", "AutoModelForCausalLM"),
    (
        "NewArchForSequenceClassification",
        "newarch",
        "text-classification",
        "AutoModelForSequenceClassification",
    ),
    (
        "NewArchForTokenClassification",
        "newarch",
        "token-classification",
        "AutoModelForTokenClassification",
    ),
    (
        "NewArchForImageClassification",
        "newarch",
        "image-classification",
        "AutoModelForImageClassification",
    ),
    (
        "HubertXForSequenceClassification",
        "hubert",
        "audio-classification",
        "AutoModelForAudioClassification",
    ),
    (
        "Qwen9VLForConditionalGeneration",
        "qwen9_vl",
        "image-text-to-text",
        "AutoModelForImageTextToText",
    ),
    ("NewSeq2SeqForConditionalGeneration", "newseq", "text-generation", "AutoModelForSeq2SeqLM"),
    ("NewArchModel", "newarch", "feature-extraction", "AutoModel"),
]


@pytest.mark.parametrize(("arch", "model_type", "task", "auto_class"), ARCHITECTURE_CASES)
def test_pipeline_inferred_from_architecture(arch, model_type, task, auto_class):
    config = {"architectures": [arch], "model_type": model_type}
    if model_type == "qwen9_vl":
        config["vision_config"] = {"depth": 32}
    repo = snap(["config.json", "model.safetensors"], config=config)
    assert infer_pipeline_tag(repo, "transformers") == task
    info = compute_transformers_info(config)
    assert info["auto_model"] == auto_class and info["pipeline_tag"] == task


def test_card_pipeline_wins_and_invalid_card_pipeline_is_ignored():
    config = {"architectures": ["BertForSequenceClassification"], "model_type": "bert"}
    repo = snap(["config.json"], card={"pipeline_tag": "zero-shot-classification"}, config=config)
    assert infer_pipeline_tag(repo, "transformers") == "zero-shot-classification"
    bogus = snap(["config.json"], card={"pipeline_tag": "text2text-generation"}, config=config)
    assert infer_pipeline_tag(bogus, "transformers") == "text-classification"


def test_unknown_architecture_and_no_tags_gives_no_pipeline():
    repo = snap(["config.json"], config={"architectures": ["Mystery"], "model_type": "x"})
    assert infer_pipeline_tag(repo, "transformers") is None


def test_processors():
    assert (
        compute_transformers_info(
            {"architectures": ["ViTForImageClassification"], "model_type": "vit"}
        )["processor"]
        == "AutoImageProcessor"
    )
    assert (
        compute_transformers_info({"architectures": ["Wav2Vec2ForCTC"], "model_type": "wav2vec2"})[
            "processor"
        ]
        == "AutoProcessor"
    )
    assert (
        compute_transformers_info(
            {"architectures": ["HubertForSequenceClassification"], "model_type": "hubert"}
        )["processor"]
        == "AutoFeatureExtractor"
    )


# ------------------------------------------------------------------ files, arxiv


def test_file_format_tags():
    assert file_format_tags(["sub/pytorch_model.bin", "model.ckpt"]) == []
    assert file_format_tags(
        [
            "pytorch_model-00001-of-00002.bin",
            "model.tflite",
            "model.gguf",
            "runs/x/events.out.tfevents.1.host",
            "weights.keras",
        ]
    ) == ["pytorch", "tflite", "tensorboard", "gguf", "keras"]
    assert file_format_tags(["model.pt"]) == ["pytorch"]


def test_arxiv_ids_from_links():
    text = (
        "https://arxiv.org/abs/2106.09685v2, arxiv.org/pdf/2106.09685.pdf, "
        "https://hf.co/papers/2305.14314, https://huggingface.co/papers/2401.00001 "
        "and arxiv.org/abs/hep-th/9901001; not arxiv: 1234.5678"
    )
    assert arxiv_ids(text) == ["2106.09685", "2305.14314", "2401.00001", "hep-th/9901001"]


# ------------------------------------------------------------------ widgets


def test_fill_mask_widget_uses_model_mask_token_from_tokenizer():
    data = derive_model_data(
        snap(
            ["config.json", "model.safetensors"],
            card={"language": ["fr"]},
            config={"architectures": ["CamembertForMaskedLM"], "model_type": "camembert"},
            tokenizer={"mask_token": {"__type": "AddedToken", "content": "<mask>", "lstrip": True}},
        )
    )
    assert data.mask_token == "<mask>"
    assert data.widget_data == [{"text": "Paris est la <mask> de la France."}]


def test_widget_defaults_english_vs_other_language():
    assert default_widget_inputs("fill-mask", ["en"], "[MASK]") == [
        {"text": "Paris is the [MASK] of France."},
        {"text": "The goal of life is [MASK]."},
    ]
    assert default_widget_inputs("fill-mask", ["es"], "[MASK]") == [
        {"text": "Mi nombre es [MASK] y vivo en Nueva York."},
        {"text": "El español es un idioma muy [MASK] en el mundo."},
    ]
    # German has no fill-mask defaults: fall back to English; no language at all → English.
    assert default_widget_inputs("fill-mask", ["de"], None) == [
        {"text": "Paris is the <mask> of France."},
        {"text": "The goal of life is <mask>."},
    ]
    assert default_widget_inputs("text-classification", []) == [{"text": "I like you. I love you"}]
    assert default_widget_inputs("image-classification", ["en"]) == []


def test_card_mask_token_and_card_widget_win():
    data = derive_model_data(
        snap(
            ["config.json"],
            card={"mask_token": "<special1>", "widget": ["Hello <special1>!", {"text": "x"}]},
            config={"architectures": ["BertForMaskedLM"], "model_type": "bert"},
        )
    )
    assert data.mask_token == "<special1>"
    assert data.widget_data == [{"text": "Hello <special1>!"}, {"text": "x"}]


# ------------------------------------------------------------------ safetensors, datasets


def test_safetensors_summary_over_shards():
    shard1 = {
        "__metadata__": {"format": "pt"},
        "embed.weight": {"dtype": "BF16", "shape": [32000, 4096], "data_offsets": [0, 1]},
        "norm.weight": {"dtype": "F32", "shape": [4096], "data_offsets": [1, 2]},
    }
    shard2 = {
        "lm_head.weight": {"dtype": "BF16", "shape": [32000, 4096], "data_offsets": [0, 1]},
        "scalar": {"dtype": "F32", "shape": [], "data_offsets": [1, 2]},
        "q.weight": {"dtype": "I8", "shape": [16, 8], "data_offsets": [2, 3]},
    }
    assert summarize_safetensors([shard1, shard2]) == {
        "parameters": {"BF16": 2 * 32000 * 4096, "F32": 4097, "I8": 128},
        "total": 2 * 32000 * 4096 + 4097 + 128,
    }
    assert summarize_safetensors([]) == {"parameters": {}, "total": 0}


def test_dataset_tags():
    card = {
        "annotations_creators": ["crowdsourced"],
        "language_creators": ["crowdsourced"],
        "language": ["en"],
        "license": "mit",
        "multilinguality": ["monolingual"],
        "size_categories": ["1K<n<10K"],
        "source_datasets": ["original"],
        "task_categories": ["text-generation"],
        "tags": ["math-word-problems"],
    }
    files = [
        "README.md",
        ".gitattributes",
        "main/train-00000-of-00001.parquet",
        "main/test-00000-of-00001.parquet",
    ]
    assert dataset_tags(card, files) == [
        "task_categories:text-generation",
        "annotations_creators:crowdsourced",
        "language_creators:crowdsourced",
        "multilinguality:monolingual",
        "source_datasets:original",
        "language:en",
        "license:mit",
        "size_categories:1K<n<10K",
        "format:parquet",
        "modality:text",
        "library:datasets",
        "library:pandas",
        "library:mlcroissant",
        "library:polars",
        "region:us",
        "math-word-problems",
    ]
    assert dataset_tags({}, ["README.md", "images/a.jpg"], region=None) == [
        "format:imagefolder",
        "modality:image",
        "library:datasets",
        "library:mlcroissant",
    ]
