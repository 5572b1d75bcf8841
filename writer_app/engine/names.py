"""Name completion: after the first two letters of a known name, the rest of it.

(Issue 23, "Name completion".) The names come from the story notes (the app
sends them: each full name and its aliases, core.project.StoryName) and,
with less priority, from the chapters (capitalised words that recur and are
almost never written in lower case: ProjectMemory.frequent_names).

`NameIndex.match(text_before)` looks at the word being typed: two letters
or more, capitalised, the start of a known name's word. It returns the
completion (what Tab would insert), the surname included where it fits:

- "Ma" -> "ra Quenby" when the notes say "Mara Quenby" and the chapter so
  far last wrote her in full (or never yet); "ra" alone when it last wrote
  "Mara" alone (a writer who says "Mara" keeps saying it);
- "Mara" typed in full -> " Quenby" (surname_only: offered only where the
  model has nothing better, see steps.NameCompletion).

Where two names share the letters typed, the next word of a name whose
first words were just written comes first ("Tars Ta" -> "rkas": Tars
Tarkas); then the one met most recently in the text before the cursor (a
surname written right after its first name is met where the name starts,
after it: "Ta" is "rs Tarkas" again, not "rkas"); then a name's first word
before its later ones; then the notes' order (the chapters' names after all
the notes').

At a sentence start the letters typed are often a common word's ("St" in
"Steadily" where Starkey is known): there a name is completed only where the
project's own sentences starting with those letters mostly start with a
name's word (`sentence_starts`, counted by the project memory); with more
letters typed, the common words drop out. The model's suggestion, when it has
one, comes first there anyway (steps.NameCompletion).

Words are kept sorted, so a match is two bisections plus a look at the few
names with that prefix: a notes file of 50,000 names costs microseconds.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

MIN_PREFIX = 2  # letters typed before a name is completed
# The word being typed: capitalised, not glued to a word before it (an apostrophe after
# a letter glues, "O'Hara"; after a space it opens a quotation, 'Mara).
WORD_BEFORE = re.compile(r"(?<![\w-])(?<!\w['’])([A-Z][\w'’-]*)$")
# Just before the word: the start of a sentence (start of text or paragraph, after .!?, or
# a quotation opened after a comma, colon or dash: he said, "There ...).
SENTENCE_START = re.compile(r"(?:^|\n|[.!?…][\"”’')\]]*\s+|[,:;—–-]\s*[\"“‘'])[\"“‘'(\[]*$")
LOOK_BACK = 64  # characters that can hold the word being typed
COMPLETED_WORD = re.compile(r"\w*")  # the word a completion makes of the letters typed
# Parts of a name that are never completed to on their own (titles, particles).
NOT_WORDS = frozenset("the of and de la le von van mr mrs ms miss dr sir lady lord".split())
# At a sentence start, a name is completed where at least this share of the project's
# sentences that start with the letters typed start with a name's word.
START_SHARE = 0.5


@dataclass(frozen=True)
class NameMatch:
    """A completion: `text` is what Tab inserts; `name` the full name it comes from."""

    text: str
    name: str
    word: str  # the name's word being completed ("Mara")
    typed: str  # the letters typed of it ("Ma")
    sentence_start: bool  # the word starts a sentence (a common word is as likely there)
    surname_only: bool  # the word was typed in full: only the rest of the name is offered


class NameIndex:
    """Known names by their words, for completion (module docstring).

    `names`: each a sequence [full name, alias, ...] (the notes' order);
    `frequent`: single-word names found in the chapters, after the notes' names;
    `sentence_starts`: the capitalised words starting the project's sentences, counted.
    """

    def __init__(
        self,
        names: Iterable[Sequence[str]] = (),
        frequent: Iterable[str] = (),
        sentence_starts: Mapping[str, int] | None = None,
    ):
        self.names: list[str] = []
        owners: dict[str, list[int]] = {}  # word -> indexes into self.names
        for entry in [*names, *([w] for w in frequent)]:
            if not entry or not entry[0].strip():
                continue
            full = " ".join(str(entry[0]).split())
            number = len(self.names)
            self.names.append(full)
            for word in {*full.split(), *entry[1:]}:
                word = str(word).strip()
                if len(word) >= MIN_PREFIX and word[0].isupper() and word.lower() not in NOT_WORDS:
                    owners.setdefault(word, []).append(number)
        self._owners = owners
        self._words = sorted(owners)
        starts = sentence_starts or {}
        self._starts = starts
        self._start_words = sorted(starts)
        self._start_totals = [0, *itertools.accumulate(starts[w] for w in self._start_words)]

    def __len__(self) -> int:
        return len(self.names)

    def words(self) -> list[str]:
        """Return every word a name is completed to, sorted."""
        return list(self._words)

    def knows(self, word: str) -> bool:
        """Return whether `word` is a word of a known name ("Mars" and "Martian" both)."""
        return word in self._owners

    def match(self, text_before: str) -> NameMatch | None:
        """Return the completion of the name being typed at the end of `text_before`, or None."""
        if not self._words:
            return None
        tail = text_before[-LOOK_BACK:]
        m = WORD_BEFORE.search(tail)
        if m is None or len(m.group(1)) < MIN_PREFIX:
            return None
        typed = m.group(1)
        before = text_before[: len(text_before) - len(typed)]
        at_start = SENTENCE_START.search(before[-LOOK_BACK:]) is not None
        lo = bisect.bisect_left(self._words, typed)
        hi = bisect.bisect_left(self._words, typed + "\U0010ffff")
        longer = [w for w in self._words[lo:hi] if w != typed]
        if longer and at_start and not self._starts_names(typed, self._words[lo:hi]):
            longer = []  # mostly a common word's letters here: the model's turn
        if longer:
            word, number = max(
                (self._rank(before, w) for w in longer), key=lambda ranked: ranked[2]
            )[:2]
            full = self.names[number]
            text = word[len(typed) :] + _rest_of(full, word, before)
            return NameMatch(text, full, word, typed, at_start, surname_only=False)
        if typed in self._owners:
            for number in self._owners[typed]:
                full = self.names[number]
                rest = _rest_of(full, typed, before)
                if rest:
                    return NameMatch(rest, full, typed, typed, at_start, surname_only=True)
        return None

    def _starts_names(self, typed: str, words: list[str]) -> bool:
        """Whether the project's sentences starting with `typed` mostly start with one of
        `words` (the names' words with those letters); True where none start so."""
        lo = bisect.bisect_left(self._start_words, typed)
        hi = bisect.bisect_left(self._start_words, typed + "\U0010ffff")
        total = self._start_totals[hi] - self._start_totals[lo]
        named = sum(self._starts.get(w, 0) for w in words)
        return total == 0 or named >= START_SHARE * total

    def _rank(self, before: str, word: str) -> tuple[str, int, tuple]:
        """Return (`word`, the number of its name, its rank for max()): next in a name just
        begun, then last met, a name's earlier words first, then the notes' order.

        A later word written right after its name's earlier words ("Tars Tarkas") is
        met where that name starts, and ranks after them (its place in that name).
        """
        owners = self._owners[word]
        met, number, attributed = _last_at(before, word), owners[0], False
        at = _place(self.names[number], word)
        for n in owners:
            place = _place(self.names[n], word)
            if not place:
                continue
            lead = " ".join(self.names[n].split()[:place]) + " "
            if _ends_with_words(before, lead):
                return word, n, (True, len(before), 0, -n)
            if met >= 0 and not attributed and _ends_with_words(before[:met], lead):
                met, at, number, attributed = met - len(lead), place, n, True
        return word, number, (False, met, -at, -number)


def _place(full: str, word: str) -> int:
    """Return where `word` stands among the words of the name `full` (0: first, or an alias)."""
    parts = full.split()
    return parts.index(word) if word in parts else 0


def _ends_with_words(text: str, words: str) -> bool:
    """Whether `text` ends with `words` (ending in a space), not glued to a word before."""
    start = len(text) - len(words)
    return text.endswith(words) and (start == 0 or not text[start - 1].isalnum())


def _last_at(text: str, word: str) -> int:
    """Return where `word` was last written as a whole word in `text` (-1: never)."""
    end = len(text)
    while True:
        at = text.rfind(word, 0, end)
        if at < 0:
            return -1
        after = at + len(word)
        if (at == 0 or not text[at - 1].isalnum()) and (
            after == len(text) or not text[after].isalnum()
        ):
            return at
        end = at + len(word) - 1


def _rest_of(full: str, word: str, before: str) -> str:
    """Return what follows `word` in the full name (" Quenby") when it fits: `word` is the
    name's first word and the text last wrote the full name, or never wrote the word yet."""
    if not full.startswith(word + " "):
        return ""
    last_word = _last_at(before, word)
    if last_word < 0 or _last_at(before, full) >= last_word:
        return full[len(word) :]
    return ""
