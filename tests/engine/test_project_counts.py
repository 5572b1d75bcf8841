"""The project memory counts what a straightforward count of each file's whole-text tokens
gives, whichever way a file is cut (units, pieces, blocks), and finds the same names."""

from __future__ import annotations

import re
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
from writer_app.engine.ngrams import NgramCounts
from writer_app.engine.project_memory import ProjectMemory, fast_tokenizer

pytest.importorskip("tokenizers")

PROSE = (
    "Mara Quenby walked to the harbour, and Tobin followed. “It's 1,204 leagues,” said Mara.\n\n"
    "They'd gone on; Mara laughed, Tobin didn't. The mara-bird sang at 3pm_ish.\n"
    "Zyrgalon   waited...\tthen, Zyrgalon left. A café, a naïve idea — whatever.\n"
)
FILES = {
    # Cut into units (single spaces only).
    "Chapter 1.md": PROSE * 6,
    # Spaces running on after other white space (indents, trailing): cut into pieces.
    "Chapter 2.md": "    Indented, said Mara.\n    Again, said Tobin.  \n\n  " + PROSE * 3 + " \n ",
    # Characters whose classes Python and Unicode might not share (², an accent
    # written as a combining mark; "1²" is one piece to GPT-2, two to Python): tokenized
    # whole, in blocks, over BLOCK_CHARS.
    "Chapter 3.md": ("x² in 1² and cafe\u0301, said Mara.\n\n" + PROSE) * 400,
    "notes.md": " Starts with a space.\n\n## Mara Quenby\n",
    "empty.md": "",
}


def reference_names(texts: list[str]) -> tuple[str, ...]:
    """frequent_names as the regexes over the whole texts define it."""
    capitalised, lower = Counter(), Counter()
    for text in texts:
        caps = Counter(re.findall(r"(?<=[a-z,;] )([A-Z][a-z]{2,})\b", text))
        capitalised.update(caps)
        lower.update(w for w in re.findall(r"\b[a-z]{3,}\b", text) if w.capitalize() in caps)
    return frequent_from(capitalised, lower)


@pytest.fixture
def project(tmp_path) -> list[Path]:
    return write_files(tmp_path, FILES)


def test_the_counts_are_those_of_each_files_whole_text(project):
    memory = ProjectMemory(fast_tokenizer(whole), 50257)
    memory.build(project)
    texts = list(FILES.values())
    assert memory.counts.as_dict() == reference_counts(texts, memory.counts.max_context)
    assert memory.counts.total == sum(len(whole(t)) for t in texts)


def test_a_vocabulary_with_a_token_for_every_piece_is_counted_exactly(project):
    # GPT-2's own vocabulary never merges spaces, nor "x" with "²"; this one tells every
    # cut apart, so a unit or a piece cut where GPT-2's pattern would not cut shows.
    tokenize = one_token_a_piece()
    memory = ProjectMemory(tokenize, 50257)
    memory.build(project)
    texts = list(FILES.values())
    assert memory.counts.as_dict() == reference_counts(texts, 3, tokenize)


def test_each_way_of_cutting_a_file_gives_its_whole_texts_tokens(project):
    memory = ProjectMemory(fast_tokenizer(whole), 50257)
    memory.build(project)
    for path, text in zip(project, FILES.values(), strict=True):
        assert memory._sources[path].tokens.tolist() == whole(text), path.name


def test_a_tokenizer_that_is_not_piecewise_is_used_on_whole_blocks(project):
    # Tokens that depend on what came before in the text: only a whole-text pass gives them.
    def running(text: str) -> list[int]:
        return (np.cumsum([ord(c) for c in text]) % 997).tolist()

    memory = ProjectMemory(running, 997)
    memory.build(project[:1])
    assert memory.counts.total == len(FILES["Chapter 1.md"])
    expected = NgramCounts(997)
    expected.rebuild([np.array(running(FILES["Chapter 1.md"]))])
    assert memory.counts.as_dict() == expected.as_dict()


def test_the_names_are_those_the_regexes_find_in_the_whole_texts(project):
    memory = ProjectMemory(fast_tokenizer(whole), 50257)
    memory.build(project)
    expected = reference_names(list(FILES.values()))
    # "the mara-bird" in lower case keeps Mara out; the rest are names.
    assert "Tobin" in expected and "Zyrgalon" in expected and "Mara" not in expected
    assert memory.frequent_names == expected


def test_a_rebuild_after_one_file_changed_counts_as_a_fresh_build(project):
    memory = ProjectMemory(fast_tokenizer(whole), 50257)
    memory.build(project)
    project[0].write_text("Only this now, said Mara.\n", encoding="utf-8")
    report = memory.build(project)
    fresh = ProjectMemory(fast_tokenizer(whole), 50257)
    fresh.build(project)
    assert report.read == 1
    assert memory.counts.as_dict() == fresh.counts.as_dict()
