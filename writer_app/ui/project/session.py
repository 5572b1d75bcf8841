"""The open project: its folder, its chapters and notes, and the names the notes define.

A project is a folder the writer owns (core/project.py); this session keeps
its index, rebuilt from the files whenever they change (a QFileSystemWatcher
on the folders and files, debounced), and opens its chapters through
DocumentFiles, which keeps one document per opened chapter. It never touches
the settings (the window remembers the last project on `opened`).

For the suggestion side: names() are the names of all the notes files;
`names_changed` says when they change (a notes file saved here or changed
on disk) and `texts_changed` when any chapter or notes file does.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

from writer_app.core.project import (
    MAX_FILES,
    ProjectError,
    ProjectFile,
    ProjectIndex,
    StoryName,
    create_chapter,
    next_chapter_name,
    project_names,
    rename_chapter,
    scan_project,
)
from writer_app.core.versions import follow_rename
from writer_app.ui.editor.document_files import DocumentFiles
from writer_app.ui.editor.open_document import OpenDocument
from writer_app.ui.editor.word_count import WordCounter

log = logging.getLogger(__name__)
RESCAN_DELAY_MS = 300  # one rescan for a burst of changes (a save is a write and a rename)
MAX_WATCHED_FILES = 2_000  # beyond this only the folders are watched (inotify watches are few)
NOTE_MS = 8_000


def ask_name(parent: QWidget, title: str, label: str, default: str) -> str | None:
    """Ask for a name (tests replace this); return it, or None when the writer cancels."""
    text, ok = QInputDialog.getText(parent, title, label, text=default)
    return text if ok else None


class ProjectSession(QObject):
    """The project open in the window (none at first): `root`, `index`, names()."""

    opened = Signal(object)  # the project's folder, a Path; None: the project was closed
    index_changed = Signal()  # the chapters or notes changed (a rescan)
    names_changed = Signal(list)  # list[StoryName]: the notes' names, after any change
    texts_changed = Signal()  # a chapter or notes file changed, saved here or on disk
    flash = Signal(str, int)  # a passing status-bar message (text, ms)

    def __init__(self, window: QWidget, files: DocumentFiles):
        super().__init__(window)
        self.window = window
        self.files = files
        self.index: ProjectIndex | None = None
        self._names: list[StoryName] = []
        self._counts: dict[Path, tuple[int, int, int]] = {}  # per file: mtime_ns, size, words
        self._notes_seen: dict[Path, tuple[int, int]] | None = None  # None: names not read
        self.watcher = QFileSystemWatcher(self)
        self.watcher.directoryChanged.connect(self.schedule_rescan)
        self.watcher.fileChanged.connect(self.schedule_rescan)
        self.rescan_timer = QTimer(self, singleShot=True, interval=RESCAN_DELAY_MS)
        self.rescan_timer.timeout.connect(self.rescan)
        files.saved.connect(self._on_saved)
        files.project_left.connect(self._forget)

    @property
    def root(self) -> Path | None:
        """The project's folder (None: no project is open)."""
        return self.index.root if self.index is not None else None

    def names(self) -> list[StoryName]:
        """Return the names the project's notes define (notes.md and notes/**)."""
        return list(self._names)

    # --- open and close -------------------------------------------------------

    def open_folder(self, folder: str | Path | None = None) -> bool:
        """Open `folder` (or ask for one) as the project, after offering to save changes;
        show its first chapter. Returns False when it was not opened (said why)."""
        if folder is None:
            start = str(self.root or (self.files.path.parent if self.files.path else ""))
            folder = QFileDialog.getExistingDirectory(self.window, "Open Folder", start)
            if not folder:
                return False
        root = Path(folder).expanduser().absolute()
        try:
            index = scan_project(root, counts=self._counts)
        except OSError as err:  # not a folder, gone, unreadable: said in words
            QMessageBox.warning(self.window, "Could not open the folder", str(err))
            return False
        if not self.files.maybe_save():
            return False
        self.files.close_all()
        self.files.project_root = root
        self.index, self._notes_seen = index, None
        self._watch()
        self._read_names()
        self.opened.emit(root)
        self.index_changed.emit()
        self._say_problems(index)
        first = index.chapters[0] if index.chapters else (index.notes[:1] or [None])[0]
        if first is not None:
            self.open_file(first.path)
        else:
            self.flash.emit(
                f"{root.name} has no chapters yet: File → New Chapter makes the first.", NOTE_MS
            )
        return True

    def close(self) -> bool:
        """File → Close: close the project (after offering to save its chapters) and show an
        empty, untitled page; returns False when the writer cancels."""
        if not self.files.maybe_save():
            return False
        self.files.leave_project()  # closes the documents, and tells _forget
        return True

    def _forget(self) -> None:
        self.files.project_root = None
        self.index, self._names, self._notes_seen = None, [], None
        self._unwatch()
        self.names_changed.emit([])
        self.index_changed.emit()
        self.opened.emit(None)

    def _say_problems(self, index: ProjectIndex) -> None:
        # Said once at open, in the status bar; the panel's note keeps the details.
        problems = []
        if any(why.startswith(f"more than {MAX_FILES}") for _, why in index.skipped):
            problems.append(f"only the first {MAX_FILES:,} files are listed")
        elif index.skipped:
            problems.append(f"{len(index.skipped)} files can't be opened as text")
        if index.case_clashes:
            a, b = index.case_clashes[0]
            problems.append(f"{a} and {b} differ only in case (both open here)")
        if problems:
            self.flash.emit(f"{index.root.name}: " + "; ".join(problems) + ".", NOTE_MS)

    # --- chapters -------------------------------------------------------------

    def open_file(self, path: Path) -> OpenDocument | None:
        """Show the chapter or notes file at `path` (opening it the first time); return its
        document, or None when it could not be opened (said why)."""
        return self.files.open_document(path)

    def step_chapter(self, step: int) -> OpenDocument | None:
        """Show the chapter `step` places after the one shown (-1: the one before; from a
        notes file, the first or the last chapter); returns it, or None at either end."""
        chapters = [c.path for c in self.index.chapters] if self.index is not None else []
        if not chapters:
            return None
        current = self.files.path
        if current in chapters:
            n = chapters.index(current) + step
        else:
            n = 0 if step > 0 else len(chapters) - 1
        return self.open_file(chapters[n]) if 0 <= n < len(chapters) else None

    def words_of(self, file: ProjectFile) -> int:
        """Return the words of `file`: its open document's count, else the scan's."""
        doc = self.files.find(file.path)
        counter = doc.document.findChild(WordCounter) if doc is not None else None
        return counter.total if counter is not None else file.words

    def new_chapter(self) -> Path | None:
        """File → New Chapter: ask a name ("Chapter N", the next free number), create the
        file in the project's folder and show it; return its path, or None."""
        if self.index is None:
            return None
        default = Path(next_chapter_name(self.index)).stem
        name = ask_name(self.window, "New Chapter", "Name of the new chapter:", default)
        if name is None:
            return None
        try:
            path = create_chapter(self.index.root, name)
        except ProjectError as err:
            QMessageBox.warning(self.window, "New Chapter", str(err))
            return None
        self.rescan()
        self.open_file(path)
        return path

    def rename_chapter(self, path: Path | None = None) -> Path | None:
        """Rename the chapter at `path` (default: the one shown) on disk, after asking its
        new name; an open chapter follows. Returns the new path, or None."""
        path = Path(path) if path is not None else self.files.path
        if self.index is None or path is None:
            return None
        name = ask_name(self.window, "Rename Chapter", f"New name for {path.name}:", path.stem)
        if name is None or name.strip() in (path.stem, path.name):
            return None
        try:
            new = rename_chapter(path, name)
        except ProjectError as err:
            QMessageBox.warning(self.window, "Rename Chapter", str(err))
            return None
        unmoved = ""
        try:
            follow_rename(path, new)  # File → Earlier Versions… finds them under the new name
        except OSError as err:
            log.warning("the earlier versions of %s stay under its old name: %s", path, err)
            unmoved = f" Its earlier versions stay under the old name ({err.strerror or err})."
        doc = self.files.find(path)
        if doc is not None:
            doc.path = new
            self.files.claim(new, doc)
            doc.autosaved_revision = -1  # its recovery copy must name the new file
            if doc is self.files.current:
                self.files.path = new  # the title, the statistics
                self.files.autosave()
            elif doc.modified:
                self._copy_for_recovery(doc)
        self.rescan()
        self.flash.emit(f"Renamed {path.name} to {new.name}.{unmoved}", NOTE_MS)
        return new

    def _copy_for_recovery(self, doc: OpenDocument) -> None:
        # A hidden chapter's recovery copy, under its new name (the shown one autosaves).
        try:
            doc.recovery.save(doc.document.toPlainText(), str(doc.path))
        except OSError as err:  # the next autosave of a shown chapter says it to the writer
            log.warning("could not update the recovery copy of %s: %s", doc.path, err)

    # --- changes on disk ------------------------------------------------------

    def schedule_rescan(self, *_) -> None:
        """Rescan soon (a burst of file changes gives one rescan)."""
        if self.index is not None:
            self.rescan_timer.start()

    def rescan(self) -> None:
        """Read the folder again: the chapters, their counts, and the names if notes changed."""
        self.rescan_timer.stop()
        if self.index is None:
            return
        before = dict(self._counts)
        try:
            self.index = scan_project(self.index.root, counts=self._counts)
        except OSError as err:
            self.flash.emit(f"The project folder can't be read now: {err}", NOTE_MS)
            return
        self._watch()
        self._read_names()
        self.index_changed.emit()
        if self._counts != before:
            self.texts_changed.emit()

    def _on_saved(self, path: Path) -> None:
        if self.root is not None and Path(path).is_relative_to(self.root):
            self.rescan()

    def _read_names(self) -> None:
        seen = {n.path: self._counts.get(n.path, (0, 0, 0))[:2] for n in self.index.notes}
        if seen == self._notes_seen:
            return
        self._notes_seen = seen
        self._names = project_names(self.index)
        self.names_changed.emit(self.names())

    def _watch(self) -> None:
        index = self.index
        files = [f.path for f in index.chapters + index.notes]
        folders = {index.root} | {p.parent for p in files}
        wanted = {str(p) for p in folders} | {str(p) for p in files[:MAX_WATCHED_FILES]}
        have = set(self.watcher.files()) | set(self.watcher.directories())
        if wanted - have:
            self.watcher.addPaths(sorted(wanted - have))
        if have - wanted:
            self.watcher.removePaths(sorted(have - wanted))

    def _unwatch(self) -> None:
        paths = self.watcher.files() + self.watcher.directories()
        if paths:
            self.watcher.removePaths(paths)
