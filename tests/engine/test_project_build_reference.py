"""A project memory's build (project_tokens.py) gives what a straightforward pass over each
file gives: the whole text's tokens, its names counted by the regexes, the n-grams counted
one by one, even where chapters repeat one another and share every unit and piece."""

from __future__ import annotations

import itertools
import re
import threading
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tests.engine.project_reference import (
    frequent_from,
    one_token_a_piece,
    reference_counts,
    whole,
    write_files,
)
from writer_app.core.text_io import read_text_file
from writer_app.engine import project_memory
from writer_app.engine.project_memory import ProjectMemory, fast_tokenizer
from writer_app.engine.project_tokens import CROSSING, PY_SPACES, Units

pytest.importorskip("tokenizers")

SCENE = (
    "Mara Quenby crossed the café, and Tobin followed; “It's 1,204 leagues,” said Mara.\n"
    "They'd gone — Mara laughed — but Tobin didn't.   Élodie waved, then Ödön, then 李白.\n"
    "The mara-bird sang at 3pm_ish!? Zyrgalon waited...\tthen Zyrgalon left 🐉 (again).\n\n"
)
ODD = "In 1² steps, cafe\u0301 and x², said Mara.\n"  # classed unlike GPT-2 by Python's re
FILES = {
    "Chapter 1.md": SCENE * 3,
    "Chapter 2.md": SCENE * 3,  # the same chapter again: every unit already known
    # Its units are Chapter 1's, reordered, with new names and an odd character in one.
    "Chapter 3.md": "said Mara, and Tobin, and Wren.\n" + SCENE + ODD + SCENE,
    # Odd characters in units met before: this one alone must be tokenized whole.
    "Chapter 4.md": ODD * 2,
    # A name in lower case before a new word met thrice: counted in its own unit only.
    "Chapter 5.md": ODD.replace("x²", "xx") + "Then Wren, then wren quill quill quill.\n",
    # Runs of spaces after other white space, and a "\x01": cut into pieces, not units.
    "Chapter 6.md": "  Indented, said Wren.\n    \n" + SCENE + "\x01 Tobin, ended. \n ",
    "Chapter 7.md": "1² said Wren, and Tobin.\n",  # odd in its first unit only
    "notes.md": " Starts with a space.\n\n## Mara Quenby\n- **Tobin Ashe**: her friend\n",
    "empty.md": "",
}


def reference_names(text: str) -> tuple[list[tuple[str, int]], dict[str, int]]:
    """A file's names by the regexes over its whole text: the capitalised words after a
    lower-case letter, a comma or a semicolon and a space (in the order first met), and the
    lower-case counts of those words."""
    capitalised = Counter(re.findall(r"(?<=[a-z,;] )([A-Z][a-z]{2,})\b", text))
    lower = Counter(re.findall(r"\b[a-z]{3,}\b", text))
    return list(capitalised.items()), {
        name.lower(): lower[name.lower()] for name in capitalised if lower[name.lower()]
    }


@pytest.fixture
def project(tmp_path) -> list[Path]:
    return write_files(tmp_path, FILES)


def texts_of(paths: list[Path]) -> list[str]:
    return [read_text_file(p).text for p in paths]


def test_each_files_tokens_and_names_are_those_of_its_whole_text(project):
    memory = ProjectMemory(fast_tokenizer(whole), 50257)
    memory.build(project)
    for path, text in zip(project, texts_of(project), strict=True):
        source = memory._sources[path]
        assert source.tokens.tolist() == whole(text), path.name
        capitalised, lower = reference_names(text)
        assert list(source.capitalised.items()) == capitalised, path.name
        assert dict(source.lower) == lower, path.name


def test_the_counts_and_frequent_names_are_those_of_a_count_one_by_one(project):
    memory = ProjectMemory(fast_tokenizer(whole), 50257)
    memory.build(project)
    texts = texts_of(project)
    assert memory.counts.as_dict() == reference_counts(texts, memory.counts.max_context, whole)
    capitalised, lower = Counter(), Counter()
    for text in texts:
        caps, low = reference_names(text)
        capitalised.update(dict(caps))
        lower.update(low)
    assert memory.frequent_names == frequent_from(capitalised, lower)
    assert "Tobin" in memory.frequent_names and "Mara" not in memory.frequent_names


def test_a_vocabulary_with_a_token_for_every_piece_is_counted_exactly(project):
    tokenize = one_token_a_piece()
    memory = ProjectMemory(tokenize, 50257)
    memory.build(project)
    texts = texts_of(project)
    for path, text in zip(project, texts, strict=True):
        assert memory._sources[path].tokens.tolist() == tokenize(text), path.name
    assert memory.counts.as_dict() == reference_counts(texts, 3, tokenize)


def test_a_text_splits_alike_only_when_none_of_its_units_holds_an_odd_character():
    units = Units(None, 50257)
    first = units.ids("He wrote x² and 1² twice, said Mara.\n")
    assert not units.splits_alike(first)
    # Every unit here was learned with the text above; only " x²" is odd.
    assert not units.splits_alike(units.ids("said Mara. He wrote x²"))
    assert units.splits_alike(units.ids("said Mara. He wrote twice,"))
    assert not units.splits_alike(units.ids("1² twice,"))
    assert units.splits_alike(units.ids(""))


@pytest.mark.parametrize("cores", [1, 2, 3, 64])
def test_the_bundled_tokenizers_batch_gives_each_texts_own_tokens(monkeypatch, cores):
    monkeypatch.setattr(project_memory.os, "cpu_count", lambda: cores)
    texts = ["Mara", " Quenby", "", ",”", "\n\n", " café", "", " 李白", "1,204", " 🐉", "\t "]
    # Texts over BLOCK_CHARS, as tokenize_blocks sends: sequences are cut by characters too.
    texts += [SCENE * 300, " Then", SCENE * 200, "."]
    tokenize = fast_tokenizer(whole)
    tokens, lengths = tokenize.batch(texts)
    assert lengths.tolist() == [len(whole(t)) for t in texts]
    assert tokens.tolist() == [t for text in texts for t in whole(text)]
    assert tokens.dtype == np.int32


def test_a_build_leaves_no_tokenizer_thread_behind(project):
    memory = ProjectMemory(fast_tokenizer(whole), 50257)
    memory.build(project)
    memory.build(project[:2])  # nothing read anew: no tokenizing at all
    assert not [t for t in threading.enumerate() if t.name.startswith("project-tokens")]


def test_crossing_is_found_exactly_where_white_space_runs_into_a_units_space():
    # The plain pattern: white space, a space, then white space or the end.
    plain = re.compile(r"\s (?:\s|\Z)")
    around = ["", "x", ".", *map(chr, PY_SPACES.tolist())]
    for before, after in itertools.product(around, repeat=2):
        for text in (before + " " + after, "ab" + before + " " + after + "cd"):
            assert bool(CROSSING.search(text)) == bool(plain.search(text)), repr(text)
