"""Logits and token log-likelihoods of a GGUF through llama.cpp, shared by verify and eval.

LlamaScorer owns one llama.cpp model and context, loaded by the project's one
loader (gpt2gguf.llama). Every call to `logits` scores a window from a clean
KV cache, so windows never see each other. The KV cache is kept in F32 so an
F32 GGUF can match PyTorch to 1e-4.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from finetune.errors import ExportError
from gpt2gguf.errors import ModelError
from gpt2gguf.llama import LlamaRunner


class LlamaScorer:
    """A GGUF loaded in llama.cpp with all-position logits, for scoring text windows."""

    def __init__(
        self, gguf_path: Path, n_ctx: int, *, n_threads: int | None = None, n_batch: int = 512
    ):
        """Load gguf_path with a context of n_ctx tokens, capped at the model's own context.

        GPT-2 has learned positions: past its trained context llama.cpp would
        read beyond position_embd, so `self.n_ctx` may be smaller than asked.
        `n_threads` None: the physical cores. Raises ExportError if the file
        is not a loadable GPT-2 GGUF.
        """
        try:
            self.runner = LlamaRunner(
                gguf_path,
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_gpu_layers=0,  # CPU kernels: what verify compares with PyTorch must not vary by GPU
                n_batch=n_batch,
                logits_all=True,
                f32_kv_cache=True,
            )
        except ModelError as exc:
            raise ExportError(str(exc)) from exc
        self.info = self.runner.info
        self.n_ctx = self.runner.n_ctx
        self.n_vocab = self.runner.n_vocab

    def tokenize(self, text: str) -> list[int]:
        """Return the model's own token ids for text (no BOS; special tokens as plain text)."""
        return self.runner.tokenize(text)

    def logits(self, tokens: list[int]) -> np.ndarray:
        """Return float32 logits (len(tokens), n_vocab) of one window, scored from an empty cache.

        The array is a view into the scorer's buffer, valid until the next call.
        Raises ValueError if the window is empty or longer than the context,
        ExportError if llama.cpp fails.
        """
        if not 0 < len(tokens) <= self.n_ctx:
            raise ValueError(
                f"window of {len(tokens)} tokens does not fit a context of {self.n_ctx}"
            )
        self.runner.rewind(0)
        try:
            self.runner.decode(tokens)
        except ModelError as exc:
            raise ExportError(str(exc)) from exc
        return self.runner.all_logits(len(tokens))

    def close(self) -> None:
        """Free the llama.cpp model and context."""
        runner = getattr(self, "runner", None)
        if runner is not None:
            runner.close()

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
