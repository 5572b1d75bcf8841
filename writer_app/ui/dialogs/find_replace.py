"""Edit → Find… (Ctrl+F) and Replace… (Ctrl+H) in the open text.

A small non-modal dialog over the editor: what to find, what to put instead,
Match Case and Whole Words, and a live count of matches. Matching is
QTextDocument.find's, so what is counted is what Find Next selects and what
Replace All replaces. Replace All is one edit block: one Undo restores the
whole text. The ghost suggestion is painted, never in the document, so it is
never found or replaced.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QTextCursor, QTextDocument
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTextEdit,
    QWidget,
)

FindFlag = QTextDocument.FindFlag


def find_flags(*, match_case: bool, whole_words: bool, backward: bool = False) -> FindFlag:
    """Return the QTextDocument find flags for the options."""
    flags = FindFlag(0)
    if match_case:
        flags |= FindFlag.FindCaseSensitively
    if whole_words:
        flags |= FindFlag.FindWholeWords
    if backward:
        flags |= FindFlag.FindBackward
    return flags


def count_matches(document: QTextDocument, needle: str, flags: FindFlag) -> int:
    """Return how many times `needle` occurs in `document` (non-overlapping), as Find sees it."""
    if not needle:
        return 0
    count, cursor = 0, QTextCursor(document)
    while True:
        cursor = document.find(needle, cursor, flags & ~FindFlag.FindBackward)
        if cursor.isNull():
            return count
        count += 1


def replace_all(editor: QTextEdit, needle: str, replacement: str, flags: FindFlag) -> int:
    """Replace every match of `needle` in `editor` as one undo step; return how many."""
    if not needle:
        return 0
    document = editor.document()
    flags &= ~FindFlag.FindBackward
    done = 0
    edit = QTextCursor(document)
    edit.beginEditBlock()
    found = QTextCursor(document)
    while True:
        found = document.find(needle, found, flags)
        if found.isNull():
            break
        edit.setPosition(found.selectionStart())
        edit.setPosition(found.selectionEnd(), QTextCursor.MoveMode.KeepAnchor)
        edit.insertText(replacement)
        found.setPosition(edit.position())  # go on after the replacement, never inside it
        done += 1
    edit.endEditBlock()
    return done


class FindReplaceDialog(QDialog):
    """Find and replace in one QTextEdit; `replace_mode` shows the Replace row."""

    replaced = Signal(int)  # how many were replaced by the last Replace All

    def __init__(self, editor: QTextEdit, parent: QWidget | None = None):
        super().__init__(parent)
        self.editor = editor
        self.setWindowTitle("Find and Replace")
        self.setModal(False)
        self.find_edit = QLineEdit(placeholderText="Find")
        self.replace_edit = QLineEdit(placeholderText="Replace with")
        self.case_box = QCheckBox("Match &case")
        self.case_box.setToolTip("Find “Mara” but not “mara”.")
        self.words_box = QCheckBox("&Whole words")
        self.words_box.setToolTip("Find “Ash” but not “Ashford”.")
        self.count_label = QLabel()
        self.next_button = QPushButton("Find &Next")
        self.prev_button = QPushButton("Find &Previous")
        self.replace_button = QPushButton("&Replace")
        self.replace_all_button = QPushButton("Replace &All")
        self.replace_label = QLabel("Replace with:")

        grid = QGridLayout(self)
        grid.addWidget(QLabel("Find:"), 0, 0)
        grid.addWidget(self.find_edit, 0, 1)
        grid.addWidget(self.replace_label, 1, 0)
        grid.addWidget(self.replace_edit, 1, 1)
        options = QHBoxLayout()
        for w in (self.case_box, self.words_box, self.count_label):
            options.addWidget(w)
        options.addStretch(1)
        grid.addLayout(options, 2, 0, 1, 2)
        buttons = QHBoxLayout()
        for b in (self.prev_button, self.next_button, self.replace_button, self.replace_all_button):
            buttons.addWidget(b)
        grid.addLayout(buttons, 3, 0, 1, 2)

        self.find_edit.textChanged.connect(self.update_count)
        self.find_edit.returnPressed.connect(self.find_next)
        self.case_box.toggled.connect(self.update_count)
        self.words_box.toggled.connect(self.update_count)
        self.next_button.clicked.connect(self.find_next)
        self.prev_button.clicked.connect(self.find_previous)
        self.replace_button.clicked.connect(self.replace_one)
        self.replace_all_button.clicked.connect(self.replace_everywhere)
        editor.document().contentsChanged.connect(self._on_text_changed)
        self.update_count()

    def open_for(self, replace: bool) -> None:
        """Show the dialog (with the Replace row when `replace`), seeded with the selection."""
        for w in (
            self.replace_label,
            self.replace_edit,
            self.replace_button,
            self.replace_all_button,
        ):
            w.setVisible(replace)
        selected = self.editor.textCursor().selectedText()
        if selected and "\u2029" not in selected:
            self.find_edit.setText(selected)
        self.show()
        self.raise_()
        self.activateWindow()
        self.find_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.find_edit.selectAll()

    def flags(self, backward: bool = False) -> FindFlag:
        """The find flags of the options as they are set now."""
        return find_flags(
            match_case=self.case_box.isChecked(),
            whole_words=self.words_box.isChecked(),
            backward=backward,
        )

    def update_count(self) -> int:
        """Count the matches and show the count; returns it."""
        needle = self.find_edit.text()
        n = count_matches(self.editor.document(), needle, self.flags())
        self.count_label.setText("" if not needle else f"{n} match{'es' * (n != 1)}")
        for b in (self.next_button, self.prev_button, self.replace_button, self.replace_all_button):
            b.setEnabled(n > 0)
        return n

    def _on_text_changed(self) -> None:
        if self.isVisible():
            self.update_count()

    def find_next(self, backward: bool = False) -> bool:
        """Select the next (or previous) match after the cursor, wrapping around; returns
        whether one was found."""
        needle = self.find_edit.text()
        if not needle:
            return False
        document, flags = self.editor.document(), self.flags(backward)
        found = document.find(needle, self.editor.textCursor(), flags)
        if found.isNull():  # wrap around
            start = QTextCursor(document)
            if backward:
                start.movePosition(QTextCursor.MoveOperation.End)
            found = document.find(needle, start, flags)
        if found.isNull():
            return False
        self.editor.setTextCursor(found)
        return True

    def find_previous(self) -> bool:
        """Select the previous match, wrapping around."""
        return self.find_next(backward=True)

    def replace_one(self) -> None:
        """Replace the selected match (if the selection is one) and select the next."""
        cursor = self.editor.textCursor()
        if cursor.hasSelection() and self._is_match(cursor):
            cursor.insertText(self.replace_edit.text())
        self.find_next()

    def replace_everywhere(self) -> int:
        """Replace All, as one undo step; returns how many were replaced."""
        n = replace_all(self.editor, self.find_edit.text(), self.replace_edit.text(), self.flags())
        self.update_count()
        self.replaced.emit(n)
        return n

    def _is_match(self, cursor: QTextCursor) -> bool:
        probe = QTextCursor(self.editor.document())
        probe.setPosition(cursor.selectionStart())
        found = self.editor.document().find(self.find_edit.text(), probe, self.flags())
        return (found.selectionStart(), found.selectionEnd()) == (
            cursor.selectionStart(),
            cursor.selectionEnd(),
        )
