"""Misspelled words underlined in the visible text, with suggestions on right-click.

Not a QSyntaxHighlighter: that checks the whole document when it is set, and
a paragraph again on every keystroke, which a 3 MB chapter or a 10 MB line
can't afford. The underlines are the editor's extra selections, made for the
paragraphs on screen only, SPELL_DELAY_MS after typing or scrolling stops,
so a keystroke never waits for the dictionary. The ghost suggestion is
painted, never in the document, so it is never checked. The word being
typed is left alone until the cursor leaves it.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QObject, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QMenu, QTextEdit

from writer_app.core.spelling import WORD, SpellChecker
from writer_app.ui.editor.focus import set_extra_selections

SPELL_DELAY_MS = 250
LONG_BLOCK = 20_000  # characters: longer paragraphs are checked only where they show
MARGIN_CHARS = 200
MAX_SUGGESTIONS = 5
UNDERLINE = QColor(200, 40, 40)
ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _qt_offset(text: str, index: int) -> int:
    """Qt's position (UTF-16 units) of str index `index` in `text`."""
    if not ASTRAL.search(text, 0, index):
        return index
    return len(text[:index].encode("utf-16-le")) // 2


class SpellingUnderlines(QObject):
    """Underlines `editor`'s misspelled words (per `checker`) and offers fixes on right-click."""

    problem = Signal(str)  # said once, when spelling is on but no dictionary can be used

    def __init__(self, editor: QTextEdit, checker: SpellChecker, enabled: bool = True):
        super().__init__(editor)
        self.editor = editor
        self.checker = checker
        self.enabled = enabled
        self.format = QTextCharFormat()
        self.format.setUnderlineStyle(QTextCharFormat.UnderlineStyle.SpellCheckUnderline)
        self.format.setUnderlineColor(UNDERLINE)
        self.timer = QTimer(self, singleShot=True, interval=SPELL_DELAY_MS)
        self.timer.timeout.connect(self.refresh)
        editor.document().contentsChange.connect(lambda *_: self.timer.start())
        editor.verticalScrollBar().valueChanged.connect(lambda *_: self.timer.start())
        editor.cursorPositionChanged.connect(self.timer.start)
        editor.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        editor.customContextMenuRequested.connect(self.show_menu)
        self.timer.start()

    def set_checker(self, checker: SpellChecker, enabled: bool) -> None:
        """Use another checker (a new language) or turn underlining on or off."""
        self.checker, self.enabled = checker, enabled
        if enabled and not checker.available:
            self.problem.emit(checker.problem or "No spelling dictionary is available.")
        self.refresh()

    def _visible_blocks(self):
        viewport = self.editor.viewport()
        first = self.editor.cursorForPosition(QPoint(0, 0)).block()
        last = self.editor.cursorForPosition(QPoint(viewport.width(), viewport.height())).block()
        block = first
        while block.isValid():
            yield block
            if block == last:
                return
            block = block.next()

    def _visible_text(self, block) -> tuple[str, int]:
        """Return the text of `block` to check and its document position: the whole
        paragraph, or for a very long one only the part on screen (and a word either side),
        so a 10 MB line is never copied after a pause."""
        if block.length() <= LONG_BLOCK:
            return block.text(), block.position()
        viewport = self.editor.viewport()
        top = self.editor.cursorForPosition(QPoint(0, 0)).position()
        bottom = self.editor.cursorForPosition(QPoint(viewport.width(), viewport.height()))
        start = max(block.position(), top - MARGIN_CHARS)
        end = min(block.position() + block.length() - 1, bottom.position() + MARGIN_CHARS)
        end = min(end, start + LONG_BLOCK)
        cursor = QTextCursor(self.editor.document())
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        text = cursor.selectedText()
        # Drop the words cut at either edge: they are checked whole when scrolled to.
        head = WORD.match(text)
        skip = head.end() if head and start > block.position() else 0
        tail = len(text)
        if text and not text[-1].isspace():
            cut = max(text.rfind(" "), text.rfind("\u2029")) + 1  # the word cut at the end
            tail = max(cut, skip)
        return " " * skip + text[skip:tail], start

    def misspelled_ranges(self) -> list[tuple[int, int]]:
        """Return the document (start, end) positions of the misspelled words on screen."""
        if not (self.enabled and self.checker.available):
            return []
        typing_at = self.editor.textCursor().position()
        ranges = []
        for block in self._visible_blocks():
            text, base = self._visible_text(block)
            for start, end in self.checker.misspelled(text):
                qs, qe = base + _qt_offset(text, start), base + _qt_offset(text, end)
                if qe == typing_at:  # still being typed
                    continue
                ranges.append((qs, qe))
        return ranges

    def refresh(self) -> None:
        """Underline the misspelled words on screen now."""
        selections = []
        document = self.editor.document()
        for start, end in self.misspelled_ranges():
            sel = QTextEdit.ExtraSelection()
            sel.cursor = QTextCursor(document)
            sel.cursor.setPosition(start)
            sel.cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            sel.format = self.format
            selections.append(sel)
        set_extra_selections(self.editor, "spelling", selections)  # beside focus mode's

    def word_at(self, pos: QPoint) -> QTextCursor | None:
        """Return a cursor selecting the word at viewport point `pos`, or None."""
        cursor = self.editor.cursorForPosition(pos)
        block, offset = cursor.block(), cursor.positionInBlock()
        for m in WORD.finditer(block.text()):
            if m.start() <= offset <= m.end():
                text = block.text()
                word = QTextCursor(self.editor.document())
                word.setPosition(block.position() + _qt_offset(text, m.start()))
                word.setPosition(
                    block.position() + _qt_offset(text, m.end()), QTextCursor.MoveMode.KeepAnchor
                )
                return word
        return None

    def build_menu(self, pos: QPoint) -> QMenu:
        """Return the context menu for viewport point `pos`: the spelling fixes and
        "Add to Dictionary" first when the word there is misspelled, then the usual items."""
        menu = self.editor.createStandardContextMenu(self.editor.viewport().mapToGlobal(pos))
        word = self.word_at(pos) if self.enabled else None
        if word is None or self.checker.check(word.selectedText()):
            return menu
        first = menu.actions()[0] if menu.actions() else None
        text = word.selectedText()
        fixes = self.checker.suggest(text, MAX_SUGGESTIONS)
        for fix in fixes:
            action = menu.addAction(fix)
            action.triggered.connect(lambda _=False, c=word, f=fix: self._replace(c, f))
            menu.insertAction(first, action)
        if not fixes:
            none = menu.addAction("(no suggestions)")
            none.setEnabled(False)
            menu.insertAction(first, none)
        add = menu.addAction(f"Add “{text}” to Dictionary")
        add.triggered.connect(lambda _=False, w=text: self.add_word(w))
        menu.insertAction(first, add)
        menu.insertSeparator(first)
        return menu

    def show_menu(self, pos: QPoint) -> None:
        self.build_menu(pos).exec(self.editor.viewport().mapToGlobal(pos))

    def _replace(self, word: QTextCursor, fix: str) -> None:
        word.insertText(fix)  # one undo step
        self.refresh()

    def add_word(self, word: str) -> None:
        """Add `word` to the personal dictionary; a failed save is said, not lost for the run."""
        try:
            self.checker.add_to_dictionary(word)
        except OSError as err:
            self.problem.emit(
                f"“{word}” is known for now, but the dictionary could not be saved ({err})."
            )
        self.refresh()
