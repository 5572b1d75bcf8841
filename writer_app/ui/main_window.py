"""The main window: the editor, its menus and status bar, files and dialogs.

Suggestions are the SuggestionController's (suggestions.py): it decides when to
ask, runs the engine process, and tells the window what ghost to show where
and what to say in the status bar.
"""

from __future__ import annotations

import html
import logging
import time
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QAction, QColor, QFont, QFontDatabase, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from writer_app.core.documents import (
    NotTextError,
    new_file_problem,
    read_text_file,
    save_text_file,
)
from writer_app.core.recovery import RecoverySession, find_recoverable
from writer_app.ui.editor import GhostEditor
from writer_app.ui.settings import PROSE_FONTS, AppSettings, load_settings, save_settings
from writer_app.ui.settings_dialog import SettingsDialog, describe_model
from writer_app.ui.suggestions import SuggestionController

log = logging.getLogger(__name__)

AUTOSAVE_INTERVAL_MS = 30_000
# Unsaved text reaches the recovery file once typing pauses this long, and
# never later than RECOVERY_MAX_DELAY_MS after the first unsaved keystroke:
# a crash of the whole app loses at most the last 5 seconds.
RECOVERY_QUIET_MS = 1_500
RECOVERY_MAX_DELAY_MS = 4_000
WORD_COUNT_DELAY_MS = 300
FILE_FILTER = "Text and Markdown (*.txt *.md *.markdown);;All files (*)"

# (keys, what they do): the Help dialog and docs/using-the-app.md list these.
SHORTCUTS = (
    ("Tab", "Accept the whole suggestion (one undo step). Without a suggestion: a normal Tab."),
    ("Ctrl+Right", "Accept the suggestion's next word."),
    ("Esc", "Dismiss the suggestion."),
    ("Keep typing", "Characters that match the suggestion are consumed and the rest stays."),
    ("Ctrl+Space", "Ask for a suggestion now."),
    ("Alt+]  /  Alt+[", 'Next / previous alternative suggestion ("2/3" in the status bar).'),
    ("Ctrl+Shift+E", "Turn suggestions on or off."),
    ("Ctrl+N, Ctrl+O, Ctrl+S, Ctrl+Shift+S", "New, Open, Save, Save As."),
    ("Ctrl+Z, Ctrl+Shift+Z", "Undo, Redo."),
    ("Ctrl+,", "Settings."),
)


class MainWindow(QMainWindow):
    """The writer's window.

    `model_override` (writer-app --model) replaces the model of the settings for
    this run without being saved; `load_model=False` starts without an engine.
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
        self.path: Path | None = None
        self.newline = "\n"

        self.editor = GhostEditor(self)
        self.setCentralWidget(self.editor)
        self.editor.document().modificationChanged.connect(self._update_title)
        self.editor.document().contentsChanged.connect(lambda: self.word_timer.start())

        self.word_timer = QTimer(self, singleShot=True, interval=WORD_COUNT_DELAY_MS)
        self.word_timer.timeout.connect(self._update_word_count)
        self.autosave_timer = QTimer(self, interval=AUTOSAVE_INTERVAL_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        self.recovery_timer = QTimer(self, singleShot=True)
        self.recovery_timer.timeout.connect(self.autosave)
        self._recovery_due = 0.0  # time.monotonic() by which the pending autosave must run
        self._autosaved_revision = -1  # the editor revision the recovery file holds
        self.editor.document().contentsChanged.connect(self._schedule_autosave)
        self.recovery = RecoverySession()

        self.suggestions = SuggestionController(
            self.editor, self.settings, model_override=model_override, parent=self
        )
        # The file methods stop the pause and cancel requests through these two.
        self.debounce = self.suggestions.debounce
        self.worker = self.suggestions.worker
        self.suggestion_handled = self.suggestions.suggestion_handled
        self._build_status_bar()
        self._build_menus()
        self._connect_suggestions()

        self._apply_appearance()
        self._update_suggestions_label()
        self._update_title()
        self._update_word_count()
        self.resize(1000, 720)
        if load_model:
            self.load_model()

    # --- building -----------------------------------------------------------

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.message_label = QLabel()  # loading / error state; stays until the state changes
        self.message_label.setTextFormat(Qt.TextFormat.PlainText)
        self.model_label = QLabel("no model")
        self.suggestions_label = QLabel()
        self.alt_label = QLabel()
        self.latency_label = QLabel()
        self.words_label = QLabel()
        bar.addWidget(self.message_label, 1)
        for label in (
            self.alt_label,
            self.latency_label,
            self.suggestions_label,
            self.model_label,
            self.words_label,
        ):
            label.setContentsMargins(8, 0, 8, 0)
            bar.addPermanentWidget(label)

    def _action(self, menu, text, slot, shortcut=None, checkable=False) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        std = QKeySequence.StandardKey
        file = bar.addMenu("&File")
        self._action(file, "&New", self.new_file, std.New)
        self._action(file, "&Open…", lambda: self.open_file(), std.Open)
        self.recent_menu = file.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._action(file, "&Save", self.save, std.Save)
        self._action(file, "Save &As…", self.save_as, std.SaveAs)
        file.addSeparator()
        self._action(file, "&Quit", self.close, std.Quit)

        edit = bar.addMenu("&Edit")
        self._action(edit, "&Undo", self.editor.undo, std.Undo)
        self._action(edit, "&Redo", self.editor.redo, std.Redo)
        edit.addSeparator()
        self._action(edit, "Cu&t", self.editor.cut, std.Cut)
        self._action(edit, "&Copy", self.editor.copy, std.Copy)
        self._action(edit, "&Paste", self.editor.paste, std.Paste)
        edit.addSeparator()
        self._action(edit, "Select &All", self.editor.selectAll, std.SelectAll)

        suggest = bar.addMenu("S&uggestions")
        self.toggle_action = self._action(
            suggest,
            "&Show Suggestions",
            self.set_suggestions_enabled,
            "Ctrl+Shift+E",
            checkable=True,
        )
        self.toggle_action.setChecked(self.settings.suggestions_enabled)
        # The editor handles these keys itself while it has focus; the menu shows them.
        self._action(suggest, "&Request Now", self.request_suggestion, "Ctrl+Space")
        self._action(suggest, "&Next Alternative", lambda: self.cycle_alternative(1), "Alt+]")
        self._action(suggest, "&Previous Alternative", lambda: self.cycle_alternative(-1), "Alt+[")
        suggest.addSeparator()
        self._action(suggest, "&Accept (Tab)", self.editor.accept_ghost)
        self._action(suggest, "Accept Next &Word (Ctrl+Right)", self.editor.accept_word)
        self._action(suggest, "&Dismiss (Esc)", self.editor.hide_ghost)
        suggest.addSeparator()
        # Enabled after engine crashes: off, or running on safer settings.
        self.retry_action = self._action(suggest, "Re&try the Suggestion Engine", self.retry_engine)
        self.retry_action.setEnabled(False)

        settings = bar.addMenu("Se&ttings")
        self._action(settings, "&Settings…", self.show_settings, "Ctrl+,")

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&Keyboard Shortcuts", self.show_shortcuts, std.HelpContents)
        self._action(help_menu, "&About the Model", self.show_model_info)

    # --- appearance ---------------------------------------------------------

    def _apply_appearance(self) -> None:
        s = self.settings
        family = s.font_family or next(
            (f for f in PROSE_FONTS if f in QFontDatabase.families()), "Serif"
        )
        font = QFont(family, s.font_size)
        font.setStyleHint(QFont.StyleHint.Serif)
        self.editor.set_prose_format(font, s.line_height, s.text_width_chars)
        apply_theme(s.theme)
        # The margins either side of the text column share the page colour.
        self.editor.setAutoFillBackground(True)
        palette = QPalette(QApplication.palette())
        palette.setColor(QPalette.ColorRole.Window, palette.color(QPalette.ColorRole.Base))
        self.editor.setPalette(palette)

    # --- suggestions (SuggestionController) -----------------------------------

    def _connect_suggestions(self) -> None:
        c = self.suggestions
        c.ghost_ready.connect(self.editor.show_ghost)
        c.ghost_cleared.connect(self.editor.hide_ghost)
        c.message.connect(self._set_message)
        c.flash.connect(self.statusBar().showMessage)
        c.model_text.connect(self.model_label.setText)
        c.latency_text.connect(self.latency_label.setText)
        c.alt_text.connect(self.alt_label.setText)
        c.state_changed.connect(self._on_engine_state)

    @property
    def engine_state(self) -> str:
        """none | loading | ready | failed | restarting | off (see SuggestionController)."""
        return self.suggestions.state

    @property
    def model_info(self):
        """The loaded model's GGUFInfo, or None."""
        return self.suggestions.model_info

    @property
    def requests_sent(self) -> int:
        """Suggestion and alternatives requests sent to the engine so far."""
        return self.suggestions.requests_sent

    @property
    def dropped_results(self) -> int:
        """Answers that arrived for a document that had changed."""
        return self.suggestions.dropped_results

    def load_model(self) -> None:
        """Start loading the configured model; the editor stays usable."""
        self.suggestions.load()

    def retry_engine(self) -> None:
        """Suggestions → Retry: the writer's own engine settings again, after crashes."""
        self.suggestions.retry()

    def request_suggestion(self, automatic: bool = False) -> None:
        """Ask for a suggestion at the cursor (Ctrl+Space)."""
        self.suggestions.request(automatic)

    def cycle_alternative(self, direction: int) -> None:
        """Show the next (+1) or previous (-1) alternative suggestion."""
        self.suggestions.cycle(direction)

    def _on_engine_state(self, state: str) -> None:
        self.retry_action.setEnabled(self.suggestions.retry_available)
        self._update_suggestions_label()

    def _set_message(self, text: str, error: bool = False) -> None:
        self.message_label.setText(text)
        self.message_label.setToolTip(text)
        self.message_label.setStyleSheet("color: #c0392b;" if error else "")

    def set_suggestions_enabled(self, enabled: bool) -> None:
        """Turn suggestions on or off (and remember it)."""
        self.settings.suggestions_enabled = bool(enabled)
        self.toggle_action.setChecked(self.settings.suggestions_enabled)
        self.suggestions.set_enabled(self.settings.suggestions_enabled)
        self._update_suggestions_label()
        save_settings(self.settings)

    def _update_suggestions_label(self) -> None:
        on = self.settings.suggestions_enabled and self.suggestions.state != "off"
        self.suggestions_label.setText("suggestions on" if on else "suggestions off")

    # --- settings -----------------------------------------------------------

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
        self._apply_appearance()
        self.suggestions.apply_settings(new, self.model_override)
        self.set_suggestions_enabled(new.suggestions_enabled)

    # --- files --------------------------------------------------------------

    def _update_title(self) -> None:
        name = self.path.name if self.path else "Untitled"
        self.setWindowTitle(f"{name}[*] — Writer")
        self.setWindowModified(self.editor.document().isModified())

    def _update_word_count(self) -> None:
        words = self.editor.words.total  # kept current per edit: no pass over the novel
        self.words_label.setText(f"{words:,} word{'s' if words != 1 else ''}")

    def new_file(self) -> None:
        """Start an empty, untitled document (after offering to save changes)."""
        if self.maybe_save():
            self._set_document("", None)
            self.recovery.clear()

    def open_file(self, path: str | Path | None = None) -> bool:
        """Open `path` (or ask for one) after offering to save changes; returns success."""
        if not self.maybe_save():
            return False
        if path is None:
            start = str(self.path.parent) if self.path else ""
            path, _ = QFileDialog.getOpenFileName(self, "Open", start, FILE_FILTER)
            if not path:
                return False
        return self.load_path(Path(path))

    def load_path(self, path: Path) -> bool:
        """Read `path` into the editor (no prompt); a file that does not exist yet starts empty."""
        path = Path(path).expanduser().absolute()
        if not path.exists():
            self._set_document("", path)
            problem = new_file_problem(path)
            if problem:  # now, not at the first save hours later
                self.statusBar().showMessage(problem, 15000)
                QMessageBox.warning(self, "Cannot save there", problem)
            else:
                self.statusBar().showMessage(
                    f"New file: {path.name} will be created when you save.", 5000
                )
            return True
        try:
            doc = read_text_file(path)
        except OSError as err:
            QMessageBox.critical(
                self, "Could not open", f"Could not open {path}:\n{err.strerror or err}"
            )
            return False
        except NotTextError as err:
            QMessageBox.critical(self, "Not a text file", str(err))
            return False
        self._set_document(doc.text, path, doc.newline)
        self.recovery.clear()
        self.settings.add_recent_file(str(path))
        save_settings(self.settings)
        if doc.warning:
            self.statusBar().showMessage(doc.warning, 15000)
            QMessageBox.warning(self, "Not UTF-8", doc.warning)
        if self.editor.layout_overflows():
            too_long = (
                f"{path.name} is too long for this editor to show whole: the end of it cannot "
                "be scrolled to. Nothing is lost and saving keeps all of it, but split it "
                "into smaller files (one per part or chapter) to edit the end."
            )
            self.statusBar().showMessage(too_long, 15000)
            QMessageBox.warning(self, "Document too long", too_long)
        return True

    def _set_document(self, text: str, path: Path | None, newline: str = "\n") -> None:
        self.debounce.stop()
        self.worker.cancel()
        self.editor.set_text(text)
        self.path, self.newline = path, newline
        self._update_title()
        self._update_word_count()

    def save(self) -> bool:
        """Save to the current file (or ask for one); on failure say why and keep the buffer dirty."""
        if self.path is None:
            return self.save_as()
        try:
            save_text_file(self.path, self.editor.toPlainText(), self.newline)
        except OSError as err:
            reason = err.strerror or str(err)
            log.warning("saving %s failed: %s", self.path, err)
            self.statusBar().showMessage(f"NOT saved: {reason}", 15000)
            QMessageBox.critical(
                self,
                "Could not save",
                f"Could not save {self.path}:\n{reason}\n\n"
                "Your text is still here, unsaved. Try File → Save As… somewhere else.",
            )
            return False
        self.editor.document().setModified(False)
        self.recovery.clear()
        self.settings.add_recent_file(str(self.path))
        save_settings(self.settings)
        self.statusBar().showMessage(f"Saved {self.path.name}.", 3000)
        return True

    def save_as(self) -> bool:
        """Ask for a file name and save there; returns success."""
        start = str(self.path) if self.path else "Untitled.txt"
        path, _ = QFileDialog.getSaveFileName(self, "Save As", start, FILE_FILTER)
        if not path:
            return False
        path = Path(path)
        if not path.suffix:
            path = path.with_suffix(".txt")
        old_path, self.path = self.path, path
        if not self.save():
            self.path = old_path
            return False
        self._update_title()
        return True

    def maybe_save(self) -> bool:
        """Offer to save unsaved changes; returns False when the writer cancels."""
        if not self.editor.document().isModified():
            return True
        name = self.path.name if self.path else "Untitled"
        answer = QMessageBox.question(
            self,
            "Unsaved changes",
            f"Save the changes to {name}?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_files:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open_file(p))
        if not self.settings.recent_files:
            self.recent_menu.addAction("(none)").setEnabled(False)

    # --- never lose text ----------------------------------------------------

    def _schedule_autosave(self) -> None:
        # Debounced, with a deadline: a writer who never pauses is saved too.
        now = time.monotonic()
        if not self.recovery_timer.isActive():
            self._recovery_due = now + RECOVERY_MAX_DELAY_MS / 1000
        left_ms = max(0, int((self._recovery_due - now) * 1000))
        self.recovery_timer.start(min(RECOVERY_QUIET_MS, left_ms))

    def autosave(self) -> None:
        """Copy unsaved text to this session's recovery file.

        Runs soon after typing stops (see RECOVERY_QUIET_MS), every 30 s and on
        focus loss; does nothing when the file already holds this revision.
        """
        self.recovery_timer.stop()
        revision = self.editor.revision
        if not self.editor.document().isModified() or revision == self._autosaved_revision:
            return
        try:
            self.recovery.save(self.editor.toPlainText(), str(self.path) if self.path else None)
            self._autosaved_revision = revision
        except OSError as err:
            log.warning("autosave to %s failed: %s", self.recovery.path, err)
            self.statusBar().showMessage(f"Autosave failed: {err.strerror or err}", 8000)

    def offer_recovery(self) -> bool:
        """If a crashed session left unsaved text, offer to restore it; returns True if restored."""
        found = find_recoverable(self.recovery.folder, exclude=self.recovery.path)
        if not found:
            return False
        rec = found[0]
        what = Path(rec.source_path).name if rec.source_path else "an untitled document"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(rec.saved_at))
        answer = QMessageBox.question(
            self,
            "Restore unsaved text?",
            f"Writer did not close properly last time. Restore the unsaved text of {what} "
            f"(autosaved {when}, {len(rec.text.split())} words)?\n\n"
            "Yes: restore it. Discard: delete it for good. Ignore: ask again next time.",
            QMessageBox.StandardButton.Yes
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Ignore,
            QMessageBox.StandardButton.Yes,
        )
        if answer == QMessageBox.StandardButton.Discard:
            rec.discard()
        if answer != QMessageBox.StandardButton.Yes or not self.maybe_save():
            return False
        self._set_document(rec.text, Path(rec.source_path) if rec.source_path else None)
        self.editor.document().setModified(True)
        self.autosave()  # now safe in this session's own file
        rec.discard()
        self.statusBar().showMessage("Restored the unsaved text. Save it to keep it.", 8000)
        return True

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        if event.type() == QEvent.Type.ActivationChange and not self.isActiveWindow():
            self.autosave()
        super().changeEvent(event)

    def closeEvent(self, event) -> None:  # noqa: N802
        if not self.maybe_save():
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Clean exit: forget the recovery file, save settings and stop the engine."""
        self.autosave_timer.stop()
        self.recovery_timer.stop()
        self.debounce.stop()
        self.recovery.clear()
        self.recovery.close()
        save_settings(self.settings)
        self.suggestions.shutdown()

    # --- help ---------------------------------------------------------------

    def show_shortcuts(self) -> None:
        """Show the keyboard shortcuts."""
        rows = "".join(
            f"<tr><td><b>{html.escape(k)}</b>&nbsp;&nbsp;</td><td>{html.escape(v)}</td></tr>"
            for k, v in SHORTCUTS
        )
        QMessageBox.information(self, "Keyboard shortcuts", f"<table>{rows}</table>")

    def show_model_info(self) -> None:
        """Show the loaded model's GGUF metadata."""
        if self.model_info is None:
            QMessageBox.information(self, "About the model", self.suggestions.why_no_suggestions())
            return
        ModelInfoDialog(self.model_info, self).exec()


class ModelInfoDialog(QDialog):
    """A table of the model's GGUF metadata."""

    def __init__(self, info, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("About the model")
        rows = [("file", str(info.path)), ("summary", describe_model(info))]
        rows += [(key, str(value)) for key, value in sorted(info.metadata.items())]
        table = QTableWidget(len(rows), 2, self)
        table.setHorizontalHeaderLabels(["key", "value"])
        for i, (key, value) in enumerate(rows):
            table.setItem(i, 0, QTableWidgetItem(key))
            table.setItem(i, 1, QTableWidgetItem(value if len(value) < 500 else value[:500] + "…"))
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        table.verticalHeader().setVisible(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)
        self.resize(760, 520)


def apply_theme(theme: str) -> None:
    """Set the application palette for the "light" or "dark" theme."""
    app = QApplication.instance()
    if app is None:
        return
    palette = app.style().standardPalette()
    if theme == "dark":
        colors = {
            QPalette.ColorRole.Window: "#2b2b2b",
            QPalette.ColorRole.WindowText: "#e6e6e6",
            QPalette.ColorRole.Base: "#1f1f1f",
            QPalette.ColorRole.AlternateBase: "#2b2b2b",
            QPalette.ColorRole.Text: "#e6e6e6",
            QPalette.ColorRole.Button: "#353535",
            QPalette.ColorRole.ButtonText: "#e6e6e6",
            QPalette.ColorRole.Highlight: "#3d6fb4",
            QPalette.ColorRole.HighlightedText: "#ffffff",
            QPalette.ColorRole.PlaceholderText: "#7d7d7d",
            QPalette.ColorRole.ToolTipBase: "#353535",
            QPalette.ColorRole.ToolTipText: "#e6e6e6",
        }
    else:
        colors = {
            QPalette.ColorRole.Base: "#fdfcf8",
            QPalette.ColorRole.Text: "#1d1d1d",
            QPalette.ColorRole.PlaceholderText: "#9a9a9a",
        }
    for role, color in colors.items():
        palette.setColor(role, QColor(color))
    app.setPalette(palette)
