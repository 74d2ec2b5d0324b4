"""Tiny models for inference tests, built here from a config with random weights.

`build(task, target)` writes a folder ready to upload to a model repository: config.json (with
`architectures` and labels), the weights as model.safetensors only, a tokenizer, feature
extractor or image processor made from the vocabularies below, and a README.md whose front
matter carries the pipeline tag. Nothing is downloaded: every vocabulary is written here and the
weights are random, drawn from a fixed seed, so a build is the same each time (given the same
versions of torch, transformers and tokenizers). Each model is a few hundred kilobytes and builds
in well under a second once transformers is imported.

`TASKS` lists the pipeline tags `build` knows. `PIPELINE_TASK` gives, for each, the
`transformers.pipeline` task that runs it, or None where transformers 5 no longer has that
pipeline (summarization, translation and question-answering were removed in v5: those models
are run with AutoModel classes and `generate`, see tests/test_tiny_models.py).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

SEED = 0
HIDDEN = 32  # every model: hidden size 32, 2 layers, 2 heads
MAX_POSITIONS = 512

TASKS: tuple[str, ...] = (
    "text-classification",
    "token-classification",
    "fill-mask",
    "question-answering",
    "zero-shot-classification",
    "summarization",
    "translation",
    "text-generation",
    "feature-extraction",
    "sentence-similarity",
    "image-classification",
    "automatic-speech-recognition",
)

PIPELINE_TASK: dict[str, str | None] = {
    **{task: task for task in TASKS},
    "sentence-similarity": "feature-extraction",
    "summarization": None,
    "translation": None,
    "question-answering": None,
}

SENTIMENT_LABELS = ("NEGATIVE", "POSITIVE")
NER_LABELS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC")
NLI_LABELS = ("entailment", "neutral", "contradiction")
IMAGE_LABELS = ("cat", "dog", "bird", "car")

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + eos_token + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)

# Common English words: the word-level part of every vocabulary here.
WORDS = """
the of and to a in is it you that he was for on are with as i his they be at one have this
from or had by not word but what some we can out other were all there when up use your how
said an each she which do their time if will way about many then them write would like so
these her long make thing see him two has look more day could go come did number sound no
most people my over know water than call first who may down side been now find any new work
part take get place made live where after back little only round man year came show every
good me give our under name very through just form sentence great think say help low line
differ turn cause much mean before move right boy old too same tell does set three want air
well also play small end put home read hand port large spell add even land here must big high
such follow act why ask men change went light kind off need house picture try us again animal
point mother world near build self earth father head stand own page should country found
answer school grow study still learn plant cover food sun four between state keep eye never
last let thought city tree cross farm hard start might story saw far sea draw left late run
while press close night real life few north open seem together next white children begin got
walk example ease paper group always music those both mark often letter until mile river car
feet care second book carry took science eat room friend began idea fish mountain stop once
base hear horse cut sure watch color face wood main enough plain girl usual young ready above
ever red list though feel talk bird soon body dog family direct pose leave song measure door
product black short numeral class wind question happen complete ship area half rock order fire
south problem piece told knew pass since top whole king space heard best hour better true during
hundred five remember step early hold west ground interest reach fast verb sing listen six table
travel less morning ten simple several vowel toward war lay against pattern slow center love
person money serve appear road map rain rule govern pull cold notice voice unit power town fine
certain fly fall lead cry dark machine note wait plan figure star box noun field rest correct
able pound done beauty drive stood contain front teach week final gave green oh quick develop
ocean warm free minute strong special mind behind clear tail produce fact street inch multiply
nothing course stay wheel full force blue object decide surface deep moon island foot system busy
test record boat common gold possible plane stead dry wonder laugh thousand ago ran check game
shape equate hot miss brought heat snow tire bring yes distant fill east paint language among
movie film great bad terrible wonderful happy sad love hate paris london berlin john mary
""".split()
WORDS = list(dict.fromkeys(WORDS))  # in order, once each

CORPUS = """
The quick brown fox jumps over the lazy dog. A small bird sang in the tree near the river.
My friend John lives in Paris and Mary lives in London. They write letters to each other every week.
This movie was wonderful, I loved every minute of it. That film was terrible and far too long.
Hubstead keeps models, datasets and spaces. People upload their work and others download it.
What is the capital of France? Paris is the capital of France. Berlin is a city in Germany.
Once upon a time there was a king who lived in a castle on a hill above the sea.
The children began to read the story while their mother cooked food for the family.
""".strip()

_CHARACTERS = list("abcdefghijklmnopqrstuvwxyz0123456789") + list(".,;:!?'\"()-/&%$#@*+=<>[]_")


def build(task: str, target: Path) -> Path:
    """Write the tiny model for pipeline tag `task` into the folder `target`; return it."""
    if task not in _BUILDERS:
        raise ValueError(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    import torch

    with torch.random.fork_rng(devices=[]):  # the caller's random state is left as it was
        torch.manual_seed(SEED)
        _BUILDERS[task](target)
    return target


# --- tokenizers --------------------------------------------------------------------------------


def _bert_tokenizer():
    """A lowercasing WordPiece tokenizer over WORDS and single characters."""
    from transformers import BertTokenizer

    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokens += _CHARACTERS + ["##" + c for c in _CHARACTERS] + WORDS
    vocab = {token: i for i, token in enumerate(dict.fromkeys(tokens))}
    return BertTokenizer(vocab=vocab, do_lower_case=True, model_max_length=MAX_POSITIONS)


def _byte_level_bpe(special_tokens: list[str], vocab_size: int = 1000):
    """Vocab and merges of a byte-level BPE trained on CORPUS and WORDS."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    lines = CORPUS.splitlines() + [" ".join(WORDS[i : i + 12]) for i in range(0, len(WORDS), 12)]
    tokenizer.train_from_iterator(lines, trainer=trainer)
    state = json.loads(tokenizer.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in state["merges"]]
    return state["vocab"], merges


def _unigram_vocab() -> list[tuple[str, float]]:
    """A sentencepiece-style Unigram vocabulary: T5's specials, whole words, then characters."""
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    pieces += [("▁" + word, -3.0 - i / 1000) for i, word in enumerate(WORDS)]
    pieces += [("▁" + c, -8.0) for c in _CHARACTERS]
    pieces += [(c, -9.0) for c in _CHARACTERS + [c.upper() for c in "abcdefghijklmnopqrstuvwxyz"]]
    return list({piece: (piece, score) for piece, score in pieces}.values())


# --- the folders ---------------------------------------------------------------------------------


def _labels(names) -> dict:
    return {
        "id2label": {i: name for i, name in enumerate(names)},
        "label2id": {name: i for i, name in enumerate(names)},
    }


def _bert_config(tokenizer, **extra):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * HIDDEN,
        max_position_embeddings=MAX_POSITIONS,
        pad_token_id=tokenizer.pad_token_id,
        **extra,
    )


def _save(target: Path, model, *processors) -> None:
    model.save_pretrained(target)  # transformers 5 writes model.safetensors only
    for processor in processors:
        processor.save_pretrained(target)


def _bert(model_class: str, task: str, labels=None, extra_tags=()):
    def builder(target: Path) -> None:
        import transformers

        tokenizer = _bert_tokenizer()
        config = _bert_config(tokenizer, **(_labels(labels) if labels else {}))
        model = getattr(transformers, model_class)(config).eval()
        _save(target, model, tokenizer)
        _readme(target, task, model_class, tags=extra_tags)

    return builder


def _sentence_similarity(target: Path) -> None:
    _bert("BertModel", "sentence-similarity", extra_tags=("feature-extraction",))(target)
    if importlib.util.find_spec("sentence_transformers") is None:
        return
    import sentence_transformers
    import torch
    import transformers

    _json(
        target / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
        ],
    )
    _json(target / "sentence_bert_config.json", {"max_seq_length": 128, "do_lower_case": False})
    _json(
        target / "config_sentence_transformers.json",
        {
            "__version__": {
                "sentence_transformers": sentence_transformers.__version__,
                "transformers": transformers.__version__,
                "pytorch": torch.__version__,
            },
            "prompts": {},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    (target / "1_Pooling").mkdir(exist_ok=True)
    _json(
        target / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": HIDDEN,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )


def _text_generation(target: Path) -> None:
    from transformers import GenerationConfig, GPT2Config, GPT2LMHeadModel, GPT2Tokenizer

    eos = "<|endoftext|>"
    vocab, merges = _byte_level_bpe([eos])
    tokenizer = GPT2Tokenizer(
        vocab=vocab,
        merges=merges,
        unk_token=eos,
        bos_token=eos,
        eos_token=eos,
        pad_token=eos,
        model_max_length=MAX_POSITIONS,
        chat_template=CHAT_TEMPLATE,
    )
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=MAX_POSITIONS,
        n_embd=HIDDEN,
        n_layer=2,
        n_head=2,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = GPT2LMHeadModel(config).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        max_new_tokens=20,
        do_sample=False,
    )
    model.save_pretrained(target)
    # The template goes in tokenizer_config.json, not in a chat_template.jinja beside it.
    tokenizer.save_pretrained(target, save_jinja_files=False)
    _readme(
        target,
        "text-generation",
        "GPT2LMHeadModel",
        extra_yaml='widget:\n- text: "Once upon a time"\n  example_title: Story\n',
    )


def _summarization(target: Path) -> None:
    from transformers import (
        BartConfig,
        BartForConditionalGeneration,
        GenerationConfig,
        RobertaTokenizer,
    )

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    vocab, merges = _byte_level_bpe(specials)
    tokenizer = RobertaTokenizer(  # what BartTokenizer is in transformers 5
        vocab=vocab, merges=merges, model_max_length=MAX_POSITIONS
    )
    config = BartConfig(
        vocab_size=len(tokenizer),
        d_model=HIDDEN,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=2 * HIDDEN,
        decoder_ffn_dim=2 * HIDDEN,
        max_position_embeddings=MAX_POSITIONS,
        bos_token_id=tokenizer.bos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
        forced_bos_token_id=tokenizer.bos_token_id,
    )
    model = BartForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
        forced_bos_token_id=tokenizer.bos_token_id,
        max_new_tokens=32,
        do_sample=False,
    )
    _save(target, model, tokenizer)
    _readme(target, "summarization", "BartForConditionalGeneration")


TRANSLATION_PREFIX = "translate English to French: "


def _translation(target: Path) -> None:
    from transformers import GenerationConfig, T5Config, T5ForConditionalGeneration, T5Tokenizer

    tokenizer = T5Tokenizer(vocab=_unigram_vocab(), extra_ids=0, model_max_length=MAX_POSITIONS)
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=HIDDEN,
        d_kv=HIDDEN // 2,
        d_ff=2 * HIDDEN,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=2,
        relative_attention_num_buckets=8,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
        # What transformers 4's translation pipeline read; kept for clients that still do.
        task_specific_params={"translation_en_to_fr": {"prefix": TRANSLATION_PREFIX}},
    )
    model = T5ForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
        max_new_tokens=32,
        do_sample=False,
    )
    _save(target, model, tokenizer)
    _readme(
        target, "translation", "T5ForConditionalGeneration", extra_yaml="language:\n- en\n- fr\n"
    )


def _image_classification(target: Path) -> None:
    from transformers import ViTConfig, ViTForImageClassification

    size = 32
    config = ViTConfig(
        image_size=size,
        patch_size=8,
        num_channels=3,
        hidden_size=HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * HIDDEN,
        **_labels(IMAGE_LABELS),
    )
    model = ViTForImageClassification(config).eval()
    model.save_pretrained(target)
    # Written by hand: ViTImageProcessor needs torchvision (or Pillow, for its PIL twin) merely
    # to be made, and neither is needed to write what it would save.
    _json(
        target / "preprocessor_config.json",
        {
            "image_processor_type": "ViTImageProcessor",
            "do_resize": True,
            "size": {"height": size, "width": size},
            "resample": 2,  # bilinear
            "do_rescale": True,
            "rescale_factor": 1 / 255,
            "do_normalize": True,
            "image_mean": [0.5, 0.5, 0.5],
            "image_std": [0.5, 0.5, 0.5],
        },
    )
    _readme(target, "image-classification", "ViTForImageClassification")


def _speech_recognition(target: Path) -> None:
    from transformers import (
        Wav2Vec2Config,
        Wav2Vec2CTCTokenizer,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2ForCTC,
        Wav2Vec2Processor,
    )

    letters = ["<pad>", "<s>", "</s>", "<unk>", "|", "'"] + list("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    _json(target / "vocab.json", {c: i for i, c in enumerate(letters)})
    tokenizer = Wav2Vec2CTCTokenizer(str(target / "vocab.json"), word_delimiter_token="|")
    extractor = Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=16000,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=False,
    )
    config = Wav2Vec2Config(
        vocab_size=len(letters),
        hidden_size=HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * HIDDEN,
        conv_dim=(16,) * 7,  # the usual 7 convolutions (a frame every 20 ms), narrow
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        mask_time_prob=0.0,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        ctc_loss_reduction="mean",
    )
    model = Wav2Vec2ForCTC(config).eval()
    _save(target, model, Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer))
    # transformers 5 nests the feature extractor in processor_config.json; older clients (and the
    # Hub's own widgets) read preprocessor_config.json.
    extractor.save_pretrained(target)
    _readme(target, "automatic-speech-recognition", "Wav2Vec2ForCTC")


# --- small files -----------------------------------------------------------------------------------


def _json(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def _readme(target: Path, task: str, architecture: str, tags=(), extra_yaml: str = "") -> None:
    tag_lines = "".join(f"- {tag}\n" for tag in (task, *tags))
    (target / "README.md").write_text(
        "---\n"
        f"pipeline_tag: {task}\n"
        "library_name: transformers\n"
        "license: mit\n"
        f"tags:\n{tag_lines}"
        f"{extra_yaml}"
        "---\n\n"
        f"# Tiny {task} model\n\n"
        f"A `{architecture}` with random weights (seed {SEED}), hidden size {HIDDEN}, two layers: "
        "built by Hubstead's tests to exercise inference. Its outputs mean nothing.\n",
        encoding="utf-8",
    )


_BUILDERS = {
    "text-classification": _bert(
        "BertForSequenceClassification", "text-classification", SENTIMENT_LABELS
    ),
    "token-classification": _bert("BertForTokenClassification", "token-classification", NER_LABELS),
    "fill-mask": _bert("BertForMaskedLM", "fill-mask"),
    "question-answering": _bert("BertForQuestionAnswering", "question-answering"),
    "zero-shot-classification": _bert(
        "BertForSequenceClassification", "zero-shot-classification", NLI_LABELS
    ),
    "summarization": _summarization,
    "translation": _translation,
    "text-generation": _text_generation,
    "feature-extraction": _bert("BertModel", "feature-extraction"),
    "sentence-similarity": _sentence_similarity,
    "image-classification": _image_classification,
    "automatic-speech-recognition": _speech_recognition,
}
assert tuple(_BUILDERS) == TASKS
