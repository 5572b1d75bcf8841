"""GPT-2 GGUF -> PyTorch `GPT2LMHeadModel`, so that training can continue from a shipped file.

The inverse of finetune.convert: the same tensor tables read backwards, with
quantized tensors dequantized by the gguf package. The shipped default model
exists only as a q8_0 GGUF; this is what lets `writer-finetune train --base
default` (or `--base FILE.gguf`) fine-tune it.
"""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import numpy as np

from finetune.convert import BLOCK_TENSORS, CONFIG_KEY, GLOBAL_TENSORS
from finetune.errors import CheckpointError
from finetune.tokenizer import load_tokenizer
from gpt2gguf.constants import EOS_TOKEN_ID, default_model_path
from gpt2gguf.errors import ModelFileError
from gpt2gguf.validate import validate_gguf

# The tensor types we turn back into floats. F32/F16/BF16 are read as they
# are; the quantized ones go through gguf.quants.dequantize.
DEQUANTIZABLE = {
    gguf.GGMLQuantizationType.F32,
    gguf.GGMLQuantizationType.F16,
    gguf.GGMLQuantizationType.BF16,
    gguf.GGMLQuantizationType.Q8_0,
    gguf.GGMLQuantizationType.Q4_0,
    gguf.GGMLQuantizationType.Q5_0,
    gguf.GGMLQuantizationType.Q4_K,
    gguf.GGMLQuantizationType.Q5_K,
    gguf.GGMLQuantizationType.Q6_K,
}

# GGUF key (after the "gpt2." prefix) -> GPT2Config field.
HPARAM_KEYS: dict[str, str] = {
    "context_length": "n_positions",
    "embedding_length": "n_embd",
    "feed_forward_length": "n_inner",
    "block_count": "n_layer",
    "attention.head_count": "n_head",
    "attention.layer_norm_epsilon": "layer_norm_epsilon",
}

# GGUF tensor name -> (HF name, transpose?): convert's tables, reversed.
GLOBAL_FROM_GGUF = {g: ("transformer." + hf, t) for hf, (g, t) in GLOBAL_TENSORS.items()}


def is_gguf_base(base: str) -> bool:
    """True when --base names a GGUF file (or `default`, the bundled model)."""
    return base == "default" or base.lower().endswith(".gguf")


def resolve_base(base: str) -> Path:
    """Return the GGUF path --base names; `default` is the bundled model.

    Raises CheckpointError when the bundled model is missing.
    """
    if base != "default":
        return Path(base).expanduser()
    path = default_model_path()
    if path is None:
        raise CheckpointError(
            "--base default: the bundled model is missing from resources/models; reinstall, "
            "or give a GGUF file with --base FILE.gguf"
        )
    return path


def _field_value(reader: gguf.GGUFReader, key: str):
    field = reader.get_field(key)
    if field is None:
        return None
    if field.types and field.types[0] == gguf.GGUFValueType.STRING and len(field.types) == 1:
        return bytes(field.parts[field.data[0]]).decode("utf-8")
    return field.parts[field.data[0]].tolist()[0]


def _token_list(reader: gguf.GGUFReader) -> list[str]:
    field = reader.get_field("tokenizer.ggml.tokens")
    if field is None:
        return []
    return [bytes(field.parts[i]).decode("utf-8", errors="replace") for i in field.data]


def _check_vocab(path: Path, reader: gguf.GGUFReader) -> None:
    """Refuse a GGUF whose vocabulary is not GPT-2's: training would tokenize with the wrong BPE."""
    model = _field_value(reader, "tokenizer.ggml.model")
    tokens = _token_list(reader)
    bundled = load_tokenizer().get_vocab()
    expected = [""] * len(bundled)
    for token, idx in bundled.items():
        expected[idx] = token
    if model != "gpt2" or tokens[: len(expected)] != expected:
        raise CheckpointError(
            f"{path.name}: its vocabulary is not GPT-2's (tokenizer {model or 'missing'}, "
            f"{len(tokens):,} tokens), so training with the GPT-2 tokenizer would be wrong"
        )
    if len(tokens) != len(expected):
        raise CheckpointError(
            f"{path.name}: {len(tokens):,} tokens where GPT-2 has {len(expected):,}; "
            "continuing a model with added tokens is not supported"
        )


def _to_float(path: Path, tensor) -> np.ndarray:
    """Return the tensor as float32 in numpy (HF) order; raise CheckpointError if we can't."""
    qtype = gguf.GGMLQuantizationType(tensor.tensor_type)
    if qtype not in DEQUANTIZABLE:
        raise CheckpointError(
            f"{path.name}: tensor {tensor.name} is {qtype.name}, which cannot be turned back "
            f"into training weights; export the model as f32, f16 or q8_0 and try again"
        )
    shape = tuple(int(d) for d in reversed(tensor.shape.tolist()))
    data = np.asarray(tensor.data)
    if qtype in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16):
        array = data.astype(np.float32)
    else:
        array = gguf.quants.dequantize(data, qtype).astype(np.float32)
    return array.reshape(shape)


def read_gguf(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a GPT-2 GGUF into (GPT2Config kwargs, HF-named float32 arrays).

    Raises CheckpointError, naming the file, for a missing, damaged or
    non-GPT-2 file, a foreign vocabulary, or a quant type we cannot dequantize.
    """
    path = Path(path)
    try:
        validate_gguf(path)
    except ModelFileError as exc:
        raise CheckpointError(f"--base {path}: {exc}") from exc
    try:
        reader = gguf.GGUFReader(str(path))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"--base {path}: cannot read it as GGUF ({exc})") from exc
    _check_vocab(path, reader)

    shape = {hf: _field_value(reader, f"gpt2.{key}") for key, hf in HPARAM_KEYS.items()}
    config = {}
    stored = _field_value(reader, CONFIG_KEY)
    if stored:  # our own exports carry the checkpoint's config.json; keep what it says
        try:
            config = {
                k: v
                for k, v in json.loads(stored).items()
                if k in ("activation_function", "n_inner")
                or k.startswith(("resid", "embd", "attn"))
            }
        except json.JSONDecodeError:
            config = {}
    config.update(shape)
    if config["n_inner"] == 4 * config["n_embd"]:
        config["n_inner"] = None

    tensors: dict[str, np.ndarray] = {}
    for tensor in reader.tensors:
        name = tensor.name
        if name in GLOBAL_FROM_GGUF:
            hf_name, transpose = GLOBAL_FROM_GGUF[name]
        elif name == "output.weight":
            hf_name, transpose = "lm_head.weight", False
        else:
            _, layer, rest = name.split(".", 2)
            match = [hf for hf, (g, _) in BLOCK_TENSORS.items() if g == rest]
            if not match:
                raise CheckpointError(f"{path.name}: unexpected tensor {name} for a GPT-2")
            hf_name = f"transformer.h.{layer}.{match[0]}"
            transpose = BLOCK_TENSORS[match[0]][1]
        array = _to_float(path, tensor)
        tensors[hf_name] = np.ascontiguousarray(array.T if transpose else array)
    config["tie_word_embeddings"] = "lm_head.weight" not in tensors
    return config, tensors


def load_gguf_model(base: str):
    """Return a GPT2LMHeadModel (SDPA attention) with the weights of the GGUF `base` names.

    `base` is a path to a .gguf file or `default`. Raises CheckpointError.
    """
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    path = resolve_base(base)
    config_kwargs, tensors = read_gguf(path)
    config = GPT2Config(
        vocab_size=tensors["transformer.wte.weight"].shape[0],
        bos_token_id=EOS_TOKEN_ID,
        eos_token_id=EOS_TOKEN_ID,
        attn_implementation="sdpa",
        **config_kwargs,
    )
    model = GPT2LMHeadModel(config)
    state = {name: torch.from_numpy(array) for name, array in tensors.items()}
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shapes that contradict the file's own hyperparameters
        raise CheckpointError(f"{path.name}: tensors do not fit a GPT-2 ({exc})") from exc
    # The causal-mask buffers and a tied head are not in the file, by design.
    missing = [m for m in missing if not m.endswith("attn.bias") and m != "lm_head.weight"]
    if missing or unexpected:
        raise CheckpointError(
            f"{path.name}: tensors do not fit a GPT-2 (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    if config.tie_word_embeddings:
        model.tie_weights()
    return model
