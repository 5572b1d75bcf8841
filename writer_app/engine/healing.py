"""Token healing: complete the word under the cursor instead of starting a new one.

GPT-2's BPE glues a word's leading space to it (" dragon") and splits a
half-typed word into odd pieces (" dra"). A prompt ending in " dra" or in a
lone " " is one the model never saw in training, so its continuation is poor.
Instead the engine removes those last tokens from the prompt ("backs up") and
constrains the first generated tokens to spell out the removed text again:
each must start with the rest of it, or be a prefix of it. The model thus
picks its own, natural tokenization (" dragon", " flew") and the suggestion
shown is whatever comes after the text the writer typed.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np

MAX_HEAL_TOKENS = 3  # never back up over more than this many tokens


def _is_word_byte(b: int) -> bool:
    # ASCII letters and digits, and any byte of a multi-byte UTF-8 character
    # (accented letters): the parts of a word BPE may split.
    return chr(b).isalnum() if b < 128 else True


def tokens_to_heal(tokens: Sequence[int], pieces: Sequence[bytes], *, keep: int = 1) -> int:
    """Return how many trailing tokens of `tokens` to remove from the prompt.

    Always the last token (it may be a partial word, a lone space or punctuation
    that would merge with what follows), plus the earlier tokens of the same
    word when it is split ("dragonfl" -> " dragon" + "fl"), at most
    MAX_HEAL_TOKENS, and never the first `keep` tokens. Special tokens (empty
    pieces, like <|endoftext|>) are never removed.
    """
    n = 0
    while len(tokens) - n > keep and n < MAX_HEAL_TOKENS:
        piece = pieces[tokens[len(tokens) - 1 - n]]
        if not piece:
            break
        if n > 0:
            removed_first = pieces[tokens[len(tokens) - n]][:1]
            # Join the previous token only if it ends mid-word and the removed text continues it.
            if not (removed_first and _is_word_byte(removed_first[0]) and _is_word_byte(piece[-1])):
                break
        n += 1
    return n


def heal(tokens: Sequence[int], vocab: Vocabulary) -> tuple[list[int], list[int], bytes]:
    """Return the prompt `tokens` backed up for healing: (kept, removed tokens, removed text).

    The first token is always kept (tokens_to_heal's keep=1).
    """
    n_removed = tokens_to_heal(tokens, vocab.pieces, keep=1)
    cut = len(tokens) - n_removed
    removed = b"".join(vocab.pieces[t] for t in tokens[cut:])
    return list(tokens[:cut]), list(tokens[cut:]), removed


def consume(required: bytes, piece: bytes) -> bytes | None:
    """Return what of `required` is still to be spelt after generating `piece`.

    b"" when `piece` covers all of it, None when `piece` contradicts it.
    """
    if piece.startswith(required):
        return b""
    if required.startswith(piece) and piece:
        return required[len(piece) :]
    return None


class Vocabulary:
    """The byte text of every token, indexed for healing constraints."""

    def __init__(self, pieces: Sequence[bytes]):
        self.pieces = list(pieces)
        self._sorted = sorted((p, i) for i, p in enumerate(self.pieces) if p)
        self._keys = [p for p, _ in self._sorted]
        self._by_piece = {p: i for i, p in enumerate(self.pieces) if p}
        self._allowed_cache: dict[bytes, np.ndarray] = {}

    def allowed(self, required: bytes) -> np.ndarray:
        """Return the token ids (sorted int array) whose text agrees with `required`.

        A token agrees when its text starts with `required` (" dragon" for " dra")
        or is a non-empty prefix of it (" d", " dr" for " dra").
        """
        cached = self._allowed_cache.get(required)
        if cached is not None:
            return cached
        ids = []
        lo = bisect.bisect_left(self._keys, required)
        for key, token in self._sorted[lo:]:
            if not key.startswith(required):
                break
            ids.append(token)
        for end in range(1, len(required)):
            token = self._by_piece.get(required[:end])
            if token is not None:
                ids.append(token)
        result = np.array(sorted(ids), dtype=np.int64)
        if len(self._allowed_cache) > 256:
            self._allowed_cache.clear()
        self._allowed_cache[required] = result
        return result
