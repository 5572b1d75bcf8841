"""Suggestion statistics, Qt side: the hooks that count, and the saving that never blocks typing.

StatsRecorder listens to the SuggestionController (a new suggestion shows,
and how long it took) and to the editor (Tab, Ctrl+Right, Esc), and counts
into a core.stats.SuggestionStats. It saves on a timer when something changed
and at close, never on a keystroke; a failed save is logged, reported once
through `save_failed`, and never raised into the UI.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from writer_app.core.stats import UNTITLED, Counts, SuggestionStats
from writer_app.ui.editor.ghost_editor import GhostEditor
from writer_app.ui.suggest.controller import SuggestionController

log = logging.getLogger(__name__)

SAVE_INTERVAL_MS = 60_000


def describe_counts(counts: Counts) -> str:
    """One line of figures: shown, accepted (rate), characters saved, median time."""
    if not counts.shown:
        return "no suggestions yet"
    median = counts.median_ms
    timing = f", median {median:.0f} ms" if median is not None else ""
    return (
        f"{counts.shown} suggestion{'s' if counts.shown != 1 else ''}, "
        f"{counts.accepted} accepted ({counts.acceptance_rate:.0%}), "
        f"{counts.chars_saved:,} characters and {counts.keys_saved:,} keystrokes saved{timing}"
    )


class StatsRecorder(QObject):
    """Counts what the suggestions of one editor do, per document, into `stats`."""

    changed = Signal()  # the figures changed (or were reset)
    save_failed = Signal(str)  # the first failed save since the last good one: why, in words

    def __init__(
        self,
        stats: SuggestionStats,
        editor: GhostEditor,
        controller: SuggestionController,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.stats = stats
        self.editor = editor
        self.document = UNTITLED  # the key of the document being written
        self._failing = False
        controller.suggestion_shown.connect(self._on_shown)
        editor.ghost_accepted.connect(self._on_tab)
        editor.word_accepted.connect(self._on_word)
        editor.ghost_dismissed.connect(self._on_dismissed)
        self.save_timer = QTimer(self, interval=SAVE_INTERVAL_MS)
        self.save_timer.timeout.connect(self.save)
        self.save_timer.start()

    def set_document(self, path: Path | None) -> None:
        """Count from now on for the document at `path` (None: untitled)."""
        self.document = str(path) if path is not None else UNTITLED

    @property
    def current(self) -> Counts:
        """The figures of the document being written."""
        return self.stats.document(self.document)

    def _on_shown(self, ms: float | None) -> None:
        self.stats.shown(self.document)
        if ms is not None:
            self.stats.timed(ms)
        self.changed.emit()

    def _on_tab(self, text: str) -> None:
        self.stats.took_whole(len(text))
        self.changed.emit()

    def _on_word(self, word: str) -> None:
        self.stats.took_word(len(word))
        self.changed.emit()

    def _on_dismissed(self) -> None:
        self.stats.dismissed()
        self.changed.emit()

    def reset(self) -> None:
        """Forget every figure, and write that down at once."""
        self.stats.reset()
        self.save()
        self.changed.emit()

    def save(self) -> bool:
        """Write the figures if they changed; returns False if that failed (reported once)."""
        if not self.stats.changed_since_save:
            return True
        try:
            self.stats.save()
        except OSError as err:
            log.warning("could not save the suggestion statistics to %s: %s", self.stats.path, err)
            if not self._failing:
                self._failing = True
                self.save_failed.emit(
                    f"Could not save the suggestion statistics in {self.stats.path.parent} "
                    f"({err.strerror or err}); they are counted for this session only."
                )
            return False
        self._failing = False
        return True

    def close(self) -> None:
        """Stop the timer and save what is left."""
        self.save_timer.stop()
        self.save()
