"""The main window: it builds the editor and its helpers, and wires them together.

Each job has its own room, as novelWriter's GuiMain hands its menus and
status bar to GuiMainMenu and GuiMainStatus:

- suggest/ (SuggestionController): when to ask, the engine process,
  which ghost to show where;
- editor/ (GhostEditor, DocumentFiles): the editing surface; new, open,
  save, unsaved changes, crash recovery;
- project/ (ProjectSession, ProjectPanel): a folder of chapters and notes,
  its side panel, and the names its notes define;
- main_menu.py (MainMenu): the menu bar, from a table of actions;
- main_status.py (MainStatus): the status bar's labels;
- stats/ (StatsRecorder, StatisticsDialog): the suggestion statistics;
- training/: Train on My Writing;
- dialogs/ and theme.py: Settings, About the Model, the shortcuts, the look.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QDialog, QMainWindow, QMessageBox

from writer_app.core.project import name_words
from writer_app.core.spelling import SpellChecker
from writer_app.core.stats import SuggestionStats
from writer_app.ui.dialogs.find_replace import FindReplaceDialog
from writer_app.ui.dialogs.info import ModelInfoDialog, show_shortcuts
from writer_app.ui.dialogs.settings import SettingsDialog
from writer_app.ui.dialogs.versions import VersionsDialog, when_words
from writer_app.ui.dialogs.welcome import WelcomeDialog
from writer_app.ui.editor.document_files import DocumentFiles
from writer_app.ui.editor.export import ExportActions
from writer_app.ui.editor.focus import FocusMode
from writer_app.ui.editor.ghost_editor import GhostEditor
from writer_app.ui.editor.spelling import SpellingUnderlines
from writer_app.ui.main_menu import MainMenu
from writer_app.ui.main_status import MainStatus
from writer_app.ui.project.panel import ProjectPanel
from writer_app.ui.project.session import ProjectSession
from writer_app.ui.settings import FONT_SIZES, AppSettings, load_settings, save_settings
from writer_app.ui.stats.dialog import StatisticsDialog
from writer_app.ui.stats.recorder import StatsRecorder, describe_counts
from writer_app.ui.stats.today import TodayCounter
from writer_app.ui.suggest.controller import SuggestionController
from writer_app.ui.suggest.project_sync import ProjectSync
from writer_app.ui.theme import apply_appearance
from writer_app.ui.training.dock import install_training

STATS_FAILED_MS = 15_000
# How long the status bar says: the new text size, what a drop of several opened, and
# "Restored the version of …".
ZOOM_NOTE_MS = 2_000
DROP_NOTE_MS = 6_000
VERSION_NOTE_MS = 10_000
DEFAULT_FONT_SIZE = AppSettings().font_size  # View → Actual Size


class MainWindow(QMainWindow):
    """The writer's window.

    `model_override` (writer-app --model) replaces the model of the settings for
    this run without being saved; `load_model=False` starts without an engine.
    Its parts: editor, suggestions, files, menu (and model_menu), status, stats.
    """

    def __init__(
        self,
        settings: AppSettings | None = None,
        *,
        model_override: str | None = None,
        load_model: bool = True,
    ):
        super().__init__()
        self.settings = settings if settings is not None else load_settings()
        self.model_override = model_override

        self.editor = GhostEditor(self)
        self.setCentralWidget(self.editor)
        self.editor.setPlaceholderText(
            "Start writing — suggestions appear in grey; Tab takes them, Esc waves them away."
        )
        self.suggestions = SuggestionController(
            self.editor, self.settings, model_override=model_override, parent=self
        )
        self.suggestion_handled = self.suggestions.suggestion_handled
        self.files = DocumentFiles(self, self.editor)
        self.projects = ProjectSession(self, self.files)
        self.project_panel = ProjectPanel(self.projects, self)
        self.project_sync = ProjectSync(self.projects, self.files, self.suggestions, self)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.project_panel)
        self.status = MainStatus(self.statusBar(), self.editor, self.settings.show_latency)
        self.stats = StatsRecorder(SuggestionStats.load(), self.editor, self.suggestions, self)
        self.today = TodayCounter(self, goal=lambda: self.settings.daily_goal)
        self.find_replace = FindReplaceDialog(self.editor, self, project=self.projects)
        self.export = ExportActions(self, self.editor, self.files)
        self.spelling = SpellingUnderlines(
            self.editor, SpellChecker(self.settings.spelling_language), self.settings.spelling
        )
        self.focus = FocusMode(self)  # View → Focus Mode (F11)
        self.menu = MainMenu(self)
        self.focus.toggled.connect(self.menu.focus_action.setChecked)
        self.model_menu = self.menu.model_menu
        for action in self._project_actions():
            action.setEnabled(False)  # until a project is open
        install_training(self)
        self._connect()

        apply_appearance(self.editor, self.settings)
        self.menu.toggle_action.setChecked(self.settings.suggestions_enabled)
        self._on_engine_state(self.suggestions.state)  # Retry starts disabled: nothing to retry
        self._update_today()
        self.today.count()
        self._update_title()
        self.resize(1000, 720)
        if load_model:
            self.suggestions.load()

    def _connect(self) -> None:
        c, status = self.suggestions, self.status
        c.ghost_ready.connect(self.editor.show_ghost)
        c.ghost_cleared.connect(self.editor.hide_ghost)
        c.message.connect(status.set_message)
        c.flash.connect(status.flash)
        c.model_text.connect(status.model_label.setText)
        c.latency_text.connect(status.set_latency)
        c.alt_text.connect(status.alt_label.setText)
        c.gate_note.connect(status.set_gate_note)  # "nothing confident here yet" on hover
        c.state_changed.connect(self._on_engine_state)

        f = self.files
        f.replacing.connect(c.cancel)  # a new text: the pending pause and request are moot
        f.replacing.connect(status.document_changed)  # and the last one's time with them
        f.replacing.connect(self.stats.new_text)  # another document, not a new name
        f.path_changed.connect(self._on_path_changed)
        f.file_used.connect(self._remember_file)
        f.flash.connect(status.flash)
        self.editor.notice.connect(status.flash)  # what a paste left out
        self.editor.zoom_requested.connect(self.zoom)  # Ctrl+wheel
        self.editor.files_dropped.connect(self.open_dropped)
        self.project_panel.versions_asked.connect(lambda _path: self.show_versions())
        f.lasting.connect(lambda text: status.set_message(text, error=bool(text)))
        self.editor.document().modificationChanged.connect(self._update_title)
        f.document_shown.connect(self._follow_document)
        f.document_shown.connect(c.document.follow)

        p = self.projects
        p.opened.connect(self._remember_project)
        p.names_changed.connect(self._on_names_changed)
        p.flash.connect(status.flash)
        status.word_timer.timeout.connect(self.project_panel.update_counts)

        self.spelling.problem.connect(lambda text: status.flash(text, STATS_FAILED_MS))
        self.stats.changed.connect(self._update_today)
        self.stats.save_failed.connect(lambda text: status.flash(text, STATS_FAILED_MS))

    # --- the engine's face ------------------------------------------------------

    @property
    def worker(self):
        """The engine's WorkerHandle (its process and thread)."""
        return self.suggestions.worker

    @property
    def engine_state(self) -> str:
        """none | loading | ready | failed | restarting | off (see SuggestionController)."""
        return self.suggestions.state

    def request_suggestion(self, automatic: bool = False) -> None:
        """Ask for a suggestion at the cursor (Ctrl+Space)."""
        self.suggestions.request(automatic)

    def _on_engine_state(self, state: str) -> None:
        self.menu.retry_action.setEnabled(self.suggestions.retry_available)
        self._update_suggestions_label()

    def set_suggestions_enabled(self, enabled: bool) -> None:
        """Turn suggestions on or off (and remember it)."""
        self.settings.suggestions_enabled = bool(enabled)
        self.menu.toggle_action.setChecked(self.settings.suggestions_enabled)
        self.suggestions.set_enabled(self.settings.suggestions_enabled)
        self._update_suggestions_label()
        save_settings(self.settings)

    def _update_suggestions_label(self) -> None:
        self.status.set_suggestions_on(
            self.settings.suggestions_enabled and self.suggestions.state != "off"
        )

    def _update_today(self) -> None:
        self.status.set_today(f"Today: {describe_counts(self.stats.stats.today)}.")

    # --- settings ---------------------------------------------------------------

    def show_settings(self) -> None:
        """Open the Settings dialog and apply the result live."""
        dialog = SettingsDialog(self.settings, self, current_font=self.editor.font())
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.apply_settings(dialog.result_settings())

    def apply_settings(self, new: AppSettings) -> None:
        """Use `new` from now on: appearance at once; the engine as the controller decides."""
        old, self.settings = self.settings, new
        save_settings(new)
        if old.model_path != new.model_path:
            self.model_override = None
        apply_appearance(self.editor, new)
        self.status.set_show_latency(new.show_latency)
        self.today.show()
        checker = self.spelling.checker
        if new.spelling_language != checker.language:
            checker = SpellChecker(new.spelling_language)
            checker.set_project_words(name_words(self.projects.names()))
        self.spelling.set_checker(checker, new.spelling)
        self.suggestions.apply_settings(new, self.model_override)
        self.set_suggestions_enabled(new.suggestions_enabled)

    # --- the document -------------------------------------------------------------

    def _on_path_changed(self, path: Path | None) -> None:
        self.stats.set_document(path)
        self.status.update_word_count()
        self._update_title()

    def _update_title(self) -> None:
        project = f" — {self.projects.root.name}" if self.projects.root is not None else ""
        self.setWindowTitle(f"{self.files.name}[*]{project} — Writer")
        self.setWindowModified(self.editor.document().isModified())

    def _follow_document(self) -> None:
        # A chapter switch shows another QTextDocument: the parts that listen to the
        # document itself listen to this one too (once per document; a hidden one is
        # never edited) and show it now.
        doc = self.editor.document()
        if not doc.property("writer_followed"):
            doc.setProperty("writer_followed", True)
            doc.modificationChanged.connect(self._update_title)
            doc.contentsChanged.connect(self.status.word_timer.start)
            doc.contentsChange.connect(lambda *_: self.spelling.timer.start())
            doc.contentsChanged.connect(
                lambda: self.find_replace.isVisible() and self.find_replace.update_count()
            )
        self.spelling.refresh()  # the underlines were the other document's
        self.status.update_word_count()
        self._update_title()

    # --- the project ----------------------------------------------------------------

    def close_document(self) -> None:
        """File → Close: close the project, or the file, after offering to save; an empty
        page is left."""
        if self.projects.root is not None:
            self.projects.close()
        else:
            self.files.new_file()

    def reopen_last_project(self, file: str | None = None) -> None:
        """At start: open the project open at the last exit, unless a file was named, at
        the chapter and the place where the writer left it (when it is still there)."""
        last = self.settings.last_project
        if file or not last:
            return
        if not Path(last).is_dir():
            self.status.flash(f"The last project, {last}, is no longer there.", STATS_FAILED_MS)
            return
        if not self.projects.open_folder(last):
            return
        shown = Path(self.settings.last_file) if self.settings.last_file else None
        if shown is None or Path(last) not in shown.parents or not shown.is_file():
            return
        if shown == self.files.path or self.projects.open_file(shown) is not None:
            cursor = self.editor.textCursor()
            end = self.editor.document().characterCount() - 1
            cursor.setPosition(max(0, min(self.settings.last_position, end)))
            self.editor.setTextCursor(cursor)
            self.editor.ensureCursorVisible()

    def _remember_project(self, root: Path | None) -> None:
        self.settings.last_project = str(root) if root is not None else ""
        save_settings(self.settings)
        for action in self._project_actions():
            action.setEnabled(root is not None)
        self._update_title()

    def _project_actions(self) -> tuple:
        m = self.menu
        return (
            m.new_chapter_action,
            m.rename_chapter_action,
            m.next_chapter_action,
            m.previous_chapter_action,
            m.manuscript_action,
        )

    def _on_names_changed(self, names: list) -> None:
        # The notes' names and their parts are never misspellings.
        self.spelling.checker.set_project_words(name_words(names))
        self.spelling.refresh()

    def _remember_file(self, path: str) -> None:
        self.settings.add_recent_file(path)
        save_settings(self.settings)

    # --- dialogs ------------------------------------------------------------------

    def show_welcome(self) -> WelcomeDialog:
        """Help → Getting Started: the welcome, window-modal but not blocking."""
        dialog = WelcomeDialog(self)
        dialog.finished.connect(lambda _: self._welcome_closed(dialog))
        dialog.open()
        return dialog

    def maybe_show_welcome(self) -> WelcomeDialog | None:
        """At start: the welcome if the writer hasn't turned it off (the first launch)."""
        return self.show_welcome() if self.settings.show_welcome else None

    def _welcome_closed(self, dialog: WelcomeDialog) -> None:
        self.settings.show_welcome = not dialog.dont_show.isChecked()
        save_settings(self.settings)

    def open_dropped(self, paths: list[Path]) -> None:
        """Open what was dropped on the page: a folder as the project, a file of the open
        project as its chapter, any other file as File → Open does (changes offered to be
        saved first). One at a time: of several, the first."""
        path = paths[0]
        root = self.projects.root
        if path.is_dir():
            self.projects.open_folder(path)
        elif root is not None and root in path.absolute().parents:
            self.projects.open_file(path.absolute())
        else:
            self.files.open_file(path)
        if len(paths) > 1:
            self.status.flash(f"Opened {path.name}: drop one file at a time.", DROP_NOTE_MS)

    def zoom(self, step: int) -> None:
        """View → Zoom In (+1), Zoom Out (-1), Actual Size (0): the text's size, a point
        at a time within Settings' range, kept as the Settings' font size."""
        low, high = FONT_SIZES
        size = DEFAULT_FONT_SIZE if step == 0 else self.settings.font_size + step
        size = min(high, max(low, size))
        if size != self.settings.font_size:
            self.apply_settings(replace(self.settings, font_size=size))
        self.status.flash(f"Text size {size} pt", ZOOM_NOTE_MS)

    def show_shortcuts(self) -> None:
        """Help → Keyboard Shortcuts."""
        show_shortcuts(self)

    def show_model_info(self) -> None:
        """Model → About the Model: the loaded model's GGUF metadata, or why there is none."""
        info = self.suggestions.model_info
        if info is None:
            QMessageBox.information(self, "About the model", self.suggestions.why_no_suggestions())
            return
        ModelInfoDialog(info, self, cpu_variant=self.suggestions.cpu_variant).exec()

    def show_versions(self) -> VersionsDialog | None:
        """File → Earlier Versions…: the versions kept of the current file, and Restore."""
        if self.files.path is None:
            QMessageBox.information(
                self,
                "Earlier versions",
                "This text has no file yet: from its first save on, each save keeps the "
                "version it replaces.",
            )
            return None
        dialog = VersionsDialog(self.files.path, self.editor, self)
        if dialog.exec() and dialog.restored is not None:
            self.status.flash(
                f"Restored the version of {when_words(dialog.restored.when)}: Undo takes it "
                "back, and Save keeps it.",
                VERSION_NOTE_MS,
            )
        return dialog

    def show_statistics(self) -> None:
        """Suggestions → Statistics: this document's figures, today's and all."""
        StatisticsDialog(self.stats, self).exec()

    # --- the end ------------------------------------------------------------------

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        if event.type() == QEvent.Type.ActivationChange and not self.isActiveWindow():
            self.files.autosave()
            self.today.save()
        elif event.type() == QEvent.Type.ActivationChange:  # back to the front
            self.files.check_disk()  # another program may have changed the file
            self.files.show_notices()
        super().changeEvent(event)

    def closeEvent(self, event) -> None:  # noqa: N802
        if not self.files.maybe_save():
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Clean exit: forget the recovery file, save settings and statistics, stop the engine."""
        self.suggestions.debounce.stop()
        # Where the writer was, for the next start (reopen_last_project).
        self.settings.last_file = str(self.files.path or "")
        self.settings.last_position = self.editor.textCursor().position()
        self.files.close()
        self.stats.close()
        self.today.save()
        save_settings(self.settings)
        self.suggestions.shutdown()
