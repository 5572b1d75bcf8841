"""File → Earlier Versions…: the versions the app kept of the current file (core/versions.py),
each shown before it is taken (whole, or as what changed from it to the text now), and
Restore, which puts one in the editor as one undoable edit: nothing is written until the
writer saves, and Undo takes it back."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from PySide6.QtGui import QFont, QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from writer_app.core.documents import text_diff
from writer_app.core.text_io import TextFileError
from writer_app.core.versions import Version, list_versions
from writer_app.ui.editor.ghost_editor import GhostEditor

RESTORE = "Restore This Version"
NONE_YET = "No earlier versions yet: one is kept each time you save over this file."


def when_words(when: datetime, today: date | None = None) -> str:
    """Return e.g. "Today 14:02", "Yesterday 09:15" or "Mon 30 Nov 2026 14:02"."""
    today = today or date.today()
    days = (today - when.date()).days
    day = {0: "Today", 1: "Yesterday"}.get(days, f"{when:%a} {when.day} {when:%b %Y}")
    return f"{day} {when:%H:%M}"


class VersionsDialog(QDialog):
    """The kept versions of `path`, newest first, with the selected one's text; Restore
    puts it in `editor` (one undo step) and closes the dialog."""

    def __init__(self, path: Path, editor: GhostEditor, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Earlier Versions of {path.name}")
        self.editor = editor
        self.versions: list[Version] = list_versions(path)
        self.restored: Version | None = None
        self.list = QListWidget()
        self.list.addItems([when_words(v.when) for v in self.versions])
        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.about = QLabel(NONE_YET if not self.versions else "")
        self.about.setWordWrap(True)
        self.changes = QCheckBox("Show what changed since")
        self.changes.setToolTip(
            "The paragraphs this version had that are gone now (-) and the ones written "
            "since (+), instead of the whole version."
        )
        self.changes.toggled.connect(lambda _: self._show(self.list.currentRow()))
        self.changes.setEnabled(bool(self.versions))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.restore_button = buttons.addButton(RESTORE, QDialogButtonBox.ButtonRole.ActionRole)
        self.restore_button.setToolTip(
            "Put this version in the editor. Nothing is saved until you save, and Undo "
            "takes it back."
        )
        self.restore_button.clicked.connect(self.restore)
        buttons.rejected.connect(self.reject)
        panes = QHBoxLayout()
        panes.addWidget(self.list, 1)
        panes.addWidget(self.preview, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(panes, 1)
        layout.addWidget(self.changes)
        layout.addWidget(self.about)
        layout.addWidget(buttons)
        self.list.currentRowChanged.connect(self._show)
        self.resize(820, 520)
        self._text = ""
        if self.versions:
            self.list.setCurrentRow(0)
        self._update_button()

    def _show(self, row: int) -> None:
        self._text = ""
        if not 0 <= row < len(self.versions):
            self.preview.clear()
        else:
            try:
                self._text = self.versions[row].read().text
                self.about.setText(f"{len(self._text.split()):,} words.")
                if self.changes.isChecked():
                    now = self.editor.toPlainText()
                    diff = text_diff(self._text, now, "this version", "your text now")
                    self.preview.setPlainText(diff or "The same text as now.")
                    self.preview.setFont(QFont("monospace"))
                else:
                    self.preview.setPlainText(self._text)
                    self.preview.setFont(self.font())
            except (OSError, TextFileError) as err:
                self.preview.clear()
                self.about.setText(f"This version cannot be read: {err}")
        self._update_button()

    def _update_button(self) -> None:
        self.restore_button.setEnabled(bool(self._text) and not self.editor.isReadOnly())

    def restore(self) -> None:
        """Put the selected version's text in the editor as one undoable edit, and close."""
        row = self.list.currentRow()
        if not self._text or self.editor.isReadOnly() or not 0 <= row < len(self.versions):
            return
        self.editor.hide_ghost()
        cursor = QTextCursor(self.editor.document())
        cursor.beginEditBlock()
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.insertText(self._text)
        cursor.endEditBlock()
        self.restored = self.versions[row]
        self.accept()
