"""The fixed vocabularies a card's metadata is checked against.

These are data tables (facts), kept apart from the rules in `metadata.py` so they can be
refreshed from upstream without touching any logic. Sources (see
/work/shared/research/cards-tags-widgets.md for citations):

* licenses: the table in hub-docs `docs/hub/repositories-licenses.md` (83 ids, in that order;
  the order is what the Hub's license dropdown shows, so keep it);
* ISO 639-1 codes: huggingface.js `packages/languages` (`LANGUAGES_ISO_639_1`, 184 codes,
  including the withdrawn `bh`, because the Hub still lists it);
* pipeline types and their subtasks: huggingface.js `packages/tasks/src/pipelines.ts`
  (`PIPELINE_DATA`, 57 types; order = the Hub's default-selection order);
* libraries: huggingface.js `packages/tasks/src/model-libraries.ts`
  (`MODEL_LIBRARIES_UI_ELEMENTS` keys, 240 names, in that order);
* dataset size categories: the Hub's /datasets size filter.

Three-letter language codes. The Hub accepts ISO 639-1, 639-2 and 639-3 codes. The ISO 639-3
table has about 7,900 entries, too big to carry here for a check that can only ever warn, so
`is_language_code` accepts ANY well-formed three-letter lowercase code (`[a-z]{3}`) as an
ISO 639-2/3 code, without a warning. Two-letter codes are checked exactly against ISO 639-1.
The special values `multilingual` and `code` are also accepted (huggingface_hub's
`ModelCardData` docstring; `multilingual` also appears in the legacy Hub docs).
"""

from __future__ import annotations

import re
from functools import lru_cache

import pycountry

# ---------------------------------------------------------------------------------------------
# Licenses: id -> full name, in the order of the Hub's documentation table.
LICENSES: dict[str, str] = {
    "apache-2.0": "Apache license 2.0",
    "mit": "MIT",
    "openrail": "OpenRAIL license family",
    "bigscience-openrail-m": "BigScience OpenRAIL-M",
    "creativeml-openrail-m": "CreativeML OpenRAIL-M",
    "bigscience-bloom-rail-1.0": "BigScience BLOOM RAIL 1.0",
    "bigcode-openrail-m": "BigCode Open RAIL-M v1",
    "afl-3.0": "Academic Free License v3.0",
    "artistic-2.0": "Artistic license 2.0",
    "bsl-1.0": "Boost Software License 1.0",
    "bsd": "BSD license family",
    "bsd-2-clause": 'BSD 2-clause "Simplified" license',
    "bsd-3-clause": 'BSD 3-clause "New" or "Revised" license',
    "bsd-3-clause-clear": "BSD 3-clause Clear license",
    "c-uda": "Computational Use of Data Agreement",
    "cc": "Creative Commons license family",
    "cc0-1.0": "Creative Commons Zero v1.0 Universal",
    "cc-by-2.0": "Creative Commons Attribution 2.0",
    "cc-by-2.5": "Creative Commons Attribution 2.5",
    "cc-by-3.0": "Creative Commons Attribution 3.0",
    "cc-by-4.0": "Creative Commons Attribution 4.0",
    "cc-by-sa-3.0": "Creative Commons Attribution Share Alike 3.0",
    "cc-by-sa-4.0": "Creative Commons Attribution Share Alike 4.0",
    "cc-by-nc-2.0": "Creative Commons Attribution Non Commercial 2.0",
    "cc-by-nc-3.0": "Creative Commons Attribution Non Commercial 3.0",
    "cc-by-nc-4.0": "Creative Commons Attribution Non Commercial 4.0",
    "cc-by-nd-4.0": "Creative Commons Attribution No Derivatives 4.0",
    "cc-by-nc-nd-3.0": "Creative Commons Attribution Non Commercial No Derivatives 3.0",
    "cc-by-nc-nd-4.0": "Creative Commons Attribution Non Commercial No Derivatives 4.0",
    "cc-by-nc-sa-2.0": "Creative Commons Attribution Non Commercial Share Alike 2.0",
    "cc-by-nc-sa-3.0": "Creative Commons Attribution Non Commercial Share Alike 3.0",
    "cc-by-nc-sa-4.0": "Creative Commons Attribution Non Commercial Share Alike 4.0",
    "cdla-sharing-1.0": "Community Data License Agreement – Sharing, Version 1.0",
    "cdla-permissive-1.0": "Community Data License Agreement – Permissive, Version 1.0",
    "cdla-permissive-2.0": "Community Data License Agreement – Permissive, Version 2.0",
    "wtfpl": "Do What The F*ck You Want To Public License",
    "ecl-2.0": "Educational Community License v2.0",
    "epl-1.0": "Eclipse Public License 1.0",
    "epl-2.0": "Eclipse Public License 2.0",
    "etalab-2.0": "Etalab Open License 2.0",
    "eupl-1.1": "European Union Public License 1.1",
    "eupl-1.2": "European Union Public License 1.2",
    "agpl-3.0": "GNU Affero General Public License v3.0",
    "gfdl": "GNU Free Documentation License family",
    "gpl": "GNU General Public License family",
    "gpl-2.0": "GNU General Public License v2.0",
    "gpl-3.0": "GNU General Public License v3.0",
    "lgpl": "GNU Lesser General Public License family",
    "lgpl-2.1": "GNU Lesser General Public License v2.1",
    "lgpl-3.0": "GNU Lesser General Public License v3.0",
    "isc": "ISC",
    "h-research": "H Research License",
    "intel-research": "Intel Research Use License Agreement",
    "lppl-1.3c": "LaTeX Project Public License v1.3c",
    "ms-pl": "Microsoft Public License",
    "apple-ascl": "Apple Sample Code license",
    "apple-amlr": "Apple Model License for Research",
    "mpl-2.0": "Mozilla Public License 2.0",
    "odc-by": "Open Data Commons License Attribution family",
    "odbl": "Open Database License family",
    "openmdw-1.0": "Open Model, Data & Weights License Agreement",
    "openmdw-1.1": "Open Model, Data & Weights License Agreement v1.1",
    "openrail++": "Open Rail++-M License",
    "osl-3.0": "Open Software License 3.0",
    "postgresql": "PostgreSQL License",
    "ofl-1.1": "SIL Open Font License 1.1",
    "ncsa": "University of Illinois/NCSA Open Source License",
    "unlicense": "The Unlicense",
    "zlib": "zLib License",
    "pddl": "Open Data Commons Public Domain Dedication and License",
    "lgpl-lr": "Lesser General Public License For Linguistic Resources",
    "deepfloyd-if-license": "DeepFloyd IF Research License Agreement",
    "fair-noncommercial-research-license": "FAIR Noncommercial Research License",
    "llama2": "Llama 2 Community License Agreement",
    "llama3": "Llama 3 Community License Agreement",
    "llama3.1": "Llama 3.1 Community License Agreement",
    "llama3.2": "Llama 3.2 Community License Agreement",
    "llama3.3": "Llama 3.3 Community License Agreement",
    "llama4": "Llama 4 Community License Agreement",
    "grok2-community": "Grok 2 Community License Agreement",
    "gemma": "Gemma Terms of Use",
    "unknown": "Unknown",
    "other": "Other",
}
LICENSE_IDS: tuple[str, ...] = tuple(LICENSES)

# `license_link` may name one of these files at the repo root instead of a URL.
LICENSE_LINK_FILES: tuple[str, ...] = ("LICENSE", "LICENSE.md")

# ---------------------------------------------------------------------------------------------
# Languages.
ISO_639_1_CODES: frozenset[str] = frozenset(
    """
    aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv
    cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr
    ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw
    ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv
    ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr
    ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi
    yo za zh zu
    """.split()  # noqa: SIM905 - a compact data table
)
SPECIAL_LANGUAGE_VALUES: tuple[str, ...] = ("multilingual", "code")
_THREE_LETTER_CODE = re.compile(r"[a-z]{3}")


def is_language_code(value: str) -> bool:
    """True for an ISO 639-1 code, a well-formed 639-2/3 code or a special value (module doc)."""
    return (
        value in ISO_639_1_CODES
        or value in SPECIAL_LANGUAGE_VALUES
        or _THREE_LETTER_CODE.fullmatch(value) is not None
    )


# Names pycountry lacks: the special values, and `bh` (withdrawn from ISO 639-1, still listed)
SPECIAL_LANGUAGE_NAMES = {"multilingual": "Multilingual", "code": "Code", "bh": "Bihari languages"}


@lru_cache(maxsize=4096)
def language_name(code: str) -> str | None:
    """The English name of a language code (ISO 639-1, 639-2/3 or a special value), from the
    ISO 639-3 table pycountry carries; None for codes it does not know."""
    if code in SPECIAL_LANGUAGE_NAMES:
        return SPECIAL_LANGUAGE_NAMES[code]
    if len(code) == 2:
        language = pycountry.languages.get(alpha_2=code)
    elif len(code) == 3:
        language = pycountry.languages.get(alpha_3=code) or pycountry.languages.get(
            bibliographic=code
        )
    else:
        return None
    return str(language.name) if language is not None else None


# Dataset cards: `multilinguality` values offered by the Hub's dataset tagger.
MULTILINGUALITY_VALUES: tuple[str, ...] = ("monolingual", "multilingual", "translation", "other")

# ---------------------------------------------------------------------------------------------
# Pipeline types (model `pipeline_tag`, dataset `task_categories`), in PIPELINE_DATA order.
# The one list of pipeline types: tag derivation (hubstead.domain.tags.pipelines) uses this
# tuple too, where the order breaks ties between task tags (the first one wins).
PIPELINE_TYPES: tuple[str, ...] = tuple(
    """
    text-classification token-classification table-question-answering question-answering
    zero-shot-classification translation summarization feature-extraction text-generation
    fill-mask sentence-similarity text-to-speech text-to-audio automatic-speech-recognition
    audio-to-audio audio-classification audio-text-to-text voice-activity-detection
    depth-estimation image-classification object-detection image-segmentation text-to-image
    image-to-text image-to-image image-to-video unconditional-image-generation
    video-classification reinforcement-learning robotics tabular-classification
    tabular-regression tabular-to-text table-to-text multiple-choice text-ranking
    text-retrieval time-series-forecasting text-to-video image-text-to-text
    image-text-to-image image-text-to-video visual-question-answering
    document-question-answering zero-shot-image-classification graph-ml mask-generation
    zero-shot-object-detection text-to-3d image-to-3d image-feature-extraction
    video-text-to-text keypoint-detection visual-document-retrieval any-to-any video-to-video
    other
    """.split()  # noqa: SIM905 - a compact data table
)

# Subtasks of each pipeline type; dataset cards use them as `task_ids`.
PIPELINE_SUBTASKS: dict[str, tuple[str, ...]] = {
    "text-classification": (
        "acceptability-classification",
        "entity-linking-classification",
        "fact-checking",
        "intent-classification",
        "language-identification",
        "multi-class-classification",
        "multi-label-classification",
        "multi-input-text-classification",
        "natural-language-inference",
        "semantic-similarity-classification",
        "sentiment-classification",
        "topic-classification",
        "semantic-similarity-scoring",
        "sentiment-scoring",
        "sentiment-analysis",
        "hate-speech-detection",
        "text-scoring",
    ),
    "token-classification": (
        "named-entity-recognition",
        "part-of-speech",
        "parsing",
        "lemmatization",
        "word-sense-disambiguation",
        "coreference-resolution",
    ),
    "question-answering": ("extractive-qa", "open-domain-qa", "closed-domain-qa"),
    "summarization": ("news-articles-summarization", "news-articles-headline-generation"),
    "text-generation": (
        "dialogue-modeling",
        "dialogue-generation",
        "conversational",
        "language-modeling",
        "text-simplification",
        "explanation-generation",
        "abstractive-qa",
        "open-domain-abstractive-qa",
        "closed-domain-qa",
        "open-book-qa",
        "closed-book-qa",
        "text2text-generation",
    ),
    "fill-mask": ("slot-filling", "masked-language-modeling"),
    "audio-classification": (
        "keyword-spotting",
        "speaker-identification",
        "audio-intent-classification",
        "audio-emotion-recognition",
        "audio-language-identification",
    ),
    "image-classification": (
        "multi-label-image-classification",
        "multi-class-image-classification",
    ),
    "object-detection": ("face-detection", "vehicle-detection"),
    "image-segmentation": (
        "instance-segmentation",
        "semantic-segmentation",
        "panoptic-segmentation",
    ),
    "image-to-text": ("image-captioning",),
    "image-to-image": ("image-inpainting", "image-colorization", "super-resolution"),
    "robotics": ("grasping", "task-planning"),
    "tabular-classification": (
        "tabular-multi-class-classification",
        "tabular-multi-label-classification",
    ),
    "tabular-regression": ("tabular-single-column-regression",),
    "tabular-to-text": ("rdf-to-text",),
    "multiple-choice": ("multiple-choice-qa", "multiple-choice-coreference-resolution"),
    "text-retrieval": (
        "document-retrieval",
        "utterance-retrieval",
        "entity-linking-retrieval",
        "fact-checking-retrieval",
    ),
    "time-series-forecasting": (
        "univariate-time-series-forecasting",
        "multivariate-time-series-forecasting",
    ),
    "visual-question-answering": ("visual-question-answering",),
    "document-question-answering": ("document-question-answering",),
    "keypoint-detection": ("pose-estimation",),
}
DATASET_TASK_CATEGORIES: tuple[str, ...] = PIPELINE_TYPES
DATASET_TASK_IDS: frozenset[str] = frozenset(
    subtask for subtasks in PIPELINE_SUBTASKS.values() for subtask in subtasks
)

# Dataset `size_categories` (number of examples), smallest first.
DATASET_SIZE_CATEGORIES: tuple[str, ...] = (
    "n<1K",
    "1K<n<10K",
    "10K<n<100K",
    "100K<n<1M",
    "1M<n<10M",
    "10M<n<100M",
    "100M<n<1B",
    "1B<n<10B",
    "10B<n<100B",
    "100B<n<1T",
    "n>1T",
)

# ---------------------------------------------------------------------------------------------
# Model cards.
BASE_MODEL_RELATIONS: tuple[str, ...] = ("adapter", "merge", "quantized", "finetune")

# `co2_eq_emissions.training_type` values named by the docs (others only warn).
CO2_TRAINING_TYPES: tuple[str, ...] = ("pre-training", "fine-tuning")

# Gated repos: the field types `extra_gated_fields` accepts (plus `select`, which needs options).
GATED_FIELD_TYPES: tuple[str, ...] = ("text", "checkbox", "date_picker", "country", "ip_location")

# Libraries the Hub knows (badge, snippets, download counting), in registry order.
MODEL_LIBRARIES: tuple[str, ...] = tuple(
    """
    acestep adapter-transformers allennlp anemoi araclip aviation-ner asteroid audiocraft
    audioseal bagel-mot bboxmaskpose ben2 bertopic big_vision bionemo birder birefnet bm25s
    boltzgen cancertathomev2 cartesia_pytorch cartesia_mlx ccpfn champ chatterbox chaossim
    chat_tts chexmix chronos-forecasting clara clipscope cloud-agents collectorvision colipri
    cosyvoice cotracker colpali comet cosmos cxr-foundation deepforest depth-anything-v2
    depth-pro derm-foundation describe-anything dia-tts dia2 diff-interpretation-tuning diffree
    diffusers diffusionkit docking-at-home doctr edsnlp elm encoderfile espnet eupe fairseq
    fastai fastprint fasttext fixer flair flextab fme gemma.cpp geometry-crafter gliner gliner2
    glm-tts glyph-byt5 granite-library grok habibi-tts hallo minimax-h3 hermes holomotion hezar
    htrflow hunyuan-dit hunyuan3d-2 hunyuanworld-voyager hy-worldplay hy-world-2
    image-matching-models imstoucan index-tts infinitetalk infinite-you intellifold
    ising-decoding keras tf-keras keras-hub kerasformers kernels kimi-audio kittentts kronos k2
    lyra-2.0 lagernvs ltx lightning-ir litert litert-lm lerobot lightglue liveportrait
    longcat-video-avatar-1.5 llama-cpp-python mini-omni2 mindspore magi-1 magenta-realtime
    magenta-realtime-2 mamba-ssm manas-1 mars5-tts matanyone mesh-anything merlin medvae mflux
    mitie ml-agents ml-sharp mlx mlx-image mlc-llm model2vec mobilint moshi mtvcraft
    multimolecule nemo ninfer nobg nv-medtech open-oasis open_clip openasr openpeerllm open-sora
    outetts paddlenlp PaddleOCR peft perception-encoder phantom-wan pocket-tts pruna-ai pxia
    pyannote-audio py-feat pythae quantumpeer qwen3_tts recurrentgemma relik refiners
    renderformer reverb rkllm robo-orchard-lab rwkv saelens scail-2 sam2 sam-3d-body
    sam-3d-objects same sample-factory sap-rpt-1-oss sapiens sapiens2 seedvr self-forcing
    sentence-transformers setfit sklearn spacy span-marker speechbrain ssr-speech stable-audio-3
    stable-audio-tools monkeyocr diffusion-single-file seed-story skala soloaudio songbloom
    stable-baselines3 stanza supertonic swarmformer synthefy-migas f5-tts genmo
    tencent-song-generation tensorflowtts tensorrt tabpfn terratorch tic-clip timesfm timee-ts
    timm tirex tirex-2 torchgeo transformers transformers.js trellis trellis2 tunejury
    ultralytics univa uni-3dar unity-sentis sana videoprism vfi-mamba vismatch lvface
    voicecraft voxcpm vui vibevoice videox_fun wan2.2 wham whisperkit yolov10 yolov26 zonos
    3dtopia-xl
    """.split()  # noqa: SIM905 - a compact data table
)
