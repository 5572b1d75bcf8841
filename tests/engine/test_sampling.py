"""The next token's distribution: the reused-buffer softmax and the greedy shortcut change no bit."""

from __future__ import annotations

import numpy as np
import pytest

from writer_app.engine.sampling import (
    TIE_MARGIN,
    NextToken,
    greedy_from_logits,
    greedy_pick,
    softmax,
    softmax_into,
)

N_VOCAB = 50257


def unaligned(values: np.ndarray, shift: int) -> np.ndarray:
    """A view of `values` at an odd address, as llama.cpp's logits buffer may be."""
    big = np.empty(len(values) + 4, dtype=np.float32)
    view = big[shift : shift + len(values)]
    view[:] = values
    return view


@pytest.mark.parametrize("seed", range(6))
def test_softmax_into_reused_buffers_equals_softmax_to_the_bit(seed):
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal(N_VOCAB) * 4).astype(np.float32)
    probs, _ = softmax(logits.copy())
    out = np.full_like(logits, np.nan)
    softmax_into(unaligned(logits, seed % 4), out)
    assert np.array_equal(out, probs)


@pytest.mark.parametrize("seed", range(6))
def test_greedy_from_the_logits_picks_what_the_probabilities_pick(seed):
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal(N_VOCAB) * 3).astype(np.float32)
    probs, _ = softmax(logits)
    allowed = np.sort(rng.choice(N_VOCAB, 40, replace=False))
    assert greedy_from_logits(logits, None) == greedy_pick(probs, None)
    assert greedy_from_logits(logits, allowed) == greedy_pick(probs, allowed)


def test_a_near_tie_is_left_to_the_probabilities():
    logits = np.zeros(10, dtype=np.float32)
    logits[3], logits[7] = 5.0, 5.0 - TIE_MARGIN / 2
    assert greedy_from_logits(logits, None) is None
    logits[7] = 5.0 - 2 * TIE_MARGIN
    assert greedy_from_logits(logits, None) == 3


def test_probabilities_are_computed_once_and_never_from_overwritten_logits():
    calls = []
    logits = np.arange(5, dtype=np.float32)

    def materialize():
        calls.append(1)
        return softmax(logits)[0]

    nxt = NextToken(logits, materialize=materialize)
    assert nxt.greedy(None) == 4 and not calls  # the logits alone decide it
    assert nxt.probs is nxt.probs and len(calls) == 1
    stale = NextToken(logits, materialize=materialize)
    stale.stale = True
    with pytest.raises(RuntimeError, match="overwritten"):
        _ = stale.probs
