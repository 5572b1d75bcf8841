"""Focus mode (View → Focus Mode, F11): the page alone, full screen, with the paragraph being
written in full ink, the rest dimmed, and the cursor's line kept at the middle of the screen
(typewriter scrolling). Esc or F11 leaves it; Esc first puts away a showing ghost, as always
(the editor claims Esc while a ghost shows).

Typewriter scrolling needs room below the last line, or the end of the text, where a
writer mostly types, would sit at the bottom of the screen. The room is half a page of
scroll range beyond what QTextEdit gives, not a margin of the document: a document
margin is a format change, which would go on the undo stack and mark the text modified.

The dimming is made of the editor's extra selections, which the spelling
underlines use too: both go through set_extra_selections, which keeps one list
per owner and gives the editor them all, so neither wipes out the other.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence, QPalette, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QMainWindow, QTextEdit

# Owners of extra selections, in painting order: the dimming under the underlines.
SELECTION_LAYERS = ("focus", "spelling")
DIM_INK = 0.35  # the dimmed text's colour: this much of the ink, the rest the page's
_LAYERS_PROPERTY = "_extra_selection_layers"


def set_extra_selections(editor: QTextEdit, owner: str, selections: list) -> None:
    """Give `editor` `owner`'s extra selections (one of SELECTION_LAYERS), keeping the
    other owners' ones."""
    layers = getattr(editor, _LAYERS_PROPERTY, None)
    if layers is None:
        layers = {}
        setattr(editor, _LAYERS_PROPERTY, layers)
    layers[owner] = list(selections)
    editor.setExtraSelections([s for name in SELECTION_LAYERS for s in layers.get(name, [])])


def extra_selections(editor: QTextEdit, owner: str) -> list:
    """Return the extra selections `owner` gave `editor` (empty if none)."""
    return list(getattr(editor, _LAYERS_PROPERTY, {}).get(owner, []))


class FocusMode(QObject):
    """Focus mode for `window` (a MainWindow with .editor); toggle() enters or leaves it.

    `toggled(bool)` says when it changes; `leave_action` (Esc) is the window's
    while focus mode lasts.
    """

    toggled = Signal(bool)

    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self.window = window
        self.editor = window.editor
        self.active = False
        self._state = Qt.WindowState.WindowNoState  # the window's, to go back to
        self._block = -1  # the paragraph in full ink
        self.leave_action = QAction("Leave Focus Mode", window)
        self.leave_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.leave_action.setEnabled(False)
        self.leave_action.triggered.connect(self.leave)
        window.addAction(self.leave_action)
        self.editor.cursorPositionChanged.connect(self._follow_cursor)
        self._natural_maximum: int | None = None  # QTextEdit's own scroll range, in focus mode
        self._extending = False

    def toggle(self, on: bool | None = None) -> None:
        """Enter focus mode (on=True), leave it (False), or switch (None)."""
        on = not self.active if on is None else bool(on)
        if on and not self.active:
            self.enter()
        elif not on and self.active:
            self.leave()

    def enter(self) -> None:
        """Full screen, no menus or status bar, the current paragraph alone in full ink."""
        if self.active:
            return
        self.active = True
        self._state = self.window.windowState()
        self.window.menuBar().hide()
        self.window.statusBar().hide()
        self.window.showFullScreen()
        self.leave_action.setEnabled(True)
        bar = self.editor.verticalScrollBar()
        bar.rangeChanged.connect(self._extend_range)
        self._extend_range(bar.minimum(), bar.maximum())
        self._block = -1
        self._follow_cursor()
        self.editor.setFocus()
        self.toggled.emit(True)

    def leave(self) -> None:
        """Back to the window as it was."""
        if not self.active:
            return
        self.active = False
        self.leave_action.setEnabled(False)
        set_extra_selections(self.editor, "focus", [])
        bar = self.editor.verticalScrollBar()
        bar.rangeChanged.disconnect(self._extend_range)
        if self._natural_maximum is not None:
            bar.setMaximum(self._natural_maximum)
            self._natural_maximum = None
        self.window.menuBar().show()
        self.window.statusBar().show()
        self.window.setWindowState(self._state)  # maximized stays maximized
        self.toggled.emit(False)

    def _extend_range(self, _minimum: int, maximum: int) -> None:
        # QTextEdit sets its range whenever the text's height or the page's changes;
        # each time, half a page more lets the last line come up to the middle.
        if self._extending:
            return
        self._natural_maximum = maximum
        self._extending = True
        try:
            self.editor.verticalScrollBar().setMaximum(
                maximum + self.editor.viewport().height() // 2
            )
        finally:
            self._extending = False

    def _follow_cursor(self) -> None:
        if not self.active:
            return
        block = self.editor.textCursor().blockNumber()
        if block != self._block:
            self._block = block
            self._dim_all_but(self.editor.textCursor().block())
        self.center_cursor()

    def _dim_all_but(self, block) -> None:
        # Two ranges, before and after the paragraph: their cursors follow the edits.
        document = self.editor.document()
        palette = self.editor.palette()
        ink, page = palette.color(QPalette.ColorRole.Text), palette.color(QPalette.ColorRole.Base)
        dim = QTextCharFormat()
        dim.setForeground(_blend(ink, page, DIM_INK))
        end = document.characterCount() - 1
        ranges = ((0, block.position()), (block.position() + block.length() - 1, end))
        selections = []
        for start, stop in ranges:
            if stop <= start:
                continue
            selection = QTextEdit.ExtraSelection()
            selection.cursor = QTextCursor(document)
            selection.cursor.setPosition(start)
            selection.cursor.setPosition(stop, QTextCursor.MoveMode.KeepAnchor)
            # Typed at the start of the paragraph, text is the paragraph's, not the range's.
            selection.cursor.setKeepPositionOnInsert(stop == block.position())
            selection.format = dim
            selections.append(selection)
        set_extra_selections(self.editor, "focus", selections)

    def center_cursor(self) -> None:
        """Scroll so that the cursor's line sits at the middle of the page (as far as the
        document's start lets it; at its end there is room, _extend_range)."""
        bar = self.editor.verticalScrollBar()
        middle = self.editor.viewport().height() // 2
        bar.setValue(bar.value() + self.editor.cursorRect().center().y() - middle)


def _blend(a: QColor, b: QColor, share: float) -> QColor:
    """Return `share` of colour `a` mixed with the rest of `b`."""
    return QColor.fromRgbF(
        a.redF() * share + b.redF() * (1 - share),
        a.greenF() * share + b.greenF() * (1 - share),
        a.blueF() * share + b.blueF() * (1 - share),
    )
