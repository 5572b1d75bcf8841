"""Suggestions for one editor: when to ask, which answers still fit, what to show.

SuggestionController is the face the window wires: the debounce, the requests,
the stale-result check, the prefetch after an accept, and the signals that
show a ghost at a position. Its parts, one job each:

- supervisor.py (EngineSupervisor): the engine process, its load, restarts,
  ladder of safer settings and Retry;
- document_sync.py (DocumentSync): the engine's copy of the document;
- alternatives.py (Alternatives): Alt+] / Alt+[;
- worker.py (WorkerHandle): the thread that talks to the engine process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QObject, QTimer, Signal

from writer_app.engine.config import EngineConfig
from writer_app.ui.editor.ghost_editor import GhostEditor
from writer_app.ui.settings import AppSettings
from writer_app.ui.suggest.alternatives import Alternatives
from writer_app.ui.suggest.document_sync import DocumentSync
from writer_app.ui.suggest.project_sync import describe_why
from writer_app.ui.suggest.supervisor import EngineSupervisor

CONTEXT_CHARS = 16_000  # enough for any context window; cut at a stable boundary (see prompt)
WHY_FLASH_MS = 4000
FAILED_FLASH_MS = 8000
NOTHING_HERE = "Nothing to suggest here."  # Ctrl+Space, and the engine truly had nothing
NOTHING_YET = "Nothing to suggest yet: write a few words first."  # Ctrl+Space on an empty page
# The suggestions label's hover while the gate hides what the model would say.
GATE_HID = "Nothing confident here yet: Ctrl+Space shows the model's best guess anyway."


class SuggestionController(QObject):
    """Suggestions for one GhostEditor, from an engine process it starts and restarts.

    `state` is the supervisor's: "none", "loading", "ready", "failed",
    "restarting" or "off" (see EngineSupervisor).
    """

    ghost_ready = Signal(str, int)  # show this ghost text at this cursor position
    ghost_cleared = Signal()
    message = Signal(str, bool)  # the lasting status message (text, is it an error)
    flash = Signal(str, int)  # a passing status-bar message (text, ms)
    model_text = Signal(str)  # the model and where it runs, or its state
    latency_text = Signal(str)
    alt_text = Signal(str)  # "2/3" while cycling alternatives
    gate_note = Signal(str)  # GATE_HID after an automatic answer the gate hid, else ""
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
        self.dropped_results = 0  # answers that arrived for a document that had changed
        self.requests_sent = 0
        self._asked: tuple[int, float] = (0, 0.0)  # the latest request: id, perf_counter()
        self._ungated_id = 0  # the latest Ctrl+Space request's id

        self.engine = EngineSupervisor(settings, model_override=model_override, parent=self)
        self.worker = self.engine.worker
        self.document = DocumentSync(editor, self.worker)
        self.alternatives = Alternatives(self)
        self.debounce = QTimer(self, singleShot=True, interval=settings.debounce_ms)
        self.debounce.timeout.connect(lambda: self.request(automatic=True))

        e = self.engine
        e.message.connect(self.message)
        e.flash.connect(self.flash)
        e.model_text.connect(self.model_text)
        e.state_changed.connect(self.state_changed)
        e.stopped.connect(self.ghost_cleared)
        e.loaded.connect(self._on_loaded)
        w = self.worker.worker
        w.suggestion_ready.connect(self._on_suggestion)
        w.alternatives_ready.connect(self.alternatives.on_ready)
        w.failed.connect(self._on_failed)

        editor.edited.connect(self._on_edited)
        editor.ghost_accepted.connect(self._on_accepted)
        editor.ghost_changed.connect(self.alternatives.update_label)
        editor.request_now.connect(self.request)
        editor.cycle_requested.connect(self.cycle)

    # --- the engine (EngineSupervisor) -------------------------------------------

    @property
    def state(self) -> str:
        return self.engine.state

    @property
    def model_info(self):
        """The loaded model's GGUF metadata, or None."""
        return self.engine.model_info

    @property
    def cpu_variant(self) -> str | None:
        """The llama.cpp CPU backend the engine process runs on (About the Model), or None."""
        return self.engine.cpu_variant

    @property
    def retry_available(self) -> bool:
        return self.engine.retry_available

    @property
    def _thread_limit(self) -> int | None:
        return self.engine.thread_limit

    def engine_config(self) -> EngineConfig:
        """The EngineConfig every load and update starts from (EngineSupervisor.engine_config)."""
        return self.engine.engine_config()

    def load(self) -> None:
        """Start loading the configured model; the editor stays usable."""
        self.engine.load()

    def retry(self) -> None:
        """Model → Retry the Suggestion Engine."""
        self.engine.retry()

    def set_thread_limit(self, n: int | None) -> None:
        """Hold the engine to `n` threads while a training run lasts (None: release)."""
        self.engine.set_thread_limit(n)

    def apply_settings(self, new: AppSettings, model_override: str | None) -> None:
        """Use `new`: the debounce here, the engine as the supervisor decides."""
        self.settings = new
        self.debounce.setInterval(new.debounce_ms)
        self.engine.apply_settings(new, model_override)

    def _on_loaded(self) -> None:
        self.document.start()
        if self.suggestions_possible():  # the writer may have paused while it loaded
            self.debounce.start()

    # --- requests -------------------------------------------------------------

    def set_enabled(self, enabled: bool) -> None:
        """Follow the writer's "Show Suggestions" (settings.suggestions_enabled is theirs)."""
        if not enabled:
            self.debounce.stop()
            self.worker.cancel()
            self.ghost_cleared.emit()

    def suggestions_possible(self) -> bool:
        """Whether a request now could be answered."""
        return self.settings.suggestions_enabled and self.engine.ready

    def why_no_suggestions(self) -> str:
        """Why no suggestion can come now, in words."""
        if not self.settings.suggestions_enabled:
            return "Suggestions are off (Suggestions → Show Suggestions)."
        return self.engine.why_not_ready()

    def cancel(self) -> None:
        """Drop the pending pause and whatever the engine computes (the document changed)."""
        self.debounce.stop()
        self.worker.cancel()

    def _on_edited(self) -> None:
        self.alternatives.set_label("")
        if self.suggestions_possible():
            self.debounce.start()

    def prompt(self) -> tuple[int, int, str]:
        """The (revision, cursor, text before the cursor) a request is made for."""
        # Long documents: only the tail, cut at a multiple of CONTEXT_CHARS/2 so the
        # prompt's start stays put while the writer types (the engine reuses its
        # PromptCache for a prompt that only grew at the end), and never a copy of
        # the whole novel per request (235 ms for 30 MB).
        text = self.editor.text_before_cursor(CONTEXT_CHARS)
        return self.editor.revision, self.editor.textCursor().position(), text

    def ask(
        self, method: Callable[[int, int, str], int], revision: int, cursor: int, text: str
    ) -> int:
        """Send one request through `method` (worker.suggest or worker.alternatives) with the
        document synced first; return its id."""
        self.requests_sent += 1
        self.document.sync()
        request_id = method(revision, cursor, text)
        self._asked = (request_id, time.perf_counter())
        return request_id

    def request(self, automatic: bool = False) -> None:
        """Ask for a suggestion at the cursor (Ctrl+Space, or after a pause).

        Automatic requests pass the confidence gate; Ctrl+Space's do not (the writer
        asked: the best guess is shown, marked as less sure), and say when there is none.
        """
        self.debounce.stop()
        if not self.suggestions_possible():
            if not automatic:
                self.flash.emit(self.why_no_suggestions(), WHY_FLASH_MS)
            return
        if self.editor.textCursor().hasSelection() or (
            automatic and not self.editor.at_end_of_paragraph()
        ):
            return
        revision, cursor, text = self.prompt()
        if not text.strip():
            if not automatic:
                self.flash.emit(NOTHING_YET, WHY_FLASH_MS)
            return
        if automatic:
            self.ask(self.worker.suggest, revision, cursor, text)
        else:
            suggest = partial(self.worker.suggest, ungated=True)
            self._ungated_id = self.ask(suggest, revision, cursor, text)

    def accept_answer(self, request_id: int, revision: int, cursor: int) -> bool:
        """The one stale check: whether an answer is for the latest request and the
        document and cursor it was made for. The engine answered either way."""
        self.engine.engine_worked()
        fresh = (
            request_id == self.worker.latest_id
            and revision == self.editor.revision
            and cursor == self.editor.textCursor().position()
        )
        if not fresh:
            self.dropped_results += 1
        return fresh

    def _on_suggestion(
        self, request_id: int, revision: int, cursor: int, suggestion, gate_hid: bool = False
    ) -> None:
        if not self.accept_answer(request_id, revision, cursor):
            self.suggestion_handled.emit(suggestion, False)
            return
        asked = request_id == self._ungated_id
        if suggestion is not None:
            self.latency_text.emit(f"{suggestion.total_ms:.0f} ms")
        show = (
            suggestion is not None
            and bool(suggestion.text)
            and self.settings.suggestions_enabled
            and self.engine.ready
        )
        if show:
            self.show_new(request_id, suggestion.text, cursor, unsure=suggestion.extra.unsure)
            why = describe_why(suggestion.extra)  # what fed it: the notes, the chapters
            if why:
                self.flash.emit(why, WHY_FLASH_MS)
        elif asked and self.suggestions_possible():
            self.flash.emit(NOTHING_HERE, WHY_FLASH_MS)
        self.gate_note.emit(GATE_HID if gate_hid and not (show or asked) else "")
        self.suggestion_handled.emit(suggestion, show)

    def show_new(
        self, request_id: int | None, text: str, cursor: int, *, unsure: bool = False
    ) -> None:
        """Show a new suggestion (not another alternative of the one showing); `unsure`:
        marked as less sure (an ungated answer past the gate's cut)."""
        self.ghost_ready.emit(text, cursor)
        if self.editor.ghost_text != text:  # the editor refused it (a selection)
            return
        if unsure:
            self.editor.mark_ghost_unsure()
        asked_id, asked_at = self._asked
        ms = (time.perf_counter() - asked_at) * 1000 if request_id == asked_id else None
        self.suggestion_shown.emit(ms)

    def _on_failed(self, request_id: int, message: str) -> None:
        self.engine.engine_worked()  # an error, but the process lives
        self.flash.emit(f"The suggestion failed: {message}", FAILED_FLASH_MS)

    def _on_accepted(self, text: str) -> None:
        # Compute ahead while the writer reads on; the pause then finds it ready.
        if self.suggestions_possible() and self.editor.at_end_of_paragraph():
            self.document.sync()
            self.worker.prefetch(self.prompt()[2])
        self._on_edited()

    def cycle(self, direction: int) -> None:
        """Show the next (+1) or previous (-1) alternative (Alternatives.cycle)."""
        self.alternatives.cycle(direction)

    # --- the end --------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop the timers and the engine (its process and thread)."""
        self.debounce.stop()
        self.engine.shutdown()
