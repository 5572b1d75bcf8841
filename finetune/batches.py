"""What a training step reads: the cached token streams, and random windows of them."""

from __future__ import annotations

from pathlib import Path

from finetune.errors import FinetuneError
from gpt2gguf.constants import EOS_TOKEN_ID


def load_tokens(cfg, ranks):
    """The cached train/val token streams (finetune.tokens.prepare_tokens) of `cfg`, a
    TrainConfig; under torchrun rank 0 tokenizes while the others wait, then read its cache.
    """
    from finetune.tokenizer import load_tokenizer
    from finetune.tokens import prepare_tokens

    tokenizer = load_tokenizer(Path(cfg.base) if cfg.base else None)
    cache_root = Path(cfg.cache_dir) if cfg.cache_dir else default_cache()
    if not ranks.master:
        ranks.barrier()
    data = prepare_tokens(
        cfg.data, cfg.val_data, tokenizer, EOS_TOKEN_ID, cache_root, cfg.val_fraction
    )
    if ranks.master:
        ranks.barrier()
    return data


def check_fits(data, block: int) -> None:
    """Raise FinetuneError when the training or validation stream is shorter than a window."""
    for name, stream in (("training", data.train), ("validation", data.val)):
        if len(stream) < block + 2:
            raise FinetuneError(
                f"the {name} text is too short ({len(stream)} tokens) for a block of {block}; "
                "give more text or a smaller --block-size"
            )


def get_batch(tokens, block: int, batch: int, seed: int, step: int, micro: int, rank: int):
    """Random windows of the stream: (inputs, targets), each [batch, block] int64 on the CPU.

    The draw depends only on (seed, step, micro, rank), so a resumed run sees
    exactly the batches the uninterrupted run would.
    """
    import numpy as np
    import torch

    rng = np.random.default_rng([seed, step, micro, rank])
    starts = rng.integers(0, len(tokens) - block - 1, size=batch)
    window = np.stack([np.asarray(tokens[s : s + block + 1], dtype=np.int64) for s in starts])
    window = torch.from_numpy(window)
    return window[:, :-1], window[:, 1:]


def default_cache() -> Path:
    """The token cache in the user's cache dir."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("writer-finetune")) / "tokens"
