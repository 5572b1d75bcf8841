"""Suggestion statistics: what the suggestions did for the writer, counted on this machine only.

Nothing here is ever sent anywhere: the figures live in one JSON file in the
app's data folder (core/paths.py), written atomically as a private file (0600)
and read at start through the state-file guard (core/state_files.py).

What is counted, exactly. A *suggestion* is a ghost that appears where none
was showing, or that replaces one after a new request (Ctrl+Space); cycling
through the alternatives of a suggestion (Alt+] / Alt+[) does not start a new
one, and typing through its characters takes nothing from it.

- shown: suggestions that appeared.
- accepted_whole: suggestions finished with Tab (Tab inserts all that is left
  of the suggestion, also after some of its words were taken with Ctrl+Right).
- accepted_partly: suggestions of which one or more words were taken with
  Ctrl+Right and whose rest was never taken with Tab.
- accepted = accepted_whole + accepted_partly (a suggestion counts accepted
  when any of it was taken); acceptance_rate = accepted / shown.
- words_accepted: Ctrl+Right presses that inserted a word.
- dismissed: suggestions put away with Esc (also after taking some words).
- chars_saved: characters inserted by Tab and Ctrl+Right (len() of the
  inserted text: a newline is one character, so is an accented letter).
- accept_keys: the accepting presses themselves, one per Tab and one per
  Ctrl+Right that inserted text.
- keys_saved = chars_saved - accept_keys: the keys the writer would have
  typed, less the ones they pressed to accept (one per Tab or Ctrl+Right).
- median_ms: the median of the last MAX_TIMES suggestion times, each from the
  moment the request went to the engine to the moment its ghost was shown
  (the pause before asking is not included; alternatives cycled from memory
  have no time).

Each event counts in three buckets: the total, the document's (keyed by its
file path, or UNTITLED), and today's (the local date; it starts again at zero
on a new day).

Only accepts that stay count: an accept the writer undoes is taken back
(take_back), and counted again if they redo it (give_back). A document's
figures follow it to a new name (rename: Save As).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from pathlib import Path

from writer_app.core.paths import data_dir, private_file
from writer_app.core.state_files import read_state

STATS_FILE = "suggestion-stats.json"
FORMAT_VERSION = 1
UNTITLED = "Untitled"  # the bucket of a document that has no file yet
MAX_TIMES = 200  # suggestion times kept per bucket for the median: recent ones matter
MAX_LIVE = 1_000  # suggestions of the text in the window whose accepts may be undone


def stats_path() -> Path:
    """Return the statistics file in the app's data folder."""
    return data_dir() / STATS_FILE


@dataclass
class Counts:
    """The figures of one bucket (the total, one document, or one day)."""

    shown: int = 0
    accepted_whole: int = 0
    accepted_partly: int = 0
    words_accepted: int = 0
    dismissed: int = 0
    chars_saved: int = 0
    accept_keys: int = 0
    times_ms: list[float] = field(default_factory=list)  # the last MAX_TIMES, oldest first

    @property
    def accepted(self) -> int:
        """Suggestions of which anything was taken."""
        return self.accepted_whole + self.accepted_partly

    @property
    def acceptance_rate(self) -> float:
        """accepted / shown, or 0.0 when nothing was shown."""
        return self.accepted / self.shown if self.shown else 0.0

    @property
    def keys_saved(self) -> int:
        """Characters inserted by accepting, less the presses that accepted them."""
        return self.chars_saved - self.accept_keys

    @property
    def median_ms(self) -> float | None:
        """The median of the recent suggestion times, or None when none was timed."""
        return statistics.median(self.times_ms) if self.times_ms else None

    def add_time(self, ms: float) -> None:
        """Keep `ms` among the recent suggestion times."""
        self.times_ms.append(round(ms, 2))
        del self.times_ms[:-MAX_TIMES]

    def add(self, other: Counts, sign: int = 1) -> None:
        """Add `other`'s figures to these (sign -1: subtract them); times are added only."""
        for f in fields(self):
            if f.name == "times_ms":
                if sign > 0:
                    for ms in other.times_ms:
                        self.add_time(ms)
            else:
                setattr(self, f.name, getattr(self, f.name) + sign * getattr(other, f.name))

    @classmethod
    def from_json(cls, data: dict) -> Counts:
        """Return the Counts stored as `data`; unknown keys are ignored. Raises ValueError
        or TypeError for values of the wrong kind."""
        counts = cls()
        for f in fields(cls):
            if f.name not in data:
                continue
            if f.name == "times_ms":
                counts.times_ms = [float(ms) for ms in data[f.name]][-MAX_TIMES:]
            else:
                setattr(counts, f.name, int(data[f.name]))
        return counts


@dataclass(eq=False)
class _Showing:
    """A suggestion that appeared: where it counts, and what of it is taken now."""

    document: str  # the document's key (rename() moves it)
    day: Counts  # the bucket of the day it appeared
    words: int = 0  # words taken with Ctrl+Right and not undone
    whole: bool = False  # finished with Tab, not undone


WHOLE, WORD = "whole", "word"


@dataclass(eq=False)
class Taken:
    """One accept (a Tab or a Ctrl+Right), kept so that undoing it can take it back."""

    showing: _Showing
    kind: str  # WHOLE or WORD
    chars: int


class SuggestionStats:
    """The statistics of all documents, with the events that change them.

    Call shown() when a suggestion appears, timed() with its time, and
    took_whole() / took_word() / dismissed() as the writer takes it or puts it
    away; save() writes the file. `today` (for tests) gives the local date.
    """

    def __init__(self, path: Path | None = None, today: Callable[[], date] = date.today):
        self.path = path if path is not None else stats_path()
        self._today = today
        self.total = Counts()
        self.documents: dict[str, Counts] = {}
        self.day = today().isoformat()
        self._day_counts = Counts()
        self._showing: _Showing | None = None
        # The suggestions of the text in the window, whose accepts may still be undone or
        # renamed; forget_live() drops them (another text), MAX_LIVE keeps the newest.
        self._live: list[_Showing] = []
        # What this run counted per document: what a renamed Untitled text takes along.
        self.session: dict[str, Counts] = {}
        self.changed_since_save = False

    # --- reading --------------------------------------------------------------

    @property
    def today(self) -> Counts:
        """Today's figures (zero after midnight, until something happens)."""
        if self.day != self._today().isoformat():
            return Counts()
        return self._day_counts

    def document(self, key: str) -> Counts:
        """The figures of document `key` (zero if it has none)."""
        return self.documents.get(key, Counts())

    # --- events ---------------------------------------------------------------

    def shown(self, document: str) -> None:
        """A new suggestion appeared in `document` (a file path, or UNTITLED)."""
        day = self._today().isoformat()
        if day != self.day:
            self.day, self._day_counts = day, Counts()
        self._showing = _Showing(document, self._day_counts)
        self._live.append(self._showing)
        del self._live[:-MAX_LIVE]
        self._count("shown", 1)

    def timed(self, ms: float) -> None:
        """The suggestion that appeared last took `ms` from request to ghost."""
        if self._showing is not None:
            for counts in self._buckets(self._showing):
                counts.add_time(ms)
            self.changed_since_save = True

    def took_whole(self, chars: int) -> Taken | None:
        """Tab inserted the rest of the suggestion, `chars` characters; the suggestion ends.
        Returns the accept (for take_back), or None when nothing was counted."""
        if self._showing is None or chars <= 0:
            return None
        taken = Taken(self._showing, WHOLE, chars)
        self._apply(taken, 1)
        self._showing = None
        return taken

    def took_word(self, chars: int) -> Taken | None:
        """Ctrl+Right inserted a word of the suggestion, `chars` characters with its space.
        Returns the accept (for take_back), or None when nothing was counted."""
        if self._showing is None or chars <= 0:
            return None
        taken = Taken(self._showing, WORD, chars)
        self._apply(taken, 1)
        return taken

    def take_back(self, taken: Taken) -> None:
        """The writer undid this accept: it no longer counts (undo goes newest first)."""
        self._apply(taken, -1)

    def give_back(self, taken: Taken) -> None:
        """The writer redid an accept they had undone: it counts again."""
        self._apply(taken, 1)

    def dismissed(self) -> None:
        """Esc put the suggestion away; it ends."""
        if self._showing is not None:
            self._count("dismissed", 1)
            self._showing = None

    def _apply(self, taken: Taken, sign: int) -> None:
        # sign 1 counts the accept, -1 takes it back; `showing` tracks what of the
        # suggestion is taken, so that it counts as accepted whole, in part, or not.
        showing = taken.showing
        if taken.kind == WHOLE:
            if showing.words:  # begun with Ctrl+Right, finished with Tab: a whole one
                self._count("accepted_partly", -sign, showing)
            showing.whole = sign > 0
            self._count("accepted_whole", sign, showing)
        else:
            showing.words += sign
            first = showing.words == (1 if sign > 0 else 0)  # the first word taken, or untaken
            if first and not showing.whole:
                self._count("accepted_partly", sign, showing)
            self._count("words_accepted", sign, showing)
        self._count("chars_saved", sign * taken.chars, showing)
        self._count("accept_keys", sign, showing)

    def _buckets(self, showing: _Showing) -> tuple[Counts, ...]:
        doc = showing.document
        return (
            self.total,
            self.documents.setdefault(doc, Counts()),
            showing.day,
            self.session.setdefault(doc, Counts()),
        )

    def _count(self, name: str, n: int, showing: _Showing | None = None) -> None:
        for counts in self._buckets(showing or self._showing):
            setattr(counts, name, getattr(counts, name) + n)
        self.changed_since_save = True

    def forget_live(self) -> None:
        """Another text is in the window: its predecessor's accepts can no longer be undone."""
        self._live = [s for s in self._live if s is self._showing]

    def rename(self, old: str, new: str) -> None:
        """The document `old` is now `new` (Save As): its figures move to the new key.

        A file's figures move whole; of UNTITLED, which all untitled texts share, only
        what this run counted moves. Counted into `new` already, they are added up.
        """
        if old == new:
            return
        moving = self.session.pop(old, None) if old == UNTITLED else self.documents.pop(old, None)
        if moving is not None:
            if old == UNTITLED and old in self.documents:
                self.documents[old].add(moving, -1)
                if self.documents[old].shown <= 0:
                    del self.documents[old]
            self.documents.setdefault(new, Counts()).add(moving)
            if old != UNTITLED:
                self.session.setdefault(new, Counts()).add(self.session.pop(old, Counts()))
            else:
                self.session.setdefault(new, Counts()).add(moving)
            self.changed_since_save = True
        for showing in self._live:
            if showing.document == old:
                showing.document = new

    def reset(self) -> None:
        """Forget every figure (the writer asked to); the file is rewritten at the next save."""
        self.total, self.documents = Counts(), {}
        self.day, self._day_counts = self._today().isoformat(), Counts()
        self._showing = None
        self._live, self.session = [], {}
        self.changed_since_save = True

    # --- the file -------------------------------------------------------------

    def to_json(self) -> dict:
        """Return everything as plain JSON data."""
        return {
            "version": FORMAT_VERSION,
            "total": asdict(self.total),
            "documents": {key: asdict(c) for key, c in self.documents.items()},
            "today": {"date": self.day, **asdict(self._day_counts)},
        }

    def save(self) -> None:
        """Write the file atomically. Raises OSError (unwritable folder, full disk)."""
        data = json.dumps(self.to_json(), ensure_ascii=False, indent=1).encode("utf-8")
        private_file(self.path, data)
        self.changed_since_save = False

    @classmethod
    def load(
        cls, path: Path | None = None, today: Callable[[], date] = date.today
    ) -> SuggestionStats:
        """Return the statistics saved at `path` (default: stats_path()).

        Never raises: a missing file gives zeros, and so does a damaged one
        (moved aside and reported by the state-file guard; a new one is
        written at the next save), so that statistics can never stop the app
        from starting.
        """
        stats = cls(path, today)
        loaded = read_state(stats.path, _parse, "the suggestion statistics")
        if loaded is None:
            return stats
        stats.total, stats.documents, day, day_counts = loaded
        if day == stats.day:
            stats._day_counts = day_counts
        return stats


def _parse(data: bytes) -> tuple[Counts, dict[str, Counts], str, Counts]:
    # Raises on anything unexpected; read_state turns that into a notice.
    record = json.loads(data.decode("utf-8"))
    total = Counts.from_json(record["total"])
    documents = {str(k): Counts.from_json(v) for k, v in record["documents"].items()}
    return total, documents, str(record["today"]["date"]), Counts.from_json(record["today"])
