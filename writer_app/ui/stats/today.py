"""The words written today in the status bar, against the daily goal (core/words_today.py).

Each document is counted by its file's path, or by the number of the untitled
text. The same document under a new name is a Save As and keeps what it
counted; a new text in the editor's document (File → Open, New: `replacing`)
counts apart, so opening a finished chapter is not writing it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject

from writer_app.core.words_today import WordsToday

SAVE_FAILED_MS = 15_000


class TodayCounter(QObject):
    """Counts the shown document's words into a WordsToday and shows the total in `status`
    (a MainStatus) against `goal()`; `save()` writes it when it changed."""

    def __init__(self, window, goal: Callable[[], int], words: WordsToday | None = None):
        super().__init__(window)
        self.files, self.editor, self.status = window.files, window.editor, window.status
        self.goal = goal
        self.words = words if words is not None else WordsToday.load()
        self._last: tuple[object, str] | None = None  # (document, its key) last counted
        self._untitled = 0  # untitled texts so far
        self.files.replacing.connect(self._new_text)
        self.files.path_changed.connect(self.count)
        self.status.word_timer.timeout.connect(self.count)

    def count(self, *_) -> None:
        """Count the shown document's words now, and show today's total."""
        document = self.editor.document()
        path = self.files.path
        key = str(path) if path else f"untitled {self._untitled}"
        if self._last is not None and self._last[0] is document:
            self.words.rename(self._last[1], key)
        self._last = (document, key)
        self.words.count(key, self.editor.words.total)
        self.show()

    def show(self) -> None:
        """Show today's total against the goal as it is set now."""
        self.status.set_words_today(self.words.total, self.goal())

    def _new_text(self) -> None:
        self._last, self._untitled = None, self._untitled + 1

    def save(self) -> None:
        """Write the count if it changed; a failure is said in the status bar, never raised."""
        if not self.words.changed_since_save:
            return
        try:
            self.words.save()
        except OSError as err:  # a count, not the writer's text: said, never in the way
            self.status.flash(
                f"Could not save today's word count: {err.strerror or err}", SAVE_FAILED_MS
            )
