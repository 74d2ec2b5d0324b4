"""A real OpenAI-compatible inference engine for the tests: llama-cpp-python's server on a tiny GGUF.

`build_gguf(target_dir)` writes `tiny-llama.gguf`, a Llama-architecture model with random
weights (hidden size 64, 2 layers, 4 heads, about 900 tokens, F32, under 1 MB) that carries a
SentencePiece-style vocabulary and a ChatML chat template, so /v1/chat/completions works.
The GGUF file is written here byte by byte (the format is a header, key-value metadata, tensor
descriptions and aligned tensor data): nothing is downloaded and no converter is needed. (The
`gguf` package, llama.cpp's own writer, would do the same; the few lines of `_gguf` keep the
test's dependencies to the engine under test, and the format's parts in view where the weights
are shaped on purpose.)
The weights come from a fixed seed, so a build is the same each time.

The weights are shaped so that the model only ever generates whole words from
`tiny_models.WORDS` (" the", " water", ...): every token has a constant hidden feature whose
output weight acts as a per-token logit bias, strongly negative for control, byte and
single-character tokens. Hence generated text is plain ASCII words separated by spaces, the
end-of-sequence token is never sampled (a generation always runs to `max_tokens`, finish_reason
"length", unless a stop string matches) and greedy decoding (temperature 0) is deterministic.

`start_engine(model_path, embedding=False)` runs `python -m llama_cpp.server` on a free port
of 127.0.0.1 with the interpreter running the tests and yields its base URL
("http://127.0.0.1:PORT"; the OpenAI routes are under /v1). With `embedding=True` the server
answers /v1/embeddings (mean pooling, vectors of HIDDEN floats) instead of generating.

llama-cpp-python is installed by scripts/lib/engine.sh (`ensure_llama_engine`).
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np

from tiny_models import WORDS

SEED = 0
HIDDEN = 64
LAYERS = 2
HEADS = 4
KV_HEADS = 2
FFN = 128
CONTEXT = 2048
MODEL_FILE = "tiny-llama.gguf"
MODEL_NAME = "tiny-llama"

BOS, EOS, UNK = "<s>", "<|im_end|>", "<unk>"
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# SentencePiece token types, as llama.cpp reads them from tokenizer.ggml.token_type.
_NORMAL, _UNKNOWN, _CONTROL, _BYTE = 1, 2, 3, 6
_SPACE = "\u2581"  # SentencePiece's "▁", which stands for a space


def vocabulary() -> tuple[list[str], list[float], list[int], list[bool]]:
    """Tokens, scores, types and, for each, whether the model may generate it.

    0-2 are <unk>, <s>, </s>; then the 256 byte-fallback tokens <0x00>..<0xFF> (llama.cpp
    needs <0x0A> for a newline); then <|im_start|> and <|im_end|>; then "▁" and the printable
    ASCII characters; then, for the first 150 words, each prefix of "▁word" so that
    SentencePiece's pairwise merges can reach the whole word. Only the whole words are
    generated.
    """
    tokens: list[str] = [UNK, BOS, "</s>"]
    types: list[int] = [_UNKNOWN, _CONTROL, _CONTROL]
    tokens += [f"<0x{byte:02X}>" for byte in range(256)]
    types += [_BYTE] * 256
    tokens += ["<|im_start|>", EOS]
    types += [_CONTROL, _CONTROL]
    pieces = [_SPACE] + [chr(c) for c in range(0x21, 0x7F)]
    words = [_SPACE + word for word in WORDS[:150]]
    for word in words:
        pieces += [word[:n] for n in range(2, len(word) + 1)]
    pieces = list(dict.fromkeys(pieces))
    tokens += pieces
    types += [_NORMAL] * len(pieces)
    # Scores order SentencePiece's merges: the longer the piece, the later it is merged.
    scores = [0.0] * (len(tokens) - len(pieces)) + [-float(len(p)) for p in pieces]
    wanted = set(words)
    generated = [token in wanted for token in tokens]
    return tokens, scores, types, generated


def build_gguf(target_dir: Path) -> Path:
    """Write the tiny model as target_dir/tiny-llama.gguf and return its path."""
    target_dir.mkdir(parents=True, exist_ok=True)
    tokens, scores, types, generated = vocabulary()
    rng = np.random.default_rng(SEED)
    vocab = len(tokens)
    head_dim = HIDDEN // HEADS

    def rand(*shape: int, scale: float = 0.1) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    # Feature 0 of every token embedding is a large constant that no layer writes to (row 0 of
    # the attention and FFN output projections is zero), so after the final RMS norm it is
    # nearly the same for every position and column 0 of the output matrix is a logit bias.
    embed = rand(vocab, HIDDEN, scale=0.5)
    embed[:, 0] = 8.0
    output = rand(vocab, HIDDEN, scale=0.3)
    output[:, 0] = np.where(np.array(generated), 0.5, -6.0)
    tensors: list[tuple[str, np.ndarray]] = [("token_embd.weight", embed)]
    for layer in range(LAYERS):
        attn_out = rand(HIDDEN, HIDDEN)
        attn_out[0] = 0
        ffn_down = rand(HIDDEN, FFN)
        ffn_down[0] = 0
        tensors += [
            (f"blk.{layer}.attn_norm.weight", np.ones(HIDDEN, np.float32)),
            (f"blk.{layer}.attn_q.weight", rand(HIDDEN, HIDDEN)),
            (f"blk.{layer}.attn_k.weight", rand(KV_HEADS * head_dim, HIDDEN)),
            (f"blk.{layer}.attn_v.weight", rand(KV_HEADS * head_dim, HIDDEN)),
            (f"blk.{layer}.attn_output.weight", attn_out),
            (f"blk.{layer}.ffn_norm.weight", np.ones(HIDDEN, np.float32)),
            (f"blk.{layer}.ffn_gate.weight", rand(FFN, HIDDEN)),
            (f"blk.{layer}.ffn_up.weight", rand(FFN, HIDDEN)),
            (f"blk.{layer}.ffn_down.weight", ffn_down),
        ]
    tensors += [("output_norm.weight", np.ones(HIDDEN, np.float32)), ("output.weight", output)]

    metadata: list[tuple[str, int, object]] = [
        ("general.architecture", _STRING, "llama"),
        ("general.name", _STRING, MODEL_NAME),
        ("general.file_type", _UINT32, 0),  # all F32
        ("llama.context_length", _UINT32, CONTEXT),
        ("llama.embedding_length", _UINT32, HIDDEN),
        ("llama.block_count", _UINT32, LAYERS),
        ("llama.feed_forward_length", _UINT32, FFN),
        ("llama.attention.head_count", _UINT32, HEADS),
        ("llama.attention.head_count_kv", _UINT32, KV_HEADS),
        ("llama.attention.layer_norm_rms_epsilon", _FLOAT32, 1e-5),
        ("llama.rope.dimension_count", _UINT32, head_dim),
        ("llama.rope.freq_base", _FLOAT32, 10000.0),
        ("llama.vocab_size", _UINT32, vocab),
        ("llama.pooling_type", _UINT32, 1),  # mean, used when serving embeddings
        ("tokenizer.ggml.model", _STRING, "llama"),
        ("tokenizer.ggml.tokens", _ARRAY, (_STRING, tokens)),
        ("tokenizer.ggml.scores", _ARRAY, (_FLOAT32, scores)),
        ("tokenizer.ggml.token_type", _ARRAY, (_INT32, types)),
        ("tokenizer.ggml.unknown_token_id", _UINT32, tokens.index(UNK)),
        ("tokenizer.ggml.bos_token_id", _UINT32, tokens.index(BOS)),
        ("tokenizer.ggml.eos_token_id", _UINT32, tokens.index(EOS)),
        ("tokenizer.ggml.add_bos_token", _BOOL, True),
        ("tokenizer.ggml.add_eos_token", _BOOL, False),
        ("tokenizer.chat_template", _STRING, CHAT_TEMPLATE),
    ]
    path = target_dir / MODEL_FILE
    path.write_bytes(_gguf(metadata, tensors))
    return path


# GGUF (version 3) value types and writer. Little-endian throughout; a tensor's dimensions are
# listed innermost first (the reverse of numpy's shape); tensor data is aligned to 32 bytes.
_UINT32, _INT32, _FLOAT32, _BOOL, _STRING, _ARRAY = 4, 5, 6, 7, 8, 9
_SCALAR = {_UINT32: "<I", _INT32: "<i", _FLOAT32: "<f", _BOOL: "<?"}
_ALIGNMENT = 32
_F32 = 0


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def _value(kind: int, value: object) -> bytes:
    if kind == _STRING:
        return _string(value)  # type: ignore[arg-type]
    if kind == _ARRAY:
        item_kind, items = value  # type: ignore[misc]
        head = struct.pack("<IQ", item_kind, len(items))
        return head + b"".join(_value(item_kind, item) for item in items)
    return struct.pack(_SCALAR[kind], value)


def _gguf(metadata: list[tuple[str, int, object]], tensors: list[tuple[str, np.ndarray]]) -> bytes:
    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata)))
    for key, kind, value in metadata:
        out += _string(key) + struct.pack("<I", kind) + _value(kind, value)
    offset = 0
    blobs = []
    for name, array in tensors:
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        out += _string(name) + struct.pack("<I", array.ndim)
        out += b"".join(struct.pack("<Q", n) for n in reversed(array.shape))
        out += struct.pack("<IQ", _F32, offset)
        padding = -len(data) % _ALIGNMENT
        blobs.append(data + b"\0" * padding)
        offset += len(data) + padding
    out += b"\0" * (-len(out) % _ALIGNMENT)
    return bytes(out) + b"".join(blobs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def start_engine(
    model_path: Path,
    *,
    embedding: bool = False,
    timeout: float = 60.0,
    python: str | None = None,
    port: int | None = None,
) -> Iterator[str]:
    """Run llama-cpp-python's OpenAI-compatible server on model_path; yield its base URL.

    The server answers /v1/models once the model is loaded; if it exits or does not answer
    within `timeout` seconds, RuntimeError carries the end of its output. It is stopped
    (SIGTERM, then SIGKILL) when the block ends.
    """
    port = port or free_port()
    command = [
        python or sys.executable, "-m", "llama_cpp.server",
        "--model", str(model_path),
        "--model_alias", MODEL_NAME,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_ctx", "512",
        "--n_batch", "512",
        "--n_threads", "1",
        "--n_threads_batch", "1",
        "--seed", str(SEED),
        "--embedding", "true" if embedding else "false",
        "--interrupt_requests", "false",
        "--verbose", "false",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)

        def output() -> str:
            log.seek(0)
            return log.read().decode(errors="replace")[-4000:]

        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None:
                    raise RuntimeError(
                        f"llama_cpp.server exited with {process.returncode}:\n{output()}"
                    )
                try:
                    if httpx.get(f"{url}/v1/models", timeout=2, trust_env=False).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"llama_cpp.server did not answer on {url} in {timeout:.0f}s:\n{output()}"
                    )
                time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
