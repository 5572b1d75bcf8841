"""The prompt: which text before the cursor the model sees, and what llama.cpp must evaluate.

The window is the last part of the text that fits the token budget, cut at a
paragraph or sentence start. The start is kept where it was while the writer
types, so consecutive prompts share their beginning and llama.cpp's KV cache
(keyed by token position) stays valid: only the newly typed tokens are
evaluated. When the text outgrows the budget the window jumps forward to leave
room (REFILL), so a full re-evaluation happens once per many requests, not on
every keystroke.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

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

    `count_tokens(text)` counts the tokens of a window; `budget` is the most
    tokens a prompt may have (the document start costs one more token: the
    <|endoftext|> that GPT-2 saw before every document).
    """

    def __init__(self, count_tokens: Callable[[str], int], budget: int):
        self.count_tokens = count_tokens
        self.budget = max(1, budget)
        self._start: int | None = None
        self._head = ""

    def start(self, text: str) -> int:
        """Return the offset in `text` where the prompt window starts (0: the whole text)."""
        start = self._choose(text)
        self._start, self._head = start, text[start : start + HEAD_CHARS]
        return start

    def _fits(self, text: str, start: int, budget: int) -> bool:
        return self.count_tokens(text[start:]) + (1 if start == 0 else 0) <= budget

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
