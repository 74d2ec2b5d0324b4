"""Pipeline types as the derivation uses them, and the transformers architecture → task tables.

The Hub picks exactly one ``pipeline_tag`` per model. When the card does not name one, it is
inferred: for transformers from ``config.json`` ``architectures[0]`` (through the Auto class the
architecture is registered under), for other libraries from the card's task-name tags. These
tables are *data* about the public ecosystem (pipeline names, architecture class names), kept
here so the inference rules in :mod:`hubstead.domain.tags.pipeline_tag` and
:mod:`hubstead.domain.tags.transformers_info` stay short.
"""

from __future__ import annotations

from typing import TypeGuard

from hubstead.domain.cards.vocabulary import PIPELINE_TYPES

# The 57 pipeline types, in the Hub's PIPELINE_DATA order, are defined once, with their
# subtasks, in the card vocabulary (cards validate `pipeline_tag` and `task_categories` against
# it); this module is the derivation's view of the same list. The order matters: when several
# task tags are present, the first one in this list wins ("decreasing specificity").
PIPELINE_SET: frozenset[str] = frozenset(PIPELINE_TYPES)
_PIPELINE_RANK: dict[str, int] = {name: i for i, name in enumerate(PIPELINE_TYPES)}


def is_pipeline_type(value: object) -> TypeGuard[str]:
    """True for one of the 57 valid ``pipeline_tag`` values (card values are not trusted)."""
    return isinstance(value, str) and value in PIPELINE_SET


def first_pipeline_in(tags: list[str]) -> str | None:
    """The task tag that comes first in PIPELINE order, not in card order.

    This is how the Hub breaks ties for non-transformers models tagged with several tasks.
    """
    found = [t for t in tags if t in PIPELINE_SET]
    return min(found, key=_PIPELINE_RANK.__getitem__) if found else None


# Pipeline types by what the model reads: the processor a snippet loads (text → tokenizer,
# image → image processor) and the modality tags of datasets follow these groups.
TEXT_TASKS: frozenset[str] = frozenset(
    {
        "text-classification",
        "token-classification",
        "table-question-answering",
        "question-answering",
        "zero-shot-classification",
        "translation",
        "summarization",
        "feature-extraction",
        "text-generation",
        "fill-mask",
        "sentence-similarity",
        "multiple-choice",
        "text-ranking",
    }
)
IMAGE_TASKS: frozenset[str] = frozenset(
    {
        "image-classification",
        "object-detection",
        "image-segmentation",
        "depth-estimation",
        "image-feature-extraction",
        "image-to-image",
        "video-classification",
        "keypoint-detection",
    }
)


# transformers Auto class → Hub pipeline_tag. Seq2SeqLM defaults to text-generation because
# ``text2text-generation`` is no longer a pipeline type (it is a subtask of text-generation);
# translation/summarization models are recognised per model type (see SEQ2SEQ_TASK_BY_MODEL_TYPE).
AUTO_CLASS_TASK: dict[str, str] = {
    "AutoModel": "feature-extraction",
    "AutoModelForPreTraining": "fill-mask",
    "AutoModelForMaskedLM": "fill-mask",
    "AutoModelForCausalLM": "text-generation",
    "AutoModelForSeq2SeqLM": "text-generation",
    "AutoModelForSequenceClassification": "text-classification",
    "AutoModelForTokenClassification": "token-classification",
    "AutoModelForQuestionAnswering": "question-answering",
    "AutoModelForTableQuestionAnswering": "table-question-answering",
    "AutoModelForMultipleChoice": "multiple-choice",
    "AutoModelForNextSentencePrediction": "text-classification",
    "AutoModelForSpeechSeq2Seq": "automatic-speech-recognition",
    "AutoModelForCTC": "automatic-speech-recognition",
    "AutoModelForAudioClassification": "audio-classification",
    "AutoModelForAudioFrameClassification": "audio-classification",
    "AutoModelForAudioXVector": "audio-classification",
    "AutoModelForTextToSpectrogram": "text-to-speech",
    "AutoModelForTextToWaveform": "text-to-audio",
    "AutoModelForImageClassification": "image-classification",
    "AutoModelForImageSegmentation": "image-segmentation",
    "AutoModelForSemanticSegmentation": "image-segmentation",
    "AutoModelForInstanceSegmentation": "image-segmentation",
    "AutoModelForUniversalSegmentation": "image-segmentation",
    "AutoModelForObjectDetection": "object-detection",
    "AutoModelForZeroShotObjectDetection": "zero-shot-object-detection",
    "AutoModelForZeroShotImageClassification": "zero-shot-image-classification",
    "AutoModelForDepthEstimation": "depth-estimation",
    "AutoModelForImageToImage": "image-to-image",
    "AutoModelForMaskedImageModeling": "image-feature-extraction",
    "AutoModelForImageTextToText": "image-text-to-text",
    "AutoModelForVision2Seq": "image-text-to-text",
    "AutoModelForVisualQuestionAnswering": "visual-question-answering",
    "AutoModelForDocumentQuestionAnswering": "document-question-answering",
    "AutoModelForVideoClassification": "video-classification",
    "AutoModelForMaskGeneration": "mask-generation",
    "AutoModelForKeypointDetection": "keypoint-detection",
    "AutoModelForMultimodalLM": "any-to-any",
    "AutoModelForTimeSeriesPrediction": "time-series-forecasting",
    "AutoBackbone": "image-feature-extraction",
}

# Vision / audio encoders whose bare ``…Model`` means image (not text) feature extraction.
VISION_MODEL_TYPES: frozenset[str] = frozenset(
    {
        "vit",
        "deit",
        "beit",
        "swin",
        "swinv2",
        "convnext",
        "convnextv2",
        "resnet",
        "regnet",
        "efficientnet",
        "mobilenet_v1",
        "mobilenet_v2",
        "mobilevit",
        "dinov2",
        "dinov3_vit",
        "levit",
        "poolformer",
        "pvt",
        "van",
        "bit",
        "focalnet",
        "hiera",
        "vit_mae",
        "vit_msn",
        "segformer",
        "yolos",
        "data2vec-vision",
        "siglip_vision_model",
        "clip_vision_model",
    }
)

# Model types whose Seq2SeqLM head is a translation or summarization model.
SEQ2SEQ_TASK_BY_MODEL_TYPE: dict[str, str] = {
    "marian": "translation",
    "fsmt": "translation",
    "m2m_100": "translation",
    "nllb-moe": "translation",
    "pegasus": "summarization",
    "pegasus_x": "summarization",
    "bigbird_pegasus": "summarization",
    "led": "summarization",
}

# Architecture class name → Auto class it is registered under (first match in the transformers
# Auto mappings, task heads before the generic MODEL/PRETRAINING maps). Listed as data.
ARCHITECTURE_AUTO_CLASS: dict[str, str] = {
    # encoders (BERT family)
    "BertForMaskedLM": "AutoModelForMaskedLM",
    "BertForPreTraining": "AutoModelForPreTraining",
    "BertLMHeadModel": "AutoModelForCausalLM",
    "BertForSequenceClassification": "AutoModelForSequenceClassification",
    "BertForTokenClassification": "AutoModelForTokenClassification",
    "BertForQuestionAnswering": "AutoModelForQuestionAnswering",
    "BertForMultipleChoice": "AutoModelForMultipleChoice",
    "BertForNextSentencePrediction": "AutoModelForNextSentencePrediction",
    "BertModel": "AutoModel",
    "AlbertForMaskedLM": "AutoModelForMaskedLM",
    "AlbertForPreTraining": "AutoModelForPreTraining",
    "AlbertModel": "AutoModel",
    "DistilBertForMaskedLM": "AutoModelForMaskedLM",
    "DistilBertForSequenceClassification": "AutoModelForSequenceClassification",
    "DistilBertForTokenClassification": "AutoModelForTokenClassification",
    "DistilBertForQuestionAnswering": "AutoModelForQuestionAnswering",
    "DistilBertModel": "AutoModel",
    "RobertaForMaskedLM": "AutoModelForMaskedLM",
    "RobertaForCausalLM": "AutoModelForCausalLM",
    "RobertaForSequenceClassification": "AutoModelForSequenceClassification",
    "RobertaForTokenClassification": "AutoModelForTokenClassification",
    "RobertaForQuestionAnswering": "AutoModelForQuestionAnswering",
    "RobertaModel": "AutoModel",
    "XLMRobertaForMaskedLM": "AutoModelForMaskedLM",
    "XLMRobertaForSequenceClassification": "AutoModelForSequenceClassification",
    "XLMRobertaForTokenClassification": "AutoModelForTokenClassification",
    "XLMRobertaModel": "AutoModel",
    "CamembertForMaskedLM": "AutoModelForMaskedLM",
    "DebertaForMaskedLM": "AutoModelForMaskedLM",
    "DebertaV2ForMaskedLM": "AutoModelForMaskedLM",
    "DebertaV2ForSequenceClassification": "AutoModelForSequenceClassification",
    "DebertaV2ForTokenClassification": "AutoModelForTokenClassification",
    "ElectraForPreTraining": "AutoModelForPreTraining",
    "ElectraForMaskedLM": "AutoModelForMaskedLM",
    "ElectraForSequenceClassification": "AutoModelForSequenceClassification",
    "MPNetForMaskedLM": "AutoModelForMaskedLM",
    "MPNetModel": "AutoModel",
    "ModernBertForMaskedLM": "AutoModelForMaskedLM",
    "ModernBertModel": "AutoModel",
    "LongformerForMaskedLM": "AutoModelForMaskedLM",
    "BigBirdForMaskedLM": "AutoModelForMaskedLM",
    "FlaubertWithLMHeadModel": "AutoModelForMaskedLM",
    "XLMWithLMHeadModel": "AutoModelForCausalLM",
    "TapasForQuestionAnswering": "AutoModelForTableQuestionAnswering",
    "LayoutLMForMaskedLM": "AutoModelForMaskedLM",
    "LayoutLMForQuestionAnswering": "AutoModelForDocumentQuestionAnswering",
    "LayoutLMv2ForQuestionAnswering": "AutoModelForDocumentQuestionAnswering",
    "LayoutLMv3ForQuestionAnswering": "AutoModelForDocumentQuestionAnswering",
    "LayoutLMv3ForTokenClassification": "AutoModelForTokenClassification",
    # decoders
    "GPT2LMHeadModel": "AutoModelForCausalLM",
    "GPT2Model": "AutoModel",
    "GPTNeoForCausalLM": "AutoModelForCausalLM",
    "GPTNeoXForCausalLM": "AutoModelForCausalLM",
    "GPTJForCausalLM": "AutoModelForCausalLM",
    "OPTForCausalLM": "AutoModelForCausalLM",
    "BloomForCausalLM": "AutoModelForCausalLM",
    "LlamaForCausalLM": "AutoModelForCausalLM",
    "LlamaForSequenceClassification": "AutoModelForSequenceClassification",
    "MistralForCausalLM": "AutoModelForCausalLM",
    "MixtralForCausalLM": "AutoModelForCausalLM",
    "GemmaForCausalLM": "AutoModelForCausalLM",
    "Gemma2ForCausalLM": "AutoModelForCausalLM",
    "Gemma3ForCausalLM": "AutoModelForCausalLM",
    "Qwen2ForCausalLM": "AutoModelForCausalLM",
    "Qwen2MoeForCausalLM": "AutoModelForCausalLM",
    "Qwen3ForCausalLM": "AutoModelForCausalLM",
    "Qwen3MoeForCausalLM": "AutoModelForCausalLM",
    "PhiForCausalLM": "AutoModelForCausalLM",
    "Phi3ForCausalLM": "AutoModelForCausalLM",
    "FalconForCausalLM": "AutoModelForCausalLM",
    "Starcoder2ForCausalLM": "AutoModelForCausalLM",
    "GPTBigCodeForCausalLM": "AutoModelForCausalLM",
    "CodeGenForCausalLM": "AutoModelForCausalLM",
    "CTRLLMHeadModel": "AutoModelForCausalLM",
    "CohereForCausalLM": "AutoModelForCausalLM",
    "OlmoForCausalLM": "AutoModelForCausalLM",
    "DeepseekV3ForCausalLM": "AutoModelForCausalLM",
    "XGLMForCausalLM": "AutoModelForCausalLM",
    "MambaForCausalLM": "AutoModelForCausalLM",
    "RwkvForCausalLM": "AutoModelForCausalLM",
    # encoder-decoders (text)
    "T5ForConditionalGeneration": "AutoModelForSeq2SeqLM",
    "T5EncoderModel": "AutoModel",
    "T5Model": "AutoModel",
    "MT5ForConditionalGeneration": "AutoModelForSeq2SeqLM",
    "UMT5ForConditionalGeneration": "AutoModelForSeq2SeqLM",
    "LongT5ForConditionalGeneration": "AutoModelForSeq2SeqLM",
    "BartForConditionalGeneration": "AutoModelForSeq2SeqLM",
    "BartForSequenceClassification": "AutoModelForSequenceClassification",
    "BartModel": "AutoModel",
    "MBartForConditionalGeneration": "AutoModelForSeq2SeqLM",
    "MarianMTModel": "AutoModelForSeq2SeqLM",
    "PegasusForConditionalGeneration": "AutoModelForSeq2SeqLM",
    "LEDForConditionalGeneration": "AutoModelForSeq2SeqLM",
    "BlenderbotForConditionalGeneration": "AutoModelForSeq2SeqLM",
    "M2M100ForConditionalGeneration": "AutoModelForSeq2SeqLM",
    "FSMTForConditionalGeneration": "AutoModelForSeq2SeqLM",
    "ProphetNetForConditionalGeneration": "AutoModelForSeq2SeqLM",
    "EncoderDecoderModel": "AutoModelForSeq2SeqLM",
    # speech / audio
    "WhisperForConditionalGeneration": "AutoModelForSpeechSeq2Seq",
    "WhisperForAudioClassification": "AutoModelForAudioClassification",
    "Speech2TextForConditionalGeneration": "AutoModelForSpeechSeq2Seq",
    "SpeechT5ForSpeechToText": "AutoModelForSpeechSeq2Seq",
    "SpeechT5ForTextToSpeech": "AutoModelForTextToSpectrogram",
    "Wav2Vec2ForCTC": "AutoModelForCTC",
    "Wav2Vec2ForSequenceClassification": "AutoModelForAudioClassification",
    "Wav2Vec2ForPreTraining": "AutoModelForPreTraining",
    "Wav2Vec2Model": "AutoModel",
    "HubertForCTC": "AutoModelForCTC",
    "HubertForSequenceClassification": "AutoModelForAudioClassification",
    "WavLMForCTC": "AutoModelForCTC",
    "WavLMForXVector": "AutoModelForAudioXVector",
    "Data2VecAudioForCTC": "AutoModelForCTC",
    "ASTForAudioClassification": "AutoModelForAudioClassification",
    "MusicgenForConditionalGeneration": "AutoModelForTextToWaveform",
    "BarkModel": "AutoModelForTextToWaveform",
    "VitsModel": "AutoModelForTextToWaveform",
    "SeamlessM4TForTextToSpeech": "AutoModelForTextToWaveform",
    "SeamlessM4TForSpeechToText": "AutoModelForSpeechSeq2Seq",
    # vision
    "ViTForImageClassification": "AutoModelForImageClassification",
    "ViTModel": "AutoModel",
    "DeiTForImageClassification": "AutoModelForImageClassification",
    "DeiTForImageClassificationWithTeacher": "AutoModelForImageClassification",
    "BeitForImageClassification": "AutoModelForImageClassification",
    "BeitForSemanticSegmentation": "AutoModelForSemanticSegmentation",
    "SwinForImageClassification": "AutoModelForImageClassification",
    "Swinv2ForImageClassification": "AutoModelForImageClassification",
    "ConvNextForImageClassification": "AutoModelForImageClassification",
    "ConvNextV2ForImageClassification": "AutoModelForImageClassification",
    "ResNetForImageClassification": "AutoModelForImageClassification",
    "RegNetForImageClassification": "AutoModelForImageClassification",
    "EfficientNetForImageClassification": "AutoModelForImageClassification",
    "MobileNetV2ForImageClassification": "AutoModelForImageClassification",
    "MobileViTForImageClassification": "AutoModelForImageClassification",
    "Dinov2Model": "AutoModel",
    "Dinov2ForImageClassification": "AutoModelForImageClassification",
    "DetrForObjectDetection": "AutoModelForObjectDetection",
    "DetrForSegmentation": "AutoModelForImageSegmentation",
    "ConditionalDetrForObjectDetection": "AutoModelForObjectDetection",
    "DeformableDetrForObjectDetection": "AutoModelForObjectDetection",
    "YolosForObjectDetection": "AutoModelForObjectDetection",
    "TableTransformerForObjectDetection": "AutoModelForObjectDetection",
    "RTDetrForObjectDetection": "AutoModelForObjectDetection",
    "SegformerForSemanticSegmentation": "AutoModelForSemanticSegmentation",
    "Mask2FormerForUniversalSegmentation": "AutoModelForUniversalSegmentation",
    "MaskFormerForInstanceSegmentation": "AutoModelForInstanceSegmentation",
    "UperNetForSemanticSegmentation": "AutoModelForSemanticSegmentation",
    "DPTForDepthEstimation": "AutoModelForDepthEstimation",
    "DepthAnythingForDepthEstimation": "AutoModelForDepthEstimation",
    "GLPNForDepthEstimation": "AutoModelForDepthEstimation",
    "Swin2SRForImageSuperResolution": "AutoModelForImageToImage",
    "SamModel": "AutoModelForMaskGeneration",
    "VideoMAEForVideoClassification": "AutoModelForVideoClassification",
    "TimesformerForVideoClassification": "AutoModelForVideoClassification",
    # vision-language
    "CLIPModel": "AutoModelForZeroShotImageClassification",
    "SiglipModel": "AutoModelForZeroShotImageClassification",
    "ChineseCLIPModel": "AutoModelForZeroShotImageClassification",
    "OwlViTForObjectDetection": "AutoModelForZeroShotObjectDetection",
    "Owlv2ForObjectDetection": "AutoModelForZeroShotObjectDetection",
    "GroundingDinoForObjectDetection": "AutoModelForZeroShotObjectDetection",
    "BlipForConditionalGeneration": "AutoModelForImageTextToText",
    "BlipForQuestionAnswering": "AutoModelForVisualQuestionAnswering",
    "Blip2ForConditionalGeneration": "AutoModelForImageTextToText",
    "ViltForQuestionAnswering": "AutoModelForVisualQuestionAnswering",
    "GitForCausalLM": "AutoModelForImageTextToText",
    "VisionEncoderDecoderModel": "AutoModelForImageTextToText",
    "LlavaForConditionalGeneration": "AutoModelForImageTextToText",
    "LlavaNextForConditionalGeneration": "AutoModelForImageTextToText",
    "PaliGemmaForConditionalGeneration": "AutoModelForImageTextToText",
    "Idefics2ForConditionalGeneration": "AutoModelForImageTextToText",
    "Idefics3ForConditionalGeneration": "AutoModelForImageTextToText",
    "Qwen2VLForConditionalGeneration": "AutoModelForImageTextToText",
    "Qwen2_5_VLForConditionalGeneration": "AutoModelForImageTextToText",
    "MllamaForConditionalGeneration": "AutoModelForImageTextToText",
    "Gemma3ForConditionalGeneration": "AutoModelForImageTextToText",
    "Pix2StructForConditionalGeneration": "AutoModelForImageTextToText",
    "Kosmos2ForConditionalGeneration": "AutoModelForImageTextToText",
}

# Per-architecture task where the Auto class alone is ambiguous (same class, other task).
ARCHITECTURE_TASK_OVERRIDES: dict[str, str] = {
    "BlipForConditionalGeneration": "image-to-text",
    "GitForCausalLM": "image-to-text",
    "VisionEncoderDecoderModel": "image-to-text",
    "Pix2StructForConditionalGeneration": "image-to-text",
    "Kosmos2ForConditionalGeneration": "image-to-text",
}

# Suffix heuristic for architectures not in the table; checked in this order (longest,
# most specific suffixes first so ``…ForImageClassification`` beats ``…Model``).
SUFFIX_AUTO_CLASS: tuple[tuple[str, str], ...] = (
    ("ForMaskedLM", "AutoModelForMaskedLM"),
    ("ForCausalLM", "AutoModelForCausalLM"),
    ("LMHeadModel", "AutoModelForCausalLM"),
    ("ForSequenceClassification", "AutoModelForSequenceClassification"),
    ("ForTokenClassification", "AutoModelForTokenClassification"),
    ("ForQuestionAnswering", "AutoModelForQuestionAnswering"),
    ("ForMultipleChoice", "AutoModelForMultipleChoice"),
    ("ForPreTraining", "AutoModelForPreTraining"),
    ("ForCTC", "AutoModelForCTC"),
    ("ForAudioClassification", "AutoModelForAudioClassification"),
    ("ForAudioFrameClassification", "AutoModelForAudioFrameClassification"),
    ("ForXVector", "AutoModelForAudioXVector"),
    ("ForTextToSpeech", "AutoModelForTextToSpectrogram"),
    ("ForImageClassification", "AutoModelForImageClassification"),
    ("ForImageClassificationWithTeacher", "AutoModelForImageClassification"),
    ("ForSemanticSegmentation", "AutoModelForSemanticSegmentation"),
    ("ForInstanceSegmentation", "AutoModelForInstanceSegmentation"),
    ("ForUniversalSegmentation", "AutoModelForUniversalSegmentation"),
    ("ForObjectDetection", "AutoModelForObjectDetection"),
    ("ForDepthEstimation", "AutoModelForDepthEstimation"),
    ("ForImageSuperResolution", "AutoModelForImageToImage"),
    ("ForVideoClassification", "AutoModelForVideoClassification"),
    ("ForVision2Seq", "AutoModelForVision2Seq"),
    ("ForImageTextToText", "AutoModelForImageTextToText"),
    ("ForKeypointDetection", "AutoModelForKeypointDetection"),
    ("ForPrediction", "AutoModelForTimeSeriesPrediction"),
    ("MTModel", "AutoModelForSeq2SeqLM"),
    ("Backbone", "AutoBackbone"),
    ("EncoderModel", "AutoModel"),
    ("Model", "AutoModel"),
)

# Model types whose ``…ForConditionalGeneration`` head is not a text seq2seq model.
SPEECH_SEQ2SEQ_MODEL_TYPES: frozenset[str] = frozenset(
    {
        "whisper",
        "speech_to_text",
        "speech-encoder-decoder",
        "moonshine",
    }
)
TEXT_TO_AUDIO_MODEL_TYPES: frozenset[str] = frozenset(
    {
        "musicgen",
        "musicgen_melody",
        "bark",
        "vits",
        "fastspeech2_conformer",
        "csm",
        "dia",
    }
)
IMAGE_TO_TEXT_MODEL_TYPES: frozenset[str] = frozenset(
    {
        "blip",
        "git",
        "pix2struct",
        "kosmos-2",
        "vision-encoder-decoder",
    }
)
# Everything else with vision inputs: the VLM families (chat with images).
IMAGE_TEXT_TO_TEXT_MODEL_TYPES: frozenset[str] = frozenset(
    {
        "llava",
        "llava_next",
        "llava_onevision",
        "llava_next_video",
        "paligemma",
        "idefics",
        "idefics2",
        "idefics3",
        "qwen2_vl",
        "qwen2_5_vl",
        "qwen3_vl",
        "mllama",
        "gemma3",
        "gemma3n",
        "blip-2",
        "instructblip",
        "florence2",
        "smolvlm",
        "pixtral",
        "mistral3",
        "llama4",
        "internvl",
        "aria",
        "chameleon",
        "fuyu",
        "aya_vision",
        "emu3",
        "janus",
        "got_ocr2",
    }
)
AUDIO_TEXT_TO_TEXT_MODEL_TYPES: frozenset[str] = frozenset(
    {
        "qwen2_audio",
        "voxtral",
        "granite_speech",
        "kyutai_speech_to_text",
    }
)

# Libraries (other than transformers) whose widget the Hub serves, and their tasks.
LIBRARY_TASKS: dict[str, tuple[str, ...]] = {
    "adapter-transformers": ("question-answering", "text-classification", "token-classification"),
    "allennlp": ("question-answering",),
    "asteroid": ("audio-to-audio",),
    "bertopic": ("text-classification",),
    "diffusers": ("image-to-image", "text-to-image"),
    "doctr": ("object-detection",),
    "espnet": ("text-to-speech", "automatic-speech-recognition"),
    "fairseq": ("text-to-speech", "audio-to-audio"),
    "fastai": ("image-classification",),
    "fasttext": ("feature-extraction", "text-classification"),
    "flair": ("token-classification",),
    "k2": ("automatic-speech-recognition",),
    "keras": ("image-classification",),
    "nemo": ("automatic-speech-recognition",),
    "open_clip": ("zero-shot-classification", "zero-shot-image-classification"),
    "paddlenlp": ("fill-mask", "summarization", "zero-shot-classification"),
    "peft": ("text-generation",),
    "pyannote-audio": ("automatic-speech-recognition",),
    "sentence-transformers": ("feature-extraction", "sentence-similarity"),
    "setfit": ("text-classification",),
    "sklearn": ("tabular-classification", "tabular-regression", "text-classification"),
    "spacy": ("token-classification", "text-classification", "sentence-similarity"),
    "span-marker": ("token-classification",),
    "speechbrain": (
        "audio-classification",
        "audio-to-audio",
        "automatic-speech-recognition",
        "text-to-speech",
    ),
    "stanza": ("token-classification",),
    "timm": ("image-classification", "image-feature-extraction"),
    "mindspore": ("image-classification",),
}
