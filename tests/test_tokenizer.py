"""The shipped GPT-2 tokenizer reproduces llama.cpp's own test vectors exactly."""

from pathlib import Path

import pytest

from finetune.tokenizer import load_tokenizer
from gpt2gguf.constants import TOKENIZER_DIR

DATA = Path(__file__).parent / "data"
SEP = "\n__ggml_vocab_test__\n"


def _vectors() -> list[tuple[str, list[int]]]:
    inputs = (DATA / "ggml-vocab-gpt-2.gguf.inp").read_text(encoding="utf-8").split(SEP)
    outputs = (DATA / "ggml-vocab-gpt-2.gguf.out").read_text(encoding="utf-8").split("\n")
    # Every input, the last included, is followed by a separator.
    assert inputs[-1] == ""
    inputs = inputs[:-1]
    ids = [[int(t) for t in line.split()] for line in outputs[: len(inputs)]]
    return list(zip(inputs, ids, strict=True))


VECTORS = _vectors()


def test_all_llama_cpp_vectors_are_present():
    assert len(VECTORS) == 46


@pytest.mark.parametrize("text,expected", VECTORS, ids=[repr(t)[:30] for t, _ in VECTORS])
def test_encoding_matches_llama_cpp(text, expected):
    assert load_tokenizer().encode(text).ids == expected


def test_shipped_vocabulary_is_full_gpt2():
    tok = load_tokenizer()
    assert tok.get_vocab_size() == 50257
    assert tok.token_to_id("<|endoftext|>") == 50256
    merges = (TOKENIZER_DIR / "merges.txt").read_text(encoding="utf-8").splitlines()
    assert len(merges) == 1 + 50000  # version line + merges


def test_decode_round_trips_punctuation_and_unicode():
    tok = load_tokenizer()
    text = 'She asked, "Why?" — and the dragon’s eyes narrowed… ¿Qué?'
    assert tok.decode(tok.encode(text).ids) == text
