"""Edit → Find… (Ctrl+F) and Replace… (Ctrl+H) in the open text.

A small non-modal dialog over the editor: what to find, what to put instead,
Match Case and Whole Words, and a live count of matches. Matching is
QTextDocument.find's, so what is counted is what Find Next selects and what
Replace All replaces. Replace All is one edit block: one Undo restores the
whole text. The ghost suggestion is painted, never in the document, so it is
never found or replaced.

With a project open, "Whole project" searches every chapter and notes file:
Find Next goes on into the next file that has a match (opening it as the
panel would), and Replace All replaces in each file as its own edit block,
so one Undo in a chapter restores that chapter; the chapters changed are
left unsaved for the writer to read and save. Files not open yet are counted
from disk with the same rules (a regular expression of the same options).
"""

from __future__ import annotations

import re
from pathlib import Path

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

from writer_app.core.text_io import TextFileError, read_text_file

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


def match_pattern(needle: str, *, match_case: bool, whole_words: bool) -> re.Pattern:
    """Return the regular expression that finds `needle` as QTextDocument.find does with
    the same options (for files that are not open)."""
    body = re.escape(needle)
    if whole_words:
        body = rf"(?<!\w){body}(?!\w)"
    return re.compile(body, 0 if match_case else re.IGNORECASE)


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

    def __init__(self, editor: QTextEdit, parent: QWidget | None = None, project=None):
        super().__init__(parent)
        self.editor = editor
        self.project = project  # a ProjectSession, or None: this text only
        self._disk_texts: dict[Path, tuple[tuple[int, int], str]] = {}  # see _text_of
        self.setWindowTitle("Find and Replace")
        self.setModal(False)
        self.find_edit = QLineEdit(placeholderText="Find")
        self.replace_edit = QLineEdit(placeholderText="Replace with")
        self.case_box = QCheckBox("Match &case")
        self.case_box.setToolTip("Find “Mara” but not “mara”.")
        self.words_box = QCheckBox("&Whole words")
        self.words_box.setToolTip("Find “Ash” but not “Ashford”.")
        self.project_box = QCheckBox("Whole &project")
        self.project_box.setToolTip(
            "Search every chapter and notes file of the open project, not only this one."
        )
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
        for w in (self.case_box, self.words_box, self.project_box, self.count_label):
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
        self.project_box.toggled.connect(self.update_count)
        self.next_button.clicked.connect(self.find_next)
        self.prev_button.clicked.connect(self.find_previous)
        self.replace_button.clicked.connect(self.replace_one)
        self.replace_all_button.clicked.connect(self.replace_everywhere)
        self._document: QTextDocument | None = None
        self.follow_document()
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
        in_project = self._project_files() is not None
        self.project_box.setVisible(in_project)
        if not in_project:
            self.project_box.setChecked(False)
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
        """Count the matches (in this text, or in the whole project) and show the count;
        returns it."""
        self.follow_document()
        needle = self.find_edit.text()
        if self.in_project():
            counts = self.project_counts()
            n, files = sum(counts.values()), sum(1 for c in counts.values() if c)
            where = f" in {files} file{'s' * (files != 1)}" if n else ""
        else:
            n, where = count_matches(self.editor.document(), needle, self.flags()), ""
        self.count_label.setText("" if not needle else f"{n} match{'es' * (n != 1)}{where}")
        for b in (self.next_button, self.prev_button, self.replace_button, self.replace_all_button):
            b.setEnabled(n > 0)
        return n

    def follow_document(self) -> None:
        """Count again as the editor's text changes, whichever document it shows now
        (a chapter switch gives it another)."""
        document = self.editor.document()
        if document is self._document:
            return
        if self._document is not None:
            try:
                self._document.contentsChanged.disconnect(self._on_text_changed)
            except (RuntimeError, TypeError):  # gone with its chapter
                pass
        self._document = document
        document.contentsChanged.connect(self._on_text_changed)

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
        if found.isNull() and self.in_project():
            return self._find_in_next_file(backward)
        if found.isNull():  # wrap around
            found = document.find(needle, self._start(document, backward), flags)
        if found.isNull():
            return False
        self.editor.setTextCursor(found)
        return True

    @staticmethod
    def _start(document: QTextDocument, backward: bool) -> QTextCursor:
        start = QTextCursor(document)
        if backward:
            start.movePosition(QTextCursor.MoveOperation.End)
        return start

    # --- the whole project ------------------------------------------------------

    def _project_files(self) -> list[Path] | None:
        index = getattr(self.project, "index", None)
        if index is None:
            return None
        return [f.path for f in (*index.chapters, *index.notes)]

    def in_project(self) -> bool:
        """Whether the search covers the whole project."""
        return self.project_box.isChecked() and self._project_files() is not None

    def _text_of(self, path: Path) -> str:
        doc = self.project.files.find(path)
        if doc is not None:
            return doc.document.toPlainText()
        # Files not open are read once per version (mtime, size), as the scan counts
        # their words: the count follows every keystroke in the Find box.
        try:
            st = path.stat()
        except OSError:
            return ""
        key = (st.st_mtime_ns, st.st_size)
        cached = self._disk_texts.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        try:
            text = read_text_file(path).text
        except TextFileError:
            text = ""  # the panel says why it can't be opened
        self._disk_texts[path] = (key, text)
        return text

    def project_counts(self) -> dict[Path, int]:
        """Return the matches in each file of the project (the open ones as they are now)."""
        needle = self.find_edit.text()
        if not needle:
            return {}
        pattern = match_pattern(
            needle, match_case=self.case_box.isChecked(), whole_words=self.words_box.isChecked()
        )
        return {path: len(pattern.findall(self._text_of(path))) for path in self._project_files()}

    def _find_in_next_file(self, backward: bool) -> bool:
        files = self._project_files()
        counts = self.project_counts()
        here = self.project.files.path
        at = files.index(here) if here in files else -1
        step = -1 if backward else 1
        for i in range(1, len(files) + 1):
            path = files[(at + step * i) % len(files)]
            if counts.get(path):
                if self.project.open_file(path) is None:
                    continue
                document = self.editor.document()
                found = document.find(
                    self.find_edit.text(), self._start(document, backward), self.flags(backward)
                )
                if not found.isNull():
                    self.editor.setTextCursor(found)
                    return True
        return False

    def _replace_in_project(self) -> int:
        counts = self.project_counts()
        back_to = self.project.files.path
        needle, replacement, flags = self.find_edit.text(), self.replace_edit.text(), self.flags()
        done = 0
        for path, n in counts.items():
            if n and self.project.open_file(path) is not None:
                done += replace_all(self.editor, needle, replacement, flags)
        if back_to is not None and back_to != self.project.files.path:
            self.project.open_file(back_to)
        return done

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
        """Replace All, as one undo step per file; returns how many were replaced."""
        if self.in_project():
            n = self._replace_in_project()
        else:
            n = replace_all(
                self.editor, self.find_edit.text(), self.replace_edit.text(), self.flags()
            )
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
