"""The prompt window: fits the budget, starts at a paragraph/sentence, stays put while typing."""

import pytest

from finetune.tokenizer import load_tokenizer
from writer_app.engine.prompt import (
    REFILL,
    PromptWindow,
    anchors,
    common_prefix,
    reusable_prefix,
    word_starts,
)

SENTENCES = [
    "The dragon flew over the mountain.",
    "Below, the village slept; only the miller's dog was awake, and it barked twice.",
    '"Did you see it?" asked Mira, pulling her cloak tight.',
    "Her brother shrugged and said nothing at all.",
]


@pytest.fixture(scope="module")
def tokenize():
    tok = load_tokenizer()
    return lambda text: tok.encode(text).ids


def long_text(n_sentences: int) -> str:
    parts = []
    for i in range(n_sentences):
        parts.append(SENTENCES[i % len(SENTENCES)])
        parts.append("\n\n" if i % 5 == 4 else " ")
    return "".join(parts)


def test_anchors_are_sentence_and_paragraph_starts():
    text = 'One two. Three four!\n\nFive six? "Seven," he said.'
    starts = anchors(text)
    assert [text[p : p + 5] for p in starts] == ["Three", "Five ", '"Seve']


def test_word_starts_follow_whitespace():
    assert word_starts("a bb  ccc") == [2, 6]


def test_short_text_is_used_whole(tokenize):
    window = PromptWindow(tokenize, budget=100)
    assert window.start("The dragon flew over the") == 0


def test_long_text_window_fits_the_budget_and_starts_a_sentence(tokenize):
    text = long_text(60) + "The dra"
    window = PromptWindow(tokenize, budget=120)
    start = window.start(text)
    assert start > 0
    assert len(tokenize(text[start:])) <= 120
    assert start in anchors(text)
    # It is the earliest sentence start that leaves room to type (REFILL of the budget).
    earlier = max(a for a in anchors(text) if a < start)
    assert len(tokenize(text[earlier:])) > 120 * REFILL


def test_window_start_stays_put_while_the_writer_types(tokenize):
    text = long_text(60)
    window = PromptWindow(tokenize, budget=120)
    first = window.start(text)
    typed = "The dragon turned its great head and looked"
    starts = {window.start(text + typed[:i]) for i in range(len(typed) + 1)}
    assert starts == {first}


def test_window_jumps_forward_only_when_the_text_outgrows_it(tokenize):
    text = long_text(60)
    window = PromptWindow(tokenize, budget=120)
    starts = []
    for sentence in SENTENCES * 5:
        text += sentence + " "
        starts.append(window.start(text))
        assert len(tokenize(text[starts[-1] :])) <= 120
    assert starts == sorted(starts)
    assert 1 < len(set(starts)) < len(starts) / 2  # jumps, but rarely


def test_text_without_sentences_is_cut_at_a_word(tokenize):
    text = "and then " * 200
    window = PromptWindow(tokenize, budget=50)
    start = window.start(text)
    assert len(tokenize(text[start:])) <= 50
    assert text[start - 1] == " " and text[start] != " "


def test_the_document_start_costs_one_token(tokenize):
    text = "word " * 10
    n = len(tokenize(text))
    assert PromptWindow(tokenize, budget=n + 1).start(text) == 0
    assert PromptWindow(tokenize, budget=n).start(text) > 0


def test_common_prefix_counts_shared_leading_tokens():
    assert common_prefix([1, 2, 3, 4], [1, 2, 9]) == 2
    assert common_prefix([1, 2], [1, 2, 3]) == 2
    assert common_prefix([], [1]) == 0


def test_the_last_prompt_token_is_always_evaluated_again():
    assert reusable_prefix([1, 2, 3, 4, 5], [1, 2, 3]) == 2
    assert reusable_prefix([1, 2, 3], [1, 2, 3, 4, 5]) == 3
    assert reusable_prefix([7], [1, 2]) == 0
