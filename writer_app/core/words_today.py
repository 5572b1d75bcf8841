"""Words written today, for the status bar and the writer's daily goal (Settings → Writing).

Each document counts its words now less its words when the app first saw it
today, never below zero: cutting a chapter is not writing backwards, and
opening a finished one is not writing it. A new day starts every document
again from where it stands. Kept on this machine only, in one small JSON
file in the app's data folder (private, written atomically), so that a
restart later the same day goes on counting; a damaged file is set aside by
the state-file guard and the count starts again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

from writer_app.core.paths import data_dir, private_file
from writer_app.core.state_files import read_state

TODAY_FILE = "words-today.json"


class WordsToday:
    """Per document key (its file's path, or any name for an untitled text): the words it
    had when first counted today, and the words it has now."""

    def __init__(self, path: Path | None = None, today: Callable[[], date] = date.today):
        self.path = path or data_dir() / TODAY_FILE
        self._today = today
        self.day = today().isoformat()
        self.start: dict[str, int] = {}
        self.now: dict[str, int] = {}
        self.changed_since_save = False

    def _roll(self) -> None:
        day = self._today().isoformat()
        if day != self.day:  # a new day: every document starts again where it stands
            self.day, self.start, self.now = day, {}, {}
            self.changed_since_save = True

    def count(self, key: str, words: int) -> None:
        """Note that the document `key` has `words` words now."""
        self._roll()
        self.start.setdefault(key, words)
        if self.now.get(key) != words:
            self.now[key] = words
            self.changed_since_save = True

    def rename(self, old: str, new: str) -> None:
        """The document `old` is now `new` (Save As): its count goes with it."""
        if old in self.now and old != new:
            self.start[new] = self.start.pop(old)
            self.now[new] = self.now.pop(old)
            self.changed_since_save = True

    @property
    def total(self) -> int:
        """The words written today, over all documents."""
        self._roll()
        return sum(max(0, words - self.start.get(key, words)) for key, words in self.now.items())

    def save(self) -> None:
        """Write the file atomically. Raises OSError (unwritable folder, full disk)."""
        record = {"date": self.day, "start": self.start, "now": self.now}
        private_file(self.path, json.dumps(record, ensure_ascii=False).encode("utf-8"))
        self.changed_since_save = False

    @classmethod
    def load(cls, path: Path | None = None, today: Callable[[], date] = date.today) -> WordsToday:
        """Return today's counts from `path` (default: TODAY_FILE in the data folder). Never
        raises: a missing file, a damaged one or another day's gives an empty count."""
        words = cls(path, today)
        loaded = read_state(words.path, _parse, "the count of words written today")
        if loaded is not None and loaded[0] == words.day:
            _, words.start, words.now = loaded
        return words


def _parse(data: bytes) -> tuple[str, dict[str, int], dict[str, int]]:
    # Raises on anything unexpected; read_state turns that into a notice.
    record = json.loads(data.decode("utf-8"))
    day = str(record["date"])
    start, now = ({str(k): int(v) for k, v in record[name].items()} for name in ("start", "now"))
    return day, start, now
