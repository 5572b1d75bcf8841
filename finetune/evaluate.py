"""`writer-finetune eval`: perplexity of a GGUF on a text, through llama.cpp.

THE PROTOCOL (every figure the project reports uses it, so runs compare):
1. drop document separator lines (lines that are just `<|endoftext|>`);
2. tokenize the rest with the model's own llama.cpp tokenizer;
3. take `windows` windows of `window_tokens` tokens whose starts are spread
   evenly over the whole token stream (np.linspace over [0, n - window_tokens]);
4. evaluate each window from an empty KV cache and score every token that
   has context (positions 1..T-1 of the window);
5. perplexity = exp(mean NLL over all scored tokens).
A text shorter than one window is scored as one shorter window, with a note.
"""

from __future__ import annotations

import argparse
import json
import lzma
import math
import sys
import time
from pathlib import Path

import numpy as np

from finetune.errors import FinetuneError
from gpt2gguf.constants import EOS_TEXT


def read_eval_text(path: Path) -> str:
    """Return the UTF-8 text of a .txt or .xz file.

    Raises FinetuneError if it is missing, unreadable or not UTF-8 text.
    """
    path = Path(path)
    try:
        if path.suffix == ".xz":
            with lzma.open(path, "rt", encoding="utf-8") as f:
                return f.read()
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise FinetuneError(f"text file {path} does not exist") from exc
    except (OSError, lzma.LZMAError, UnicodeDecodeError) as exc:
        raise FinetuneError(f"cannot read the text {path}: {exc}") from exc


def strip_separators(text: str) -> str:
    """Return text without its document separator lines (protocol step 1)."""
    return "\n".join(line for line in text.split("\n") if line.strip() != EOS_TEXT)


def window_starts(n_tokens: int, windows: int, window_tokens: int) -> list[int]:
    """Return the start of each window, spread evenly over [0, n_tokens - window_tokens].

    Duplicates (a text barely longer than one window) are kept once.
    """
    last = max(0, n_tokens - window_tokens)
    starts = np.linspace(0, last, num=max(1, windows)).round().astype(int)
    return sorted(set(starts.tolist()))


def gguf_perplexity(
    gguf_path: Path,
    text: str,
    windows: int = 60,
    window_tokens: int = 512,
    n_threads: int | None = None,
) -> dict:
    """Score text with the GGUF by THE PROTOCOL (see the module docstring).

    Returns {"ppl", "nll", "windows", "window_tokens", "tokens_scored",
    "tokens_total", "model", "seconds", "note"}. Raises FinetuneError if the
    text has fewer than two tokens, ExportError if the GGUF cannot load.
    """
    # llama.cpp only here: the trainer imports this module for window_starts.
    from finetune.llama_scoring import LlamaScorer, next_token_nll

    if windows < 1 or window_tokens < 2:
        raise FinetuneError("eval needs at least one window of at least two tokens")
    t0 = time.perf_counter()
    note = None
    text = strip_separators(text)
    with LlamaScorer(Path(gguf_path), window_tokens, n_threads=n_threads) as scorer:
        if scorer.n_ctx < window_tokens:
            note = f"the model's context is {scorer.n_ctx} tokens: windows shortened from {window_tokens}"
            window_tokens = scorer.n_ctx
        tokens = scorer.tokenize(text)
        n = len(tokens)
        if n < 2:
            raise FinetuneError("the text is too short to score: it needs at least two tokens")
        if n < window_tokens:
            note = (
                (note + "; " if note else "")
                + f"the text has only {n} tokens, shorter than one window: scored as one window of {n}"
            )
            window_tokens = n
        starts = window_starts(n, windows, window_tokens)
        if len(starts) < windows:
            note = (
                note
                or f"the text fits only {len(starts)} distinct windows of {window_tokens} tokens"
            )
        nll_sum = 0.0
        scored = 0
        for start in starts:
            window = tokens[start : start + window_tokens]
            nll = next_token_nll(scorer.logits(window), window)
            nll_sum += float(nll.sum())
            scored += len(nll)
    mean_nll = nll_sum / scored
    return {
        "ppl": math.exp(mean_nll),
        "nll": mean_nll,
        "windows": len(starts),
        "window_tokens": window_tokens,
        "tokens_scored": scored,
        "tokens_total": n,
        "model": str(gguf_path),
        "seconds": round(time.perf_counter() - t0, 3),
        "note": note,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("gguf", type=Path, metavar="MODEL.gguf")
    parser.add_argument(
        "--text", type=Path, required=True, metavar="FILE", help="UTF-8 text, .txt or .xz"
    )
    parser.add_argument("--windows", type=int, default=60, help="number of windows (default 60)")
    parser.add_argument(
        "--window-tokens", type=int, default=512, help="tokens per window (default 512)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="llama.cpp threads (default: all cores)"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print only the JSON result (the default output is JSON too)",
    )


def run(args: argparse.Namespace) -> int:
    text = read_eval_text(args.text)
    print(f"scoring {args.text} with {args.gguf}...", file=sys.stderr)
    result = gguf_perplexity(args.gguf, text, args.windows, args.window_tokens, args.threads)
    if result["note"]:
        print(f"note: {result['note']}", file=sys.stderr)
    if not args.json:
        print(
            f"perplexity {result['ppl']:.3f} over {result['tokens_scored']} tokens", file=sys.stderr
        )
    print(json.dumps(result, indent=2))
    return 0
