"""The Engine: text before the cursor in, ghost-text suggestion out.

One `Engine` owns one llama.cpp model and context. Use it from ONE thread only
(the engine process's main thread): llama.cpp contexts are not thread-safe.
Another thread may only flip whatever `should_cancel` reads; the engine polls
it between tokens and, during long prompt evaluations, from llama.cpp's abort
callback, so a newer request stops an older one quickly.

A request: the suggestion memo may already know the answer (memo.py);
otherwise the prompt is cut and healed (prompt.ContextBudget), llama.cpp
evaluates what the prompt cache does not hold (model.PromptCache), and a
chain of steps generates token by token (pipeline.py, steps.py): propose
(the model blended with the document n-grams, ngrams.py) -> heal -> pick ->
gate -> stop -> shape. The Engine builds that chain; a new rule is a new step.

Three caches, three names: the document n-grams (DocumentNgrams: counts of
the whole document, blended into the model, beside the project memory's
counts of the other chapters and the notes: ProjectMemory), the prompt cache (PromptCache:
llama.cpp's KV cache of the last prompt) and the suggestion memo
(SuggestionMemo: finished suggestions by text).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np

from gpt2gguf.constants import default_model_path
from gpt2gguf.validate import GGUFInfo
from writer_app.engine import healing, steps
from writer_app.engine.config import (
    EngineConfig,
    RequestStats,
    Suggestion,
    SuggestionExtra,
    needs_reload,
    resolve_confidence,
)
from writer_app.engine.errors import EngineError, GenerationCancelled, ModelFileError
from writer_app.engine.memo import SuggestionMemo
from writer_app.engine.model import LlamaModel
from writer_app.engine.names import NameIndex
from writer_app.engine.ngrams import DocumentNgrams, NgramWeights
from writer_app.engine.pipeline import Draft, Request, Step, run
from writer_app.engine.project_memory import PROJECT_WEIGHTS, LazyFastTokenizer, ProjectMemory
from writer_app.engine.prompt import ContextBudget, Prompt
from writer_app.engine.sampling import Pick, greedy_pick, sampling_pick

MAX_ALTERNATIVE_TRIES = 3  # samples drawn per wanted alternative before giving up on distinctness


class Engine:
    """Suggestions for the text before the cursor, from a GPT-2 GGUF run by llama.cpp.

    Single-threaded: call every method from the same thread. Raises
    ModelFileError (missing, not GGUF, truncated, not GPT-2) or ModelLoadError
    (llama.cpp refused the file) on construction.
    """

    def __init__(self, config: EngineConfig | None = None):
        self.config = dataclasses.replace(config) if config is not None else EngineConfig()
        self._model: LlamaModel | None = None
        self._memo = SuggestionMemo()
        self._ngrams: DocumentNgrams | None = None  # made by _reload (it needs the tokenizer)
        self.ngram_weights = NgramWeights()
        self.project_weights = PROJECT_WEIGHTS
        self._project: ProjectMemory | None = None  # made by _reload, as the document's
        self._names: list[list[str]] = []  # the notes' names: [full, alias, ...] each
        self._names_revision = 0  # bumped by set_names: the name index follows it
        self._name_index = (None, None)  # (key it was built for, NameIndex)
        self._memo_project = -1  # the project memory's revision the memo's suggestions saw
        # Figures of the latest request, also when it returned None (writer-bench);
        # None before the first one.
        self.last_stats: RequestStats | None = None
        self._reload()

    # ----- loading -----------------------------------------------------------------
    def _reload(self) -> None:
        """(Re)load the model for self.config: the one place a model is loaded.

        Closes the current one first; the document survives (a new model may
        tokenize it differently, so it is counted again). Raises like Engine().
        """
        self.close()
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
        text = self._ngrams.text if self._ngrams is not None else ""
        self._ngrams = DocumentNgrams(self._ngram_tokenizer(), self._model.n_vocab, text)
        wanted = self._project.paths if self._project is not None else ((), None)
        self._project = ProjectMemory(self._project_tokenizer(), self._model.n_vocab)
        if wanted[0]:
            self._project.update(*wanted)
        self._apply_limits()

    def _ngram_tokenizer(self):
        return self._live().tokenize if self.config.document_cache else None

    def _project_tokenizer(self):
        return LazyFastTokenizer(self._live().tokenize) if self.config.document_cache else None

    def _apply_limits(self) -> None:
        model = self._live()
        self._budget = ContextBudget(
            model.tokenize,
            self._vocab,
            n_ctx=model.n_ctx,
            max_tokens=self.config.max_tokens,
            eos=model.eos,
            bos_at_document_start=self.config.bos_at_document_start,
        )
        self._memo.forget()

    @property
    def backend(self) -> str:
        """The backend llama.cpp computes on: "CPU", "CUDA", "Metal", ..."""
        return self._live().backend

    @property
    def model_name(self) -> str:
        """The model's name from its metadata, else the file name without extension."""
        return self.info.name or self.info.path.stem

    @property
    def confidence(self) -> float:
        """The gate's threshold: the setting's, else the model's calibrated one, else the
        default (config.resolve_confidence; confidence_source says which)."""
        return resolve_confidence(self.config.confidence, self.info.metadata)[0]

    @property
    def confidence_source(self) -> str:
        """Where the gate's threshold came from: "setting", "model" or "default"."""
        return resolve_confidence(self.config.confidence, self.info.metadata)[1]

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
            self._reload()
            return
        if old.n_threads != config.n_threads:
            self._live().set_threads(config.n_threads)
        if old.document_cache != config.document_cache:
            self._ngrams.enable(self._ngram_tokenizer())
            self._project.enable(self._project_tokenizer())
        self._apply_limits()

    def close(self) -> None:
        """Free llama.cpp's memory. The engine is unusable afterwards (idempotent)."""
        model, self._model = self._model, None
        if self._project is not None:
            # Its thread may be tokenizing with this model (a model of its own vocabulary).
            self._project.wait()
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
        if self._ngrams.set_text(text):
            self._forget_suggestions()

    def document_changed(self, start: int, removed: int, inserted: str) -> None:
        """Tell the engine that `removed` characters at `start` were replaced by `inserted`.

        Offsets count Python characters (code points) of the whole document.
        Cost: re-tokenizing the paragraph(s) touched, whatever the document's
        size. Raises EngineError when the range lies outside the document the
        engine holds (then send the whole text with set_document).
        """
        try:
            self._ngrams.edit(start, removed, inserted)
        except ValueError as exc:
            raise EngineError(f"the engine lost track of the document ({exc})") from exc
        if removed or inserted:
            self._forget_suggestions()

    # ----- the project ---------------------------------------------------------------
    def set_project(self, paths: list, exclude=None) -> None:
        """Learn from the project's files at `paths` (chapters and notes) but `exclude`, the
        open chapter (it is the document). Returns at once: the memory is built in a
        background thread, and requests meanwhile use what it holds (project_memory.py).
        An empty list forgets the project.
        """
        self._project.update(paths, exclude)

    def set_names(self, names: list) -> None:
        """Take the notes' names for completion: each a list [full name, alias, ...]."""
        self._names = [[str(part) for part in entry] for entry in names if entry]
        self._names_revision += 1

    def wait_for_project(self, timeout: float | None = None) -> bool:
        """Block until the project memory is built (writer-bench, tests); False on timeout."""
        return self._project.wait(timeout)

    @property
    def project_memory(self) -> ProjectMemory:
        """The project memory (its counts, its last build's report)."""
        return self._project

    def name_index(self) -> NameIndex:
        """Return the names completed: the notes', then the chapters' frequent ones."""
        frequent = self._project.frequent_names
        # Not id(self._names): a list freed by one set_names can give its id to a later one.
        key = (self._names_revision, self._project.revision)
        if self._name_index[0] != key:
            starts = self._project.sentence_starts
            self._name_index = (key, NameIndex(self._names, frequent, starts))
        return self._name_index[1]

    @property
    def document_length(self) -> int:
        """How many characters the document the engine holds has."""
        return len(self._ngrams)

    def _forget_suggestions(self) -> None:
        # Remembered suggestions were made with the old counts.
        if self._ngrams.enabled:
            self._memo.forget()

    # ----- requests ----------------------------------------------------------------
    def suggest(
        self,
        text_before_cursor: str,
        *,
        on_token: Callable[[str], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
        stop_when: Callable[[str], bool] | None = None,
        ungated: bool = False,
    ) -> Suggestion | None:
        """Return the greedy (deterministic) suggestion for the text, or None if nothing useful.

        on_token(piece) streams the suggestion as it grows; the pieces are
        provisional (the stop rules may cut the end), Suggestion.text is final.
        should_cancel() is polled between tokens and during long prompt
        evaluations; when it turns true GenerationCancelled is raised.
        stop_when(text_so_far) lets a caller end generation early (writer-bench
        uses it); such results are not remembered. ungated=True (Ctrl+Space: the
        writer asked) skips the confidence gate's cut but not the stop rules; the
        answer's extra.unsure says it goes past where the gate would cut. It is
        neither remembered nor recalled: the memo holds gated answers. Raises
        EngineError if llama.cpp fails.
        """
        request = Request(should_cancel=should_cancel, on_token=on_token, stop_when=stop_when)
        remember = stop_when is None and not ungated
        if remember and text_before_cursor in self._memo:
            return self._recall(text_before_cursor, request)
        evaluated = self._evaluate(text_before_cursor, request)
        result = self._generate(evaluated, request, ungated=ungated)
        # A None the gate made is not remembered, so that asking again says so
        # (last_stats.gate_hid); the gate gives up within a few tokens anyway.
        if remember and not self.last_stats.gate_hid:
            self._memo.remember(text_before_cursor, result)
        return result

    def prefetch(
        self, text_before_cursor: str, *, should_cancel: Callable[[], bool] | None = None
    ) -> None:
        """Compute and remember the suggestion for this text (speculatively, after an accept).

        A later suggest() with the same text returns it at once with
        prompt_tokens_evaluated=0. A cancelled prefetch is dropped silently.
        Raises EngineError if llama.cpp fails.
        """
        self._forget_if_project_changed()
        if text_before_cursor in self._memo:
            return
        request = Request(should_cancel=should_cancel)
        try:
            result = self._generate(self._evaluate(text_before_cursor, request), request)
        except GenerationCancelled:
            return
        if not self.last_stats.gate_hid:  # as in suggest()
            self._memo.remember(text_before_cursor, result)

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
        prompt = self._budget.prompt(text_before_cursor)
        for _ in range(MAX_ALTERNATIVE_TRIES * n):
            if len(results) >= n:
                break
            request = Request(should_cancel=should_cancel)
            s = self._generate(self._evaluate_prompt(prompt, request), request, pick=pick)
            if s is not None and s.text.strip() not in seen:
                seen.add(s.text.strip())
                results.append(s)
        return results

    def prompt_tokens(self, text_before_cursor: str) -> list[int]:
        """Return the token ids the model reads for this text: the window, healed.

        writer-bench feeds the same ids to its transformers baseline.
        """
        return list(self._budget.prompt(text_before_cursor).tokens)

    # ----- internals ---------------------------------------------------------------
    def _forget_if_project_changed(self) -> None:
        # A build finished (in its thread) since the memo's suggestions were made.
        revision = self._project.revision
        if revision != self._memo_project:
            self._memo_project = revision
            self._memo.forget()

    def _recall(self, text: str, request: Request) -> Suggestion | None:
        remembered = self._memo.recall(text)
        ms = request.ms()
        self.last_stats = RequestStats(first_token_ms=ms, total_ms=ms)
        if remembered is None:
            return None
        if request.on_token is not None:
            request.on_token(remembered.text)
        return dataclasses.replace(
            remembered,
            prompt_tokens_evaluated=0,
            first_token_ms=ms,
            total_ms=ms,
            extra=dataclasses.replace(remembered.extra, cached=True),
        )

    def _evaluate(self, text: str, request: Request) -> tuple[Prompt, int]:
        return self._evaluate_prompt(self._budget.prompt(text), request)

    def _evaluate_prompt(self, prompt: Prompt, request: Request) -> tuple[Prompt, int]:
        """Bring the prompt cache to `prompt`; return it and how many tokens were evaluated."""
        request.check()
        return prompt, self._live().evaluate(prompt.tokens, request.should_cancel)

    def chain(self, pick: Pick = greedy_pick) -> list[Step]:
        """Return a new chain of steps for one suggestion (pipeline.py), in order.

        `pick` chooses each token (greedy by default). A step added here
        takes part in every suggestion.
        """
        model = self._live()
        gate = steps.Gate(self.confidence, self._ends_word)
        project = self._project.counts
        return [
            steps.Cancel(),
            steps.Heal(self._vocab),
            steps.Pick(self._vocab.pieces, pick),
            gate,
            steps.EndOfText(),
            steps.Spell(),
            steps.Stop(self.config, gate),
            steps.StopWhen(gate),
            steps.Finish(gate),
            steps.NameCompletion(self.name_index()),
            steps.Propose(
                model,
                self._ngrams,
                self.ngram_weights,
                model.n_vocab,
                project,
                self.project_weights,
            ),
        ]

    def _generate(
        self,
        evaluated: tuple[Prompt, int],
        request: Request,
        *,
        pick: Pick = greedy_pick,
        ungated: bool = False,
    ) -> Suggestion | None:
        """Run the chain after the evaluated prompt; return the suggestion or None. Sets last_stats."""
        prompt, n_evaluated = evaluated
        draft = Draft(
            prompt,
            request,
            max_steps=self._budget.room(prompt),
            context=list(prompt.tokens),
            required=prompt.removed,
        )
        chain = self.chain(pick)
        # (A chain without a gate, a subclass's, behaves as one with the gate off.)
        gate = next((s for s in chain if isinstance(s, steps.Gate)), steps.Gate(0.0, None))
        gate.cut = not ungated  # the other steps ask gate.on as they go
        run(chain, draft)
        names = next((s.matched for s in chain if isinstance(s, steps.NameCompletion)), ())
        propose = next((s for s in chain if isinstance(s, steps.Propose)), None)
        project_sum = propose.project_sum if propose is not None else 0.0
        total_ms = request.ms()
        stats = RequestStats(
            prompt_tokens_evaluated=n_evaluated,
            generated_tokens=draft.n_generated,
            first_token_ms=draft.first_ms if draft.first_ms is not None else total_ms,
            total_ms=total_ms,
            cache_lambda=draft.lam_sum / (draft.n_generated + 1),
            gate_hid=gate.hid and draft.final is None,  # (a later step may fill in)
        )
        self.last_stats = stats
        if draft.final is None:
            return None
        return Suggestion(
            text=draft.final,
            prompt_tokens_evaluated=n_evaluated,
            first_token_ms=stats.first_token_ms,
            total_ms=total_ms,
            extra=SuggestionExtra(
                stop=draft.reason,
                healed=prompt.removed.decode("utf-8", errors="replace"),
                prompt_tokens=len(prompt.tokens),
                generated_tokens=draft.n_generated,
                window_start=prompt.window_start,
                confidence=draft.confidence,
                cache_lambda=stats.cache_lambda,
                # A name from the notes is sure by its own rule, whatever the gate says.
                unsure=ungated and not names and not gate.passes(draft.final),
                names=names,
                project_share=project_sum / (draft.n_generated + 1),
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
