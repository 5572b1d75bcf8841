"""The first minute: what the app does, a ghost to try, and the keys (Help → Getting Started).

Shown once at the first launch (and again whenever the writer unticks
"Don't show this again"), and from the Help menu at any time. The example is
a real GhostEditor with a painted suggestion, so Tab, Ctrl+Right and Esc do
here exactly what they do in the writer's text.
"""

from __future__ import annotations

import html

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from writer_app.ui.editor.ghost_editor import GhostEditor

INTRO = (
    "<h2>Welcome to Writer</h2>"
    "<p>As you pause, Writer suggests how your sentence might go on, in "
    "<span style='color:gray'>grey</span> after the cursor. A suggestion is not part of "
    "your text until you take it, and you can always ignore it and keep typing.</p>"
    "<p>Everything runs on this computer: nothing you write leaves it, and it works "
    "offline. Suggestions come when the model is fairly sure; press "
    "<b>Ctrl+Space</b> to ask for one anywhere.</p>"
)
# A whole book: where to start, in one line (README: Projects).
NOVEL = (
    "<p><b>Writing a book?</b> File → Open Folder opens a folder of chapters; a "
    "<i>notes.md</i> in it names your characters and places, and the suggestions learn "
    "them.</p>"
)
MORE = "Help → Keyboard Shortcuts lists every key; Help → Getting Started shows this again."
EXAMPLE_TEXT = "The lighthouse keeper climbed the stairs"
# Each Tab in the example takes one, and the next is offered.
EXAMPLE_GHOSTS = (" one last time before the storm.", " Below, the sea was waiting.")
KEYS = (
    ("Tab", "take the whole suggestion"),
    ("Ctrl+Right", "take its next word"),
    ("Esc", "wave it away"),
    ("Alt+] / Alt+[", "see other suggestions"),
    ("Ctrl+Space", "ask for a suggestion now"),
)


class WelcomeDialog(QDialog):
    """The welcome; `dont_show_again` says whether the writer wants it at the next start."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Getting Started")
        intro = QLabel(INTRO, wordWrap=True)
        try_it = QLabel("<b>Try it here:</b> press Tab, Ctrl+Right or Esc.")
        self.example = GhostEditor(self)
        self.example.setFixedHeight(110)
        self._next_ghost = 0
        self.reset_example()
        self.example.ghost_accepted.connect(self._offer_next)
        self.example.request_now.connect(self._offer_again)
        rows = "".join(
            f"<tr><td><b>{html.escape(k)}</b>&nbsp;&nbsp;</td><td>{html.escape(v)}</td></tr>"
            for k, v in KEYS
        )
        keys = QLabel(f"<table>{rows}</table>")
        more = QLabel(NOVEL + "<p>" + MORE + "</p>")
        more.setWordWrap(True)
        self.dont_show = QCheckBox("Don't show this again at start")
        self.dont_show.setChecked(True)
        buttons = QDialogButtonBox()
        buttons.addButton("Start Writing", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        for w in (intro, try_it, self.example, keys, more, self.dont_show, buttons):
            layout.addWidget(w)
        self.resize(560, 520)

    def reset_example(self) -> None:
        """Put the example back to its first sentence and first suggestion."""
        self.example.set_text(EXAMPLE_TEXT)
        self._next_ghost = 0
        self._offer_again()

    def _offer_again(self) -> None:
        cursor = self.example.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        self.example.setTextCursor(cursor)
        if self._next_ghost < len(EXAMPLE_GHOSTS):
            self.example.show_ghost(EXAMPLE_GHOSTS[self._next_ghost], cursor.position())

    def _offer_next(self, _text: str) -> None:
        if not self.example.ghost_text:  # the whole suggestion was taken
            self._next_ghost += 1
        self._offer_again()
