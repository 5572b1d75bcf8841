"""The prompt: which text before the cursor the model reads, healed, and the room left to generate.

`ContextBudget` is the one place that shares the context between the prompt
and the suggestion: the window cut, the <|endoftext|> at the document's start,
token healing (healing.py) and how many tokens generation may add.

The window is the last part of the text that fits the token budget, cut at a
paragraph or sentence start. The start is kept where it was while the writer
types, so consecutive prompts share their beginning and the prompt cache
(llama.cpp's KV cache, keyed by token position; model.PromptCache) stays
valid: only the newly typed tokens are evaluated. When the text outgrows the
budget the window jumps forward to leave room (REFILL), so a full
re-evaluation happens once per many requests, not on every keystroke.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from writer_app.engine import healing

# Bound on characters per token used to avoid tokenizing a whole novel: the
# window is searched only in the last budget * CHARS_PER_TOKEN characters.
CHARS_PER_TOKEN = 8
# After a jump the window holds this share of the budget, leaving room to type.
REFILL = 0.75
HEAD_CHARS = 64  # how much of the window's beginning identifies it between requests

# A sentence starts at the first non-space after an end mark (and closing quotes)
# plus whitespace; a paragraph starts at the first non-space after a line break.
SENTENCE_START = re.compile(r"[.!?…][\"'”’)\]]*\s+(?=\S)")
PARAGRAPH_START = re.compile(r"\n\s*(?=\S)")
WORD_START = re.compile(r"(?<=\s)(?=\S)")


def anchors(text: str, lo: int = 0) -> list[int]:
    """Return the offsets >= `lo` where a paragraph or a sentence starts, ascending."""
    found = {m.end() for m in SENTENCE_START.finditer(text, lo)}
    found |= {m.end() for m in PARAGRAPH_START.finditer(text, lo)}
    return sorted(p for p in found if p >= lo)


def word_starts(text: str, lo: int = 0) -> list[int]:
    """Return the offsets >= `lo` where a word starts (after whitespace), ascending."""
    return [m.start() for m in WORD_START.finditer(text, lo)]


def _earliest_fitting(candidates: list[int], fits: Callable[[int], bool]) -> int | None:
    """Binary search: the first candidate whose window fits (fits() is monotone)."""
    lo, hi = 0, len(candidates)
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(candidates[mid]):
            hi = mid
        else:
            lo = mid + 1
    return candidates[lo] if lo < len(candidates) else None


class PromptWindow:
    """Chooses where the prompt starts in the text before the cursor, stably.

    `tokenize(text)` returns the tokens of a window; `budget` is the most
    tokens a prompt may have (the document start costs one more token: the
    <|endoftext|> that GPT-2 saw before every document; it is counted whether
    or not the prompt gets it, see ContextBudget).
    """

    def __init__(self, tokenize: Callable[[str], Sequence[int]], budget: int):
        self.tokenize = tokenize
        self.budget = max(1, budget)
        self._start: int | None = None
        self._head = ""
        self._counted: tuple[str, Sequence[int]] = ("", [])  # the last window tokenized

    def start(self, text: str) -> int:
        """Return the offset in `text` where the prompt window starts (0: the whole text)."""
        start = self._choose(text)
        self._start, self._head = start, text[start : start + HEAD_CHARS]
        return start

    def cut(self, text: str) -> tuple[int, list[int]]:
        """Return where the window starts in `text` and the tokens of text[start:].

        The tokens are those the fit check counted when it counted this very
        window (a window is tokenized once per request, not twice).
        """
        start = self.start(text)
        window = text[start:]
        counted, tokens = self._counted
        if counted != window:
            tokens = self.tokenize(window)
        return start, list(tokens)

    def _fits(self, text: str, start: int, budget: int) -> bool:
        window = text[start:]
        tokens = self.tokenize(window)
        self._counted = (window, tokens)
        return len(tokens) + (1 if start == 0 else 0) <= budget

    def _choose(self, text: str) -> int:
        lo = max(0, len(text) - self.budget * CHARS_PER_TOKEN)
        if lo == 0 and self._fits(text, 0, self.budget):
            return 0
        previous = self._start
        if (
            previous is not None
            and 0 < previous <= len(text)
            and text[previous : previous + HEAD_CHARS] == self._head
            and self._fits(text, previous, self.budget)
        ):
            return previous
        target = max(1, int(self.budget * REFILL))

        def fits(p: int) -> bool:
            return self._fits(text, p, target)

        for candidates in (anchors(text, max(lo, 1)), word_starts(text, max(lo, 1))):
            found = _earliest_fitting(candidates, fits)
            if found is not None:
                return found
        # No whitespace at all in the tail: cut at a character.
        found = _earliest_fitting(list(range(max(lo, 1), len(text))), fits)
        return found if found is not None else len(text)


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Return how many leading tokens `a` and `b` share."""
    n = min(len(a), len(b))
    if n == 0:
        return 0
    diff = np.flatnonzero(np.asarray(a[:n]) != np.asarray(b[:n]))
    return int(diff[0]) if len(diff) else n


def reusable_prefix(cached: Sequence[int], prompt: Sequence[int]) -> int:
    """Return how many of `prompt`'s tokens can be kept from the KV cache holding `cached`.

    At least the prompt's last token is always evaluated again, because its
    logits (what comes next) are not cached.
    """
    return min(common_prefix(cached, prompt), max(0, len(prompt) - 1))


@dataclass(frozen=True)
class Prompt:
    """What the model reads for one request, and the text healing took back."""

    text_before: str  # the text before the cursor, whole
    tokens: list[int]  # the window's tokens, healed: what llama.cpp evaluates
    removed: bytes  # the typed text healing removed: the first generated tokens re-spell it
    removed_tokens: list[int]  # the tokens it was typed as
    window_start: int  # where the window starts in text_before

    @property
    def n_removed(self) -> int:
        return len(self.removed_tokens)


class ContextBudget:
    """Shares the model's context between the prompt and the suggestion.

    The suggestion gets `max_tokens` (at most half the context) plus the
    tokens healing took back; the prompt window gets the rest, less one token
    for a possible <|endoftext|>. `eos` is that token; `bos_at_document_start`
    is EngineConfig's.
    """

    def __init__(
        self,
        tokenize: Callable[[str], Sequence[int]],
        vocab: healing.Vocabulary,
        *,
        n_ctx: int,
        max_tokens: int,
        eos: int,
        bos_at_document_start: bool,
    ):
        self.n_ctx = n_ctx
        self.max_tokens = max(1, min(max_tokens, n_ctx // 2))
        self.eos = eos
        self.bos_at_document_start = bos_at_document_start
        self.vocab = vocab
        budget = n_ctx - self.max_tokens - healing.MAX_HEAL_TOKENS - 1
        self.window = PromptWindow(tokenize, budget)

    def prompt(self, text: str) -> Prompt:
        """Return the prompt for the text before the cursor: the window, healed."""
        start, tokens = self.window.cut(text)
        if start == 0 and (self.bos_at_document_start or len(tokens) <= 1):
            tokens = [self.eos] + tokens  # the model needs a token to read
        kept, removed_tokens, removed = healing.heal(tokens, self.vocab)
        return Prompt(text, kept, removed, removed_tokens, start)

    def room(self, prompt: Prompt) -> int:
        """Return how many tokens generation may add after `prompt`."""
        return min(self.max_tokens + prompt.n_removed, self.n_ctx - len(prompt.tokens))
