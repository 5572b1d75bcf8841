"""Which GPT-2 to start from: a hub id, a local checkpoint, or a fresh config, grown
deeper with --grow; and the training window it allows."""

from __future__ import annotations

import os
from pathlib import Path

from finetune.errors import CheckpointError, FinetuneError
from gpt2gguf.constants import EOS_TOKEN_ID, GPT2_VOCAB_SIZE

# Named sizes for --init. Widths are multiples of 256 where it matters, so
# that llama.cpp's K-quants apply to every matrix of the exported model.
MODEL_SIZES: dict[str, dict[str, int]] = {
    "tiny": dict(n_layer=2, n_embd=128, n_head=2, n_positions=256),
    "mini": dict(n_layer=4, n_embd=256, n_head=4, n_positions=512),
    "default-cpu": dict(n_layer=6, n_embd=256, n_head=4, n_positions=512),
    "medium-gpu": dict(n_layer=8, n_embd=512, n_head=8, n_positions=512),
    "small": dict(n_layer=12, n_embd=768, n_head=12, n_positions=1024),  # GPT-2 small, 124M
}
_INIT_ALIASES = {"n_ctx": "n_positions", "block_size": "n_positions"}


def parse_init(spec: str) -> dict[str, int]:
    """Turn `tiny`, `small` or `n_layer=8,n_embd=256,n_head=8,n_ctx=512` into config kwargs.

    Raises FinetuneError for unknown names or malformed specs.
    """
    if spec in MODEL_SIZES:
        return dict(MODEL_SIZES[spec])
    shape = dict(MODEL_SIZES["tiny"])
    try:
        for item in spec.split(","):
            key, value = item.split("=")
            key = _INIT_ALIASES.get(key.strip(), key.strip())
            if key not in shape:
                raise ValueError(key)
            shape[key] = int(value)
    except ValueError as exc:
        raise FinetuneError(
            f"--init {spec!r}: expected one of {', '.join(MODEL_SIZES)} "
            "or n_layer=..,n_embd=..,n_head=..,n_ctx=.."
        ) from exc
    if shape["n_embd"] % shape["n_head"]:
        raise FinetuneError(f"--init {spec!r}: n_embd must be a multiple of n_head")
    return shape


def set_dropout(model, p: float) -> None:
    """Use dropout probability `p` everywhere in a GPT-2 (its config says so too, when saved)."""
    import torch

    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = p
    model.config.resid_pdrop = model.config.embd_pdrop = model.config.attn_pdrop = p


def new_model(spec: str, dropout: float = 0.0):
    """A freshly initialised GPT2LMHeadModel of a named or explicit size (SDPA attention)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    shape = parse_init(spec)
    config = GPT2Config(
        vocab_size=GPT2_VOCAB_SIZE,
        bos_token_id=EOS_TOKEN_ID,
        eos_token_id=EOS_TOKEN_ID,
        resid_pdrop=dropout,
        embd_pdrop=dropout,
        attn_pdrop=dropout,
        tie_word_embeddings=True,
        attn_implementation="sdpa",
        **shape,
    )
    return GPT2LMHeadModel(config)


def load_base(base: str, allow_pickle: bool = False):
    """Load the starting checkpoint: a GPT-2 GGUF file, `default` (the bundled model),
    a local save_pretrained dir or a hub id such as `gpt2`.

    Raises CheckpointError when the file or dir is not a GPT-2, or when a hub id
    cannot be fetched (no internet).
    """
    from transformers import GPT2LMHeadModel

    from finetune.convert import weight_files
    from finetune.gguf_import import is_gguf_base, load_gguf_model

    if is_gguf_base(base):
        return load_gguf_model(base)

    path = Path(base)
    if path.exists():
        if not (path / "config.json").is_file():
            raise CheckpointError(f"{base}: not a checkpoint dir (no config.json)")
        _, has_safetensors = weight_files(path, allow_pickle)
        try:
            model = GPT2LMHeadModel.from_pretrained(
                path, attn_implementation="sdpa", use_safetensors=has_safetensors
            )
        except (OSError, ValueError, KeyError) as exc:
            raise CheckpointError(f"{base}: cannot load as a GPT-2 checkpoint ({exc})") from exc
        if model.config.model_type != "gpt2":
            raise CheckpointError(
                f"{base} is not a GPT-2 model (model_type: {model.config.model_type})"
            )
        return model
    try:
        return GPT2LMHeadModel.from_pretrained(base, attn_implementation="sdpa")
    except OSError as exc:
        offline = os.environ.get("HF_HUB_OFFLINE") == "1"
        raise CheckpointError(
            f"--base {base}: not a local checkpoint dir, and it could not be fetched from the "
            f"Hugging Face hub{' (HF_HUB_OFFLINE=1)' if offline else ' (no internet?)'}. "
            "Download it where the hub can be reached, or train from scratch with --init."
        ) from exc


def load_model(cfg):
    """The model a run starts from: `cfg.init` new, or `cfg.base` loaded with its dropout
    (or `cfg.dropout`), then grown to `cfg.grow` layers when asked (finetune.grow).

    `cfg` is a finetune.config.TrainConfig. Raises CheckpointError for a base
    that cannot be loaded, FinetuneError for a bad --init, RefusedError for a
    --grow that cannot keep the base's outputs.
    """
    import transformers

    from finetune.grow import grow_depth

    transformers.utils.logging.disable_progress_bar()
    if not cfg.base:
        model = new_model(cfg.init, cfg.dropout or 0.0)
    else:
        model = load_base(cfg.base, cfg.allow_pickle)
        if cfg.dropout is not None:
            set_dropout(model, cfg.dropout)
    return grow_depth(model, cfg.grow) if cfg.grow else model


def block_size(asked: int | None, context: int) -> int:
    """The training window: as asked, or the model's whole context.

    Raises FinetuneError when it is longer than the context.
    """
    if asked is None:
        return context
    if asked > context:
        raise FinetuneError(f"--block-size {asked} exceeds the model's context ({context})")
    return asked
