"""Tag derivation, pipeline inference, widgets, eval results and safetensors summaries.

Repos are modelled on real Hub models whose API payloads are known (bert-base-uncased,
roberta-base-squad2, paraphrase-albert-small-v2, stable-diffusion-2-1, Qwen2.5-Instruct...),
minus the hosted-service flags Hubstead does not emit.
"""

from __future__ import annotations

from hubstead.domain.tags import (
    RepoSnapshot,
    derive_model_data,
)
from hubstead.domain.tags.transformers_info import compute_transformers_info


def snap(files, card=None, text="", config=None, tokenizer=None) -> RepoSnapshot:
    return RepoSnapshot(
        files=list(files),
        card_metadata=card or {},
        card_text=text,
        config=config,
        tokenizer_config=tokenizer,
    )


# ------------------------------------------------------------------ whole-repo tag lists

BERT_FILES = [
    ".gitattributes",
    "LICENSE",
    "README.md",
    "config.json",
    "pytorch_model.bin",
    "tf_model.h5",
    "flax_model.msgpack",
    "rust_model.ot",
    "model.onnx",
    "model.safetensors",
    "coreml/fill-mask/float32_model.mlpackage/Data/com.apple.CoreML/model.mlmodel",
    "coreml/fill-mask/float32_model.mlpackage/Manifest.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
]


def test_bert_like_repo_tags_in_hub_order():
    data = derive_model_data(
        snap(
            BERT_FILES,
            card={
                "language": "en",
                "tags": ["exbert"],
                "license": "apache-2.0",
                "datasets": ["bookcorpus", "wikipedia"],
            },
            text="See [the paper](https://arxiv.org/abs/1810.04805) and arxiv.org/pdf/1810.04805v2.",
            config={"architectures": ["BertForMaskedLM"], "model_type": "bert"},
            tokenizer={"do_lower_case": True, "model_max_length": 512},
        )
    )
    assert data.tags == [
        "transformers",
        "pytorch",
        "tf",
        "jax",
        "rust",
        "coreml",
        "onnx",
        "safetensors",
        "bert",
        "fill-mask",
        "exbert",
        "en",
        "dataset:bookcorpus",
        "dataset:wikipedia",
        "arxiv:1810.04805",
        "license:apache-2.0",
        "region:us",
    ]
    assert data.library_name == "transformers"
    assert data.pipeline_tag == "fill-mask"
    assert data.transformers_info == {
        "auto_model": "AutoModelForMaskedLM",
        "pipeline_tag": "fill-mask",
        "processor": "AutoTokenizer",
    }
    # tokenizer_config.json has no special tokens: nothing of it is projected.
    assert data.config == {"architectures": ["BertForMaskedLM"], "model_type": "bert"}
    assert data.mask_token == "[MASK]"
    assert data.widget_data == [
        {"text": "Paris is the [MASK] of France."},
        {"text": "The goal of life is [MASK]."},
    ]


def test_roberta_squad_finetune_with_model_index():
    card = {
        "language": "en",
        "license": "cc-by-4.0",
        "datasets": ["squad_v2"],
        "base_model": "FacebookAI/roberta-base",
        "model-index": [
            {
                "name": "deepset/roberta-base-squad2",
                "results": [
                    {
                        "task": {"type": "question-answering", "name": "Question Answering"},
                        "dataset": {
                            "name": "squad_v2",
                            "type": "squad_v2",
                            "config": "squad_v2",
                            "split": "validation",
                        },
                        "metrics": [
                            {
                                "type": "exact_match",
                                "value": 79.93,
                                "name": "Exact Match",
                                "verified": True,
                            },
                            {"type": "f1", "value": 82.95, "name": "F1"},
                        ],
                    }
                ],
            }
        ],
    }
    data = derive_model_data(
        snap(
            [
                "README.md",
                "config.json",
                "pytorch_model.bin",
                "tf_model.h5",
                "flax_model.msgpack",
                "rust_model.ot",
                "model.safetensors",
            ],
            card=card,
            config={"architectures": ["RobertaForQuestionAnswering"], "model_type": "roberta"},
        )
    )
    assert data.tags == [
        "transformers",
        "pytorch",
        "tf",
        "jax",
        "rust",
        "safetensors",
        "roberta",
        "question-answering",
        "en",
        "dataset:squad_v2",
        "base_model:FacebookAI/roberta-base",
        "base_model:finetune:FacebookAI/roberta-base",
        "license:cc-by-4.0",
        "model-index",
        "region:us",
    ]
    assert data.eval_results == [
        {
            "model_name": "deepset/roberta-base-squad2",
            "task_type": "question-answering",
            "task_name": "Question Answering",
            "dataset_type": "squad_v2",
            "dataset_name": "squad_v2",
            "dataset_config": "squad_v2",
            "dataset_split": "validation",
            "dataset_revision": None,
            "dataset_args": None,
            "source_name": None,
            "source_url": None,
            "metric_type": "exact_match",
            "metric_value": 79.93,
            "metric_name": "Exact Match",
            "metric_config": None,
            "metric_args": None,
            "verify_token": None,
            "verified": True,
        },
        {
            "model_name": "deepset/roberta-base-squad2",
            "task_type": "question-answering",
            "task_name": "Question Answering",
            "dataset_type": "squad_v2",
            "dataset_name": "squad_v2",
            "dataset_config": "squad_v2",
            "dataset_split": "validation",
            "dataset_revision": None,
            "dataset_args": None,
            "source_name": None,
            "source_url": None,
            "metric_type": "f1",
            "metric_value": 82.95,
            "metric_name": "F1",
            "metric_config": None,
            "metric_args": None,
            "verify_token": None,
            "verified": False,
        },
    ]
    assert data.widget_data[0] == {
        "text": "Where do I live?",
        "context": "My name is Wolfgang and I live in Berlin",
    }


def test_sentence_transformers_repo():
    files = [
        "README.md",
        "config.json",
        "config_sentence_transformers.json",
        "modules.json",
        "sentence_bert_config.json",
        "1_Pooling/config.json",
        "pytorch_model.bin",
        "tf_model.h5",
        "rust_model.ot",
        "onnx/model.onnx",
        "onnx/model_O4.onnx",
        "model.safetensors",
        "openvino/openvino_model.xml",
        "openvino/openvino_model.bin",
    ]
    card = {
        "library_name": "sentence-transformers",
        "pipeline_tag": "sentence-similarity",
        "license": "apache-2.0",
        "datasets": ["snli", "multi_nli"],
        "tags": [
            "sentence-transformers",
            "feature-extraction",
            "sentence-similarity",
            "transformers",
        ],
    }
    data = derive_model_data(
        snap(
            files,
            card=card,
            text="https://arxiv.org/abs/1908.10084",
            config={"architectures": ["AlbertModel"], "model_type": "albert"},
        )
    )
    assert data.tags == [
        "sentence-transformers",
        "pytorch",
        "tf",
        "rust",
        "onnx",
        "safetensors",
        "openvino",
        "albert",
        "feature-extraction",
        "sentence-similarity",
        "transformers",
        "dataset:snli",
        "dataset:multi_nli",
        "arxiv:1908.10084",
        "license:apache-2.0",
        "region:us",
    ]
    assert data.pipeline_tag == "sentence-similarity"
    assert data.transformers_info == {
        "auto_model": "AutoModel",
        "pipeline_tag": "feature-extraction",
        "processor": "AutoTokenizer",
    }
    assert data.widget_data == [
        {
            "source_sentence": "That is a happy person",
            "sentences": [
                "That is a happy dog",
                "That is a very happy person",
                "Today is a sunny day",
            ],
        }
    ]


def test_sentence_transformers_detected_from_files_defaults_to_sentence_similarity():
    data = derive_model_data(
        snap(
            ["modules.json", "config.json", "model.safetensors"],
            config={"architectures": ["BertModel"], "model_type": "bert"},
        )
    )
    assert data.library_name == "sentence-transformers"
    assert data.pipeline_tag == "sentence-similarity"
    assert data.tags == [
        "sentence-transformers",
        "safetensors",
        "bert",
        "feature-extraction",
        "sentence-similarity",
        "region:us",
    ]


def test_diffusers_pipeline_repo():
    files = [
        "README.md",
        "model_index.json",
        "v2-1_768-ema-pruned.ckpt",
        "v2-1_768-ema-pruned.safetensors",
        "scheduler/scheduler_config.json",
        "text_encoder/config.json",
        "text_encoder/pytorch_model.bin",
        "text_encoder/model.safetensors",
        "unet/config.json",
        "unet/diffusion_pytorch_model.bin",
        "unet/diffusion_pytorch_model.safetensors",
        "vae/config.json",
        "vae/diffusion_pytorch_model.safetensors",
    ]
    card = {"license": "openrail++", "tags": ["stable-diffusion", "text-to-image"], "pinned": True}
    text = (
        "[paper](https://arxiv.org/abs/2112.10752) and https://arxiv.org/abs/2202.00512 "
        "and https://arxiv.org/abs/1910.09700"
    )
    model_index = {
        "_class_name": "StableDiffusionPipeline",
        "_diffusers_version": "0.10.0.dev0",
        "unet": ["diffusers", "UNet2DConditionModel"],
    }
    data = derive_model_data(snap(files, card=card, text=text, config=model_index))
    assert data.tags == [
        "diffusers",
        "safetensors",
        "stable-diffusion",
        "text-to-image",
        "arxiv:2112.10752",
        "arxiv:2202.00512",
        "arxiv:1910.09700",
        "license:openrail++",
        "diffusers:StableDiffusionPipeline",
        "region:us",
    ]
    assert data.library_name == "diffusers"
    assert data.pipeline_tag == "text-to-image"
    assert data.transformers_info is None
    assert data.config == {"diffusers": {"_class_name": "StableDiffusionPipeline"}}
    assert data.widget_data == []


def test_diffusers_class_infers_pipeline_without_card_tags():
    data = derive_model_data(
        snap(
            ["model_index.json", "unet/diffusion_pytorch_model.safetensors"],
            config={
                "_class_name": "StableDiffusionXLImg2ImgPipeline",
                "_diffusers_version": "0.30.0",
            },
        )
    )
    assert data.pipeline_tag == "image-to-image"
    assert data.tags == [
        "diffusers",
        "safetensors",
        "image-to-image",
        "diffusers:StableDiffusionXLImg2ImgPipeline",
        "region:us",
    ]


def test_gguf_repo_is_quantized_from_base_model():
    files = ["README.md", "Llama-3-8B-Instruct-Q4_K_M.gguf", "Llama-3-8B-Instruct-Q8_0.gguf"]
    card = {
        "base_model": "meta-llama/Meta-Llama-3-8B-Instruct",
        "license": "llama3",
        "language": ["en"],
        "pipeline_tag": "text-generation",
        "quantized_by": "someone",
    }
    data = derive_model_data(snap(files, card=card))
    assert data.library_name == "gguf"
    assert data.tags == [
        "gguf",
        "text-generation",
        "en",
        "base_model:meta-llama/Meta-Llama-3-8B-Instruct",
        "base_model:quantized:meta-llama/Meta-Llama-3-8B-Instruct",
        "license:llama3",
        "region:us",
    ]
    assert data.transformers_info is None and data.config is None


def test_t5_task_specific_params_become_pipeline_tags():
    config = {
        "architectures": ["T5ForConditionalGeneration"],
        "model_type": "t5",
        "task_specific_params": {
            "summarization": {"prefix": "summarize: "},
            "translation_en_to_de": {"prefix": "translate English to German: "},
            "translation_en_to_fr": {"prefix": "translate English to French: "},
            "translation_en_to_ro": {"prefix": "translate English to Romanian: "},
        },
    }
    card = {
        "language": ["en", "fr", "ro", "de"],
        "datasets": ["c4"],
        "license": "apache-2.0",
        "tags": ["summarization", "translation"],
        "pipeline_tag": "translation",
    }
    data = derive_model_data(
        snap(
            [
                "README.md",
                "config.json",
                "pytorch_model.bin",
                "tf_model.h5",
                "flax_model.msgpack",
                "rust_model.ot",
                "model.safetensors",
                "spiece.model",
                "tokenizer.json",
            ],
            card=card,
            text="https://arxiv.org/abs/1910.10683 and https://huggingface.co/papers/1805.12471",
            config=config,
        )
    )
    assert data.tags == [
        "transformers",
        "pytorch",
        "tf",
        "jax",
        "rust",
        "safetensors",
        "t5",
        "text-generation",
        "summarization",
        "translation",
        "pipeline:summarization",
        "pipeline:translation_en_to_de",
        "pipeline:translation_en_to_fr",
        "pipeline:translation_en_to_ro",
        "en",
        "fr",
        "ro",
        "de",
        "dataset:c4",
        "arxiv:1910.10683",
        "arxiv:1805.12471",
        "license:apache-2.0",
        "region:us",
    ]
    assert data.pipeline_tag == "translation"
    assert data.transformers_info == {
        "auto_model": "AutoModelForSeq2SeqLM",
        "pipeline_tag": "text-generation",
        "processor": "AutoTokenizer",
    }


def test_chat_model_is_conversational_and_gets_chat_widget():
    tokenizer = {
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}",
        "model_max_length": 131072,
    }
    card = {
        "license": "apache-2.0",
        "language": ["en"],
        "pipeline_tag": "text-generation",
        "base_model": "Qwen/Qwen2.5-7B",
        "tags": ["chat"],
        "library_name": "transformers",
    }
    text = "[YaRN](https://arxiv.org/abs/2309.00071) [report](https://arxiv.org/abs/2407.10671)"
    data = derive_model_data(
        snap(
            [
                "README.md",
                "config.json",
                "generation_config.json",
                "model-00001-of-00004.safetensors",
                "model.safetensors.index.json",
                "tokenizer.json",
                "tokenizer_config.json",
                "vocab.json",
            ],
            card=card,
            text=text,
            tokenizer=tokenizer,
            config={
                "architectures": ["Qwen2ForCausalLM"],
                "model_type": "qwen2",
                "torch_dtype": "bfloat16",
            },
        )
    )
    # Real payload (Qwen/Qwen2.5-7B-Instruct) minus text-generation-inference/endpoints_compatible.
    assert data.tags == [
        "transformers",
        "safetensors",
        "qwen2",
        "text-generation",
        "chat",
        "conversational",
        "en",
        "arxiv:2309.00071",
        "arxiv:2407.10671",
        "base_model:Qwen/Qwen2.5-7B",
        "base_model:finetune:Qwen/Qwen2.5-7B",
        "license:apache-2.0",
        "region:us",
    ]
    assert data.config == {
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "tokenizer_config": {
            "bos_token": None,
            "eos_token": "<|im_end|>",
            "pad_token": "<|endoftext|>",
            "chat_template": tokenizer["chat_template"],
        },
    }
    assert data.widget_data[0] == {"text": "Hi, what can you help me with?"}
    assert len(data.widget_data) == 4


def test_custom_code_model():
    config = {
        "architectures": ["SpikeWhaleLM"],
        "model_type": "spike_whale",
        "auto_map": {
            "AutoConfig": "config.SpikeWhaleConfig",
            "AutoModelForCausalLM": "model_v2.SpikeWhaleLM",
        },
    }
    card = {
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "language": ["en"],
        "license": "apache-2.0",
        "tags": ["small-models", "experimental"],
        "datasets": ["HuggingFaceFW/fineweb-edu"],
    }
    data = derive_model_data(
        snap(
            ["README.md", "config.json", "config.py", "model_v2.py", "model.safetensors"],
            card=card,
            config=config,
        )
    )
    assert data.tags == [
        "transformers",
        "safetensors",
        "spike_whale",
        "text-generation",
        "small-models",
        "experimental",
        "custom_code",
        "en",
        "dataset:HuggingFaceFW/fineweb-edu",
        "license:apache-2.0",
        "region:us",
    ]
    assert data.transformers_info == {
        "auto_model": "AutoModelForCausalLM",
        "custom_class": "model_v2.SpikeWhaleLM",
        "pipeline_tag": "text-generation",
    }
    assert data.config["auto_map"] == config["auto_map"]


def test_custom_code_for_a_known_architecture_keeps_the_processor():
    config = {
        "architectures": ["Phi3ForCausalLM"],
        "model_type": "phi3",
        "auto_map": {
            "AutoConfig": "configuration_phi3.Phi3Config",
            "AutoModelForCausalLM": "modeling_phi3.Phi3ForCausalLM",
        },
    }
    assert compute_transformers_info(config) == {
        "auto_model": "AutoModelForCausalLM",
        "custom_class": "modeling_phi3.Phi3ForCausalLM",
        "pipeline_tag": "text-generation",
        "processor": "AutoTokenizer",
    }


def test_custom_code_pipeline_inferred_from_auto_map_without_card():
    config = {
        "architectures": ["MyNetModel"],
        "model_type": "mynet",
        "auto_map": {
            "AutoConfig": "cfg.MyNetConfig",
            "AutoModelForSequenceClassification": "net.MyNetModel",
        },
    }
    data = derive_model_data(snap(["config.json", "net.py", "model.safetensors"], config=config))
    assert data.pipeline_tag == "text-classification"
    assert data.tags == [
        "transformers",
        "safetensors",
        "mynet",
        "text-classification",
        "custom_code",
        "region:us",
    ]


def test_peft_adapter_with_base_model():
    adapter_config = {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "r": 16,
        "base_model_name_or_path": "mistralai/Mistral-7B-v0.1",
    }
    card = {
        "base_model": "mistralai/Mistral-7B-v0.1",
        "library_name": "peft",
        "license": "mit",
        "tags": ["lora", "generated_from_trainer"],
    }
    data = derive_model_data(
        snap(
            [
                "README.md",
                "adapter_config.json",
                "adapter_model.safetensors",
                "runs/Jan01_00-00-00_host/events.out.tfevents.1704067200.host.1.0",
            ],
            card=card,
            config=adapter_config,
        )
    )
    assert data.tags == [
        "peft",
        "tensorboard",
        "safetensors",
        "lora",
        "generated_from_trainer",
        "base_model:mistralai/Mistral-7B-v0.1",
        "base_model:adapter:mistralai/Mistral-7B-v0.1",
        "license:mit",
        "region:us",
    ]
    assert data.library_name == "peft"
    assert data.pipeline_tag is None
    assert data.config == {
        "peft": {"base_model_name_or_path": "mistralai/Mistral-7B-v0.1", "task_type": "CAUSAL_LM"}
    }


def test_peft_library_detected_from_files_and_merge_relation():
    data = derive_model_data(
        snap(
            ["adapter_config.json", "adapter_model.safetensors"],
            card={"base_model": ["org/a", "org/b"], "base_model_relation": "merge"},
        )
    )
    assert data.library_name == "peft"
    assert data.tags == [
        "peft",
        "safetensors",
        "base_model:org/a",
        "base_model:org/b",
        "base_model:merge:org/a",
        "base_model:merge:org/b",
        "region:us",
    ]


def test_region_can_be_disabled_and_tags_are_deduplicated():
    data = derive_model_data(
        snap(
            ["config.json", "model.safetensors"],
            card={"tags": ["bert", "fill-mask", "bert"], "language": "en"},
            config={"architectures": ["BertForMaskedLM"], "model_type": "bert"},
        ),
        region=None,
    )
    assert data.tags == ["transformers", "safetensors", "bert", "fill-mask", "en"]


def test_card_library_tag_and_task_tags_pick_pipeline_in_pipeline_order():
    data = derive_model_data(
        snap(
            ["pytorch_model.bin"],
            card={
                "tags": [
                    "flair",
                    "sequence-tagger-model",
                    "token-classification",
                    "text-classification",
                ]
            },
        )
    )
    assert data.library_name == "flair"
    # text-classification comes first in PIPELINE order although it is last in the card.
    assert data.pipeline_tag == "text-classification"
