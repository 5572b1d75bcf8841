"""The straightforward references the project memory's build is checked against
(test_project_counts.py, test_project_build_reference.py): the bundled tokenizer on
whole texts, a token for every piece, n-grams counted one by one, files written."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from gpt2gguf.constants import TOKENIZER_DIR


@functools.cache
def hf():
    import tokenizers

    return tokenizers.Tokenizer.from_file(str(TOKENIZER_DIR / "tokenizer.json"))


def whole(text: str) -> list[int]:
    """The reference tokens: the bundled tokenizer on the whole text at once."""
    return hf().encode(text, add_special_tokens=False).ids


def one_token_a_piece() -> Callable[[str], list[int]]:
    """A tokenizer with a token for every piece GPT-2's pre-tokenizer cuts (with Unicode's
    own classes): as sensitive as a vocabulary can be to where the pieces are cut."""
    cut, vocabulary = hf().pre_tokenizer.pre_tokenize_str, {}
    return lambda text: [vocabulary.setdefault(p, len(vocabulary)) for p, _ in cut(text)]


def reference_counts(
    texts: list[str], max_context: int, tokenize: Callable[[str], list[int]] = whole
) -> dict[tuple[int, ...], int]:
    """Every n-gram of each text's tokens, counted one by one in a dict."""
    out: Counter = Counter()
    for text in texts:
        tokens = tokenize(text)
        for i, t in enumerate(tokens):
            for k in range(0, min(max_context, i) + 1):
                out[(*tokens[i - k : i], t)] += 1
    return dict(out)


def write_files(folder: Path, files: dict[str, str]) -> list[Path]:
    """Write `files` (name -> text, UTF-8) into `folder`; return their paths in order."""
    paths = []
    for name, text in files.items():
        path = folder / name
        path.write_bytes(text.encode("utf-8"))
        paths.append(path)
    return paths


def frequent_from(capitalised: Counter, lower: Counter) -> tuple[str, ...]:
    """The frequent names by project_memory's rule, from whole-text counts: recurring
    capitalised words almost never written in lower case, most frequent first."""
    from writer_app.engine import project_memory

    names = [
        (n, w)
        for w, n in capitalised.items()
        if n >= project_memory.NAME_MIN_COUNT
        and lower[w.lower()] <= project_memory.NAME_MAX_LOWER_SHARE * n
    ]
    names.sort(key=lambda item: -item[0])
    return tuple(w for _, w in names)
