"""The completion engine: text before the cursor in, ghost-text suggestion out.

One `Engine` owns one llama.cpp model and context. Use it from ONE thread only
(the GUI's worker thread): llama.cpp contexts are not thread-safe. Another
thread may only flip whatever `should_cancel` reads; the engine polls it
between tokens and, during long prompt evaluations, from llama.cpp's abort
callback, so a newer request stops an older one quickly.

A request goes: choose the prompt window (prompt.PromptWindow) -> tokenize ->
back up over the partial last word (healing) -> evaluate only the tokens not
already in the KV cache -> generate token by token, the first tokens
constrained to re-spell the removed text, each picked from the model's
probabilities blended with the document's own n-grams (cache.py) -> end at
the last word boundary the model is still confident of (the gate) -> cut by
the stop rules -> trim degenerate output (shaping).

The confidence gate: a suggestion is right only if the writer types every
one of its tokens and then ends the word, so its confidence at a word
boundary is the product of its tokens' probabilities times the probability
that the next token does not continue the word (during healing, a token's
probability is taken among the tokens that can re-spell the typed text).
The suggestion ends at the last boundary whose confidence is at least
config.confidence; generation stops as soon as the product falls below it,
because no later boundary can pass. No passing boundary: no suggestion.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gpt2gguf.constants import default_model_path
from gpt2gguf.validate import GGUFInfo
from writer_app.engine import healing, shaping
from writer_app.engine.cache import CacheWeights, DocumentCache
from writer_app.engine.config import (
    EngineConfig,
    RequestStats,
    Suggestion,
    SuggestionExtra,
    needs_reload,
)
from writer_app.engine.errors import EngineError, GenerationCancelled, ModelFileError
from writer_app.engine.model import LlamaModel
from writer_app.engine.prompt import PromptWindow

CACHE_SIZE = 16  # finished suggestions remembered by text (prefetch, repeats)
TOP_K_PREFILTER = 200  # sampling looks at the 200 likeliest tokens only (keeps it O(k))
MAX_ALTERNATIVE_TRIES = 3  # samples drawn per wanted alternative before giving up on distinctness

Pick = Callable[[np.ndarray, "np.ndarray | None"], int]


@dataclass
class _Plan:
    """One request's prompt: the tokens to evaluate and the text healing removed."""

    text_before: str
    prompt: list[int]
    removed: bytes  # must be re-spelt by the first generated tokens
    n_removed: int
    window_start: int
    removed_tokens: list[int] = dataclasses.field(default_factory=list)  # as typed


def greedy_pick(probs: np.ndarray, allowed: np.ndarray | None) -> int:
    """Return the most likely token, among `allowed` ids if given."""
    if allowed is None:
        return int(np.argmax(probs))
    return int(allowed[np.argmax(probs[allowed])])


def softmax(logits: np.ndarray) -> tuple[np.ndarray, float]:
    """Return the probabilities of `logits` (a new array) and their entropy in nats."""
    top = float(logits.max())
    probs = np.exp(logits - top)
    total = float(probs.sum())
    probs /= total
    # H = -sum p·log p, with log p = logit - top - log(total)
    entropy = math.log(total) + top - float(np.dot(probs, logits))
    return probs, entropy


def next_token_probs(
    logits: np.ndarray,
    document: DocumentCache,
    weights: CacheWeights,
    context: Sequence[int],
    own: int | None = None,
) -> tuple[np.ndarray, float]:
    """Return the engine's next-token probabilities and the cache's share λ of them.

    The model's softmax, blended with the document's n-gram counts when the
    document cache is enabled (λ = 0.0 when it is off or knows nothing here).
    `context` is the token stream the logits followed; `own` a token the
    document holds next only because the writer just typed it (CacheWeights.mix).
    writer-bench ppl scores text with this same function.
    """
    probs, entropy = softmax(logits)
    if not document.enabled:
        return probs, 0.0
    return probs, weights.mix(probs, document.counts, context, entropy, own)


@dataclass
class _Gate:
    """The confidence gate of one suggestion (see the module docstring).

    `confidence` is the product of the probabilities of the tokens so far;
    `cuts` holds the word boundaries that passed the threshold, in order, as
    (offset in the suggestion text, confidence there).
    """

    threshold: float
    confidence: float = 1.0
    cuts: list[tuple[int, float]] = dataclasses.field(default_factory=list)

    @property
    def on(self) -> bool:
        return self.threshold > 0

    @property
    def hopeless(self) -> bool:
        """True when no later word boundary can pass any more."""
        return self.on and self.confidence < self.threshold

    def word_end(self, at: int, ends_word: float) -> bool:
        """Offer a cut at `at`; `ends_word` is the probability that the word ends there.

        Returns whether it passed.
        """
        confidence = self.confidence * ends_word
        if confidence >= self.threshold:
            self.cuts.append((at, confidence))
            return True
        return False

    def last_cut(self, limit: int) -> tuple[int, float] | None:
        """Return the last passing cut at or before `limit` (offset, confidence), or None."""
        passing = [cut for cut in self.cuts if cut[0] <= limit]
        return passing[-1] if passing else None


def sampling_pick(rng: np.random.Generator, temperature: float, top_p: float) -> Pick:
    """Return a pick function sampling at `temperature` from the nucleus of mass `top_p`."""
    if temperature <= 0:
        return greedy_pick

    def pick(probs: np.ndarray, allowed: np.ndarray | None) -> int:
        ids = allowed if allowed is not None else np.arange(len(probs))
        values = probs[ids]
        k = min(TOP_K_PREFILTER, len(values))
        top = np.argpartition(values, -k)[-k:]
        # p ** (1/T), normalised: the same as softmax(logits / T) for the model alone.
        scaled = np.log(np.maximum(values[top], 1e-30)) / temperature
        probs = np.exp(scaled - scaled.max())
        order = np.argsort(-probs)
        probs = probs[order] / probs.sum()
        keep = int(np.searchsorted(np.cumsum(probs), top_p)) + 1
        probs = probs[:keep] / probs[:keep].sum()
        return int(ids[top[order[rng.choice(keep, p=probs)]]])

    return pick


class Engine:
    """Suggestions for the text before the cursor, from a GPT-2 GGUF run by llama.cpp.

    Single-threaded: call every method from the same thread. Raises
    ModelFileError (missing, not GGUF, truncated, not GPT-2) or ModelLoadError
    (llama.cpp refused the file) on construction.
    """

    def __init__(self, config: EngineConfig | None = None):
        self.config = dataclasses.replace(config) if config is not None else EngineConfig()
        self._model: LlamaModel | None = None
        self._cache: OrderedDict[str, Suggestion | None] = OrderedDict()
        self._document: DocumentCache | None = None  # made by _load (it needs the tokenizer)
        self.cache_weights = CacheWeights()
        # Figures of the latest request, also when it returned None (writer-bench);
        # None before the first one.
        self.last_stats: RequestStats | None = None
        self._load()

    # ----- loading -----------------------------------------------------------------
    def _load(self) -> None:
        cfg = self.config
        path = cfg.model_path if cfg.model_path is not None else default_model_path()
        if path is None:
            raise ModelFileError("no model is installed; choose a GGUF model file in the settings")
        # The model validates the file first and caps n_ctx at the model's own context.
        self._model = LlamaModel(
            Path(path),
            n_ctx=cfg.n_ctx,
            n_threads=cfg.n_threads,
            n_gpu_layers=cfg.n_gpu_layers,
            use_extra_bufts=cfg.use_extra_bufts,
        )
        self.info: GGUFInfo = self._model.info
        self._vocab = healing.Vocabulary(self._model.pieces)
        self._vocab.allowed(b" ")  # the trailing-space constraint is the largest: build it at load
        # 1.0 for each token that cannot continue the word before it (it starts
        # with a space, punctuation, or is <|endoftext|>): the gate's word end.
        self._ends_word = np.array(
            [0.0 if _continues_word(piece) else 1.0 for piece in self._model.pieces],
            dtype=np.float32,
        )
        # The document survives a reload (a new model may tokenize it differently).
        text = self._document.text if self._document is not None else ""
        self._document = DocumentCache(self._cache_tokenizer(), self._model.n_vocab, text)
        self._apply_limits()

    def _cache_tokenizer(self):
        return self._live().tokenize if self.config.document_cache else None

    def _apply_limits(self) -> None:
        n_ctx = self._model.n_ctx
        # Room after the prompt: the suggestion plus the healed tokens generated again.
        self._max_tokens = max(1, min(self.config.max_tokens, n_ctx // 2))
        budget = n_ctx - self._max_tokens - healing.MAX_HEAL_TOKENS - 1
        self._window = PromptWindow(self._model.count_tokens, budget)
        self._cache.clear()

    @property
    def backend(self) -> str:
        """The backend llama.cpp computes on: "CPU", "CUDA", "Metal", ..."""
        return self._live().backend

    @property
    def model_name(self) -> str:
        """The model's name from its metadata, else the file name without extension."""
        return self.info.name or self.info.path.stem

    @property
    def n_threads(self) -> int:
        """CPU threads llama.cpp uses."""
        return self._live().n_threads

    @property
    def n_ctx(self) -> int:
        """The context size in tokens (the setting, capped by the model's own)."""
        return self._live().n_ctx

    def _live(self) -> LlamaModel:
        if self._model is None:
            raise EngineError("the engine is closed")
        return self._model

    def update_config(self, config: EngineConfig) -> None:
        """Apply new settings: shape and sampling settings at once, reloading the
        model only when config.needs_reload() says so (file, context size, GPU
        layers, extra buffer types).

        Raises like the constructor when a reload fails (the engine is then closed).
        """
        old, self.config = self.config, dataclasses.replace(config)
        if needs_reload(old, config):
            self.close()
            self._cache.clear()
            self._load()
            return
        if old.n_threads != config.n_threads:
            self._live().set_threads(config.n_threads)
        if old.document_cache != config.document_cache:
            self._document.enable(self._cache_tokenizer())
        self._apply_limits()

    def close(self) -> None:
        """Free llama.cpp's memory. The engine is unusable afterwards (idempotent)."""
        model, self._model = self._model, None
        if model is not None:
            model.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ----- the document ---------------------------------------------------------------
    def set_document(self, text: str) -> None:
        """Tell the engine the whole document (not only the text before the cursor).

        Only what differs from the document it holds is re-tokenized and
        re-counted, so calling it again with a slightly edited text is cheap
        (O(length) to find the difference). Call it once after loading a file
        or (re)starting the engine; document_changed is cheaper per keystroke.
        """
        if self._document.set_text(text):
            self._forget_suggestions()

    def document_changed(self, start: int, removed: int, inserted: str) -> None:
        """Tell the engine that `removed` characters at `start` were replaced by `inserted`.

        Offsets count Python characters (code points) of the whole document.
        Cost: re-tokenizing the paragraph(s) touched, whatever the document's
        size. Raises EngineError when the range lies outside the document the
        engine holds (then send the whole text with set_document).
        """
        try:
            self._document.edit(start, removed, inserted)
        except ValueError as exc:
            raise EngineError(f"the engine lost track of the document ({exc})") from exc
        if removed or inserted:
            self._forget_suggestions()

    @property
    def document_length(self) -> int:
        """How many characters the document the engine holds has."""
        return len(self._document)

    def _forget_suggestions(self) -> None:
        # Remembered suggestions were made with the old counts.
        if self._document.enabled:
            self._cache.clear()

    # ----- requests ----------------------------------------------------------------
    def suggest(
        self,
        text_before_cursor: str,
        *,
        on_token: Callable[[str], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
        stop_when: Callable[[str], bool] | None = None,
    ) -> Suggestion | None:
        """Return the greedy (deterministic) suggestion for the text, or None if nothing useful.

        on_token(piece) streams the suggestion as it grows; the pieces are
        provisional (the stop rules may cut the end), Suggestion.text is final.
        should_cancel() is polled between tokens and during long prompt
        evaluations; when it turns true GenerationCancelled is raised.
        stop_when(text_so_far) lets a caller end generation early (writer-bench
        uses it); such results are not cached. Raises EngineError if llama.cpp fails.
        """
        t0 = time.perf_counter()
        if stop_when is None and text_before_cursor in self._cache:
            self._cache.move_to_end(text_before_cursor)
            cached = self._cache[text_before_cursor]
            ms = (time.perf_counter() - t0) * 1000
            self.last_stats = RequestStats(first_token_ms=ms, total_ms=ms)
            if cached is None:
                return None
            if on_token is not None:
                on_token(cached.text)
            return dataclasses.replace(
                cached,
                prompt_tokens_evaluated=0,
                first_token_ms=ms,
                total_ms=ms,
                extra=dataclasses.replace(cached.extra, cached=True),
            )
        result = self._suggest(
            text_before_cursor,
            t0=t0,
            on_token=on_token,
            should_cancel=should_cancel,
            stop_when=stop_when,
        )
        if stop_when is None:
            self._remember(text_before_cursor, result)
        return result

    def prefetch(
        self, text_before_cursor: str, *, should_cancel: Callable[[], bool] | None = None
    ) -> None:
        """Compute and remember the suggestion for this text (speculatively, after an accept).

        A later suggest() with the same text returns it at once with
        prompt_tokens_evaluated=0. A cancelled prefetch is dropped silently.
        Raises EngineError if llama.cpp fails.
        """
        if text_before_cursor in self._cache:
            return
        try:
            result = self._suggest(text_before_cursor, should_cancel=should_cancel)
        except GenerationCancelled:
            return
        self._remember(text_before_cursor, result)

    def alternatives(
        self,
        text_before_cursor: str,
        n: int | None = None,
        *,
        seed: int | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> list[Suggestion]:
        """Return up to `n` (default config.n_alternatives) distinct suggestions, the greedy one first.

        The others are sampled at config.alt_temperature / alt_top_p with `seed`
        (default config.seed), so the same text and seed give the same list.
        May return fewer when the model keeps producing the same text; [] when
        nothing useful comes. Raises GenerationCancelled / EngineError like suggest().
        """
        n = self.config.n_alternatives if n is None else n
        primary = self.suggest(text_before_cursor, should_cancel=should_cancel)
        results = [primary] if primary is not None else []
        seen = {s.text.strip() for s in results}
        if n <= len(results):
            return results[:n]
        rng = np.random.default_rng(self.config.seed if seed is None else seed)
        pick = sampling_pick(rng, self.config.alt_temperature, self.config.alt_top_p)
        plan = self._plan(text_before_cursor)
        for _ in range(MAX_ALTERNATIVE_TRIES * n):
            if len(results) >= n:
                break
            t0 = time.perf_counter()
            n_evaluated = self._evaluate(plan, should_cancel)
            s = self._generate(
                plan, pick=pick, t0=t0, n_evaluated=n_evaluated, should_cancel=should_cancel
            )
            if s is not None and s.text.strip() not in seen:
                seen.add(s.text.strip())
                results.append(s)
        return results

    def prompt_tokens(self, text_before_cursor: str) -> list[int]:
        """Return the token ids the model reads for this text: the window, healed.

        writer-bench feeds the same ids to its transformers baseline.
        """
        return list(self._plan(text_before_cursor).prompt)

    # ----- internals ---------------------------------------------------------------
    def _remember(self, text: str, result: Suggestion | None) -> None:
        self._cache[text] = result
        self._cache.move_to_end(text)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    def _plan(self, text: str) -> _Plan:
        model = self._live()
        start = self._window.start(text)
        tokens = model.tokenize(text[start:])
        if start == 0 and (self.config.bos_at_document_start or len(tokens) <= 1):
            tokens = [model.eos] + tokens
        n_removed = healing.tokens_to_heal(tokens, self._vocab.pieces, keep=1)
        cut = len(tokens) - n_removed
        removed = b"".join(self._vocab.pieces[t] for t in tokens[cut:])
        return _Plan(text, tokens[:cut], removed, n_removed, start, tokens[cut:])

    def _evaluate(self, plan: _Plan, should_cancel: Callable[[], bool] | None) -> int:
        _check(should_cancel)
        return self._live().evaluate(plan.prompt, should_cancel)

    def _suggest(
        self,
        text: str,
        *,
        t0: float | None = None,
        on_token: Callable[[str], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
        stop_when: Callable[[str], bool] | None = None,
    ) -> Suggestion | None:
        """Plan, evaluate and generate the greedy suggestion for `text` (see _generate)."""
        t0 = time.perf_counter() if t0 is None else t0
        plan = self._plan(text)
        n_evaluated = self._evaluate(plan, should_cancel)
        return self._generate(
            plan,
            t0=t0,
            n_evaluated=n_evaluated,
            on_token=on_token,
            should_cancel=should_cancel,
            stop_when=stop_when,
        )

    def _probs(
        self, logits: np.ndarray, context: list[int], own: int | None
    ) -> tuple[np.ndarray, float]:
        return next_token_probs(logits, self._document, self.cache_weights, context, own)

    def _generate(
        self,
        plan: _Plan,
        *,
        pick: Pick = greedy_pick,
        t0: float | None = None,
        n_evaluated: int = 0,
        on_token: Callable[[str], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
        stop_when: Callable[[str], bool] | None = None,
    ) -> Suggestion | None:
        """Generate after the evaluated prompt; return the shaped suggestion or None.

        `pick` chooses each token (greedy by default), `t0` is when the request
        began (default: now), `n_evaluated` how many prompt tokens the request
        evaluated (for the stats). on_token, should_cancel and stop_when are
        suggest()'s. Sets last_stats.
        """
        t0 = time.perf_counter() if t0 is None else t0
        model, cfg = self._live(), self.config
        steps = min(self._max_tokens + plan.n_removed, model.n_ctx - len(plan.prompt))
        context = list(plan.prompt)  # the token stream the cache looks up
        # While the typed text is re-spelt the way it was typed, the document holds
        # that very text: its own tokens are not evidence (" da" over " day").
        own_tokens = plan.removed_tokens
        probs, lam = self._probs(model.logits(), context, own_tokens[0] if own_tokens else None)
        lam_sum = lam
        gate = _Gate(cfg.confidence)
        required, out = plan.removed, bytearray()
        text, shown, first_ms, n_generated = "", "", None, 0
        stop_at = None  # len(text) when stop_when fired and the gate still had to decide
        reason = "max_tokens"
        for step in range(steps):
            _check(should_cancel)
            allowed = self._vocab.allowed(required) if required else None
            if (
                allowed is not None and len(allowed) == 0
            ):  # no token can spell it (odd vocabularies)
                reason = "unhealable"
                break
            token = pick(probs, allowed)
            if first_ms is None:
                first_ms = (time.perf_counter() - t0) * 1000
            p = float(probs[token])
            if allowed is not None:  # among the tokens that can re-spell the typed text
                p /= max(float(probs[allowed].sum()), 1e-30)
            if gate.on and not required and text.strip() and self._ends_word[token]:
                gate.word_end(len(text), float(np.dot(probs, self._ends_word)))
                if stop_at is not None and len(text) >= stop_at:
                    # The caller stopped listening at stop_at; this boundary decided
                    # whether the suggestion reaches past it (boundaries only lose
                    # confidence), which is all the caller needs.
                    break
            gate.confidence *= p
            piece = self._vocab.pieces[token]
            if not piece:  # <|endoftext|> or another special token
                reason = "eos"
                break
            if gate.hopeless:
                reason = "confidence"
                break
            n_generated += 1
            out += piece
            context.append(token)
            if required:
                required = healing.consume(required, piece) or b""
            if not required:
                raw = out[len(plan.removed) :].decode("utf-8", errors="ignore")
                text = shaping.fix_leading_whitespace(plan.text_before, raw)
                cut = shaping.find_stop(
                    text,
                    max_words=cfg.max_words,
                    max_sentences=cfg.max_sentences,
                    stop_at_paragraph=cfg.stop_at_paragraph,
                    text_before=plan.text_before,
                )
                if cut is not None:
                    text, reason = text[:cut], "stop_rule"
                sure = text
                if gate.on:
                    last = gate.last_cut(len(text))
                    sure = text[: last[0]] if last is not None else ""
                if on_token is not None and len(sure) > len(shown) and sure.startswith(shown):
                    on_token(sure[len(shown) :])
                    shown = sure
                if cut is not None:
                    break
                if stop_at is None and stop_when is not None and stop_when(text):
                    reason = "stop_when"
                    if not gate.on:
                        break
                    stop_at = len(text)
            if step + 1 < steps:
                model.append(token)
                n = len(context) - len(plan.prompt)
                own = None
                if (
                    required
                    and n < len(own_tokens)
                    and context[len(plan.prompt) :] == own_tokens[:n]
                ):
                    own = own_tokens[n]
                probs, lam = self._probs(model.logits(), context, own)
                lam_sum += lam
        confidence = None
        if gate.on:
            last = gate.last_cut(len(text))
            text, confidence = (text[: last[0]], last[1]) if last is not None else ("", None)
        final = shaping.finish(
            plan.text_before, text, hit_token_cap=reason == "max_tokens" and not gate.on
        )
        total_ms = (time.perf_counter() - t0) * 1000
        stats = RequestStats(
            prompt_tokens_evaluated=n_evaluated,
            generated_tokens=n_generated,
            first_token_ms=first_ms if first_ms is not None else total_ms,
            total_ms=total_ms,
            cache_lambda=lam_sum / (n_generated + 1),
        )
        self.last_stats = stats
        if final is None:
            return None
        return Suggestion(
            text=final,
            prompt_tokens_evaluated=n_evaluated,
            first_token_ms=stats.first_token_ms,
            total_ms=total_ms,
            extra=SuggestionExtra(
                stop=reason,
                healed=plan.removed.decode("utf-8", errors="replace"),
                prompt_tokens=len(plan.prompt),
                generated_tokens=n_generated,
                window_start=plan.window_start,
                confidence=confidence,
                cache_lambda=stats.cache_lambda,
            ),
        )


def _continues_word(piece: bytes) -> bool:
    """True when a token's text goes on with the word before it: it starts with a
    letter or digit, or with a UTF-8 byte that is not one of the General
    Punctuation block's (dashes, curly quotes, the ellipsis start with E2 80)."""
    if not piece:
        return False
    if piece[0] < 128:
        return chr(piece[0]).isalnum()
    return not piece.startswith(b"\xe2\x80")


def _check(should_cancel: Callable[[], bool] | None) -> None:
    if should_cancel is not None and should_cancel():
        raise GenerationCancelled("a newer request superseded this one")
