"""The next token's distribution and the ways to pick from it.

`NextToken` holds what the model said after the last token: its logits (a
view of llama.cpp's buffer) and, computed only when something needs them,
the probabilities (softmax, blended with the document n-grams). Greedy
picking reads the logits alone when the best token leads by a clear margin,
which is what the probabilities would have said; everything else (the gate,
the n-gram blend, sampling, a near tie) computes the probabilities exactly
as writer-bench does (next_token_probs, blend_into), into buffers reused
token after token.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from writer_app.engine.ngrams import Blend, DocumentNgrams, NgramCounts, NgramWeights
from writer_app.engine.vecmath import exp_shifted

TOP_K_PREFILTER = 200  # sampling looks at the 200 likeliest tokens only (keeps it O(k))
# A logit this far below the best one gives a probability at least 0.1% smaller,
# far beyond float32 rounding: the best token is then the only one softmax's
# argmax can return. Closer ones (a near tie) are decided on the probabilities.
TIE_MARGIN = 1e-3

Pick = Callable[[np.ndarray, "np.ndarray | None"], int]


def _entropy(exp: np.ndarray, logits: np.ndarray, top: float, total: float) -> float:
    # H = -sum p·log p with p = exp/total and log p = logit - top - log(total)
    return math.log(total) + top - float(np.dot(exp, logits)) / total


def softmax(logits: np.ndarray) -> tuple[np.ndarray, float]:
    """Return the probabilities of `logits` (a new array) and their entropy in nats."""
    top = float(logits.max())
    probs = np.empty(len(logits), dtype=np.float32)
    total = exp_shifted(logits, top, probs)
    entropy = _entropy(probs, logits, top, total)
    probs /= total
    return probs, entropy


def softmax_into(logits: np.ndarray, out: np.ndarray) -> None:
    """softmax()'s probabilities into the reused buffer `out`: the same float32
    operations on the same values, so the same results to the bit."""
    np.divide(out, exp_shifted(logits, float(logits.max()), out), out=out)


class Softmax:
    """softmax() for the n-gram blend, one token after another, in reused buffers.

    Calling it on the logits fills `exp` with exp(logits - top), reading the
    logits where llama.cpp left them (no copy), and sets `entropy`;
    `probs_into` then divides into a buffer: the same float32 operations on
    the same values as softmax(), so the same results to the bit (scaled by
    `keep` when the n-grams take a share, blend_into). The one pass over the
    whole vocabulary nothing can skip is the exp: its sum is every
    probability's denominator (vecmath.exp_shifted: one fused pass in
    llama.cpp's own vector code where it can be used).
    """

    def __init__(self, n_vocab: int):
        self.exp = np.empty(n_vocab, dtype=np.float32)
        self.total, self.entropy = 1.0, 0.0

    def __call__(self, logits: np.ndarray) -> Softmax:
        top = float(logits.max())
        self.total = exp_shifted(logits, top, self.exp)
        self.entropy = _entropy(self.exp, logits, top, self.total)
        return self

    def probs_into(self, out: np.ndarray, keep: float = 1.0) -> np.ndarray:
        """Write the probabilities, times `keep`, into `out`; return it.

        keep = 1.0 divides by the very total softmax() divides by: the same bits.
        """
        return np.divide(self.exp, self.total / keep, out=out)


def blend_into(model: Softmax, blends: Sequence[Blend], out: np.ndarray) -> np.ndarray:
    """Write the model's probabilities with `blends` mixed in, each on top of those
    before it, into `out`; return it.

    Mixing in turn (NgramWeights.mix, one after another) would scale the whole
    vocabulary once per blend. Here the model's probabilities are scaled by
    all the keeps in the softmax's own normalisation, and each blend's few
    entries by the keeps of the blends after it: one pass over the vocabulary.
    """
    keep = 1.0
    for blend in blends:
        keep *= blend.keep
    model.probs_into(out, keep)
    after = 1.0
    for blend in reversed(blends):
        blend.add_into(out, after)
        after *= blend.keep
    return out


def next_token_probs(
    logits: np.ndarray,
    document: DocumentNgrams,
    weights: NgramWeights,
    context: Sequence[int],
    own: int | None = None,
    project: tuple[NgramWeights, NgramCounts] | None = None,
) -> tuple[np.ndarray, float]:
    """Return the engine's next-token probabilities and the document n-grams' share λ of them.

    The model's softmax, blended with the project memory's n-grams (`project`:
    its weights and counts) and then the document's when they are on (λ = 0.0
    when they are off or know nothing here). `context` is the token stream
    the logits followed; `own` a token the document holds next only because
    the writer just typed it (NgramWeights.blend). writer-bench scores text
    with this function; the engine's Propose step computes the same, to the
    bit, into reused buffers.
    """
    if not document.enabled:
        return softmax(logits)[0], 0.0
    model = Softmax(len(logits))(logits)
    blends = [] if project is None else [project[0].blend(project[1], context, model.entropy)]
    blends.append(weights.blend(document.counts, context, model.entropy, own))
    return blend_into(model, blends, np.empty(len(logits), dtype=np.float32)), blends[-1].share


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
    def probs(self) -> np.ndarray:
        """The probabilities the token is picked from (computed once, on first read)."""
        if self._probs is None:
            if self.stale:
                raise RuntimeError("the logits of this token were overwritten")
            self._probs = self._materialize()
        return self._probs

    def greedy(self, allowed: np.ndarray | None) -> int:
        """Return greedy_pick's token (among `allowed` ids if given), from the logits when
        they decide it (greedy_from_logits), else from the probabilities."""
        token = greedy_from_logits(self.logits, allowed) if self._probs is None else None
        return token if token is not None else greedy_pick(self.probs, allowed)

    def prob(self, token: int) -> float:
        """Return the probability of `token`."""
        return float(self.probs[token])


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
