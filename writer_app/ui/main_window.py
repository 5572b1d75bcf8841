"""The main window: the editor, its menus and status bar, files, and the engine's requests.

The window decides when to ask for a suggestion (after a pause, or Ctrl+Space),
sends the request to the worker thread with the document's revision and the
cursor position, and shows the answer only if the document still matches.
"""

from __future__ import annotations

import html
import logging
import time
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
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

from writer_app.core.documents import read_text_file, save_text_file
from writer_app.core.recovery import RecoverySession, find_recoverable
from writer_app.resources import default_model_path
from writer_app.ui.editor import GhostEditor
from writer_app.ui.settings import PROSE_FONTS, AppSettings, load_settings, save_settings
from writer_app.ui.settings_dialog import SettingsDialog, describe_model
from writer_app.ui.worker import WorkerHandle

log = logging.getLogger(__name__)

AUTOSAVE_INTERVAL_MS = 30_000
WORD_COUNT_DELAY_MS = 300
CONTEXT_CHARS = 16_000  # enough for any context window; cut at a stable boundary (see _prompt)
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

# Whether a setting change needs the model reloaded, or only the engine's config updated.
RELOAD_FIELDS = ("model_path", "n_gpu_layers")
ENGINE_FIELDS = ("n_threads", "length", "length_unit", "alt_temperature")


class MainWindow(QMainWindow):
    """The writer's window.

    `model_override` (writer-app --model) replaces the model of the settings for
    this run without being saved; `load_model=False` starts without an engine.
    """

    # Every answer of the worker to a suggestion request, and whether it was shown
    # (False: dropped as stale, empty, or suggestions were turned off meanwhile).
    suggestion_handled = Signal(object, bool)

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
        self.engine_state = "none"  # none | loading | ready | failed
        self.model_info = None
        self.dropped_results = 0  # answers that arrived for a document that had changed
        self.requests_sent = 0
        self._alts: list[str] = []
        self._alt_index = 0
        self._alt_anchor: tuple[int, int] | None = None
        self._alt_direction = 1
        self._alt_request = 0

        self.editor = GhostEditor(self)
        self.setCentralWidget(self.editor)
        self.editor.edited.connect(self._on_edited)
        self.editor.ghost_accepted.connect(self._on_accepted)
        self.editor.ghost_changed.connect(self._update_alt_label)
        self.editor.request_now.connect(self.request_suggestion)
        self.editor.cycle_requested.connect(self.cycle_alternative)
        self.editor.document().modificationChanged.connect(self._update_title)
        self.editor.document().contentsChanged.connect(lambda: self.word_timer.start())

        self.debounce = QTimer(self, singleShot=True)
        self.debounce.timeout.connect(lambda: self.request_suggestion(automatic=True))
        self.word_timer = QTimer(self, singleShot=True, interval=WORD_COUNT_DELAY_MS)
        self.word_timer.timeout.connect(self._update_word_count)
        self.autosave_timer = QTimer(self, interval=AUTOSAVE_INTERVAL_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        self.recovery = RecoverySession()

        self._build_status_bar()
        self._build_menus()
        self.worker = WorkerHandle(self)
        # Whatever ends the event loop, the engine thread must stop before Qt tears down.
        QApplication.instance().aboutToQuit.connect(self.worker.shutdown)
        w = self.worker.worker
        w.loaded.connect(self._on_loaded)
        w.load_failed.connect(self._on_load_failed)
        w.suggestion_ready.connect(self._on_suggestion)
        w.alternatives_ready.connect(self._on_alternatives)
        w.failed.connect(self._on_failed)

        self._apply_appearance()
        self.debounce.setInterval(self.settings.debounce_ms)
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

    # --- the model ----------------------------------------------------------

    def load_model(self) -> None:
        """Start loading the configured model in the worker; the editor stays usable."""
        config = self._engine_config()
        self.editor.hide_ghost()
        self.model_info = None
        if config.model_path is None:
            self.engine_state = "failed"
            self._set_message(
                "No model is installed yet. Choose a .gguf model in Settings → Model to get suggestions; "
                "the editor works without one.",
                error=True,
            )
            self.model_label.setText("no model")
            return
        self.engine_state = "loading"
        self.model_label.setText(f"loading model {config.model_path.name}…")
        self._set_message("Loading model… you can write meanwhile.")
        self.worker.load(config)

    def _engine_config(self):
        config = self.settings.engine_config()
        if self.model_override:
            config.model_path = Path(self.model_override)
        if config.model_path is None:
            config.model_path = default_model_path()
        return config

    def _on_loaded(self, summary: dict) -> None:
        self.engine_state = "ready"
        self.model_info = summary["info"]
        self.model_label.setText(f"{summary['model_name']} · {summary['backend']}")
        self._set_message("")
        self.statusBar().showMessage("Model ready.", 3000)
        if self._suggestions_possible():  # the writer may have paused while it loaded
            self.debounce.start()

    def _on_load_failed(self, message: str) -> None:
        self.engine_state = "failed"
        self.model_label.setText("no model")
        self._set_message(
            f"{message}. Choose another model in Settings → Model; the editor works without one.",
            error=True,
        )

    def _set_message(self, text: str, error: bool = False) -> None:
        self.message_label.setText(text)
        self.message_label.setToolTip(text)
        self.message_label.setStyleSheet("color: #c0392b;" if error else "")

    # --- suggestions --------------------------------------------------------

    def _suggestions_possible(self) -> bool:
        return self.settings.suggestions_enabled and self.engine_state == "ready"

    def _on_edited(self) -> None:
        self.alt_label.setText("")
        if self._suggestions_possible():
            self.debounce.start()

    def _prompt(self) -> tuple[int, int, str]:
        # Long documents: send only the tail, cut at a multiple of CONTEXT_CHARS/2
        # so the prompt's start stays put while the writer types (the engine reuses
        # its cache for a prompt that only grew at the end).
        text = self.editor.text_before_cursor()
        step = CONTEXT_CHARS // 2
        start = (
            max(0, (len(text) - CONTEXT_CHARS) // step * step + step)
            if len(text) > CONTEXT_CHARS
            else 0
        )
        return self.editor.revision, self.editor.textCursor().position(), text[start:]

    def request_suggestion(self, automatic: bool = False) -> None:
        """Ask the worker for a suggestion at the cursor (Ctrl+Space, or after a pause)."""
        self.debounce.stop()
        if not self._suggestions_possible():
            if not automatic:
                self.statusBar().showMessage(self._why_no_suggestions(), 4000)
            return
        if self.editor.textCursor().hasSelection() or (
            automatic and not self.editor.at_end_of_paragraph()
        ):
            return
        revision, cursor, text = self._prompt()
        if not text.strip():
            return
        self.requests_sent += 1
        self.worker.suggest(revision, cursor, text)

    def _why_no_suggestions(self) -> str:
        if not self.settings.suggestions_enabled:
            return "Suggestions are off (Suggestions → Show Suggestions)."
        if self.engine_state == "loading":
            return "The model is still loading."
        return "No model is loaded: choose one in Settings → Model."

    def _matches_document(self, revision: int, cursor: int) -> bool:
        return revision == self.editor.revision and cursor == self.editor.textCursor().position()

    def _on_suggestion(self, request_id: int, revision: int, cursor: int, suggestion) -> None:
        if request_id != self.worker.worker.latest_id or not self._matches_document(
            revision, cursor
        ):
            self.dropped_results += 1
            self.suggestion_handled.emit(suggestion, False)
            return
        if suggestion is not None:
            self.latency_label.setText(f"{suggestion.total_ms:.0f} ms")
        show = (
            suggestion is not None and bool(suggestion.text) and self.settings.suggestions_enabled
        )
        if show:
            self.editor.show_ghost(suggestion.text, cursor)
        self.suggestion_handled.emit(suggestion, show)

    def _on_failed(self, request_id: int, message: str) -> None:
        self.statusBar().showMessage(f"The suggestion failed: {message}", 8000)

    def _on_accepted(self, text: str) -> None:
        # Compute ahead while the writer reads on; the pause then finds it ready.
        if self._suggestions_possible() and self.editor.at_end_of_paragraph():
            self.worker.prefetch(self._prompt()[2])
        self._on_edited()

    def cycle_alternative(self, direction: int) -> None:
        """Show the next (+1) or previous (-1) alternative, computing them on first use."""
        if not self._suggestions_possible() or self.editor.textCursor().hasSelection():
            return
        anchor = (self.editor.revision, self.editor.textCursor().position())
        if self._alt_anchor == anchor and self._alts:
            self._alt_index = (self._alt_index + direction) % len(self._alts)
            self.editor.show_ghost(self._alts[self._alt_index], anchor[1])
            return
        revision, cursor, text = self._prompt()
        if not text.strip():
            return
        self._alt_direction = direction
        self.debounce.stop()
        self.alt_label.setText("alternatives…")
        self.requests_sent += 1
        self._alt_request = self.worker.alternatives(revision, cursor, text)

    def _on_alternatives(self, request_id: int, revision: int, cursor: int, suggestions) -> None:
        if request_id != self.worker.worker.latest_id or not self._matches_document(
            revision, cursor
        ):
            self.dropped_results += 1
            self._update_alt_label()
            return
        texts = [self.editor.ghost_text] if self.editor.ghost_text else []
        for s in suggestions:
            if s.text and s.text not in texts:
                texts.append(s.text)
        if not texts:
            self._update_alt_label()
            return
        self._alts, self._alt_anchor = texts, (revision, cursor)
        start = 0 if self.editor.ghost_text else -self._alt_direction
        self._alt_index = (start + self._alt_direction) % len(texts)
        self.editor.show_ghost(texts[self._alt_index], cursor)
        self._update_alt_label()

    def _update_alt_label(self) -> None:
        anchor = (self.editor.revision, self.editor.ghost_position)
        if (
            self._alts
            and anchor == self._alt_anchor
            and self.editor.ghost_text == self._alts[self._alt_index]
        ):
            self.alt_label.setText(f"{self._alt_index + 1}/{len(self._alts)}")
        elif (
            self.alt_label.text() != "alternatives…"
            or self._alt_request != self.worker.worker.latest_id
        ):
            self.alt_label.setText("")

    def set_suggestions_enabled(self, enabled: bool) -> None:
        """Turn suggestions on or off (and remember it)."""
        self.settings.suggestions_enabled = bool(enabled)
        self.toggle_action.setChecked(self.settings.suggestions_enabled)
        if not enabled:
            self.debounce.stop()
            self.worker.cancel()
            self.editor.hide_ghost()
        self._update_suggestions_label()
        save_settings(self.settings)

    def _update_suggestions_label(self) -> None:
        self.suggestions_label.setText(
            "suggestions on" if self.settings.suggestions_enabled else "suggestions off"
        )

    # --- settings -----------------------------------------------------------

    def show_settings(self) -> None:
        """Open the Settings dialog and apply the result live."""
        dialog = SettingsDialog(self.settings, self, current_font=self.editor.font())
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.apply_settings(dialog.result_settings())

    def apply_settings(self, new: AppSettings) -> None:
        """Use `new` from now on: appearance at once, engine reloaded or updated as needed."""
        old, self.settings = self.settings, new
        save_settings(new)
        if old.model_path != new.model_path:
            self.model_override = None
        self._apply_appearance()
        self.debounce.setInterval(new.debounce_ms)
        self.set_suggestions_enabled(new.suggestions_enabled)
        if (
            any(getattr(old, f) != getattr(new, f) for f in RELOAD_FIELDS)
            or self.engine_state == "failed"
        ):
            self.load_model()
        elif any(getattr(old, f) != getattr(new, f) for f in ENGINE_FIELDS):
            self.worker.update_config(self._engine_config())
            self.editor.hide_ghost()

    # --- files --------------------------------------------------------------

    def _update_title(self) -> None:
        name = self.path.name if self.path else "Untitled"
        self.setWindowTitle(f"{name}[*] — Writer")
        self.setWindowModified(self.editor.document().isModified())

    def _update_word_count(self) -> None:
        words = len(self.editor.toPlainText().split())
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
        self._set_document(doc.text, path, doc.newline)
        self.recovery.clear()
        self.settings.add_recent_file(str(path))
        save_settings(self.settings)
        if doc.warning:
            self.statusBar().showMessage(doc.warning, 15000)
            QMessageBox.warning(self, "Not UTF-8", doc.warning)
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

    def autosave(self) -> None:
        """Copy unsaved text to this session's recovery file (every 30 s and on focus loss)."""
        if not self.editor.document().isModified():
            return
        try:
            self.recovery.save(self.editor.toPlainText(), str(self.path) if self.path else None)
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
        """Clean exit: forget the recovery file, save settings and stop the engine thread."""
        self.autosave_timer.stop()
        self.debounce.stop()
        self.recovery.clear()
        save_settings(self.settings)
        self.worker.shutdown()

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
            QMessageBox.information(self, "About the model", self._why_no_suggestions())
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
