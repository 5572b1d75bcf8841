"""The next token's distribution and the ways to pick from it.

`NextToken` holds what the model said after the last token: its logits (a
view of llama.cpp's buffer) and, computed only when something needs them,
the probabilities (softmax, blended with the document n-grams). Greedy
picking reads the logits alone when the best token leads by a clear margin,
which is what the probabilities would have said; everything else (the gate,
the n-gram blend, sampling, a near tie) computes the probabilities exactly
as before, into buffers reused token after token.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from writer_app.engine.ngrams import DocumentNgrams, NgramWeights

TOP_K_PREFILTER = 200  # sampling looks at the 200 likeliest tokens only (keeps it O(k))
# A logit this far below the best one gives a probability at least 0.1% smaller,
# far beyond float32 rounding: the best token is then the only one softmax's
# argmax can return. Closer ones (a near tie) are decided on the probabilities.
TIE_MARGIN = 1e-3

Pick = Callable[[np.ndarray, "np.ndarray | None"], int]


def softmax(logits: np.ndarray) -> tuple[np.ndarray, float]:
    """Return the probabilities of `logits` (a new array) and their entropy in nats."""
    top = float(logits.max())
    probs = np.exp(logits - top)
    total = float(probs.sum())
    probs /= total
    # H = -sum p·log p, with log p = logit - top - log(total)
    entropy = math.log(total) + top - float(np.dot(probs, logits))
    return probs, entropy


def softmax_into(
    logits: np.ndarray, copy: np.ndarray, out: np.ndarray, *, entropy: bool
) -> float | None:
    """softmax() into reused buffers: `copy` gets the logits, `out` the probabilities.

    Returns the entropy when asked for, else None. The same operations on the
    same float32 values as softmax(), so the same results to the bit.
    """
    np.copyto(copy, logits)
    top = float(copy.max())
    np.subtract(copy, top, out=out)
    np.exp(out, out=out)
    total = float(out.sum())
    np.divide(out, total, out=out)
    if not entropy:
        return None
    return math.log(total) + top - float(np.dot(out, copy))


def next_token_probs(
    logits: np.ndarray,
    document: DocumentNgrams,
    weights: NgramWeights,
    context: Sequence[int],
    own: int | None = None,
) -> tuple[np.ndarray, float]:
    """Return the engine's next-token probabilities and the document n-grams' share λ of them.

    The model's softmax, blended with the document's n-gram counts when they
    are on (λ = 0.0 when they are off or know nothing here). `context` is the
    token stream the logits followed; `own` a token the document holds next
    only because the writer just typed it (NgramWeights.mix). writer-bench ppl
    scores text with this same function; the engine's Propose step computes
    the same into reused buffers.
    """
    probs, entropy = softmax(logits)
    if not document.enabled:
        return probs, 0.0
    return probs, weights.mix(probs, document.counts, context, entropy, own)


class NextToken:
    """The distribution of the next token: the logits, and the probabilities on demand.

    `probs` is computed at the first read by `materialize` (or given); the
    logits view is valid only until the model evaluates another token, so
    the Propose step marks an old NextToken stale before it does.
    """

    def __init__(
        self,
        logits: np.ndarray,
        probs: np.ndarray | None = None,
        materialize: Callable[[], np.ndarray] | None = None,
    ):
        self.logits = logits
        self._probs = probs
        self._materialize = materialize
        self.stale = False

    @property
    def has_probs(self) -> bool:
        return self._probs is not None

    @property
    def probs(self) -> np.ndarray:
        """The probabilities the token is picked from (computed once, on first read)."""
        if self._probs is None:
            if self.stale:
                raise RuntimeError("the logits of this token were overwritten")
            self._probs = self._materialize()
        return self._probs


def greedy_pick(probs: np.ndarray, allowed: np.ndarray | None) -> int:
    """Return the most likely token, among `allowed` ids if given."""
    if allowed is None:
        return int(np.argmax(probs))
    return int(allowed[np.argmax(probs[allowed])])


def greedy_from_logits(logits: np.ndarray, allowed: np.ndarray | None) -> int | None:
    """Return greedy_pick's token read from the logits, or None on a near tie.

    Softmax keeps the order of the logits, so the best logit is the best
    probability, unless another logit lies within TIE_MARGIN of it, where
    float32 rounding of the probabilities could make them equal (and argmax
    then takes the lower id): then None, and the caller decides on the
    probabilities.
    """
    values = logits if allowed is None else logits[allowed]
    best = int(np.argmax(values))
    if np.count_nonzero(values >= values[best] - TIE_MARGIN) > 1:
        return None
    return best if allowed is None else int(allowed[best])


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
