"""The document cache: n-gram counts kept up to date by edits, and what they do to suggestions.

The counting tests tokenize with the bundled GPT-2 tokenizer (no model needed).
The suggestion tests use the random-weight fixture model: it knows no name,
and it is unsure of everything, so what it suggests is what the document
teaches. (The memorising model is so sure of its story that a few counts
rightly cannot move it.)
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from tokenizers import Tokenizer

from gpt2gguf.constants import TOKENIZER_DIR
from tests.fixtures_text import TRAIN_TEXT
from writer_app.engine import Engine, EngineConfig, EngineError
from writer_app.engine import ngrams as ngrams_module
from writer_app.engine.ngrams import DocumentNgrams, NgramCounts, NgramWeights, split_chunks

N_VOCAB = 50257


@pytest.fixture(scope="module")
def tokenize():
    tok = Tokenizer.from_file(str(TOKENIZER_DIR / "tokenizer.json"))
    return lambda text: tok.encode(text).ids


def rebuilt(tokenize, text: str) -> DocumentNgrams:
    return DocumentNgrams(tokenize, N_VOCAB, text)


def assert_same_counts(a: DocumentNgrams, b: DocumentNgrams) -> None:
    assert a.text == b.text
    assert a.counts.as_dict() == b.counts.as_dict()
    assert (a.counts.total, a.counts.distinct) == (b.counts.total, b.counts.distinct)


# ----- counting ----------------------------------------------------------------------------
def test_chunks_are_paragraphs_with_the_line_breaks_that_end_them():
    assert split_chunks("One.\n\nTwo\nThree") == ["One.\n\n", "Two\n", "Three"]
    assert split_chunks("\n\nA") == ["\n\n", "A"]
    assert split_chunks("") == []


def test_counts_hold_every_ngram_of_the_token_stream():
    counts = NgramCounts(N_VOCAB, max_context=2)
    counts.rebuild([np.array([5, 6, 5, 6, 7])])
    got = counts.as_dict()
    assert got[(5,)] == 2 and got[(6,)] == 2 and got[(7,)] == 1
    assert got[(5, 6)] == 2 and got[(6, 5)] == 1 and got[(6, 7)] == 1
    assert got[(5, 6, 5)] == 1 and got[(5, 6, 7)] == 1
    ids, cnt = counts.followers([6])
    assert dict(zip(ids.tolist(), cnt.tolist(), strict=True)) == {5: 1, 7: 1}
    ids, cnt = counts.followers([5, 6])
    assert dict(zip(ids.tolist(), cnt.tolist(), strict=True)) == {5: 1, 7: 1}


def test_incremental_updates_equal_a_rebuild_after_random_edits(tokenize, monkeypatch):
    """Property test: insertions, deletions, undo, paste and full-text syncs, in any
    order and at any place, leave the counts exactly those of a rebuild."""
    monkeypatch.setattr(ngrams_module, "MERGE_AT", 40)  # merge often, so merges are tested too
    rng = random.Random(14)
    source = TRAIN_TEXT
    snippets = ["a", " ", "\n", "\n\n", "Zyr", "galon ", '"', "“Who?” ", "dragon"]
    for _ in range(12):
        doc = DocumentNgrams(tokenize, N_VOCAB, source[: rng.randrange(0, 600)])
        text = doc.text
        undo: list[tuple[int, int, str]] = []
        for _ in range(60):
            kind = rng.random()
            if kind < 0.35:  # type a character or a word
                pos = rng.randrange(len(text) + 1)
                new = rng.choice(snippets)
                start, removed = pos, 0
            elif kind < 0.55 and text:  # delete a span, maybe across paragraphs
                start = rng.randrange(len(text))
                removed = rng.randrange(min(80, len(text) - start) + 1)
                new = ""
            elif kind < 0.7:  # paste a passage with paragraph breaks
                at = rng.randrange(len(source))
                new = source[at : at + rng.randrange(1, 300)]
                start, removed = rng.randrange(len(text) + 1), 0
            elif kind < 0.85 and undo:  # undo the last edit
                start, removed, new = undo.pop()
            else:  # sync a whole text, as a caller without edit events would
                cut = rng.randrange(len(text) + 1)
                text = text[:cut] + rng.choice(snippets) + text[cut + rng.randrange(20) :]
                doc.set_text(text)
                undo.clear()
                continue
            undo.append((start, len(new), text[start : start + removed]))
            doc.edit(start, removed, new)
            text = text[:start] + new + text[start + removed :]
            assert doc.text == text and len(doc) == len(text)
        assert_same_counts(doc, rebuilt(tokenize, text))


def test_followers_are_the_counts_whether_merged_pending_or_both(tokenize):
    """followers() reads the sorted arrays, the recent changes, or both merged; its
    per-token form suffix_followers() gives each suffix's, up to the first never seen."""
    tokens = np.array(tokenize(TRAIN_TEXT[:1500]))
    merged = NgramCounts(N_VOCAB)
    merged.rebuild([tokens])
    pending = NgramCounts(N_VOCAB)
    pending.add(tokens)  # nothing merged: every count is a recent change
    both = NgramCounts(N_VOCAB)
    both.add(tokens[:600])
    both.add(tokens[::-1])  # the same tokens in another order: other n-grams, same contexts
    both.merge()
    both.add(tokens[::-1], -1)  # changes that take merged counts down, many to zero
    both.add(tokens[600:])
    want: dict[tuple[int, ...], dict[int, int]] = {}
    for gram, count in merged.as_dict().items():
        want.setdefault(gram[:-1], {})[gram[-1]] = count
    contexts = {tuple(tokens[i - k : i].tolist()) for i in range(3, len(tokens)) for k in (1, 2, 3)}
    contexts |= {(50000,), (tokens[0], 50000), (50000, tokens[0], tokens[1])}  # never seen
    for context in contexts:
        for counts in (merged, pending, both):
            ids, cnt = counts.followers(context)
            assert dict(zip(ids.tolist(), cnt.tolist(), strict=True)) == want.get(context, {})
            longer = [7, *context]
            suffixes = [
                dict(zip(ids.tolist(), cnt.tolist(), strict=True))
                for ids, cnt in counts.suffix_followers(longer)
            ]
            expected = [want.get(tuple(longer[len(longer) - k :])) for k in (1, 2, 3)]
            assert suffixes == expected[: expected.index(None) if None in expected else 3]


def test_an_edit_outside_the_document_is_refused(tokenize):
    doc = DocumentNgrams(tokenize, N_VOCAB, "Short.")
    with pytest.raises(ValueError, match="outside"):
        doc.edit(3, 10, "")


def test_turning_the_cache_off_keeps_the_text_and_on_again_recounts_it(tokenize):
    doc = DocumentNgrams(tokenize, N_VOCAB, "The dragon flew.\n\nIt landed.")
    doc.enable(None)
    doc.edit(len(doc), 0, " Then it slept.")
    assert doc.counts.total == 0
    doc.enable(tokenize)
    assert_same_counts(doc, rebuilt(tokenize, "The dragon flew.\n\nIt landed. Then it slept."))


def test_mixing_gives_a_deterministic_context_most_of_the_probability():
    counts = NgramCounts(N_VOCAB)
    counts.rebuild([np.array([1, 2, 3, 9, 1, 2, 3, 8, 1, 2, 3, 7, 1, 2])])
    probs = np.full(N_VOCAB, 1.0 / N_VOCAB, dtype=np.float32)
    lam = NgramWeights().mix(probs, counts, [1, 2], entropy=10.0)  # an unsure model
    assert probs.sum() == pytest.approx(1.0, abs=1e-4)
    assert int(np.argmax(probs)) == 3 and probs[3] > 0.5
    assert 0 < lam < 1
    fresh = np.full(N_VOCAB, 1.0 / N_VOCAB, dtype=np.float32)
    assert NgramWeights().mix(fresh, NgramCounts(N_VOCAB), [1, 2]) == 0.0


# ----- the engine --------------------------------------------------------------------------
NAME_DOC = (
    "The dragon flew over the mountain. Zyrgalon watched it from the tower.\n\n"
    "Mira ran down the path. Zyrgalon followed her to the lake.\n\n"
    "At the shore she stopped. Zyrgalon stopped too.\n\n"
    "The dragon turned its great head and looked at Zyr"
)


def test_a_name_the_document_holds_completes_after_three_letters(tiny_gguf_f32):
    with Engine(EngineConfig(model_path=tiny_gguf_f32, n_threads=1)) as eng:
        eng.set_document(NAME_DOC)
        s = eng.suggest(NAME_DOC)
    assert s is not None and s.text.startswith("galon")


def test_without_the_cache_the_name_does_not_complete(tiny_gguf_f32):
    config = EngineConfig(model_path=tiny_gguf_f32, n_threads=1, document_cache=False)
    with Engine(config) as eng:
        eng.set_document(NAME_DOC)
        s = eng.suggest(NAME_DOC)
    # The random model alone is sure of nothing after "Zyr": no suggestion at all.
    assert s is None


def test_document_edits_reach_the_cache_and_a_lost_document_is_an_engine_error(tiny_gguf_f32):
    with Engine(EngineConfig(model_path=tiny_gguf_f32, n_threads=1)) as eng:
        eng.set_document(NAME_DOC[:-3])
        eng.document_changed(len(NAME_DOC) - 3, 0, "Zyr")
        assert eng.document_length == len(NAME_DOC)
        assert eng.suggest(NAME_DOC).text.startswith("galon")
        with pytest.raises(EngineError, match="lost track"):
            eng.document_changed(len(NAME_DOC) + 5, 1, "")
