"""The suggestion logic of the window: when to ask, what to show, and the engine's health.

SuggestionController owns the engine worker (and through it the engine
process), the debounce, the stale-result checks, the alternatives, the
prefetch after an accept, and the recovery from engine crashes (restart
with backoff, the ladder of safer settings, "Retry"). It reads the editor's
text and cursor, and answers with signals: show this ghost at this position,
and messages for the status bar; and it says when a new suggestion shows
(suggestion_shown), for the statistics. The window keeps menus and files.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication

from gpt2gguf.constants import default_model_path
from writer_app.engine.config import EngineConfig, needs_reload
from writer_app.engine.ladder import (
    OFF,
    RUNGS,
    CrashLadder,
    memory_key,
    rung_by_name,
    rung_name,
)
from writer_app.ui.editor import GhostEditor
from writer_app.ui.settings import AppSettings, remember_rung, remembered_rung
from writer_app.ui.worker import WorkerHandle

log = logging.getLogger(__name__)

# Characters outside the Basic Multilingual Plane (emoji, some CJK): Qt counts
# them as two positions, Python as one, so edit offsets stop matching.
ASTRAL = re.compile("[\U00010000-\U0010ffff]")
CONTEXT_CHARS = 16_000  # enough for any context window; cut at a stable boundary (see _prompt)
READY_FLASH_MS = 3000
WHY_FLASH_MS = 4000
FAILED_FLASH_MS = 8000

# state -> why Ctrl+Space gets no suggestion (when suggestions are on).
WHY_NOT = {
    "loading": "The model is still loading.",
    "restarting": "The suggestion engine is restarting.",
    "off": "The suggestion engine kept stopping: choose Model → Retry the Suggestion Engine.",
}


class SuggestionController(QObject):
    """Suggestions for one GhostEditor, from an engine process it starts and restarts.

    state: "none" (nothing loaded yet), "loading", "ready", "failed" (no usable
    model: the message says why), "restarting" (after a crash), "off" (crashed
    at every rung of the ladder: Retry).
    """

    ghost_ready = Signal(str, int)  # show this ghost text at this cursor position
    ghost_cleared = Signal()
    message = Signal(str, bool)  # the lasting status message (text, is it an error)
    flash = Signal(str, int)  # a passing status-bar message (text, ms)
    model_text = Signal(str)  # the model and where it runs, or its state
    latency_text = Signal(str)
    alt_text = Signal(str)  # "2/3" while cycling alternatives
    state_changed = Signal(str)
    # Every answer to a suggestion request, and whether it was shown
    # (False: dropped as stale, empty, or suggestions were turned off meanwhile).
    suggestion_handled = Signal(object, bool)
    # A new suggestion is showing: the ms from its request to its ghost, or None
    # for an alternative shown again from memory (Alt+] after Esc).
    suggestion_shown = Signal(object)

    def __init__(
        self,
        editor: GhostEditor,
        settings: AppSettings,
        *,
        model_override: str | None = None,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.editor = editor
        self.settings = settings
        self.model_override = model_override
        self.state = "none"
        self.model_info = None
        self.dropped_results = 0  # answers that arrived for a document that had changed
        self.requests_sent = 0
        self._thread_limit: int | None = None  # set_thread_limit: while a training run lasts
        self._alts: list[str] = []
        self._alt_index = 0
        self._alt_anchor: tuple[int, int] | None = None
        self._alt_direction = 1
        self._alt_request = 0
        self._alt_label = ""
        self._asked: tuple[int, float] = (0, 0.0)  # the latest request: id, perf_counter()
        self.ladder = CrashLadder()
        self._memory_key: str | None = None
        self._crash_reason = ""  # what ended the engine last, until it works again
        self._proven = False  # a request was answered since the last load
        # The engine keeps its own copy of the document (for its cache of the
        # document's names and phrases): each edit is sent as it happens, or,
        # once offsets can't be trusted, the whole text before the next request.
        self._astral = False
        self._resync = False

        self.debounce = QTimer(self, singleShot=True, interval=settings.debounce_ms)
        self.debounce.timeout.connect(lambda: self.request(automatic=True))
        self.restart_timer = QTimer(self, singleShot=True)
        self.restart_timer.timeout.connect(self._restart)

        self.worker = WorkerHandle(self)
        # Whatever ends the event loop, the engine must stop before Qt tears down.
        QApplication.instance().aboutToQuit.connect(self.worker.shutdown)
        w = self.worker.worker
        w.process_started.connect(self._on_process_started)
        w.loaded.connect(self._on_loaded)
        w.load_failed.connect(self._on_load_failed)
        w.crashed.connect(self._on_crashed)
        w.suggestion_ready.connect(self._on_suggestion)
        w.alternatives_ready.connect(self._on_alternatives)
        w.failed.connect(self._on_failed)
        w.document_lost.connect(self._resend_document)

        editor.edited.connect(self._on_edited)
        editor.document().contentsChange.connect(self._on_contents_change)
        editor.ghost_accepted.connect(self._on_accepted)
        editor.ghost_changed.connect(self._update_alt_label)
        editor.request_now.connect(self.request)
        editor.cycle_requested.connect(self.cycle)

    # --- the engine -----------------------------------------------------------

    def engine_config(self) -> EngineConfig:
        """Return the EngineConfig of the settings (with --model, the bundled default and
        the thread limit of set_thread_limit): every load and update starts from it."""
        config = self.settings.engine_config()
        if self.model_override:
            config.model_path = Path(self.model_override)
        if config.model_path is None:
            config.model_path = default_model_path()
        limit = self._thread_limit
        if limit is not None:
            config.n_threads = min(limit, config.n_threads) if config.n_threads else limit
        return config

    def load(self) -> None:
        """Start loading the configured model in the engine process; the editor stays usable."""
        self.restart_timer.stop()
        config = self.engine_config()
        self.ghost_cleared.emit()
        self.model_info = None
        if config.model_path is None:
            self._set_state("failed")
            self.message.emit(
                "No model is installed yet. Choose a .gguf model in Settings → Model to get "
                "suggestions; the editor works without one.",
                True,
            )
            self.model_text.emit("no model")
            return
        key = memory_key(config.model_path)
        if key != self._memory_key:  # another model (or the first): its own memory
            self._memory_key = key
            self._crash_reason = ""
            self.ladder.reset(rung_by_name(remembered_rung(key)))
        if self.ladder.off:
            self._stay_off(
                "Suggestions are off: the suggestion engine crashed with every setting for "
                "this model on this computer. Choose Model → Retry the Suggestion Engine to "
                "try again."
            )
            return
        self._load_now(config)

    def _load_now(self, config: EngineConfig) -> None:
        self._set_state("loading")
        self._proven = False
        self.model_text.emit(f"loading model {config.model_path.name}…")
        if not self._crash_reason:
            self.message.emit("Loading model… you can write meanwhile.", False)
        self.worker.load(self.ladder.config(config))

    def retry(self) -> None:
        """Forget the crashes and the safer settings for this model; load it with the
        writer's own settings again (Model → Retry the Suggestion Engine)."""
        if self._memory_key is not None:
            remember_rung(self._memory_key, None)
        self.ladder.reset()
        self._crash_reason = ""
        self.load()

    @property
    def retry_available(self) -> bool:
        """Whether Retry would change anything: off, or running on safer settings."""
        return self.state == "off" or (self.ladder.rung > 0 and self.state != "failed")

    def _restart(self) -> None:
        self._load_now(self.engine_config())

    def _on_process_started(self, hello) -> None:
        self.ladder.defaults = dict(hello.defaults)

    def _on_loaded(self, summary: dict) -> None:
        self._set_state("ready")
        # A new engine (first load, restart after a crash, reload) knows no document yet.
        text = self.editor.toPlainText()
        self._astral, self._resync = bool(ASTRAL.search(text)), False
        self.worker.notify("set_document", text)
        self.model_info = summary["info"]
        self.model_text.emit(f"{summary['model_name']} · {summary['backend']}")
        if self._crash_reason:
            how = "" if self.ladder.rung == 0 else f" with safer settings ({self._rung_words()})"
            self.message.emit(
                f"The suggestion engine stopped ({self._crash_reason}); restarted{how}.", False
            )
        else:
            self.message.emit("", False)
            if self.ladder.rung > 0:
                self.message.emit(
                    f"Using safer engine settings for this model ({self._rung_words()}), "
                    "which worked before. Model → Retry the Suggestion Engine tries your own "
                    "again.",
                    False,
                )
            self.flash.emit("Model ready.", READY_FLASH_MS)
        if self.suggestions_possible():  # the writer may have paused while it loaded
            self.debounce.start()

    def _on_load_failed(self, message: str) -> None:
        self._set_state("failed")
        self.model_text.emit("no model")
        self.message.emit(
            f"{message}. Choose another model in Settings → Model; the editor works without one.",
            True,
        )

    def _on_crashed(self, err) -> None:
        """The engine process died: restart it after a wait, on safer settings if it keeps
        dying, or stay off. The text in the editor is untouched."""
        if self.state == "off":
            return
        self._crash_reason = err.reason
        self.model_info = None
        decision = self.ladder.crashed(self.engine_config())
        log.warning("engine crashed (%s) during %s; next: %s", err.reason, err.during, decision)
        if decision.off:
            remember_rung(self._memory_key, rung_name(OFF))
            self._stay_off(
                f"The suggestion engine kept stopping ({err.reason}), even with the safest "
                "settings. Suggestions are off; choose Model → Retry the Suggestion Engine "
                "to try again."
            )
            return
        self._set_state("restarting")
        self.model_text.emit("engine restarting…")
        what = (
            f"restarting with safer settings ({self._rung_words()})"
            if decision.stepped_down
            else "restarting"
        )
        self.message.emit(f"The suggestion engine stopped ({err.reason}); {what}…", False)
        self.restart_timer.start(round(decision.delay_s * 1000))

    def _stay_off(self, text: str) -> None:
        self.restart_timer.stop()
        self.worker.cancel()
        self.ghost_cleared.emit()
        self._set_state("off")
        self.model_text.emit("engine stopped")
        self.message.emit(text, True)

    def _engine_worked(self) -> None:
        """The engine answered a request: the settings it runs with hold; remember them."""
        if self._proven:
            return
        self._proven = True
        self.ladder.worked()
        if self._memory_key is not None:
            name = rung_name(self.ladder.rung) if self.ladder.rung > 0 else None
            if remembered_rung(self._memory_key) != name:
                remember_rung(self._memory_key, name)

    def _rung_words(self) -> str:
        return RUNGS[min(self.ladder.rung, OFF - 1)].name

    def _set_state(self, state: str) -> None:
        self.state = state
        self.state_changed.emit(state)

    # --- settings -------------------------------------------------------------

    def apply_settings(self, new: AppSettings, model_override: str | None) -> None:
        """Use `new`: the one place that decides whether the engine reloads
        (config.needs_reload) or only takes the new settings."""
        old_config = self.engine_config()
        self.settings, self.model_override = new, model_override
        self.debounce.setInterval(new.debounce_ms)
        new_config = self.engine_config()
        if self.state in ("none", "failed") or needs_reload(old_config, new_config):
            self.load()
        elif new_config != old_config:
            self.worker.update_config(self.ladder.config(new_config))
            self.ghost_cleared.emit()

    def set_enabled(self, enabled: bool) -> None:
        """Follow the writer's "Show Suggestions" (settings.suggestions_enabled is theirs)."""
        if not enabled:
            self.debounce.stop()
            self.worker.cancel()
            self.ghost_cleared.emit()

    # --- requests -------------------------------------------------------------

    def suggestions_possible(self) -> bool:
        """Whether a request now could be answered."""
        return self.settings.suggestions_enabled and self.state == "ready"

    def why_no_suggestions(self) -> str:
        """Why no suggestion can come now, in words."""
        if not self.settings.suggestions_enabled:
            return "Suggestions are off (Suggestions → Show Suggestions)."
        return WHY_NOT.get(self.state, "No model is loaded: choose one in Settings → Model.")

    def cancel(self) -> None:
        """Drop the pending pause and whatever the engine computes (the document changed)."""
        self.debounce.stop()
        self.worker.cancel()

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

    def _resend_document(self) -> None:
        self._resync = True

    def _sync_document(self) -> None:
        """Send the whole text if the engine's copy can't be kept by edits; before a request."""
        if self._resync:
            self._resync = False
            self.worker.notify("set_document", self.editor.toPlainText())

    def _on_edited(self) -> None:
        self._set_alt_label("")
        if self.suggestions_possible():
            self.debounce.start()

    def _prompt(self) -> tuple[int, int, str]:
        # Long documents: only the tail, cut at a multiple of CONTEXT_CHARS/2 so the
        # prompt's start stays put while the writer types (the engine reuses its
        # cache for a prompt that only grew at the end), and never a copy of the
        # whole novel per request (235 ms for 30 MB).
        text = self.editor.text_before_cursor(CONTEXT_CHARS)
        return self.editor.revision, self.editor.textCursor().position(), text

    def request(self, automatic: bool = False) -> None:
        """Ask for a suggestion at the cursor (Ctrl+Space, or after a pause)."""
        self.debounce.stop()
        if not self.suggestions_possible():
            if not automatic:
                self.flash.emit(self.why_no_suggestions(), WHY_FLASH_MS)
            return
        if self.editor.textCursor().hasSelection() or (
            automatic and not self.editor.at_end_of_paragraph()
        ):
            return
        revision, cursor, text = self._prompt()
        if not text.strip():
            return
        self.requests_sent += 1
        self._sync_document()
        self._asked = (self.worker.suggest(revision, cursor, text), time.perf_counter())

    def _matches_document(self, revision: int, cursor: int) -> bool:
        return revision == self.editor.revision and cursor == self.editor.textCursor().position()

    def _on_suggestion(self, request_id: int, revision: int, cursor: int, suggestion) -> None:
        self._engine_worked()
        if request_id != self.worker.latest_id or not self._matches_document(revision, cursor):
            self.dropped_results += 1
            self.suggestion_handled.emit(suggestion, False)
            return
        if suggestion is not None:
            self.latency_text.emit(f"{suggestion.total_ms:.0f} ms")
        show = (
            suggestion is not None
            and bool(suggestion.text)
            and self.settings.suggestions_enabled
            and self.state == "ready"
        )
        if show:
            self._show_new(request_id, suggestion.text, cursor)
        self.suggestion_handled.emit(suggestion, show)

    def _show_new(self, request_id: int | None, text: str, cursor: int) -> None:
        """Show a new suggestion (not another alternative of the one showing)."""
        self.ghost_ready.emit(text, cursor)
        if self.editor.ghost_text != text:  # the editor refused it (a selection)
            return
        asked_id, asked_at = self._asked
        ms = (time.perf_counter() - asked_at) * 1000 if request_id == asked_id else None
        self.suggestion_shown.emit(ms)

    def _on_failed(self, request_id: int, message: str) -> None:
        self._engine_worked()  # an error, but the process lives
        self.flash.emit(f"The suggestion failed: {message}", FAILED_FLASH_MS)

    def _on_accepted(self, text: str) -> None:
        # Compute ahead while the writer reads on; the pause then finds it ready.
        if self.suggestions_possible() and self.editor.at_end_of_paragraph():
            self._sync_document()
            self.worker.prefetch(self._prompt()[2])
        self._on_edited()

    # --- alternatives ---------------------------------------------------------

    def cycle(self, direction: int) -> None:
        """Show the next (+1) or previous (-1) alternative, computing them on first use."""
        if not self.suggestions_possible() or self.editor.textCursor().hasSelection():
            return
        anchor = (self.editor.revision, self.editor.textCursor().position())
        if self._alt_anchor == anchor and self._alts:
            self._alt_index = (self._alt_index + direction) % len(self._alts)
            if self.editor.ghost_text:
                self.ghost_ready.emit(self._alts[self._alt_index], anchor[1])
            else:
                self._show_new(None, self._alts[self._alt_index], anchor[1])
            return
        revision, cursor, text = self._prompt()
        if not text.strip():
            return
        self._alt_direction = direction
        self.debounce.stop()
        self._set_alt_label("alternatives…")
        self.requests_sent += 1
        self._sync_document()
        self._alt_request = self.worker.alternatives(revision, cursor, text)
        self._asked = (self._alt_request, time.perf_counter())

    def _on_alternatives(self, request_id: int, revision: int, cursor: int, suggestions) -> None:
        self._engine_worked()
        if request_id != self.worker.latest_id or not self._matches_document(revision, cursor):
            self.dropped_results += 1
            self._update_alt_label()
            return
        showing = bool(self.editor.ghost_text)
        texts = [self.editor.ghost_text] if showing else []
        for s in suggestions:
            if s.text and s.text not in texts:
                texts.append(s.text)
        if not texts:
            self._update_alt_label()
            return
        self._alts, self._alt_anchor = texts, (revision, cursor)
        start = 0 if showing else -self._alt_direction
        self._alt_index = (start + self._alt_direction) % len(texts)
        if showing:
            self.ghost_ready.emit(texts[self._alt_index], cursor)
        else:
            self._show_new(request_id, texts[self._alt_index], cursor)
        self._update_alt_label()

    def _update_alt_label(self) -> None:
        anchor = (self.editor.revision, self.editor.ghost_position)
        if (
            self._alts
            and anchor == self._alt_anchor
            and self.editor.ghost_text == self._alts[self._alt_index]
        ):
            self._set_alt_label(f"{self._alt_index + 1}/{len(self._alts)}")
        elif self._alt_label != "alternatives…" or self._alt_request != self.worker.latest_id:
            self._set_alt_label("")

    def _set_alt_label(self, text: str) -> None:
        self._alt_label = text
        self.alt_text.emit(text)

    # --- the end --------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop the timers and the engine (its process and thread)."""
        self.debounce.stop()
        self.restart_timer.stop()
        self.worker.shutdown()

    def set_thread_limit(self, n: int | None) -> None:
        """Run the engine on at most `n` threads (None: the settings' value again), without
        reloading the model; the writer's settings are not changed. A training run holds
        the engine to one core this way (writer_app/training/job.py says why)."""
        old = self.engine_config()
        self._thread_limit = n
        new = self.engine_config()
        if self.state == "ready" and new != old:
            self.worker.update_config(self.ladder.config(new))
