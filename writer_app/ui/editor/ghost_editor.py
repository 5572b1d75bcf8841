"""The text editor: a QTextEdit for plain prose that paints the ghost suggestion.

The ghost text is never inserted into the document. It is painted over the
viewport with a QTextLayout that starts at the cursor and wraps at the text
column's width, so it reads like the next words of the paragraph, but it is
not in toPlainText(), the undo stack, the clipboard or the word count until
the writer accepts it (Tab, or Ctrl+Right for one word).

QTextEdit rather than QPlainTextEdit because only QTextEdit honours a
block's line height, and prose wants air between lines. Every paragraph
carries that line height in its block format, and the editor inserts new
paragraphs itself (Return, see _new_paragraph) so that they carry it too.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

from PySide6.QtCore import QEvent, QPointF, QSize, Qt, Signal
from PySide6.QtGui import (
    QFont,
    QFontMetricsF,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPalette,
    QResizeEvent,
    QTextBlockFormat,
    QTextCursor,
    QTextLayout,
    QTextOption,
)
from PySide6.QtWidgets import QTextEdit, QWidget

from writer_app.engine import type_through
from writer_app.ui.editor.word_count import LONG_PARAGRAPH_CHARS, WordCounter

_NEXT_WORD = re.compile(r"\s*\S+")
_PARAGRAPH_SEPARATOR = "\u2029"  # what QTextCursor.selectedText() uses for "\n"
# Pasted C0 control characters (and DEL) are left out: they are invisible, and a
# NUL makes the saved file unreadable as text. Tab and newline are prose; a
# carriage return is a line end, made "\n" first.
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
_LINE_END = re.compile("\r\n?")
_UNDO_SEAL = "\u200b"  # inserted and removed again at the end of an accept; see _insert
# How much text around the cursor is read at a time: never a whole paragraph, which
# can be a 10 MB line that would take longer to copy than a keystroke may.
_PROBE_CHARS = 256
NOTICE_MS = 6_000  # how long the status bar shows a notice
# Painted after a ghost the model is not sure of (Ctrl+Space shows one anyway); never
# part of ghost_text, so Tab, Ctrl+Right and type-through never insert it.
UNSURE_MARK = "\u2009?"
QT_LAYOUT_LIMIT_PX = 2**31 // 256 - 1  # QFIXED_MAX: where QTextDocumentLayout stops
_COMMAND_MODIFIERS = (
    Qt.KeyboardModifier.ControlModifier
    | Qt.KeyboardModifier.AltModifier
    | Qt.KeyboardModifier.MetaModifier
)


def clean_pasted_text(text: str) -> tuple[str, int]:
    """Return `text` with "\\r\\n" and "\\r" made "\\n" and without control characters
    (but tab and newline), and the number of characters left out."""
    return _CONTROL_CHARS.subn("", _LINE_END.sub("\n", text))


def _dropped_paths(source) -> list[Path]:
    """Return the local files and folders a drag carries, if it carries nothing else."""
    urls = source.urls() if source.hasUrls() else []
    if not urls or not all(url.isLocalFile() for url in urls):
        return []
    return [Path(url.toLocalFile()) for url in urls]


class GhostEditor(QTextEdit):
    """A plain-text prose editor that shows one suggestion as grey ghost text.

    The window feeds it suggestions with show_ghost() and listens to its signals;
    the editor itself knows nothing about the model.
    """

    edited = Signal()  # the writer changed the text (not a type-through): time to re-suggest
    ghost_accepted = Signal(str)  # Tab inserted this whole suggestion
    word_accepted = Signal(str)  # Ctrl+Right inserted this word of the suggestion
    ghost_dismissed = Signal()  # Esc put the suggestion away
    ghost_changed = Signal()  # the ghost text appeared, shrank, was cycled or hidden
    request_now = Signal()  # Ctrl+Space
    cycle_requested = Signal(int)  # Alt+] (+1) or Alt+[ (-1)
    notice = Signal(str, int)  # a passing status-bar message (text, ms): what a paste left out
    zoom_requested = Signal(int)  # Ctrl+wheel: +1 larger text, -1 smaller (View → Zoom)
    files_dropped = Signal(list)  # files or folders dropped on the page: list[Path], to open

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAcceptRichText(False)
        self.setLineWrapMode(QTextEdit.LineWrapMode.WidgetWidth)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.setTabChangesFocus(False)
        self.revision = 0  # bumped on every change to the document, formatting included
        self._ghost = ""
        self._ghost_pos = -1
        self._unsure = False  # the ghost is shown with UNSURE_MARK
        self._ghost_italic = False  # the ghost in the editor's font, or its italic
        self._internal = 0  # >0 while the editor itself edits (accepts, type-through, formats)
        # (cursor position, the letters Backspace just deleted there) until the writer
        # types again: a ghost that only offers them back is not shown (issue 27).
        self._deleted = (-1, "")
        self._backspacing = False
        self._line_height = 150
        self._text_width_chars = 72
        self.words = WordCounter(self.document(), self)  # .total: the words in the document
        self.document().contentsChange.connect(self._on_contents_change)
        self.cursorPositionChanged.connect(self._on_cursor_moved)

    # --- the ghost -------------------------------------------------------

    @property
    def ghost_text(self) -> str:
        """The suggestion showing now ("" when none)."""
        return self._ghost

    @property
    def ghost_position(self) -> int:
        """The cursor position the ghost hangs from (-1 when none)."""
        return self._ghost_pos if self._ghost else -1

    @property
    def ghost_unsure(self) -> bool:
        """Whether the ghost showing now is marked as less sure (UNSURE_MARK after it)."""
        return bool(self._ghost) and self._unsure

    def mark_ghost_unsure(self) -> None:
        """Mark the ghost showing now as less sure, until it is replaced or goes."""
        if self._ghost and not self._unsure:
            self._unsure = True
            self.viewport().update()

    def show_ghost(self, text: str, position: int) -> None:
        """Show `text` as the ghost at `position`, if the cursor is still there (and the
        text is not just the letters Backspace deleted there)."""
        self._unsure = False  # a new suggestion: as sure as the gate made it
        cursor = self.textCursor()
        if not text or position != cursor.position() or cursor.hasSelection():
            self.hide_ghost()
            return
        where, deleted = self._deleted
        if position == where and text.startswith(deleted):
            self.hide_ghost()
            return
        self._ghost, self._ghost_pos = text, position
        self.viewport().update()
        self.ghost_changed.emit()

    def hide_ghost(self) -> None:
        """Remove the ghost, if any."""
        self._unsure = False
        if self._ghost:
            self._ghost, self._ghost_pos = "", -1
            self.viewport().update()
            self.ghost_changed.emit()

    def dismiss_ghost(self) -> None:
        """Put the ghost away at the writer's request (Esc), if there is one."""
        if self._ghost:
            self.hide_ghost()
            self.ghost_dismissed.emit()

    def accept_ghost(self) -> str:
        """Insert the whole ghost as one undo step; returns the inserted text."""
        text = self._ghost
        if text:
            self.hide_ghost()
            self._insert(text)
            self.ghost_accepted.emit(text)
        return text

    def accept_word(self) -> str:
        """Insert the ghost's next word (with its leading space); returns the inserted text."""
        match = _NEXT_WORD.match(self._ghost)
        if not match:
            self.hide_ghost()
            return ""
        word, rest = match.group(), self._ghost[match.end() :]
        self._insert(word)
        self.word_accepted.emit(word)
        self._keep_rest(rest if rest.strip() else "")
        return word

    def _keep_rest(self, rest: str) -> None:
        """After part of the ghost became text: show `rest` at the cursor, or end the ghost."""
        if rest:
            self._ghost, self._ghost_pos = rest, self.textCursor().position()
            self.viewport().update()
            self.ghost_changed.emit()
        else:
            self.hide_ghost()
            self.edited.emit()

    def _insert(self, text: str) -> None:
        cursor = self.textCursor()
        with self._internal_edit():
            cursor.beginEditBlock()  # one undo step, never merged with the typing before it
            cursor.insertText(text)
            # Nor with the typing after it: Qt merges typed text into an edit block that
            # ends with an insertion next to it (QTextDocumentPrivate::appendUndoItem), and
            # one Ctrl+Z then took back the words typed after a Tab with the suggestion.
            # A block that ends with a removal is never merged into.
            end = cursor.position()
            cursor.insertText(_UNDO_SEAL)
            cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            cursor.removeSelectedText()
            cursor.endEditBlock()
            self.setTextCursor(cursor)
        self.ensureCursorVisible()

    def _new_paragraph(self) -> None:
        # Return, done here rather than by Qt: in an empty paragraph whose format is not
        # Qt's default (ours has a line height), QTextEdit's Return only resets the format
        # and inserts nothing ("Enter twice ends a list"). That ate the first Return after
        # a blank line or at the end of a file ending with a line break, and left that
        # paragraph, and every one after it, with Qt's tighter default spacing.
        cursor = self.textCursor()
        cursor.insertBlock(self._block_format(), cursor.charFormat())
        self.setTextCursor(cursor)
        self.ensureCursorVisible()

    # --- text -------------------------------------------------------------

    def text_before_cursor(self, max_chars: int | None = None) -> str:
        """Return the document's text from the start to the cursor, with "\\n" line ends.

        With `max_chars`, return only the tail (at most max_chars), cut at a
        multiple of max_chars/2 so that its start stays put while the writer
        types (the engine reuses its cache for a prompt that only grew), and
        without copying the rest of a long document on every request.
        """
        end = self.textCursor().position()
        start = 0
        if max_chars is not None and end > max_chars:
            step = max(1, max_chars // 2)
            start = (end - max_chars) // step * step + step
        return self._text_between(start, end)

    def _text_between(self, start: int, end: int) -> str:
        """Return the document's text from position `start` to `end`, with "\\n" line ends."""
        doc = self.document()
        if max(doc.findBlock(start).length(), doc.findBlock(end).length()) > LONG_PARAGRAPH_CHARS:
            # The first QTextCursor placed in a long paragraph after an edit costs Qt a
            # pass over the whole paragraph (1.5 s for a 10 MB line) to find its x in
            # the new layout; reading the characters one by one costs 1 µs each.
            text = "".join(map(doc.characterAt, range(start, end)))
        else:
            cursor = QTextCursor(doc)
            cursor.setPosition(start)
            cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            text = cursor.selectedText()
        return text.replace(_PARAGRAPH_SEPARATOR, "\n")

    def layout_overflows(self) -> bool:
        """Return True when the document is too tall for Qt to lay out and scroll to its end.

        QTextEdit stops laying text out at QFIXED_MAX pixels (a 30 MB document
        at the default font is taller): text below that cannot be seen.
        """
        return self.document().documentLayout().documentSize().height() >= QT_LAYOUT_LIMIT_PX

    def at_end_of_paragraph(self) -> bool:
        """Return True when only whitespace follows the cursor in its paragraph."""
        cursor = self.textCursor()
        block = cursor.block()
        end = block.position() + block.length() - 1
        position = cursor.position()
        while position < end:  # a little at a time: never a copy of a 10 MB line
            step = min(end, position + _PROBE_CHARS)
            if self._text_between(position, step).strip():
                return False
            position = step
        return True

    def set_text(self, text: str) -> None:
        """Replace the whole document (a file was opened); clears undo history and the ghost."""
        self.hide_ghost()
        doc = self.document()
        with self._internal_edit(), self.words.paused():
            doc.setUndoRedoEnabled(False)
            # One edit block around the text and its format, as QTextEdit.setPlainText
            # does for the char format: Qt lays the document out once. Formatting
            # after the text instead re-laid out a 30 MB document for 9 s.
            cursor = QTextCursor(doc)
            cursor.beginEditBlock()
            doc.setPlainText(text)
            cursor.select(QTextCursor.SelectionType.Document)
            cursor.setBlockFormat(self._block_format())
            cursor.endEditBlock()
            doc.setUndoRedoEnabled(True)  # and the undo history starts here
            self.setTextCursor(QTextCursor(doc))
        self.words.reset(text)
        doc.setModified(False)

    def setDocument(self, document) -> None:  # noqa: N802 (Qt naming)
        """Show `document` instead (a project's chapter, which keeps its own undo history):
        the ghost goes; the word count, the edit signals and the prose format follow it."""
        self.hide_ghost()
        self.document().contentsChange.disconnect(self._on_contents_change)
        super().setDocument(document)  # deletes the editor's first document, its own child
        document.setDefaultFont(self.font())
        # Each document keeps its count as its child: a chapter switch recounts nothing.
        self.words = document.findChild(WordCounter) or WordCounter(document, document)
        document.contentsChange.connect(self._on_contents_change)
        self.revision += 1  # a suggestion made for the other document is stale
        if document.firstBlock().blockFormat().lineHeight() != self._line_height:
            self._apply_block_format()

    def set_prose_format(self, font: QFont, line_height: int, text_width_chars: int) -> None:
        """Set the font, the line height (percent) and the text column's width in characters.

        A new line height clears the undo history (formats are not the writer's edits).
        """
        self.setFont(font)
        self.document().setDefaultFont(font)
        self._text_width_chars = text_width_chars
        if line_height != self._line_height or self.document().isEmpty():
            self._line_height = line_height
            self._apply_block_format()
        self._update_margins()

    def set_ghost_italic(self, italic: bool) -> None:
        """Paint the ghost in the italic of the editor's font (True) or in the font itself."""
        if italic != self._ghost_italic:
            self._ghost_italic = italic
            self.viewport().update()

    def _block_format(self) -> QTextBlockFormat:
        fmt = QTextBlockFormat()
        fmt.setLineHeight(
            self._line_height, QTextBlockFormat.LineHeightTypes.ProportionalHeight.value
        )
        return fmt

    def _apply_block_format(self) -> None:
        # Outside the undo stack, or the writer's first Ctrl+Z would undo the spacing.
        doc = self.document()
        modified = doc.isModified()
        with self._internal_edit(), self.words.paused():  # formats change no words
            doc.setUndoRedoEnabled(False)
            cursor = QTextCursor(doc)
            cursor.select(QTextCursor.SelectionType.Document)
            cursor.mergeBlockFormat(self._block_format())
            doc.setUndoRedoEnabled(True)
        doc.setModified(modified)

    def _update_margins(self) -> None:
        # Centre a column of about text_width_chars characters.
        column = QFontMetricsF(self.font()).averageCharWidth() * self._text_width_chars
        total = self.width() - 2 * self.frameWidth()
        side = max(0, int((total - column) / 2))
        if self.viewportMargins().left() != side:
            self.setViewportMargins(side, 0, side, 0)
            # QTextEdit sets the wrap width in its resizeEvent, from the viewport's
            # old size: lay the document out again for the narrower viewport.
            super().resizeEvent(QResizeEvent(self.size(), QSize(-1, -1)))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        self._update_margins()

    # --- keeping the ghost honest ------------------------------------------

    @contextmanager
    def _internal_edit(self):
        self._internal += 1
        try:
            yield
        finally:
            self._internal -= 1

    def _on_contents_change(self, position: int, removed: int, added: int) -> None:
        self.revision += 1
        if not self._backspacing:
            self._deleted = (-1, "")
        if self._internal:
            return
        self.hide_ghost()
        self.edited.emit()

    def _on_cursor_moved(self) -> None:
        if not self._internal and self._ghost and self.textCursor().position() != self._ghost_pos:
            self.hide_ghost()

    def wheelEvent(self, event) -> None:  # noqa: N802
        # Ctrl+wheel sizes the text, as in other editors (QTextEdit does it only read-only).
        steps = event.angleDelta().y()
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier and steps:
            self.zoom_requested.emit(1 if steps > 0 else -1)
            event.accept()
            return
        super().wheelEvent(event)

    def canInsertFromMimeData(self, source) -> bool:  # noqa: N802
        return bool(_dropped_paths(source)) or super().canInsertFromMimeData(source)

    def dropEvent(self, event) -> None:  # noqa: N802
        # A file dropped from a file manager is to be opened, not its name typed in (its
        # drag also carries the file's URL as text, which Qt would insert).
        paths = _dropped_paths(event.mimeData())
        if not paths:
            super().dropEvent(event)
            return
        self.hide_ghost()
        event.acceptProposedAction()
        self.files_dropped.emit(paths)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self.hide_ghost()
        super().mousePressEvent(event)

    def insertFromMimeData(self, source) -> None:  # noqa: N802
        # Pasting (and dropping) is an edit like any other; plain text only, without
        # control characters. Inserted as text, not as Qt's plain-text fragment, so the
        # pasted paragraphs take the prose format of the paragraph they land in.
        self.hide_ghost()
        if not source.hasText():
            return
        text, left_out = clean_pasted_text(source.text())
        if left_out:
            s = "s" if left_out != 1 else ""
            self.notice.emit(
                f"Left out {left_out} invisible control character{s} from the pasted text.",
                NOTICE_MS,
            )
        if text:
            cursor = self.textCursor()
            cursor.beginEditBlock()  # one undo step, as Qt's own paste
            cursor.insertText(text)
            cursor.endEditBlock()
            self.setTextCursor(cursor)
            self.ensureCursorVisible()

    # --- keys ---------------------------------------------------------------

    def _command(self, event: QKeyEvent) -> str | None:
        key, mods = event.key(), event.modifiers()
        ctrl = Qt.KeyboardModifier.ControlModifier
        alt = Qt.KeyboardModifier.AltModifier
        if mods & ctrl and key == Qt.Key.Key_Space:
            return "request"
        if mods & alt and key in (Qt.Key.Key_BracketRight, Qt.Key.Key_BracketLeft):
            return "next" if key == Qt.Key.Key_BracketRight else "previous"
        if not self._ghost:
            return None
        if key == Qt.Key.Key_Tab and not mods & _COMMAND_MODIFIERS:
            return "accept"
        if key == Qt.Key.Key_Right and mods & ctrl and not mods & Qt.KeyboardModifier.ShiftModifier:
            return "word"
        if key == Qt.Key.Key_Escape:
            return "dismiss"
        return None

    def event(self, event) -> bool:
        # Claim our keys before menu shortcuts do, so they work whenever the editor has focus.
        if event.type() == QEvent.Type.ShortcutOverride and self._command(event):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        command = self._command(event)
        if command == "accept":
            self.accept_ghost()
        elif command == "word":
            self.accept_word()
        elif command == "dismiss":
            self.dismiss_ghost()
        elif command == "request":
            self.request_now.emit()
        elif command in ("next", "previous"):
            self.cycle_requested.emit(1 if command == "next" else -1)
        elif not self._type_through(event):
            self._edit(event)

    def _edit(self, event: QKeyEvent) -> None:
        """Let `event` edit the text as a text editor's key does."""
        if event.matches(QKeySequence.StandardKey.InsertParagraphSeparator) and not (
            self.isReadOnly()
        ):
            self._new_paragraph()
            event.accept()
        elif event.key() == Qt.Key.Key_Backspace and not self.textCursor().hasSelection():
            self._backspace(event)
        else:
            super().keyPressEvent(event)

    def _backspace(self, event: QKeyEvent) -> None:
        # Remember what it deletes (consecutive Backspaces add up), for show_ghost.
        before = self.textCursor().position()
        old = self._text_between(max(0, before - _PROBE_CHARS), before)
        self._backspacing = True
        try:
            super().keyPressEvent(event)
        finally:
            self._backspacing = False
        after = self.textCursor().position()
        if not 0 < before - after <= len(old):
            self._deleted = (-1, "")
            return
        deleted = old[len(old) - (before - after) :]
        where, earlier = self._deleted
        self._deleted = (after, deleted + earlier if where == before else deleted)

    def _type_through(self, event: QKeyEvent) -> bool:
        # Typing the ghost's own next characters consumes them and keeps the rest.
        typed = event.text().replace("\r", "\n")
        if (
            not self._ghost
            or not typed
            or event.modifiers() & _COMMAND_MODIFIERS
            or self.textCursor().hasSelection()
            or self.overwriteMode()
        ):
            return False
        rest = type_through(self._ghost, typed)
        if rest is None:
            return False
        with self._internal_edit():
            self._edit(event)
        if self.textCursor().position() == self._ghost_pos:  # the key did not insert after all
            return True
        self._keep_rest(rest)
        return True

    # --- painting -----------------------------------------------------------

    def paintEvent(self, event) -> None:  # noqa: N802
        super().paintEvent(event)
        if not self._ghost or self._ghost_pos != self.textCursor().position():
            return
        painter = QPainter(self.viewport())
        painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        self._ghost_layout().draw(painter, QPointF(0, 0))
        painter.end()

    def _ghost_layout(self) -> QTextLayout:
        # Line 0 starts at the cursor; the next lines at the column's left edge,
        # one line step apart, wrapped at the column's width like the real text.
        start = self.cursorRect()
        margin = self.document().documentMargin()
        left = margin - self.horizontalScrollBar().value()
        right = left + self.document().textWidth() - 2 * margin
        font = QFont(self.font())
        font.setItalic(self._ghost_italic)
        step = QFontMetricsF(self.font()).height() * self._line_height / 100
        shown = self._ghost + (UNSURE_MARK if self._unsure else "")
        layout = QTextLayout(shown, font, self.viewport())
        option = QTextOption()
        option.setWrapMode(QTextOption.WrapMode.WordWrap)
        layout.setTextOption(option)
        for first_row in (0, 1):
            layout.beginLayout()
            row, x = first_row, start.left() if first_row == 0 else left
            overflow = False
            while True:
                line = layout.createLine()
                if not line.isValid():
                    break
                width = max(1.0, right - x)
                line.setLineWidth(width)
                line.setPosition(QPointF(x, start.top() + row * step))
                if row == 0 and line.naturalTextWidth() > width + 0.5:
                    overflow = True  # the first word does not fit after the cursor
                row, x = row + 1, left
            layout.endLayout()
            if not overflow:
                break
        return layout
