"""The window's status bar: the lasting message, the model, suggestions on/off, the
alternatives counter, the last suggestion's time and the word count."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QLabel, QStatusBar

from writer_app.ui.editor.ghost_editor import GhostEditor

WORD_COUNT_DELAY_MS = 300  # the count follows typing after this pause
ERROR_STYLE = "color: #c0392b;"


class MainStatus(QObject):
    """The widgets of the status bar and their updates.

    The labels are public for tests and scripts: message_label (loading or
    error state; stays until the state changes), model_label, suggestions_label,
    alt_label ("2/3"), latency_label and words_label. The bar's tooltip gives
    today's suggestion figures.
    """

    def __init__(self, bar: QStatusBar, editor: GhostEditor):
        super().__init__(bar)
        self.bar = bar
        self.editor = editor
        self.message_label = QLabel()
        self.message_label.setTextFormat(Qt.TextFormat.PlainText)
        self.model_label = QLabel("no model")
        self.suggestions_label = QLabel()
        self.alt_label = QLabel()
        self.latency_label = QLabel()
        self.words_label = QLabel()
        bar.addWidget(self.message_label, 1)
        for label in (
            self.alt_label,
            self.latency_label,
            self.suggestions_label,
            self.model_label,
            self.words_label,
        ):
            label.setContentsMargins(8, 0, 8, 0)
            bar.addPermanentWidget(label)
        self.word_timer = QTimer(self, singleShot=True, interval=WORD_COUNT_DELAY_MS)
        self.word_timer.timeout.connect(self.update_word_count)
        editor.document().contentsChanged.connect(self.word_timer.start)
        self.update_word_count()

    def set_message(self, text: str, error: bool = False) -> None:
        """Show the lasting message (red for an error); "" clears it."""
        self.message_label.setText(text)
        self.message_label.setToolTip(text)
        self.message_label.setStyleSheet(ERROR_STYLE if error else "")

    def flash(self, text: str, ms: int) -> None:
        """Show a passing message for `ms` milliseconds."""
        self.bar.showMessage(text, ms)

    def set_suggestions_on(self, on: bool) -> None:
        """Say whether suggestions are on."""
        self.suggestions_label.setText("suggestions on" if on else "suggestions off")

    def set_today(self, line: str) -> None:
        """Put today's suggestion figures in the status bar's tooltip (its labels that have
        no tooltip of their own show it too)."""
        self.bar.setToolTip(line)

    def update_word_count(self) -> None:
        """Show the document's word count now."""
        words = self.editor.words.total  # kept current per edit: no pass over the novel
        self.words_label.setText(f"{words:,} word{'s' if words != 1 else ''}")
