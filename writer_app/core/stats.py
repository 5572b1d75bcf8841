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


@dataclass
class _Showing:
    """The suggestion taken from now: its buckets, and what was taken of it so far."""

    buckets: tuple[Counts, ...]
    words: bool = False  # a word was taken with Ctrl+Right


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
        doc = self.documents.setdefault(document, Counts())
        self._showing = _Showing((self.total, doc, self._day_counts))
        self._count("shown", 1)

    def timed(self, ms: float) -> None:
        """The suggestion that appeared last took `ms` from request to ghost."""
        if self._showing is not None:
            for counts in self._showing.buckets:
                counts.add_time(ms)
            self.changed_since_save = True

    def took_whole(self, chars: int) -> None:
        """Tab inserted the rest of the suggestion, `chars` characters; the suggestion ends."""
        showing = self._showing
        if showing is None or chars <= 0:
            return
        if showing.words:  # begun with Ctrl+Right, finished with Tab: now a whole one
            self._count("accepted_partly", -1)
        self._count("accepted_whole", 1)
        self._count("chars_saved", chars)
        self._count("accept_keys", 1)
        self._showing = None

    def took_word(self, chars: int) -> None:
        """Ctrl+Right inserted a word of the suggestion, `chars` characters with its space."""
        showing = self._showing
        if showing is None or chars <= 0:
            return
        if not showing.words:
            showing.words = True
            self._count("accepted_partly", 1)
        self._count("words_accepted", 1)
        self._count("chars_saved", chars)
        self._count("accept_keys", 1)

    def dismissed(self) -> None:
        """Esc put the suggestion away; it ends."""
        if self._showing is not None:
            self._count("dismissed", 1)
            self._showing = None

    def _count(self, name: str, n: int) -> None:
        for counts in self._showing.buckets:
            setattr(counts, name, getattr(counts, name) + n)
        self.changed_since_save = True

    def reset(self) -> None:
        """Forget every figure (the writer asked to); the file is rewritten at the next save."""
        self.total, self.documents = Counts(), {}
        self.day, self._day_counts = self._today().isoformat(), Counts()
        self._showing = None
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
