"""The engine's view of the open project: which files its memory learns from, and the names.

The engine process reads and counts the project's files itself, in the
background (engine/project_memory.py); this sends it only their paths, the
open chapter to leave out (it is the document, sent edit by edit by
DocumentSync), and the notes' names for completion. It sends them again
when the project opens, when any file changes (ProjectSession.texts_changed,
a change on disk by another program included), when another chapter is
shown, and when an engine (re)starts. writer-bench builds the same with
engine.project_memory.project_paths and name_rows.

`describe_why` puts a suggestion's SuggestionExtra in words for the status bar.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject

from writer_app.engine.config import SuggestionExtra
from writer_app.engine.project_memory import name_rows, project_paths

SHOWN_SHARE = 0.05  # the project memory's share below which the status bar says nothing of it


def describe_why(extra: SuggestionExtra) -> str:
    """Return what fed a suggestion, in words ("" when only the model did)."""
    parts = []
    if extra.names:
        parts.append("from your notes: " + ", ".join(extra.names))
    if extra.project_share >= SHOWN_SHARE:
        parts.append(f"{round(100 * extra.project_share)}% from your chapters")
    if not parts:
        return ""
    text = "; ".join(parts)
    return "Suggested " + text + "."


class ProjectSync(QObject):
    """Keeps the engine's project memory and names in step with the open project."""

    def __init__(self, projects, files, suggestions, parent: QObject | None = None):
        super().__init__(parent)
        self.projects = projects
        self.files = files
        self.worker = suggestions.worker
        self._sent: tuple | None = None
        projects.opened.connect(self.send_all)
        projects.texts_changed.connect(self.send_files)
        projects.names_changed.connect(self.send_names)
        files.document_shown.connect(self._on_document_shown)
        suggestions.engine.loaded.connect(self.send_all)

    def send_all(self, *_) -> None:
        """Send the files and the names (a project opened or closed, a new engine)."""
        self.send_files()
        self.send_names()

    def send_files(self) -> None:
        """Send the project's files and the open one to leave out (all again: any may have
        changed on disk; the engine reads only those whose size or time changed)."""
        index = self.projects.index
        paths = [str(p) for p in project_paths(index)] if index is not None else []
        self._sent = (paths, self._open_path(paths))
        self.worker.notify("set_project", *self._sent)

    def send_names(self, *_) -> None:
        """Send the notes' names for completion."""
        self.worker.notify("set_names", name_rows(self.projects.names()))

    def _on_document_shown(self) -> None:
        index = self.projects.index
        paths = [str(p) for p in project_paths(index)] if index is not None else []
        if (paths, self._open_path(paths)) != self._sent:
            self.send_files()

    def _open_path(self, paths: list[str]) -> str | None:
        path = self.files.path
        return str(path) if path is not None and str(Path(path)) in paths else None
