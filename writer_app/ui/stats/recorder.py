"""Suggestion statistics, Qt side: the hooks that count, and the saving that never blocks typing.

StatsRecorder listens to the SuggestionController (a new suggestion shows,
and how long it took) and to the editor (Tab, Ctrl+Right, Esc), and counts
into a core.stats.SuggestionStats. It saves on a timer when something changed
and at close, never on a keystroke; a failed save is logged, reported once
through `save_failed`, and never raised into the UI.

Only accepts that stay count. Each accept is one undo step of the editor
(GhostEditor._insert), so the recorder notes how many undo commands the
document had just after it; when an undo takes the document below that, the
accept is taken back, and a redo gives it back. A history that is cleared (a
file opened, the line spacing changed) or cut by new typing after an undo
ends that: what is counted then stays.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from writer_app.core.stats import UNTITLED, Counts, SuggestionStats, Taken
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


@dataclass(eq=False)
class _Accept:
    """An accept that an undo could still take back."""

    taken: Taken
    steps: int  # the document's undo commands just after it
    undone: bool = False


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
        self._accepts: list[_Accept] = []  # oldest first
        self._new_text = False  # a new text came since the last set_document
        controller.suggestion_shown.connect(self._on_shown)
        editor.ghost_accepted.connect(self._on_tab)
        editor.word_accepted.connect(self._on_word)
        editor.ghost_dismissed.connect(self._on_dismissed)
        doc = editor.document()
        doc.contentsChanged.connect(self._follow_undo)
        doc.undoCommandAdded.connect(self._history_cut)
        doc.undoAvailable.connect(self._on_undo_available)
        self.save_timer = QTimer(self, interval=SAVE_INTERVAL_MS)
        self.save_timer.timeout.connect(self.save)
        self.save_timer.start()

    def new_text(self) -> None:
        """Another text is about to replace the editor's (a file opened, a new page): the
        next set_document starts another document rather than renaming this one."""
        self._new_text = True
        self._forget_accepts()

    def set_document(self, path: Path | None) -> None:
        """Count from now on for the document at `path` (None: untitled).

        After new_text() that is another document; otherwise the text in the window
        was saved under a new name, and its figures follow it (Save As).
        """
        key = str(path) if path is not None else UNTITLED
        if not self._new_text and key != self.document:
            self.stats.rename(self.document, key)
            self.changed.emit()
        self._new_text = False
        self.document = key

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
        self._keep(self.stats.took_whole(len(text)))
        self.changed.emit()

    def _on_word(self, word: str) -> None:
        self._keep(self.stats.took_word(len(word)))
        self.changed.emit()

    # --- undo and redo --------------------------------------------------------

    def _keep(self, taken: Taken | None) -> None:
        if taken is not None:
            self._accepts.append(_Accept(taken, self.editor.document().availableUndoSteps()))

    def _follow_undo(self) -> None:
        doc = self.editor.document()
        if not doc.isUndoRedoEnabled():  # the editor formats outside the history: it ends
            self._forget_accepts()
            return
        steps, changed = doc.availableUndoSteps(), False
        for accept in reversed(self._accepts):  # undo goes newest first
            if not accept.undone and steps < accept.steps:
                accept.undone = True
                self.stats.take_back(accept.taken)
                changed = True
        for accept in self._accepts:  # redo, oldest first
            if accept.undone and steps >= accept.steps:
                accept.undone = False
                self.stats.give_back(accept.taken)
                changed = True
        if changed:
            self.changed.emit()

    def _history_cut(self) -> None:
        # A new command after an undo drops what could be redone: undone accepts stay undone.
        self._accepts = [a for a in self._accepts if not a.undone]

    def _on_undo_available(self, available: bool) -> None:
        # Nothing to undo and nothing to redo: the history was cleared, not undone.
        doc = self.editor.document()
        if not available and doc.availableRedoSteps() == 0:
            self._forget_accepts()

    def _forget_accepts(self) -> None:
        self._accepts = []
        self.stats.forget_live()

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
