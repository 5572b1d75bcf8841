"""Which documents are open in the window, and which one the editor shows.

A single file is one document; a project keeps one per chapter opened
(editor/open_document.py), each with its own QTextDocument and so its own
undo history. show() switches the editor to another and says so
(`document_shown`), so that the parts listening to the document itself
follow it. DocumentFiles (document_files.py) builds on this with the
reading, writing and recovering of their files; it provides the hooks used
here: autosave(), set_read_only() and _schedule_autosave().
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QTextCursor, QTextDocument

from writer_app.core.open_files import DocumentLock
from writer_app.core.recovery import RecoverySession
from writer_app.core.text_io import FileStamp
from writer_app.ui.editor.ghost_editor import GhostEditor
from writer_app.ui.editor.open_document import OpenDocument


class DocumentSet(QObject):
    """The open documents of one editor; `current` is the one it shows."""

    replacing = Signal()  # the editor's whole text is about to be replaced (or swapped)
    # A new document (new, open, recovered, shown) or Save As: its file, a Path or None.
    path_changed = Signal(object)
    document_shown = Signal()  # the editor shows another QTextDocument (a chapter switch)
    project_left = Signal()  # New or Open closed the project's documents

    def __init__(self, parent: QObject, editor: GhostEditor):
        super().__init__(parent)
        self.editor = editor
        # Ours, not the editor's: QTextEdit deletes its own document when another is shown,
        # and a project's documents come and go. Its word count goes with it (GhostEditor
        # finds a document's count among its children).
        editor.document().setParent(self)
        editor.words.setParent(editor.document())
        self.current = OpenDocument(editor.document())
        self.documents = [self.current]  # every open document, the current one included
        self.project_root: Path | None = None  # set while a project is open (ui/project/)

    # --- the current document's face -------------------------------------------

    @property
    def path(self) -> Path | None:
        """The current document's file (None: untitled)."""
        return self.current.path

    @path.setter
    def path(self, path: Path | None) -> None:
        self.current.path = path
        self.path_changed.emit(path)

    @property
    def name(self) -> str:
        """The current file's name, or "Untitled"."""
        return self.current.name

    @property
    def recovery(self) -> RecoverySession:
        """The current document's RecoverySession."""
        return self.current.recovery

    @property
    def lock(self) -> DocumentLock | None:
        """The current document's lock (None: not locked)."""
        return self.current.lock

    @property
    def read_only(self) -> bool:
        """Whether the current document is open read-only (open in another window)."""
        return self.current.read_only

    @property
    def stamp(self) -> FileStamp | None:
        """The current file as last read or saved (a FileStamp; None: no file yet)."""
        return self.current.stamp

    # --- several documents (a project's chapters) --------------------------------

    def find(self, path: Path) -> OpenDocument | None:
        """Return the open document of `path`, or None."""
        path = Path(path).absolute()
        return next((d for d in self.documents if d.path == path), None)

    def unsaved(self) -> list[OpenDocument]:
        """Return the open documents with unsaved edits, the current one first."""
        rest = [d for d in self.documents if d.modified and d is not self.current]
        return ([self.current] if self.current.modified else []) + rest

    def show(self, doc: OpenDocument) -> None:
        """Show `doc` in the editor, where the writer left it, with its own undo history."""
        if doc is self.current:
            return
        self.autosave()  # the document left keeps an up-to-date recovery copy
        left = self.current
        left.cursor = self.editor.textCursor().position()
        left.scroll = self.editor.verticalScrollBar().value()
        self.replacing.emit()
        self.current = doc
        self.editor.setDocument(doc.document)
        cursor = QTextCursor(doc.document)
        cursor.setPosition(min(doc.cursor, doc.document.characterCount() - 1))
        self.editor.setTextCursor(cursor)
        self.editor.verticalScrollBar().setValue(doc.scroll)
        self.set_read_only(doc.read_only, doc.path)
        self.document_shown.emit()
        self.path_changed.emit(doc.path)

    def forget(self, doc: OpenDocument) -> None:
        """Close `doc` (saved or discarded by now); the current one gives way to a new,
        empty document."""
        if doc is self.current:
            self.show(self._new_document(keep=True))
        doc.release()
        self.documents.remove(doc)
        doc.document.deleteLater()

    def close_all(self) -> None:
        """Close every document (saved or discarded by now) and show a new, empty one."""
        fresh = self._new_document(keep=True)
        self.show(fresh)
        for doc in [d for d in self.documents if d is not fresh]:
            self.forget(doc)
        self.path = None

    def _new_document(self, keep: bool = False) -> OpenDocument:
        doc = OpenDocument(QTextDocument(self))
        doc.document.contentsChanged.connect(self._schedule_autosave)
        if keep:
            self.documents.append(doc)
        return doc

    def leave_project(self) -> None:
        """Close a project's documents (saved or discarded by now), so that a single file
        opens as it always did; nothing when no project is open."""
        if self.project_root is None and len(self.documents) == 1:
            return
        self.close_all()
        self.project_root = None
        self.project_left.emit()
