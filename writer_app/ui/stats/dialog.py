"""Suggestions → Statistics…: what the suggestions did, for this document, today and in all,
with a Reset button that asks first."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from writer_app.core.stats import UNTITLED, Counts
from writer_app.ui.stats.recorder import StatsRecorder


def _median(c: Counts) -> str:
    return f"{c.median_ms:.0f} ms" if c.median_ms is not None else "–"


# (row title, the figure of a bucket): the rows of both tables, in order.
FIGURES = (
    ("Suggestions shown", lambda c: f"{c.shown:,}"),
    ("Accepted whole (Tab)", lambda c: f"{c.accepted_whole:,}"),
    ("Accepted in part (Ctrl+Right)", lambda c: f"{c.accepted_partly:,}"),
    ("Words accepted (Ctrl+Right)", lambda c: f"{c.words_accepted:,}"),
    ("Dismissed (Esc)", lambda c: f"{c.dismissed:,}"),
    ("Acceptance rate", lambda c: f"{c.acceptance_rate:.0%}" if c.shown else "–"),
    ("Characters saved", lambda c: f"{c.chars_saved:,}"),
    ("Keystrokes saved", lambda c: f"{c.keys_saved:,}"),
    ("Median suggestion time", _median),
)
EXPLANATION = (
    "Counted on this computer only and never sent anywhere. A suggestion counts as accepted "
    "when any of it was taken. Keystrokes saved: the characters accepted, less one key "
    "for each Tab or Ctrl+Right that accepted them. The time runs from the request to the "
    "suggestion on screen."
)


def _table(parent: QWidget, names: list[str], buckets: list[Counts], across: bool) -> QTableWidget:
    """A table of FIGURES for `buckets` named `names`: one column each (`across`), or one row."""
    titles = [title for title, _ in FIGURES]
    table = QTableWidget(parent)
    table.setRowCount(len(titles) if across else len(names))
    table.setColumnCount(len(names) if across else len(titles))
    table.setHorizontalHeaderLabels(names if across else titles)
    table.setVerticalHeaderLabels(titles if across else names)
    for i, (_, figure) in enumerate(FIGURES):
        for j, counts in enumerate(buckets):
            row, col = (i, j) if across else (j, i)
            table.setItem(row, col, QTableWidgetItem(figure(counts)))
    mode = QHeaderView.ResizeMode.Stretch if across else QHeaderView.ResizeMode.ResizeToContents
    table.horizontalHeader().setSectionResizeMode(mode)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    return table


class StatisticsDialog(QDialog):
    """The figures of this document, today and all documents, then one row per document."""

    def __init__(self, recorder: StatsRecorder, parent: QWidget | None = None):
        super().__init__(parent)
        self.recorder = recorder
        self.setWindowTitle("Suggestion statistics")
        self.layout_ = QVBoxLayout(self)
        note = QLabel(EXPLANATION)
        note.setWordWrap(True)
        self.layout_.addWidget(note)
        self.summary: QTableWidget | None = None
        self.by_document: QTableWidget | None = None
        self.layout_.addWidget(QLabel("By document:"))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.reset_button = QPushButton("&Reset…")
        self.reset_button.setToolTip("Forget all the figures, of every document")
        buttons.addButton(self.reset_button, QDialogButtonBox.ButtonRole.ResetRole)
        self.reset_button.clicked.connect(self.ask_reset)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        self.layout_.addWidget(buttons)
        self.refresh()
        self.resize(820, 620)

    def refresh(self) -> None:
        """Show the figures as they are now."""
        stats = self.recorder.stats
        for table in (self.summary, self.by_document):
            if table is not None:
                self.layout_.removeWidget(table)
                table.deleteLater()
        name = Path(self.recorder.document).name if self.recorder.document != UNTITLED else UNTITLED
        self.summary = _table(
            self,
            [f"This document ({name})", "Today", "All documents"],
            [self.recorder.current, stats.today, stats.total],
            across=True,
        )
        keys = sorted(stats.documents)
        self.by_document = _table(
            self,
            [Path(k).name if k != UNTITLED else UNTITLED for k in keys],
            [stats.documents[k] for k in keys],
            across=False,
        )
        for row, key in enumerate(keys):
            self.by_document.verticalHeaderItem(row).setToolTip(key)
        # Every figure in view at once: the summary is short, the list may grow.
        self.summary.resizeRowsToContents()
        self.summary.setFixedHeight(
            self.summary.horizontalHeader().height()
            + sum(self.summary.rowHeight(r) for r in range(self.summary.rowCount()))
            + 2 * self.summary.frameWidth()
        )
        self.layout_.insertWidget(1, self.summary)
        self.layout_.insertWidget(3, self.by_document, 1)

    def ask_reset(self) -> bool:
        """Ask, then forget every figure; returns whether they were reset."""
        answer = QMessageBox.question(
            self,
            "Reset the statistics?",
            "Forget the suggestion statistics of every document, for good?",
            QMessageBox.StandardButton.Reset | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Reset:
            return False
        self.recorder.reset()
        self.refresh()
        return True
