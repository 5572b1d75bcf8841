"""The suggestion memo: finished suggestions remembered by the text they were made for.

A prefetch (made after the writer accepts a suggestion, for the text they will
have next) and a repeated request (the writer deletes a character and types
it again) are answered from here without asking the model. Not to be
confused with the prompt cache (model.PromptCache: llama.cpp's KV cache,
which saves re-reading the prompt) nor with the document n-grams (ngrams.py).
"""

from __future__ import annotations

from collections import OrderedDict

from writer_app.engine.config import Suggestion

MEMO_SIZE = 16  # finished suggestions remembered (prefetch, repeats)

_MISSING = object()


class SuggestionMemo:
    """The last MEMO_SIZE (text → suggestion or None) answers, least recently used dropped first."""

    def __init__(self, size: int = MEMO_SIZE):
        self.size = size
        self._answers: OrderedDict[str, Suggestion | None] = OrderedDict()

    def __contains__(self, text: str) -> bool:
        return text in self._answers

    def recall(self, text: str) -> Suggestion | None:
        """Return the remembered answer for `text` (None: "no suggestion"), marking it recent.

        Raises KeyError when nothing is remembered for it (check `in` first).
        """
        answer = self._answers.get(text, _MISSING)
        if answer is _MISSING:
            raise KeyError(text)
        self._answers.move_to_end(text)
        return answer

    def remember(self, text: str, answer: Suggestion | None) -> None:
        """Keep `answer` for `text`, forgetting the least recently used past `size`."""
        self._answers[text] = answer
        self._answers.move_to_end(text)
        while len(self._answers) > self.size:
            self._answers.popitem(last=False)

    def forget(self) -> None:
        """Forget every answer (the settings or the document's counts changed)."""
        self._answers.clear()
