"""The engine's model: a GPT-2 GGUF in llama.cpp, with what suggestions need on top.

`LlamaModel` owns one `gpt2gguf.llama.LlamaRunner` (the project's one loader
and its only door to llama-cpp-python) and adds what the engine needs: the
byte text of every token (for token healing), the prompt cache (`PromptCache`:
llama.cpp's KV cache reused by common prefix, with a count of the tokens
actually evaluated), and cancellation of a long prompt evaluation, raised as
the engine's own errors.

Not thread-safe: a llama.cpp context must be used from one thread at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from gpt2gguf.llama import DecodeAborted, LlamaRunner
from gpt2gguf.validate import GGUFInfo
from writer_app.engine.errors import GenerationCancelled
from writer_app.engine.prompt import reusable_prefix

# Prompt evaluations at least this long get the abort callback: ggml calls it
# after every graph node, so it costs a little on each decode and is only
# worth it when a decode is long enough for a writer to notice.
ABORT_MIN_TOKENS = 32


class LlamaModel:
    """One GPT-2 GGUF loaded into llama.cpp with one context of at most `n_ctx` tokens.

    Loading settings left as None are chosen by gpt2gguf.llama.LlamaRunner
    (physical cores, every layer on a GPU when there is one, no CPU extra
    buffer types where they crash). Raises ModelFileError when the file is
    not a valid GPT-2 GGUF, ModelLoadError when llama.cpp refuses it.
    """

    def __init__(
        self,
        path: Path,
        *,
        n_ctx: int,
        n_threads: int | None = None,
        n_gpu_layers: int | None = None,
        use_extra_bufts: bool | None = None,
        logits_all: bool = False,
    ):
        self.path = Path(path)
        self._runner = LlamaRunner(
            self.path,
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_gpu_layers=n_gpu_layers,
            use_extra_bufts=use_extra_bufts,
            logits_all=logits_all,  # every position's logits: scoring only
        )
        runner = self._runner
        self.info: GGUFInfo = runner.info
        self.n_ctx = runner.n_ctx
        self.n_vocab = runner.n_vocab
        self.eos = runner.eos
        self.backend = runner.backend
        self.n_gpu_layers = runner.n_gpu_layers
        self.use_extra_bufts = runner.use_extra_bufts
        self.pieces = runner.token_pieces()
        self.prompt_cache = PromptCache(runner)

    @property
    def n_threads(self) -> int:
        """CPU threads llama.cpp uses."""
        return self._runner.n_threads

    def tokenize(self, text: str) -> list[int]:
        """Return the tokens of `text` (no <|endoftext|> added, "<|endoftext|>" typed stays text)."""
        return self._runner.tokenize(text)

    def count_tokens(self, text: str) -> int:
        """Return how many tokens `text` has."""
        return len(self._runner.tokenize(text))

    def evaluate(
        self, prompt: Sequence[int], should_cancel: Callable[[], bool] | None = None
    ) -> int:
        """Bring the prompt cache to exactly `prompt`, evaluating only what it does not hold.

        Returns the number of tokens evaluated. Raises GenerationCancelled when
        should_cancel() turns true (checked by llama.cpp between graph nodes for
        long evaluations), EngineError when llama.cpp fails.
        """
        return self.prompt_cache.bring_to(prompt, should_cancel)

    def append(self, token: int) -> None:
        """Evaluate one more token after the cached ones (a generated token)."""
        self.prompt_cache.append(token)

    def window_logits(self, tokens: Sequence[int]) -> np.ndarray:
        """Return the logits after each of `tokens`, read from an empty context (n, n_vocab).

        Needs logits_all=True at construction (writer-bench ppl). The array is a
        view valid until the next evaluation. Raises EngineError when llama.cpp fails.
        """
        self._runner.rewind(0)
        _decode(self._runner, list(tokens), None)
        return self._runner.all_logits(len(tokens))

    def logits(self) -> np.ndarray:
        """Return a copy of the next-token logits after the last evaluated token."""
        return self._runner.last_logits()

    def logits_view(self) -> np.ndarray:
        """Return the next-token logits without copying them: read-only, valid until
        the next evaluation (append, evaluate)."""
        return self._runner.last_logits_view()

    def set_threads(self, n_threads: int | None) -> None:
        """Use `n_threads` threads (None: the physical cores) from the next evaluation on."""
        self._runner.set_threads(n_threads)

    def close(self) -> None:
        """Free the model and its context (idempotent)."""
        self._runner.close()


class PromptCache:
    """llama.cpp's KV cache seen as a cache of the last prompt: the tokens it holds,
    kept by common prefix, so a request evaluates only what the writer typed since.

    (Not the document n-grams, ngrams.py, nor the suggestion memo, memo.py.)
    """

    def __init__(self, runner: LlamaRunner):
        self._runner = runner

    def bring_to(
        self, prompt: Sequence[int], should_cancel: Callable[[], bool] | None = None
    ) -> int:
        """Make the cache hold exactly `prompt`; return how many tokens were evaluated.

        Raises GenerationCancelled when should_cancel() turns true during a long
        evaluation, EngineError when llama.cpp fails.
        """
        keep = reusable_prefix(self._runner.cached_tokens(), prompt)
        new = list(prompt[keep:])
        self._runner.rewind(keep)
        _decode(self._runner, new, should_cancel if len(new) >= ABORT_MIN_TOKENS else None)
        return len(new)

    def append(self, token: int) -> None:
        """Evaluate one more token after the held ones (a generated token)."""
        _decode(self._runner, [token], None)


def _decode(
    runner: LlamaRunner, tokens: list[int], should_cancel: Callable[[], bool] | None
) -> None:
    try:
        runner.decode(tokens, should_cancel)
    except DecodeAborted:
        raise GenerationCancelled.superseded() from None
