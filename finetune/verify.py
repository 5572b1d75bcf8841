"""`writer-finetune verify`: does a GGUF compute what its PyTorch checkpoint computes?

The same token ids (from the checkpoint's tokenizer) go through transformers'
GPT2LMHeadModel and through llama.cpp on the GGUF, in chunks of the model's
context, each chunk from a clean cache. We compare all logits (relative L2),
the argmax at every position (top-1 agreement) and the perplexity each side
assigns to the text.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from finetune.errors import CheckpointError, FinetuneError
from finetune.llama_scoring import LlamaScorer, next_token_nll

# Built-in text for export's check: ordinary prose with punctuation and digits.
DEFAULT_TEXT = (
    "The rain had not stopped for three days. Anna stood at the window of the little "
    "bookshop, counting the umbrellas that hurried past: one, two, seven, twelve. "
    '"We should close early," said Mr. Hale, folding yesterday\'s newspaper. '
    "She did not answer. Somewhere beyond the harbour a ship's horn sounded, low and "
    "patient, and for a moment she imagined she was on it, sailing north in 1923."
)


def _load_torch_model(checkpoint_dir: Path, allow_pickle: bool):
    import torch
    from transformers import GPT2LMHeadModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # our stderr is for our progress lines
    from finetune.convert import weight_files

    _, has_safetensors = weight_files(checkpoint_dir, allow_pickle)
    try:
        model = GPT2LMHeadModel.from_pretrained(
            str(checkpoint_dir), use_safetensors=has_safetensors, dtype=torch.float32
        )
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"transformers cannot load {checkpoint_dir}: {exc}") from exc
    return model.eval()


def verify_gguf(
    checkpoint_dir: Path,
    gguf_path: Path,
    text: str | None = None,
    *,
    allow_pickle: bool = False,
    max_tokens: int | None = None,
    n_threads: int | None = None,
) -> dict:
    """Compare the GGUF's logits with the checkpoint's on text (default: a built-in paragraph).

    Returns {"rel_l2", "top1_agreement", "ppl_torch", "ppl_gguf",
    "ppl_change_pct", "tokens", "chunks"}. Raises CheckpointError if the
    checkpoint cannot load, ExportError if the GGUF cannot, FinetuneError if
    the text has fewer than two tokens.
    """
    import torch

    from finetune.convert import read_config
    from finetune.tokenizer import load_tokenizer

    checkpoint_dir = Path(checkpoint_dir)
    _, hp = read_config(checkpoint_dir)
    ids = load_tokenizer(checkpoint_dir).encode(text if text is not None else DEFAULT_TEXT).ids
    if max_tokens:
        ids = ids[:max_tokens]
    if len(ids) < 2:
        raise FinetuneError("the verify text is too short: it needs at least two tokens")
    n_ctx = hp.n_ctx
    chunks = [ids[i : i + n_ctx] for i in range(0, len(ids), n_ctx)]
    if len(chunks) > 1 and len(chunks[-1]) < 2:  # a lone last token has nothing to score
        chunks.pop()

    model = _load_torch_model(checkpoint_dir, allow_pickle)
    sq_err = sq_ref = 0.0
    agree = positions = 0
    nll_torch = nll_gguf = 0.0
    scored = 0
    # A context just as long as the longest chunk: less KV cache to allocate.
    with LlamaScorer(gguf_path, max(len(c) for c in chunks), n_threads=n_threads) as scorer:
        for chunk in chunks:
            with torch.no_grad():
                ref = model(torch.tensor([chunk])).logits[0].numpy()
            got = scorer.logits(chunk)
            diff = got - ref  # float32; the sums below accumulate in float64
            sq_err += float(np.einsum("ij,ij->", diff, diff, dtype=np.float64))
            sq_ref += float(np.einsum("ij,ij->", ref, ref, dtype=np.float64))
            agree += int((got.argmax(axis=1) == ref.argmax(axis=1)).sum())
            positions += len(chunk)
            if len(chunk) > 1:
                nll_torch += float(next_token_nll(ref, chunk).sum())
                nll_gguf += float(next_token_nll(got, chunk).sum())
                scored += len(chunk) - 1
    ppl_torch = math.exp(nll_torch / scored)
    ppl_gguf = math.exp(nll_gguf / scored)
    return {
        "rel_l2": math.sqrt(sq_err / sq_ref) if sq_ref else math.inf,
        "top1_agreement": agree / positions,
        "ppl_torch": ppl_torch,
        "ppl_gguf": ppl_gguf,
        "ppl_change_pct": 100.0 * (ppl_gguf / ppl_torch - 1.0),
        "tokens": len(ids),
        "chunks": len(chunks),
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path, metavar="CHECKPOINT_DIR")
    parser.add_argument("gguf", type=Path, metavar="MODEL.gguf")
    parser.add_argument(
        "--text",
        type=Path,
        metavar="FILE",
        help="UTF-8 text to compare on (default: a built-in paragraph)",
    )
    parser.add_argument(
        "--max-tokens", type=int, default=None, help="use only the first N tokens of the text"
    )
    parser.add_argument(
        "--allow-pickle", action="store_true", help="load pytorch_model.bin (trusted files only)"
    )


def run(args: argparse.Namespace) -> int:
    text = None
    if args.text is not None:
        try:
            text = args.text.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise FinetuneError(f"cannot read the text {args.text}: {exc}") from exc
    print(f"verifying {args.gguf} against {args.checkpoint}...", file=sys.stderr)
    result = verify_gguf(
        args.checkpoint, args.gguf, text, allow_pickle=args.allow_pickle, max_tokens=args.max_tokens
    )
    print(json.dumps(result, indent=2))
    return 0
