"""Logits and token log-likelihoods of a GGUF through llama.cpp, shared by verify and eval.

LlamaScorer owns one llama-cpp-python model and context. Every call to
`logits` scores a window from a clean KV cache, so windows never see each
other. The KV cache is kept in F32 so an F32 GGUF can match PyTorch to 1e-4.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from finetune.errors import ExportError

GGML_TYPE_F32 = 0  # ggml_type enum: keeps the KV cache exact


def default_threads() -> int:
    """Return the number of threads llama.cpp should use: every core we may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class LlamaScorer:
    """A GGUF loaded in llama.cpp with all-position logits, for scoring text windows."""

    def __init__(
        self, gguf_path: Path, n_ctx: int, *, n_threads: int | None = None, n_batch: int = 512
    ):
        """Load gguf_path with a context of n_ctx tokens, capped at the model's own context.

        GPT-2 has learned positions: past its trained context llama.cpp would
        read beyond position_embd, so `self.n_ctx` may be smaller than asked.
        Raises ExportError if the file is not a loadable GPT-2 GGUF.
        """
        from llama_cpp import Llama

        from gpt2gguf.errors import ModelFileError
        from gpt2gguf.validate import validate_gguf

        # Check first: llama.cpp may abort the process on hostile bytes.
        try:
            self.info = validate_gguf(gguf_path)
        except ModelFileError as exc:
            raise ExportError(str(exc)) from exc
        n_ctx = min(n_ctx, self.info.n_ctx)
        threads = n_threads or default_threads()
        batch = max(1, min(n_batch, n_ctx))
        try:
            self.llm = Llama(
                model_path=str(gguf_path),
                n_ctx=n_ctx,
                n_batch=batch,
                n_ubatch=batch,
                n_threads=threads,
                n_threads_batch=threads,
                logits_all=True,
                type_k=GGML_TYPE_F32,
                type_v=GGML_TYPE_F32,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ExportError(f"llama.cpp could not load {gguf_path}: {exc}") from exc
        # llama.cpp rounds the context up (to 256); never score past the model's positions.
        self.n_ctx = min(self.llm.n_ctx(), n_ctx)
        self.n_vocab = self.llm.n_vocab()

    def tokenize(self, text: str) -> list[int]:
        """Return the model's own token ids for text (no BOS; special tokens as plain text)."""
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)

    def logits(self, tokens: list[int]) -> np.ndarray:
        """Return float32 logits (len(tokens), n_vocab) of one window, scored from an empty cache.

        The array is a view into the scorer's buffer, valid until the next call.
        Raises ValueError if the window is empty or longer than the context.
        """
        if not 0 < len(tokens) <= self.n_ctx:
            raise ValueError(
                f"window of {len(tokens)} tokens does not fit a context of {self.n_ctx}"
            )
        self.llm.reset()  # n_tokens = 0, so eval drops the whole KV cache first
        self.llm.eval(tokens)
        return self.llm.scores[: len(tokens)]

    def close(self) -> None:
        """Free the llama.cpp model and context."""
        llm = getattr(self, "llm", None)
        if llm is not None:
            llm.close()
            self.llm = None

    def __enter__(self) -> LlamaScorer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def next_token_nll(
    logits: np.ndarray, tokens: list[int] | np.ndarray, rows: int = 16
) -> np.ndarray:
    """Return the negative log-likelihood of tokens[1:] under logits[:-1], as float64 (T-1,).

    Works through `rows` rows at a time in one reused float32 buffer: a whole
    512 x 50257 window at once would allocate 100 MB temporaries twice and
    fall out of cache.
    """
    x = np.asarray(logits[:-1], dtype=np.float32)
    targets = np.asarray(tokens[1:], dtype=np.int64)
    log_norm = np.empty(len(targets), dtype=np.float64)
    buf = np.empty((min(rows, len(targets)), x.shape[1]), dtype=np.float32)
    for i in range(0, len(targets), rows):
        block = x[i : i + rows]
        tmp = buf[: len(block)]
        peak = block.max(axis=1)
        np.subtract(block, peak[:, None], out=tmp)
        np.exp(tmp, out=tmp)
        log_norm[i : i + len(block)] = np.log(tmp.sum(axis=1, dtype=np.float64)) + peak
    return log_norm - x[np.arange(len(targets)), targets]
