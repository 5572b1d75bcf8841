"""The engine's copy of the document, kept by edits.

The engine keeps its own copy of the text (for its DocumentNgrams: the
document's names and phrases). Each edit is sent as it happens; once the
offsets can't be trusted (text outside the Basic Multilingual Plane, or a
change whose counts don't fit plain text), the whole text is sent again
before the next request.
"""

from __future__ import annotations

import re

from PySide6.QtGui import QTextCursor

from writer_app.ui.editor.ghost_editor import GhostEditor
from writer_app.ui.suggest.worker import WorkerHandle

# Characters outside the Basic Multilingual Plane (emoji, some CJK): Qt counts
# them as two positions, Python as one, so edit offsets stop matching.
ASTRAL = re.compile("[\U00010000-\U0010ffff]")


class DocumentSync:
    """Sends the editor's edits to the engine (through `worker`) as they happen."""

    def __init__(self, editor: GhostEditor, worker: WorkerHandle):
        self.editor = editor
        self.worker = worker
        self._astral = False
        self._resync = False
        self._document = editor.document()
        self._document.contentsChange.connect(self._on_contents_change)
        worker.worker.document_lost.connect(self.resend)

    def follow(self) -> None:
        """The editor shows another document (a project's chapter): take its edits from now
        on, and send its whole text before the next request."""
        try:
            self._document.contentsChange.disconnect(self._on_contents_change)
        except (RuntimeError, TypeError):  # the editor's first document is deleted by now
            pass
        self._document = self.editor.document()
        self._document.contentsChange.connect(self._on_contents_change)
        self._astral = bool(ASTRAL.search(self.editor.toPlainText()))
        self._resync = True

    def start(self) -> None:
        """A new engine (first load, restart after a crash, reload): send the whole text."""
        text = self.editor.toPlainText()
        self._astral, self._resync = bool(ASTRAL.search(text)), False
        self.worker.notify("set_document", text)

    def resend(self) -> None:
        """Send the whole text before the next request (the engine lost its copy)."""
        self._resync = True

    def sync(self) -> None:
        """Send the whole text if the engine's copy can't be kept by edits; before a request."""
        if self._resync:
            self._resync = False
            self.worker.notify("set_document", self.editor.toPlainText())

    def _on_contents_change(self, position: int, removed: int, added: int) -> None:
        if self._astral or self._resync:
            self._resync = True
            return
        document = self.editor.document()
        if position + added > document.characterCount() - 1:
            # Qt counts the final paragraph end in some changes (the first text in
            # an empty document, setPlainText): the counts don't fit plain text.
            self._resync = True
            return
        cursor = QTextCursor(document)
        cursor.setPosition(position)
        cursor.setPosition(position + added, QTextCursor.MoveMode.KeepAnchor)
        inserted = cursor.selectedText().replace("\u2029", "\n")
        if ASTRAL.search(inserted):
            self._astral = self._resync = True
            return
        self.worker.notify("document_changed", position, removed, inserted)
