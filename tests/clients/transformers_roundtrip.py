"""Run in a subprocess with HF_ENDPOINT set (the client reads it at import time).

Builds a tiny BERT from a config with random weights and a tokenizer from a small local
vocabulary, pushes both to the hub, loads them back with from_pretrained into an empty cache,
and checks that weights and outputs are identical. Nothing is downloaded from the internet.
"""

import json
import sys
import tempfile
from pathlib import Path

import torch
from transformers import (
    AutoModelForMaskedLM,
    AutoTokenizer,
    BertConfig,
    BertForMaskedLM,
    BertTokenizer,
)

repo_id = sys.argv[1]
work = Path(tempfile.mkdtemp())
vocab = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "the",
    "hub",
    "is",
    "self",
    "hosted",
    "model",
    "##s",
    "a",
    "tiny",
]
tokenizer = BertTokenizer(vocab={token: index for index, token in enumerate(vocab)})
torch.manual_seed(0)
config = BertConfig(
    vocab_size=len(vocab),
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=37,
    max_position_embeddings=64,
)
model = BertForMaskedLM(config).eval()

model.push_to_hub(repo_id, commit_message="Upload tiny model")
tokenizer.push_to_hub(repo_id, commit_message="Upload tokenizer")

loaded = AutoModelForMaskedLM.from_pretrained(repo_id, cache_dir=work / "cache").eval()
loaded_tokenizer = AutoTokenizer.from_pretrained(repo_id, cache_dir=work / "cache")
inputs = loaded_tokenizer("the hub is a tiny self hosted model", return_tensors="pt")
assert loaded_tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])[1:4] == ["the", "hub", "is"]
with torch.no_grad():
    same_outputs = torch.equal(model(**inputs).logits, loaded(**inputs).logits)
original, reloaded = model.state_dict(), loaded.state_dict()
same_weights = all(torch.equal(original[k], reloaded[k]) for k in original if k in reloaded)
print(
    json.dumps(
        {
            "same_outputs": same_outputs,
            "same_weights": same_weights,
            "model_type": loaded.config.model_type,
            "class": type(loaded).__name__,
        }
    )
)
