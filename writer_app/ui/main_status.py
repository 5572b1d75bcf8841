"""The window's status bar: the lasting message, the model, suggestions on/off, the
alternatives counter, the last suggestion's time (if the writer wants it) and the word count.

Every label says what it is in words ("suggestion in 18 ms", "12 of 3,480 words
selected") and on hover. In a narrow window the labels shrink and end in "…"
(ElidedLabel) instead of being cut mid-word; hovering shows the whole text.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSize, Qt, QTimer
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QStatusBar

from writer_app.ui.editor.ghost_editor import GhostEditor
from writer_app.ui.editor.word_count import count_words

WORD_COUNT_DELAY_MS = 300  # the count follows typing after this pause
# A selection longer than this is counted after the pause, not on every Shift+arrow.
SELECTION_NOW_CHARS = 200_000
# Longer selections are not counted at all (a second's pause), unless it is all of the text.
MAX_SELECTION_CHARS = 2_000_000
ERROR_STYLE = "color: #c0392b;"
MIN_LABEL_CHARS = 3  # a squeezed label keeps room for about this many characters and "…"
# label attribute -> what it is, for its tooltip.
TOOLTIPS = {
    "model_label": "The model that suggests, and where it runs (Model → About the Model…).",
    "suggestions_label": "Whether suggestions appear as you write (Ctrl+Shift+E turns them "
    "on or off).",
    "alt_label": "Which alternative suggestion is showing (Alt+] and Alt+[ go through them).",
    "latency_label": "How long the last suggestion took to appear after it was asked for.",
    "words_label": "Words in the document; select some text to count just that.",
    "today_label": "Words written today in all your documents, against your daily goal if "
    "you set one (Settings → Writing).",
}


class ElidedLabel(QLabel):
    """A one-line label that ends in "…" when it is narrower than its text.

    text() stays the whole text; displayed_text() is what is drawn. The whole
    text is its tooltip while it is cut, unless it has a tooltip of its own.
    """

    def __init__(self, text: str = "", squeeze: bool = True):
        super().__init__(text)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self._own_tooltip = ""
        self._squeeze = squeeze  # False: never narrower than its text

    def set_own_tooltip(self, tip: str) -> None:
        """Set the tooltip shown whether or not the text is cut."""
        self._own_tooltip = tip
        self.setToolTip(tip)

    def displayed_text(self) -> str:
        """Return the text as drawn now: whole, or cut to the width with "…"."""
        width = self.contentsRect().width()
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, width)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        hint = super().minimumSizeHint()
        if not self._squeeze:
            return QSize(self.sizeHint().width(), hint.height())
        margins = self.contentsMargins()
        room = self.fontMetrics().horizontalAdvance("M" * MIN_LABEL_CHARS + "…")
        return QSize(min(hint.width(), room + margins.left() + margins.right()), hint.height())

    def paintEvent(self, event) -> None:  # noqa: N802
        shown = self.displayed_text()
        cut = shown != self.text()
        self.setToolTip(self._own_tooltip or (self.text() if cut else ""))
        painter = QPainter(self)
        self.style().drawItemText(
            painter,
            self.contentsRect(),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            self.palette(),
            self.isEnabled(),
            shown,
            self.foregroundRole(),
        )
        painter.end()


class MainStatus(QObject):
    """The widgets of the status bar and their updates.

    The labels are public for tests and scripts: message_label (loading or
    error state; stays until the state changes), model_label, suggestions_label,
    alt_label ("2/3"), latency_label ("suggestion in 18 ms", shown only when
    `show_latency`) and words_label. The bar's tooltip gives today's suggestion
    figures.
    """

    def __init__(self, bar: QStatusBar, editor: GhostEditor, show_latency: bool = False):
        super().__init__(bar)
        self.bar = bar
        self.editor = editor
        self.message_label = ElidedLabel()
        self.model_label = ElidedLabel("no model")
        self.suggestions_label = ElidedLabel()
        self.alt_label = ElidedLabel()
        self.latency_label = ElidedLabel()
        # The count is what a writer looks at most: never squeezed.
        self.words_label = ElidedLabel(squeeze=False)
        self.today_label = ElidedLabel()  # "312 today": empty until there is something to say
        # The suggestions label's hover: what it is, why nothing shows (the gate), today.
        self._gate_note = ""
        self._today = ""
        self.labels = (
            self.message_label,
            self.alt_label,
            self.latency_label,
            self.suggestions_label,
            self.model_label,
            self.today_label,
            self.words_label,
        )
        for name, tip in TOOLTIPS.items():
            getattr(self, name).set_own_tooltip(tip)
        bar.addWidget(self.message_label, 1)
        for label in self.labels[1:]:
            label.setContentsMargins(8, 0, 8, 0)
            bar.addPermanentWidget(label)
        self.set_show_latency(show_latency)
        self.word_timer = QTimer(self, singleShot=True, interval=WORD_COUNT_DELAY_MS)
        self.word_timer.timeout.connect(self.update_word_count)
        editor.document().contentsChanged.connect(self.word_timer.start)
        editor.selectionChanged.connect(self._on_selection_changed)
        self.update_word_count()

    def set_message(self, text: str, error: bool = False) -> None:
        """Show the lasting message (red for an error); "" clears it."""
        self.message_label.setText(text)
        self.message_label.set_own_tooltip(text)
        self.message_label.setStyleSheet(ERROR_STYLE if error else "")

    def flash(self, text: str, ms: int) -> None:
        """Show a passing message for `ms` milliseconds."""
        self.bar.showMessage(text, ms)

    def set_suggestions_on(self, on: bool) -> None:
        """Say whether suggestions are on."""
        self.suggestions_label.setText("suggestions on" if on else "suggestions off")

    def set_latency(self, text: str) -> None:
        """Show the last suggestion's time, `text` such as "18 ms" ("" clears it)."""
        self.latency_label.setText(f"suggestion in {text}" if text else "")

    def set_show_latency(self, show: bool) -> None:
        """Show the last suggestion's time or not (Settings → Advanced)."""
        self.latency_label.setVisible(show)

    def document_changed(self) -> None:
        """Another text is coming (a file opened, a new page): forget the last suggestion's
        time and alternatives, which belonged to the text before."""
        self.set_latency("")
        self.alt_label.setText("")
        self.set_gate_note("")

    def set_today(self, line: str) -> None:
        """Put today's suggestion figures in the status bar's tooltip and in the suggestions
        label's (the bar's shows over the labels that have no tooltip of their own)."""
        self.bar.setToolTip(line)
        self._today = line
        self._update_suggestions_tooltip()

    def set_gate_note(self, note: str) -> None:
        """Say on the suggestions label's hover why no suggestion shows (the confidence
        gate hid it: SuggestionController.gate_note); "" takes it away."""
        self._gate_note = note
        self._update_suggestions_tooltip()

    def _update_suggestions_tooltip(self) -> None:
        lines = (self._gate_note, TOOLTIPS["suggestions_label"], self._today)
        self.suggestions_label.set_own_tooltip("\n".join(line for line in lines if line))

    def _on_selection_changed(self) -> None:
        cursor = self.editor.textCursor()
        if abs(cursor.position() - cursor.anchor()) <= SELECTION_NOW_CHARS:
            self.update_word_count()
        else:
            self.word_timer.start()

    def update_word_count(self) -> None:
        """Show the document's word count now, and the selection's if there is one."""
        words = self.editor.words.total  # kept current per edit: no pass over the novel
        text = f"{words:,} word{'s' if words != 1 else ''}"
        cursor = self.editor.textCursor()
        start, end = cursor.selectionStart(), cursor.selectionEnd()
        if start == end:
            pass
        elif start == 0 and end >= self.editor.document().characterCount() - 1:
            text = f"{words:,} of {text} selected"
        elif end - start > MAX_SELECTION_CHARS:
            text = f"{text} (the selection is too long to count)"
        else:
            text = f"{count_words(cursor.selectedText()):,} of {text} selected"
        self.words_label.setText(text)

    def set_words_today(self, words: int, goal: int = 0) -> None:
        """Show the words written today, against `goal` if one is set (0: none; then
        nothing until the first word of the day)."""
        if goal > 0:
            done = ", goal met" if words >= goal else ""
            self.today_label.setText(f"{words:,} of {goal:,} words today{done}")
        else:
            self.today_label.setText(f"{words:,} written today" if words else "")
