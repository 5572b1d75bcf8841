"""The project's tokens (project_tokens.py): distinct units cut into pieces in blocks give each
text's own pieces, tokens are kept narrow, and a build's freed memory goes back to the system."""

from __future__ import annotations

import ctypes
import re

import numpy as np
import pytest

from writer_app.engine.project_memory import return_freed_memory
from writer_app.engine.project_tokens import PIECE, PY_SPACES, Units


def one_token_a_piece():
    """A tokenizer with a token for every piece PIECE cuts: any cut made elsewhere shows."""
    vocabulary: dict[str, int] = {}
    return lambda text: [vocabulary.setdefault(p, len(vocabulary)) for p in PIECE.findall(text)]


def test_the_white_space_list_is_what_pythons_pattern_calls_white_space():
    spaces = {c for c in range(0x110000) if re.match(r"\s", chr(c))}
    assert set(PY_SPACES.tolist()) == spaces


@pytest.mark.parametrize(
    "text",
    [
        # " word\n" and " \nfoo" are new one after the other but not neighbours in the text:
        # joined, "\n \n" would be cut as one run of white space.
        "a x a word\n a \nfoo",
        # A unit with no space ("said", a text's first) after one ending in a letter.
        "said Mara",
        "",
        " starts with a space, ends with one ",
    ],
)
def test_the_tokens_of_distinct_units_are_those_of_the_whole_text(text):
    tokenize = one_token_a_piece()
    units = Units(tokenize, 50257)
    assert units.tokens(units.ids(text)).tolist() == tokenize(text)


def test_units_learned_across_texts_keep_each_texts_tokens():
    tokenize = one_token_a_piece()
    texts = ["Mara went on.\n", "went on, Mara\n said it", " on went\nMara,\n\nsaid"]
    units = Units(tokenize, 50257)
    for text in texts:
        assert units.tokens(units.ids(text)).tolist() == tokenize(text)


def test_tokens_are_kept_in_16_bits_when_the_vocabulary_fits():
    text = "Mara went on."
    narrow, wide = Units(one_token_a_piece(), 50257), Units(one_token_a_piece(), 100_000)
    assert narrow.tokens(narrow.ids(text)).dtype == np.uint16
    assert wide.tokens(wide.ids(text)).dtype == np.int32
    assert narrow.tokens(narrow.ids(text)).tolist() == wide.tokens(wide.ids(text)).tolist()


def test_names_are_counted_after_mid_sentence_words_in_the_order_first_counted():
    units = Units(None, 50257)
    text = "He saw. Mara, then Tobin, and Mara, met tobin. Still he ran! Steadily. Mara sat"
    capitalised, lower, starts = units.names(units.ids(text))
    # The first " Mara," follows a full stop (a sentence's first word says nothing): Tobin
    # is counted first, although " Mara," was met (and numbered) before him.
    assert list(capitalised.items()) == [("Tobin", 1), ("Mara", 1)]
    assert lower == {"tobin": 1}
    # What starts the sentences (after ".", "!"), in the order met; "He" starts the text.
    assert list(starts.items()) == [("Mara", 2), ("Still", 1), ("Steadily", 1)]


def test_the_memory_a_build_freed_goes_back_to_the_system():
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "malloc_trim"):
        pytest.skip("not glibc")
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]

    def resident_mb() -> float:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * 4096 / 2**20

    # 200 MB in small blocks (below glibc's mmap threshold: taken from the heap), all
    # freed but the last, which holds the heap's top so that free() cannot shrink it.
    blocks = [libc.malloc(4000) for _ in range(50_000)]
    for b in blocks:
        ctypes.memset(b, 1, 4000)
    for b in blocks[:-1]:
        libc.free(b)
    before = resident_mb()
    assert return_freed_memory()
    after = resident_mb()
    libc.free(blocks[-1])
    assert before - after > 100
