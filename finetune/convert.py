"""Hugging Face GPT-2 checkpoint -> unquantized (F32/F16) GGUF, with the gguf package.

Only the conversion lives here: reading the checkpoint (safetensors, or a
pickled .bin when the user allows it), mapping tensor names to llama.cpp's
gpt2 names, building the tokenizer tables and writing the file. Quantizing,
verifying and the atomic write to the user's path are finetune.export's job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import gguf
import numpy as np

from finetune.checkpoint import STATE_FILE
from finetune.errors import CheckpointError
from finetune.tokenizer import tokenizer_dir
from gpt2gguf.constants import EOS_TEXT, EOS_TOKEN_ID, GPT2_VOCAB_SIZE
from gpt2gguf.validate import gpt2_tensor_shapes

# HF GPT-2 activations llama.cpp's gpt2 graph reproduces (it uses tanh-GELU;
# exact GELU differs from it by < 1e-3, well inside quantization noise).
SUPPORTED_ACTIVATIONS = {"gelu_new", "gelu", "gelu_pytorch_tanh", "gelu_fast"}

# HF name (after the "transformer." prefix) -> (GGUF name, transpose?).
# HF Conv1D stores weights as (in, out); ggml wants (out, in) rows.
GLOBAL_TENSORS: dict[str, tuple[str, bool]] = {
    "wte.weight": ("token_embd.weight", False),
    "wpe.weight": ("position_embd.weight", False),
    "ln_f.weight": ("output_norm.weight", False),
    "ln_f.bias": ("output_norm.bias", False),
}
BLOCK_TENSORS: dict[str, tuple[str, bool]] = {
    "ln_1.weight": ("attn_norm.weight", False),
    "ln_1.bias": ("attn_norm.bias", False),
    "attn.c_attn.weight": ("attn_qkv.weight", True),
    "attn.c_attn.bias": ("attn_qkv.bias", False),
    "attn.c_proj.weight": ("attn_output.weight", True),
    "attn.c_proj.bias": ("attn_output.bias", False),
    "ln_2.weight": ("ffn_norm.weight", False),
    "ln_2.bias": ("ffn_norm.bias", False),
    "mlp.c_fc.weight": ("ffn_up.weight", True),
    "mlp.c_fc.bias": ("ffn_up.bias", False),
    "mlp.c_proj.weight": ("ffn_down.weight", True),
    "mlp.c_proj.bias": ("ffn_down.bias", False),
}
# Buffers some GPT-2 checkpoints carry that are not weights.
IGNORED_SUFFIXES = ("attn.bias", "attn.masked_bias")

# Our output type -> (numpy dtype of 2-D weights, GGUF general.file_type).
# 1-D tensors (norms, biases) always stay F32, as llama.cpp expects.
FLOAT_TYPES: dict[str, tuple[type, int]] = {
    "f32": (np.float32, gguf.LlamaFileType.ALL_F32),
    "f16": (np.float16, gguf.LlamaFileType.MOSTLY_F16),
}

CONFIG_KEY = "writer.checkpoint_config"
SUMMARY_KEY = "writer.training_summary"
SUMMARY_FILE = "training_summary.json"


@dataclass
class GPT2Hparams:
    n_vocab: int
    n_ctx: int
    n_embd: int
    n_layer: int
    n_head: int
    n_ff: int
    eps: float


@dataclass
class Checkpoint:
    """A GPT-2 checkpoint read into memory: hparams, raw config and GGUF-named tensors."""

    path: Path
    config: dict
    hparams: GPT2Hparams
    tensors: dict[str, np.ndarray] = field(default_factory=dict)  # GGUF name -> float32 array


@dataclass
class Vocab:
    tokens: list[str]
    types: list[int]
    merges: list[str]
    bos_id: int
    eos_id: int
    n_placeholders: int = 0


def read_config(checkpoint_dir: Path) -> tuple[dict, GPT2Hparams]:
    """Return (raw config.json, GPT2Hparams) of a checkpoint dir.

    Raises CheckpointError if the dir or config is missing or it is not a GPT-2.
    """
    checkpoint_dir = Path(checkpoint_dir)
    if not checkpoint_dir.exists():
        raise CheckpointError(f"checkpoint folder {checkpoint_dir} does not exist")
    if not checkpoint_dir.is_dir():
        raise CheckpointError(
            f"{checkpoint_dir} is not a folder; give the checkpoint folder (save_pretrained)"
        )
    config_path = checkpoint_dir / "config.json"
    if not config_path.is_file() and (checkpoint_dir / STATE_FILE).is_file():
        model_dir = checkpoint_dir.parent / "model"
        raise CheckpointError(
            f"{checkpoint_dir} holds the training state (what --resume continues), not a model; "
            f"export {model_dir} instead (or {checkpoint_dir.parent / 'best'}, the best weights so far)"
        )
    if not config_path.is_file():
        raise CheckpointError(
            f"{checkpoint_dir} has no config.json; it is not a saved Hugging Face checkpoint"
        )
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"cannot read {config_path}: {exc}") from exc
    if not isinstance(config, dict):
        raise CheckpointError(f"{config_path} is not a JSON object")
    model_type = config.get("model_type")
    if model_type != "gpt2":
        raise CheckpointError(
            f"{checkpoint_dir} is not a GPT-2 checkpoint (model_type: {model_type or 'missing'})"
        )
    activation = config.get("activation_function", "gelu_new")
    if activation not in SUPPORTED_ACTIVATIONS:
        raise CheckpointError(
            f"{checkpoint_dir} uses activation {activation!r}; llama.cpp's GPT-2 only runs GELU"
        )
    # Variants llama.cpp's gpt2 graph does not implement would export silently wrong.
    if config.get("scale_attn_by_inverse_layer_idx") or config.get("scale_attn_weights") is False:
        raise CheckpointError(
            f"{checkpoint_dir} uses a GPT-2 attention variant llama.cpp cannot run"
        )
    try:
        n_embd = int(config.get("n_embd", 768))
        hp = GPT2Hparams(
            n_vocab=int(config.get("vocab_size", GPT2_VOCAB_SIZE)),
            n_ctx=int(config.get("n_positions", config.get("n_ctx", 1024))),
            n_embd=n_embd,
            n_layer=int(config.get("n_layer", 12)),
            n_head=int(config.get("n_head", 12)),
            n_ff=int(config.get("n_inner") or 4 * n_embd),
            eps=float(config.get("layer_norm_epsilon", 1e-5)),
        )
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{config_path} has a malformed size field: {exc}") from exc
    if (
        min(hp.n_vocab, hp.n_ctx, hp.n_embd, hp.n_layer, hp.n_head, hp.n_ff) <= 0
        or hp.n_embd % hp.n_head
    ):
        raise CheckpointError(f"{config_path} has impossible sizes: {hp}")
    return config, hp


def weight_files(checkpoint_dir: Path, allow_pickle: bool) -> tuple[list[Path], bool]:
    """Return (weight files, are_they_safetensors) of a save_pretrained dir.

    The one guard against pickled weights, which can run code when loaded:
    raises CheckpointError for a dir with only pytorch_model*.bin files unless
    `allow_pickle`, and for a dir with no weights at all.
    """
    checkpoint_dir = Path(checkpoint_dir)
    safetensors = sorted(checkpoint_dir.glob("*.safetensors"))
    if safetensors:
        return safetensors, True
    pickles = sorted(checkpoint_dir.glob("pytorch_model*.bin"))
    if pickles and not allow_pickle:
        raise CheckpointError(
            f"{checkpoint_dir} only has pickled weights ({pickles[0].name}); loading them can run "
            "arbitrary code. Re-save with safetensors, or pass --allow-pickle if you trust the file"
        )
    if pickles:
        return pickles, False
    raise CheckpointError(f"{checkpoint_dir} has no model weights (*.safetensors)")


def _read_state_dict(files: list[Path], safetensors: bool) -> dict[str, np.ndarray]:
    import torch  # the finetune extra; kept local so `--help` stays light

    state: dict[str, np.ndarray] = {}
    for path in files:
        try:
            if safetensors:
                from safetensors.torch import load_file

                part = load_file(str(path))
            else:
                part = torch.load(str(path), map_location="cpu", weights_only=False)
        except Exception as exc:  # any reader error means the same thing to the user
            raise CheckpointError(f"cannot read weights {path}: {exc}") from exc
        for name, tensor in part.items():
            state[name] = tensor.detach().to(torch.float32).numpy()
    return state


def load_checkpoint(checkpoint_dir: Path, *, allow_pickle: bool = False) -> Checkpoint:
    """Read a save_pretrained GPT-2 dir into GGUF-named float32 arrays.

    Returns a Checkpoint. Raises CheckpointError when the dir is missing, not a
    GPT-2, has only pickled weights (without allow_pickle), or tensors are
    missing or the wrong shape.
    """
    checkpoint_dir = Path(checkpoint_dir)
    config, hp = read_config(checkpoint_dir)
    files, is_safetensors = weight_files(checkpoint_dir, allow_pickle)
    state = _read_state_dict(files, is_safetensors)
    # GPT2LMHeadModel prefixes "transformer."; a bare GPT2Model does not.
    state = {name.removeprefix("transformer."): array for name, array in state.items()}

    e, v = hp.n_embd, hp.n_vocab
    # numpy shapes: ggml's, reversed.
    expected = {
        name: tuple(reversed(shape))
        for name, shape in gpt2_tensor_shapes(e, hp.n_ff, hp.n_ctx, v, hp.n_layer).items()
    }
    plan: dict[str, tuple[str, bool]] = dict(GLOBAL_TENSORS)
    for i in range(hp.n_layer):
        for hf_name, (gguf_name, transpose) in BLOCK_TENSORS.items():
            plan[f"h.{i}.{hf_name}"] = (f"blk.{i}.{gguf_name}", transpose)

    tensors: dict[str, np.ndarray] = {}
    for hf_name, (gguf_name, transpose) in plan.items():
        if hf_name not in state:
            raise CheckpointError(
                f"{checkpoint_dir} lacks tensor {hf_name}; is it a GPT2LMHeadModel?"
            )
        array = state[hf_name]
        array = np.ascontiguousarray(array.T if transpose else array)
        if array.shape != expected[gguf_name]:
            raise CheckpointError(
                f"{checkpoint_dir}: {hf_name} has shape {tuple(array.shape)}, "
                f"config.json implies {expected[gguf_name]}"
            )
        tensors[gguf_name] = array

    # A separate output head only when it differs from the tied embedding.
    head = state.get("lm_head.weight")
    if head is not None and not np.array_equal(head, tensors["token_embd.weight"]):
        if head.shape != (v, e):
            raise CheckpointError(
                f"{checkpoint_dir}: lm_head.weight has shape {head.shape}, expected {(v, e)}"
            )
        tensors["output.weight"] = np.ascontiguousarray(head)

    known = set(plan) | {"lm_head.weight"}
    unknown = [n for n in state if n not in known and not n.endswith(IGNORED_SUFFIXES)]
    if unknown:
        raise CheckpointError(
            f"{checkpoint_dir} has tensors a GPT-2 does not: {', '.join(unknown[:5])}"
        )
    return Checkpoint(path=checkpoint_dir, config=config, hparams=hp, tensors=tensors)


def _read_tokenizer_files(
    checkpoint_dir: Path,
) -> tuple[dict[str, int], list[str], dict[int, bool]]:
    """Return (token -> id, merges "a b", added id -> special?) from the checkpoint or the bundle.

    The checkpoint's own tokenizer wins (it may have added tokens); the
    bundled GPT-2 BPE is the fallback.
    """
    try:
        folder = tokenizer_dir(checkpoint_dir)
    except FileNotFoundError as exc:
        raise CheckpointError(f"no tokenizer in {checkpoint_dir}, and {exc}") from exc
    tokenizer_json = folder / "tokenizer.json"
    if tokenizer_json.is_file():
        data = json.loads(tokenizer_json.read_text(encoding="utf-8"))
        model = data.get("model", {})
        if model.get("type") != "BPE":
            raise CheckpointError(f"{tokenizer_json} is not a byte-level BPE tokenizer")
        vocab = dict(model["vocab"])
        merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
        added = {}
        for tok in data.get("added_tokens", []):
            vocab[tok["content"]] = tok["id"]
            added[tok["id"]] = bool(tok.get("special", False))
        return vocab, merges, added
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    lines = (folder / "merges.txt").read_text(encoding="utf-8").splitlines()
    merges = [line for line in lines if line and not line.startswith("#version")]
    added = {}
    added_json = folder / "added_tokens.json"
    if added_json.is_file():
        for content, idx in json.loads(added_json.read_text(encoding="utf-8")).items():
            vocab[content] = idx
            added[idx] = False
    return vocab, merges, added


def build_vocab(checkpoint_dir: Path, n_vocab: int) -> Vocab:
    """Return the GGUF token tables for an embedding with n_vocab rows.

    Ids the tokenizer does not cover (embeddings resized beyond it) get
    placeholder names `<|extra_N|>` marked UNUSED, so the vocab always matches
    the tensor. Raises CheckpointError if the tokenizer has more tokens than rows.
    """
    vocab, merges, added = _read_tokenizer_files(Path(checkpoint_dir))
    by_id: dict[int, str] = {idx: tok for tok, idx in vocab.items()}
    if by_id and max(by_id) >= n_vocab:
        raise CheckpointError(
            f"the tokenizer has token id {max(by_id)} but the model's embedding has only {n_vocab} rows"
        )
    tokens: list[str] = []
    types: list[int] = []
    n_placeholders = 0
    for idx in range(n_vocab):
        if idx not in by_id:
            tokens.append(f"<|extra_{idx}|>")
            types.append(gguf.TokenType.UNUSED)
            n_placeholders += 1
        elif idx == EOS_TOKEN_ID or added.get(idx):
            tokens.append(by_id[idx])
            types.append(gguf.TokenType.CONTROL)
        elif idx in added:
            tokens.append(by_id[idx])
            types.append(gguf.TokenType.USER_DEFINED)
        else:
            tokens.append(by_id[idx])
            types.append(gguf.TokenType.NORMAL)
    eos_id = vocab.get(EOS_TEXT, EOS_TOKEN_ID)
    if eos_id >= n_vocab:
        raise CheckpointError(f"the model has {n_vocab} tokens, too few for GPT-2's {EOS_TEXT}")
    return Vocab(tokens, types, merges, bos_id=eos_id, eos_id=eos_id, n_placeholders=n_placeholders)


def read_training_summary(checkpoint_dir: Path) -> dict | None:
    """Return the checkpoint's training_summary.json as a dict, or None if absent or unreadable."""
    path = Path(checkpoint_dir) / SUMMARY_FILE
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return summary if isinstance(summary, dict) else None


def write_gguf(
    checkpoint: Checkpoint,
    out_path: Path,
    ftype: str = "f32",
    *,
    name: str | None = None,
    description: str | None = None,
    license: str | None = None,
    training_summary: dict | None = None,
) -> dict:
    """Write checkpoint as an F32 or F16 GGUF at out_path (not atomically: the caller renames).

    Returns {"n_vocab", "n_placeholder_tokens", "n_tensors"}. Raises
    CheckpointError for tokenizer problems and OSError for I/O failures.
    """
    dtype, file_type = FLOAT_TYPES[ftype]
    hp = checkpoint.hparams
    vocab = build_vocab(checkpoint.path, hp.n_vocab)
    summary = (
        training_summary if training_summary is not None else read_training_summary(checkpoint.path)
    )

    writer = gguf.GGUFWriter(str(out_path), arch="gpt2")
    try:
        writer.add_type("model")
        writer.add_name(name or checkpoint.path.resolve().name)
        if description:
            writer.add_description(description)
        if license:
            writer.add_license(license)
        writer.add_string(CONFIG_KEY, json.dumps(checkpoint.config, sort_keys=True))
        if summary:
            writer.add_string(SUMMARY_KEY, json.dumps(summary, sort_keys=True))

        writer.add_context_length(hp.n_ctx)
        writer.add_embedding_length(hp.n_embd)
        writer.add_feed_forward_length(hp.n_ff)
        writer.add_block_count(hp.n_layer)
        writer.add_head_count(hp.n_head)
        writer.add_layer_norm_eps(hp.eps)
        writer.add_file_type(file_type)

        writer.add_tokenizer_model("gpt2")
        writer.add_tokenizer_pre("gpt-2")
        writer.add_token_list(vocab.tokens)
        writer.add_token_types(vocab.types)
        writer.add_token_merges(vocab.merges)
        writer.add_bos_token_id(vocab.bos_id)
        writer.add_eos_token_id(vocab.eos_id)
        # GPT-2 text starts without a BOS; the app and eval feed raw tokens.
        writer.add_add_bos_token(False)
        writer.add_add_eos_token(False)

        for tensor_name, array in checkpoint.tensors.items():
            writer.add_tensor(tensor_name, array.astype(dtype) if array.ndim == 2 else array)

        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()
    return {
        "n_vocab": hp.n_vocab,
        "n_placeholder_tokens": vocab.n_placeholders,
        "n_tensors": len(checkpoint.tensors),
    }
