"""The engine's next-token blend (the model's softmax, then the project's and the
document's n-grams, in one pass over the vocabulary) against a straightforward float64
reference of ngrams.py's formula, kept here, against mixing the sources in turn, and
against writer-bench's own blend, to the bit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from writer_app.engine import ngrams as ngrams_module
from writer_app.engine.ngrams import DocumentNgrams, NgramCounts, NgramWeights
from writer_app.engine.project_memory import PROJECT_WEIGHTS
from writer_app.engine.sampling import (
    Softmax,
    blend_into,
    greedy_pick,
    next_token_probs,
    softmax,
)

N_VOCAB = 3000


def reference(logits, sources) -> np.ndarray:
    """The blend over the whole vocabulary in float64, from the counts as a dict.

    q = softmax(logits); for each (weights, counts, context, exclude) in turn:
    q = (1-w_k)·q + w_k·counts_k/n, from the unigram (k = 0) up to the longest
    context seen, with w_k from the evidence n/u and the MODEL's entropy.
    """
    x = logits.astype(np.float64)
    q = np.exp(x - x.max())
    q /= q.sum()
    entropy = -float(np.sum(q * np.log(q)))
    for weights, counts, context, exclude in sources:
        grams = counts.as_dict()
        bar = math.exp(-weights.beta * (entropy - weights.pivot))
        for k in range(0, min(counts.max_context, len(context)) + 1):
            ctx = tuple(int(t) for t in context[len(context) - k :]) if k else ()
            dense = np.zeros(N_VOCAB)
            for gram, c in grams.items():
                if len(gram) == k + 1 and gram[:k] == ctx:
                    dense[gram[k]] += c
            if exclude is not None and dense[exclude] > 0:
                dense[exclude] -= 1
            n, u = dense.sum(), np.count_nonzero(dense)
            if n == 0:
                if k == 0:
                    continue
                break
            evidence = n / u if k == 0 else (n / u) ** weights.power
            w = evidence / (evidence + weights.gamma[min(k, len(weights.gamma) - 1)] * bar)
            q = (1 - w) * q + w * dense / n
    return q


def counts_of(rng, phrases: int) -> tuple[NgramCounts, np.ndarray]:
    """Counts of a text that repeats a few phrases over a small part of the vocabulary."""
    words = rng.choice(N_VOCAB, 60, replace=False)
    bank = [rng.choice(words, rng.integers(2, 6)) for _ in range(phrases)]
    seq = np.concatenate([bank[i] for i in rng.integers(0, phrases, 150)])
    counts = NgramCounts(N_VOCAB)
    counts.rebuild([seq])
    return counts, seq


def case(seed: int):
    """Random logits and one or two sources (the project's, then the document's)."""
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal(N_VOCAB) * rng.uniform(1, 4)).astype(np.float32)
    document, seq = counts_of(rng, 12)
    at = int(rng.integers(3, len(seq)))
    context = (
        [int(t) for t in seq[:at]] if seed % 4 else [int(t) for t in rng.integers(0, N_VOCAB, 5)]
    )
    exclude = int(seq[at]) if seed % 3 == 0 else None  # the writer's own half-typed token
    sources = [(NgramWeights(), document, context, exclude)]
    if seed % 2:
        project, _ = counts_of(rng, 30)
        sources.insert(0, (PROJECT_WEIGHTS, project, context, None))
    return logits, sources


def engine_probs(logits, sources, shift: int = 0) -> np.ndarray:
    """The engine's blend (steps.Propose): Softmax straight from llama.cpp's logits (an
    odd address, `shift`), every source's Blend folded in by blend_into, into a buffer."""
    view = np.empty(len(logits) + 4, dtype=np.float32)[shift : shift + len(logits)]
    view[:] = logits
    model = Softmax(len(logits))(view)
    blends = [
        weights.blend(counts, context, model.entropy, exclude)
        for weights, counts, context, exclude in sources
    ]
    return blend_into(model, blends, np.full_like(logits, np.nan))


def mixed_in_turn(logits, sources) -> np.ndarray:
    """softmax (a new array), then NgramWeights.mix for each source in turn."""
    probs, entropy = softmax(logits)
    for weights, counts, context, exclude in sources:
        weights.mix(probs, counts, context, entropy, exclude)
    return probs


def writer_bench(logits, sources) -> np.ndarray:
    """writer-bench's blend: next_token_probs, the project (if any) passed along."""
    *project, (weights, counts, context, exclude) = sources
    document = DocumentNgrams(lambda text: [], N_VOCAB)
    document.counts = counts
    pair = (project[0][0], project[0][1]) if project else None
    probs, _ = next_token_probs(logits, document, weights, context, exclude, pair)
    return probs


@pytest.mark.parametrize("seed", range(24))
def test_the_engines_blend_is_the_reference_distribution_and_picks_its_most_likely_token(seed):
    logits, sources = case(seed)
    want = reference(logits, sources)
    got = engine_probs(logits, sources)
    first, second = np.sort(want)[-2:][::-1]
    assert first > second * (1 + 1e-4), "a near tie: choose another seed"
    assert greedy_pick(got, None) == int(np.argmax(want))
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-9)
    assert got.sum() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("seed", range(12))
def test_one_pass_over_the_vocabulary_is_mixing_each_source_in_turn(seed):
    logits, sources = case(seed)
    np.testing.assert_allclose(
        engine_probs(logits, sources), mixed_in_turn(logits, sources), rtol=1e-6, atol=1e-12
    )


@pytest.mark.parametrize("seed", range(12))
def test_the_engines_blend_is_writer_benchs_to_the_bit(seed):
    logits, sources = case(seed)
    assert np.array_equal(engine_probs(logits, sources, seed % 4), writer_bench(logits, sources))


@pytest.mark.parametrize("seed", range(6))
def test_small_parts_added_in_python_are_numpys_fancy_indexing_to_the_bit(seed, monkeypatch):
    logits, sources = case(seed)
    in_python = engine_probs(logits, sources)
    monkeypatch.setattr(ngrams_module, "SMALL_PART", -1)  # every part through numpy
    assert np.array_equal(in_python, engine_probs(logits, sources))


def test_without_evidence_the_blend_is_softmax_to_the_bit():
    logits, _ = case(0)
    never_seen = [(NgramWeights(), NgramCounts(N_VOCAB), [1, 2, 3], None)]
    assert np.array_equal(engine_probs(logits, never_seen, 1), softmax(logits)[0])
