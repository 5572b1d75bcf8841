"""A project's texts as tokens, each distinct word tokenized once per build (project_memory.py).

A tokenizer is costly per token (llama.cpp's about 3 µs, the bundled GPT-2
tokenizer's, in Rust, a few times less), while a novel's million words are
some 30,000 distinct pieces. GPT-2's tokenizers cut a text into pieces (a
word with its space, a run of punctuation, of spaces) with one pattern and
tokenize each piece on its own, so a build:

- cuts every text at its spaces, in C (str.replace, str.split): a unit is a
  space and what follows it up to the next space, and GPT-2's pattern never
  runs a piece across a unit's start (CROSSING aside), so a text's tokens
  are its units' tokens one after the other;
- numbers the DISTINCT units (a million words hold some 80,000), and cuts
  the new ones into pieces with one `PIECE.findall` over their concatenation
  (a block: where one unit ends in other than white space and the next
  starts with a space, no piece nor name pattern reads across the junction,
  so the block's pieces are its units' pieces, found without Python work
  per unit);
- tokenizes each distinct piece once (the tokenizer's `batch` when it has
  one: in a thread of its own, while the next text is cut) and lays the
  tokens out with numpy.

The result is the tokens of the whole text, exactly, as the tokenizer gives
them (tests/engine/test_project_counts.py, test_project_build_reference.py).
Two checks keep it exact: the tokenizer must give PROBE's tokens piece by
piece (`piecewise`: every GPT-2 vocabulary does; another is used on whole
blocks of paragraphs, `tokenize_blocks`), and a text with a character that
Python's classes and Unicode's (letter, number, space) might place
differently (², a combining accent, U+001C) is tokenized whole
(`Units.splits_alike`: a unit's characters are checked once, when it is new).

Tokens are kept as uint16 when the vocabulary fits (GPT-2's 50,257 does):
half the memory of the per-file tokens the project memory keeps.
"""

from __future__ import annotations

import itertools
import re
import string
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

Tokenize = Callable[[str], Sequence[int]]

# GPT-2's pre-tokenizer pattern (tokenizers' ByteLevel, llama.cpp's "gpt-2") in Python's
# classes: \p{L} is [^\W\d_], \p{N} is \d, and the rest is [^\s\w] or _ (see _alike).
PIECE = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+")
_CLASS = re.compile(r"([^\W\d_])|(\d)|(\s)")  # a character's class in PIECE: letter, number, space
_WHITE_SPACE = frozenset("\t\n\v\f\r\x85")  # Unicode's White_Space: these, and Zs, Zl, Zp
_ALIKE: dict[str, bool] = dict.fromkeys(string.printable, True)  # ASCII's classes agree
# What Python's \s matches (str.isspace), as code points: a unit ending in one of these
# starts a new block (tests/engine/test_project_tokens.py checks the list).
PY_SPACES = np.array(
    [ord(c) for c in "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000"]
    + list(range(0x2000, 0x200B)),
    dtype=np.uint32,
)
# Where GPT-2's pattern would run a piece across a unit's start: a space after other white
# space, before more of it or the end. Such a text is cut into pieces (each piece a unit).
# The space comes first in the pattern, the white space before it in a look-behind: re then
# tries only at spaces, twice as fast as at every character.
CROSSING = re.compile(r" (?<=\s )(?:\s|\Z)")
# Names: a capitalised word starting a unit (after its space), what may end the unit before
# it (mid-sentence: a sentence's first word says nothing), a word in lower case.
_NAME_UNIT = re.compile(r"(?<= )([A-Z][a-z]{2,})\b")  # its space looked behind: groups()
_BEFORE_NAME = np.array([ord(c) for c in string.ascii_lowercase + ",;"], dtype=np.uint32)
_LOWER_WORD = re.compile(r"\b([a-z]{3,})\b")
BLOCK_CHARS = 65_536  # a text tokenized whole is cut in blocks of about this much
# Where a block may end: before the last line break ahead of a word. GPT-2's pattern cuts
# there anyway, so the blocks' tokens are the whole text's.
_BLOCK_CUT = re.compile(r"\n(?=\w)")
# Checks that a tokenizer works piece by piece, and that the bundled one gives the model's
# tokens (names, digits, unicode, breaks).
PROBE = "Mara Quenby said, “It's 1,204 leagues — café.”\n\n\tZyrgalon   went on...\n"


def token_dtype(n_vocab: int) -> type[np.integer]:
    """Return the narrowest dtype that holds every token of a vocabulary of `n_vocab`."""
    return np.uint16 if n_vocab <= 1 << 16 else np.int32


class Units:
    """One build's texts cut into units, each distinct unit tokenized and read for names once.

    Lives for one build (a context manager: it may hold a thread): `ids(text)`
    numbers a text's units, `tokens(ids)` lays out their tokens, `names(ids)`
    counts the names among them. With a tokenizer that has `batch`, a text's
    new pieces are tokenized in a thread of their own while the next texts
    are cut (Rust, without the GIL), so a build cuts every text before it
    asks for tokens.
    """

    def __init__(self, tokenize: Tokenize | None, n_vocab: int):
        self._tokenize = tokenize  # None: the tokenizer is not piecewise; names only
        self.dtype = token_dtype(n_vocab)
        self._index = numbering()
        self._tokens = Ragged(self.dtype)  # each unit's tokens
        self._pieces = numbering()
        self._piece_tokens = Ragged(self.dtype)
        # The units learned whose tokens wait for their pieces': (the pieces' tokens,
        # or None where they are in already; each piece of the units; pieces per unit).
        self._waiting: list[tuple[Future | None, np.ndarray, np.ndarray]] = []
        self._thread: ThreadPoolExecutor | None = None
        self._names: list[str | None] = []  # " Mara," -> "Mara"
        self._named = np.empty(0, dtype=bool)  # the units with a name
        self._before_name = np.empty(0, dtype=bool)  # ends in a lower-case letter, "," or ";"
        self._odd = np.empty(0, dtype=bool)  # holds a character PIECE may class unlike GPT-2
        # The lower-case words: each numbered once, and every time one is met in a unit
        # (" the mara-bird's" meets "the", "mara", "bird"), its number and the unit's.
        self._words = numbering()
        self._word_met = np.empty(0, dtype=np.int32)
        self._word_unit = np.empty(0, dtype=np.int32)

    def __enter__(self) -> Units:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """End the tokenizer's thread (its work still waiting is dropped)."""
        if self._thread is not None:
            self._thread.shutdown(wait=True, cancel_futures=True)
            self._thread = None

    @property
    def tokenizes(self) -> bool:
        """Whether `tokens` may be asked (the tokenizer gives a text's tokens piece by piece)."""
        return self._tokenize is not None

    def ids(self, text: str) -> np.ndarray:
        """Return `text` as indices of this build's distinct units (int32)."""
        if CROSSING.search(text) or "\x01" in text:
            units = PIECE.findall(text)
        else:  # "\x01" marks where each unit starts: C's speed, no Python per word
            units = text.replace(" ", "\x01 ").split("\x01")
        ids, new = numbered(self._index, units)
        if new:
            self._learn(new)
        return ids

    def _learn(self, new: list[str]) -> None:
        lengths = np.fromiter(map(len, new), dtype=np.int64, count=len(new))
        ends = np.cumsum(lengths)
        starts = ends - lengths
        joined = "".join(new)
        codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
        last = codes[np.maximum(ends - 1, 0)] if len(codes) else np.zeros(len(new), np.uint32)
        last[lengths == 0] = ord(" ")  # an empty unit (a text's start) ends its block
        self._before_name = np.append(self._before_name, np.isin(last, _BEFORE_NAME))
        odd = np.zeros(len(new), dtype=bool)
        odd_chars = odd_characters(joined)
        if odd_chars:
            odd[unit_of(starts, np.flatnonzero(np.isin(codes, [ord(c) for c in odd_chars])))] = True
        self._odd = np.append(self._odd, odd)
        # A block ends before a unit that does not start with a space, or after one that
        # ends in white space: there GPT-2's pattern might read across the junction.
        opens = np.zeros(len(new), dtype=bool)
        opens[lengths > 0] = codes[starts[lengths > 0]] == ord(" ")
        breaks = np.flatnonzero(~opens[1:] | np.isin(last[:-1], PY_SPACES)) + 1
        bounds = [0, *breaks.tolist(), len(new)]
        blocks = [
            (int(starts[lo]), joined[starts[lo] : ends[hi - 1]])
            for lo, hi in itertools.pairwise(bounds)
        ]
        self._learn_names(blocks, starts)
        if self._tokenize is not None:
            self._learn_pieces(blocks, starts)

    def _learn_names(self, blocks: list[tuple[int, str]], starts: np.ndarray) -> None:
        """Note the name each new unit starts with, and the lower-case words each holds
        (`blocks`: where each block starts in the new units' text, and its text)."""
        first = len(self._names)
        found, found_at, words, words_at = [], [], [], []
        for offset, block in blocks:
            more, at = groups(_NAME_UNIT, block, offset)
            found += more
            found_at.append(at - 1)  # the match, and the unit it may start, starts at the space
            more, at = groups(_LOWER_WORD, block, offset)
            words += more
            words_at.append(at)
        at = np.concatenate(found_at)
        units = unit_of(starts, at)
        starting = starts[units] == at  # a name only starts a unit: its one space
        names: list[str | None] = [None] * len(starts)
        named_units = units[starting]
        for unit, name in zip(
            named_units.tolist(), itertools.compress(found, starting), strict=True
        ):
            names[unit] = name
        self._names += names
        named = np.zeros(len(starts), dtype=bool)
        named[named_units] = True
        self._named = np.append(self._named, named)
        met, _ = numbered(self._words, words)
        self._word_met = np.append(self._word_met, met)
        units = unit_of(starts, np.concatenate(words_at)) + first
        self._word_unit = np.append(self._word_unit, units.astype(np.int32))

    def _learn_pieces(self, blocks: list[tuple[int, str]], starts: np.ndarray) -> None:
        """Cut the new units into pieces and have the pieces never met tokenized."""
        pieces = [piece for _, block in blocks for piece in PIECE.findall(block)]
        ids, fresh = numbered(self._pieces, pieces)
        batch = getattr(self._tokenize, "batch", None)
        tokenized = None
        if batch is not None:
            if self._thread is None:
                self._thread = ThreadPoolExecutor(1, thread_name_prefix="project-tokens")
            tokenized = self._thread.submit(batch, fresh)
        else:
            self._piece_tokens.extend([self._tokenize(p) for p in fresh])
        # The pieces tile the units: each belongs to the unit its first character is in.
        sizes = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
        owner = unit_of(starts, np.cumsum(sizes) - sizes)
        self._waiting.append((tokenized, ids, np.bincount(owner, minlength=len(starts))))

    def splits_alike(self, ids: np.ndarray) -> bool:
        """Whether PIECE cuts the text of the units `ids` exactly as GPT-2's pattern does."""
        return not self._odd[ids].any()

    def tokens(self, ids: np.ndarray) -> np.ndarray:
        """Return the tokens of the units `ids`, one unit after the other (self.dtype); waits
        for the tokenizer's thread where it has not tokenized their pieces yet."""
        for tokenized, pieces, per_unit in self._waiting:  # in the order learned
            if tokenized is not None:
                self._piece_tokens.extend_flat(*tokenized.result())
            self._tokens.extend_gathered(self._piece_tokens, pieces, per_unit)
        self._waiting.clear()
        return self._tokens.gather(ids)

    def names(self, ids: np.ndarray) -> tuple[Counter, Counter, Counter]:
        """Return the capitalised words of the units `ids` that follow a lower-case letter, a
        comma or a semicolon and a space, counted (in the order first met); the counts of
        those words in lower case (what project_memory's frequent names weigh); and the
        capitalised words that start a sentence within a paragraph (after a unit ending
        otherwise: "." or "?"), counted (what a name's first letters there mostly start)."""
        named = ids[1:][self._named[ids[1:]]]
        mid = self._before_name[ids[:-1][self._named[ids[1:]]]]
        capitalised = _counted(self._names, named[mid])
        starts = _counted(self._names, named[~mid])
        times = np.bincount(ids, minlength=len(self._names))
        # How often each lower-case word is met in the text: once per unit holding it, per time.
        met = np.bincount(
            self._word_met, weights=times[self._word_unit], minlength=len(self._words)
        )
        lower = Counter()
        for name in capitalised:
            word = self._words.get(name.lower())
            if word is not None and met[word]:
                lower[name.lower()] = int(met[word])
        return capitalised, lower, starts


def _counted(names: list[str | None], units: np.ndarray) -> Counter:
    """Return the names of `units` counted, in the order first met."""
    found, first, times = np.unique(units, return_index=True, return_counts=True)
    counted = Counter()
    for at in np.argsort(first, kind="stable"):
        counted[names[found[at]]] += int(times[at])
    return counted


def groups(pattern: re.Pattern, text: str, offset: int = 0) -> tuple[list[str], np.ndarray]:
    """Return what `pattern` matched in `text` (its one group: the whole match, look-arounds
    aside), and where each starts (plus `offset`): re.split's gaps and groups, alternately,
    without a match object each."""
    parts = pattern.split(text)
    sizes = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
    return parts[1::2], offset + np.cumsum(sizes)[0:-1:2]


def unit_of(starts: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Return the unit each position `at` falls in, given the units' `starts` (ascending;
    an empty unit shares its start with the next, which holds the position)."""
    return np.searchsorted(starts, at, side="right") - 1


def numbering() -> defaultdict[str, int]:
    """Return an empty index that numbers each item it is asked for and lacks: 0, 1, 2..."""
    return defaultdict(itertools.count().__next__)


def numbered(index: defaultdict[str, int], items: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Return the numbers of `items` in `index` (int32), and the items it lacked, numbered
    now in the order first met (one look-up an item, in C)."""
    known = len(index)
    ids = np.fromiter(map(index.__getitem__, items), dtype=np.int32, count=len(items))
    if len(index) == known:
        return ids, []
    # Where each new number is first met (not the index's own order: walking it to its
    # end would take as long as the index is).
    at = np.flatnonzero(ids >= known)
    _, first = np.unique(ids[at], return_index=True)
    return ids, [items[i] for i in at[first].tolist()]


class Ragged:
    """Token sequences of varying length in one array, appended to and gathered."""

    def __init__(self, dtype: type[np.integer] = np.int32):
        self.flat = np.empty(0, dtype=dtype)
        self.starts = np.empty(0, dtype=np.int64)
        self.lengths = np.empty(0, dtype=np.int64)

    def extend(self, sequences: Sequence[Sequence[int]]) -> None:
        """Append `sequences` (lists or arrays of tokens)."""
        lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
        # Not np.fromiter over the tokens: an array's tokens would come one numpy scalar at a time.
        flat = np.concatenate([np.asarray(t, dtype=self.flat.dtype) for t in [[], *sequences]])
        self._append(flat, lengths)

    def extend_flat(self, flat: np.ndarray, lengths: np.ndarray) -> None:
        """Append the sequences laid one after the other in `flat`, `lengths[i]` tokens each."""
        self._append(flat.astype(self.flat.dtype, copy=False), lengths)

    def extend_gathered(self, other: Ragged, ids: np.ndarray, per_sequence: np.ndarray) -> None:
        """Append one sequence per entry of `per_sequence`: the concatenation of that many
        of `other`'s sequences, taken in order from `ids`."""
        ends = np.cumsum(other.lengths[ids])
        bounds = np.concatenate(([0], ends))[np.concatenate(([0], np.cumsum(per_sequence)))]
        self._append(other.gather(ids), np.diff(bounds))

    def _append(self, flat: np.ndarray, lengths: np.ndarray) -> None:
        starts = len(self.flat) + np.cumsum(lengths) - lengths
        self.flat = np.append(self.flat, flat)
        self.starts = np.append(self.starts, starts)
        self.lengths = np.append(self.lengths, lengths)

    def gather(self, ids: np.ndarray) -> np.ndarray:
        """Return sequences `ids`, one after the other, as one array."""
        lengths = self.lengths[ids]
        ends = np.cumsum(lengths)
        # Token i of the result is token (i - where its sequence starts in the result) of it.
        at = np.repeat(self.starts[ids] - (ends - lengths), lengths)
        at += np.arange(len(at))
        return self.flat[at]


def piecewise(tokenize: Tokenize) -> bool:
    """Whether `tokenize` gives PROBE's tokens when each of its pieces is tokenized on its own."""
    pieces = [t for piece in PIECE.findall(PROBE) for t in tokenize(piece)]
    return list(tokenize(PROBE)) == pieces


def _alike(char: str) -> bool:
    """Whether PIECE puts `char` in the class GPT-2's pattern does (letter, number, space,
    other); a character of another kind (², a combining accent, a control) is not trusted."""
    category = unicodedata.category(char)
    if category[0] == "L":
        unicode = 1
    elif category == "Nd":
        unicode = 2
    elif category in ("Zs", "Zl", "Zp") or char in _WHITE_SPACE:
        unicode = 3
    elif category[0] in "PS":
        unicode = None
    else:
        return False
    match = _CLASS.fullmatch(char)
    return (match.lastindex if match else None) == unicode


def odd_characters(text: str) -> list[str]:
    """Return the distinct characters of `text` that PIECE may not class as GPT-2's pattern
    does (each character checked once per process)."""
    odd = []
    for char in set(text):
        alike = _ALIKE.get(char)
        if alike is None:
            alike = _ALIKE[char] = _alike(char)
        if not alike:
            odd.append(char)
    return odd


def tokenize_blocks(tokenize: Tokenize, text: str, dtype: type[np.integer]) -> np.ndarray:
    """Return the tokens of `text` as `dtype`, tokenized a block of paragraphs at a time
    (never a Python list of a whole novel's tokens: 36 bytes an int)."""
    blocks, start = [], 0
    while len(text) - start > BLOCK_CHARS:
        cut = _BLOCK_CUT.search(text, start + BLOCK_CHARS)
        if cut is None:
            break
        blocks.append(text[start : cut.start()])
        start = cut.start()
    blocks.append(text[start:])
    batch = getattr(tokenize, "batch", None)
    if batch is not None:
        return batch(blocks)[0].astype(dtype, copy=False)
    return np.concatenate([np.asarray(tokenize(b), dtype=dtype) for b in blocks])
