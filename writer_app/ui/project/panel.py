"""The project's side panel: its chapters with their word counts and the total, the
notes apart, and what could not be listed.

Rows, not widgets: one QTreeWidgetItem per file (at most core/project.MAX_FILES),
and the notes' names are never listed, so a notes file of 50,000 names costs
the panel nothing. Clicking a row shows that chapter; right-clicking one offers
Rename…, Earlier Versions… (the window's, after showing it) and Show in Folder.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from writer_app.core.project import ProjectFile
from writer_app.ui.project.session import ProjectSession

PATH_ROLE = Qt.ItemDataRole.UserRole
NOT_ON_DISK = "not on disk: saving writes it again"
MAX_LISTED_PROBLEMS = 50  # the note's tooltip names this many skipped files, then counts


def plural(n: int, word: str) -> str:
    """Return "1 word" or "1,234 words"."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


class ProjectPanel(QDockWidget):
    """The left dock of an open project; hidden while none is open."""

    versions_asked = Signal(object)  # a row's Earlier Versions…: the file's Path, now shown

    def __init__(self, session: ProjectSession, parent: QWidget | None = None):
        super().__init__("Project", parent)
        self.setObjectName("project_panel")
        self.session = session
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Chapter", "Words"])
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)  # thousands of rows lay out as one
        # The names take the room; the counts only what they need (Qt's default is the
        # other way round, and a chapter's name was cut to "01 Arriv…").
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemClicked.connect(self._on_clicked)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._show_menu)
        self.total_label = QLabel()
        self.note_label = QLabel()
        self.note_label.setWordWrap(True)
        self.new_button = QPushButton("New Chapter")
        self.rename_button = QPushButton("Rename…")
        self.new_button.clicked.connect(session.new_chapter)
        self.rename_button.clicked.connect(lambda: session.rename_chapter())
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.rename_button)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.total_label)
        layout.addWidget(self.note_label)
        layout.addLayout(buttons)
        self.setWidget(body)
        self.notes_item: QTreeWidgetItem | None = None
        self.total = 0  # the manuscript's words, as last shown
        self._items: dict[Path, tuple[QTreeWidgetItem, ProjectFile | None]] = {}
        session.index_changed.connect(self.rebuild)
        session.files.path_changed.connect(self.select)
        self.rebuild()

    def rebuild(self) -> None:
        """List the project's files again (after a scan)."""
        index = self.session.index
        self.setVisible(index is not None)
        self.tree.clear()
        self._items.clear()
        self.notes_item = None
        if index is None:
            return
        self.setWindowTitle(index.root.name)
        for file in index.chapters:
            self._add(self.tree.invisibleRootItem(), file)
        files = self.session.files
        listed = {f.path for f in index.chapters + index.notes}
        for doc in files.documents:  # open, but gone from the disk
            if (
                doc.path is not None
                and doc.path not in listed
                and doc.path.is_relative_to(index.root)
            ):
                item = QTreeWidgetItem([doc.path.name, NOT_ON_DISK])
                item.setData(0, PATH_ROLE, str(doc.path))
                item.setToolTip(0, f"{doc.path.name} is {NOT_ON_DISK}.")
                self.tree.addTopLevelItem(item)
                self._items[doc.path] = (item, None)
        if index.notes:
            self.notes_item = QTreeWidgetItem(["Notes", ""])
            self.notes_item.setToolTip(
                0,
                "Story notes: their names are the project's names; "
                "their words are not counted in the total.",
            )
            self.tree.addTopLevelItem(self.notes_item)
            for file in index.notes:
                self._add(self.notes_item, file)
            self.notes_item.setExpanded(True)
        self._set_note()
        self.update_counts()
        self.select(files.path)

    def _add(self, parent: QTreeWidgetItem, file: ProjectFile) -> None:
        item = QTreeWidgetItem([file.relative, ""])
        item.setToolTip(0, file.relative)  # whole, where the panel is too narrow for it
        item.setData(0, PATH_ROLE, str(file.path))
        item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight)
        parent.addChild(item)
        self._items[file.path] = (item, file)

    def _set_note(self) -> None:
        index = self.session.index
        lines = [f"{name}: {why}" for name, why in index.skipped[:MAX_LISTED_PROBLEMS]]
        if len(index.skipped) > MAX_LISTED_PROBLEMS:
            lines.append(f"… and {len(index.skipped) - MAX_LISTED_PROBLEMS:,} more")
        lines += [f"{a} and {b} differ only in case" for a, b in index.case_clashes]
        parts = []
        if index.skipped:
            parts.append(f"{plural(len(index.skipped), 'file')} not listed")
        if index.case_clashes:
            parts.append(f"{plural(len(index.case_clashes), 'name')} differing only in case")
        self.note_label.setText("; ".join(parts) + " (point here for details)." if parts else "")
        self.note_label.setToolTip("\n".join(lines))
        self.note_label.setVisible(bool(parts))

    def update_counts(self) -> None:
        """Show each chapter's word count and the manuscript's total (notes not counted)."""
        index = self.session.index
        if index is None:
            return
        total = 0
        for item, file in self._items.values():
            if file is None:
                continue
            words = self.session.words_of(file)
            item.setText(1, f"{words:,}")
            if not file.is_notes:
                total += words
        self.total = total
        self.total_label.setText(
            f"Total: {plural(total, 'word')} in {plural(len(index.chapters), 'chapter')}"
        )

    def select(self, path: Path | None = None) -> None:
        """Highlight the row of the file shown (none when it is not in the project)."""
        entry = self._items.get(Path(path)) if path is not None else None
        self.tree.setCurrentItem(entry[0] if entry else None)

    def item_for(self, path: Path) -> QTreeWidgetItem | None:
        """Return the row of `path`, or None."""
        entry = self._items.get(Path(path))
        return entry[0] if entry else None

    def _on_clicked(self, item: QTreeWidgetItem) -> None:
        path = item.data(0, PATH_ROLE)
        if path and Path(path) != self.session.files.path:
            self.session.open_file(Path(path))

    def context_menu(self, item: QTreeWidgetItem | None) -> QMenu | None:
        """Return the menu of a file's row (None for the Notes heading or no row)."""
        path = item.data(0, PATH_ROLE) if item is not None else None
        if not path:
            return None
        path = Path(path)
        entry = self._items.get(path)
        menu = QMenu(self)
        rename = menu.addAction("Rename…", lambda: self.session.rename_chapter(path))
        rename.setEnabled(entry is not None and entry[1] is not None and not entry[1].is_notes)
        menu.addAction("Earlier Versions…", lambda: self._versions(path))
        menu.addAction(
            "Show in Folder",
            lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent))),
        )
        return menu

    def _show_menu(self, pos) -> None:
        menu = self.context_menu(self.tree.itemAt(pos))
        if menu is not None:
            menu.exec(self.tree.viewport().mapToGlobal(pos))

    def _versions(self, path: Path) -> None:
        if path == self.session.files.path or self.session.open_file(path) is not None:
            self.versions_asked.emit(path)
