"""The engine's health: load, restart after a crash, the ladder of safer settings, Retry.

EngineSupervisor owns the WorkerHandle (and through it the engine process).
It decides which EngineConfig the engine runs with (the settings, --model,
the bundled default, a training run's thread limit, the ladder's rung), and
says what happened in words for the status bar. It knows nothing of the
document or of suggestions: the controller asks `ready` before each request.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from gpt2gguf.constants import default_model_path
from writer_app.engine.config import EngineConfig, needs_reload
from writer_app.engine.ladder import OFF, RUNGS, CrashLadder, memory_key, rung_by_name, rung_name
from writer_app.ui.settings import AppSettings, remember_rung, remembered_rung
from writer_app.ui.suggest.worker import WorkerHandle

log = logging.getLogger(__name__)

READY_FLASH_MS = 3000

# state -> why Ctrl+Space gets no suggestion (when suggestions are on).
WHY_NOT = {
    "loading": "The model is still loading.",
    "restarting": "The suggestion engine is restarting.",
    "off": "The suggestion engine kept stopping: choose Model → Retry the Suggestion Engine.",
}


class EngineSupervisor(QObject):
    """The engine process of one window: started, watched and restarted.

    state: "none" (nothing loaded yet), "loading", "ready", "failed" (no usable
    model: the message says why), "restarting" (after a crash, or after it
    stopped answering and was killed), "off" (crashed at every rung of the
    ladder: Retry; for this run only, the next one tries again).
    """

    message = Signal(str, bool)  # the lasting status message (text, is it an error)
    flash = Signal(str, int)  # a passing status-bar message (text, ms)
    model_text = Signal(str)  # the model and where it runs, or its state
    state_changed = Signal(str)
    loaded = Signal()  # a new engine is ready: it knows no document yet
    stopped = Signal()  # whatever it showed is void (a reload, a crash, off)

    def __init__(
        self, settings: AppSettings, *, model_override: str | None, parent: QObject | None = None
    ):
        super().__init__(parent)
        self.settings = settings
        self.model_override = model_override
        self.state = "none"
        self.model_info = None
        self.cpu_variant: str | None = None  # the llama.cpp CPU backend the engine runs on
        self.thread_limit: int | None = None  # set_thread_limit: while a training run lasts
        self.ladder = CrashLadder()
        self._memory_key: str | None = None
        self._crash_words = ""  # what ended the engine last, until it works again
        self._proven = False  # a request was answered since the last load

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

    @property
    def ready(self) -> bool:
        """Whether the engine can answer a request now."""
        return self.state == "ready"

    def engine_config(self) -> EngineConfig:
        """Return the EngineConfig of the settings (with --model, the bundled default and
        the thread limit of set_thread_limit): every load and update starts from it."""
        config = self.settings.engine_config()
        if self.model_override:
            config.model_path = Path(self.model_override)
        if config.model_path is None:
            config.model_path = default_model_path()
        limit = self.thread_limit
        if limit is not None:
            config.n_threads = min(limit, config.n_threads) if config.n_threads else limit
        return config

    def load(self) -> None:
        """Start loading the configured model in the engine process; the editor stays usable."""
        self.restart_timer.stop()
        config = self.engine_config()
        self.stopped.emit()
        self.model_info = None
        self.cpu_variant = None
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
            self._crash_words = ""
            self.ladder.reset(rung_by_name(remembered_rung(key)))
        if self.ladder.off:  # it ran out in this run (a new run starts from the memory)
            self._stay_off(
                "Suggestions are off: the suggestion engine crashed with every setting for "
                "this model. Choose Model → Retry the Suggestion Engine to try again."
            )
            return
        self._load_now(config)

    def _load_now(self, config: EngineConfig) -> None:
        self._set_state("loading")
        self._proven = False
        self.model_text.emit(f"loading model {config.model_path.name}…")
        if not self._crash_words:
            self.message.emit("Loading model… you can write meanwhile.", False)
        self.worker.load(self.ladder.config(config))

    def retry(self) -> None:
        """Forget the crashes and the safer settings for this model; load it with the
        writer's own settings again (Model → Retry the Suggestion Engine)."""
        if self._memory_key is not None:
            remember_rung(self._memory_key, None)
        self.ladder.reset()
        self._crash_words = ""
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
        self.model_info = summary["info"]
        self.cpu_variant = summary.get("cpu_variant")
        self.model_text.emit(f"{summary['model_name']} · {summary['backend']}")
        if self._crash_words:
            how = "" if self.ladder.rung == 0 else f" with safer settings ({self._rung_words()})"
            self.message.emit(f"{self._crash_words}; restarted{how}.", False)
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
        self.loaded.emit()

    def _on_load_failed(self, message: str) -> None:
        self._set_state("failed")
        self.model_text.emit("no model")
        self.message.emit(
            f"{message}. Choose another model in Settings → Model; the editor works without one.",
            True,
        )

    def _on_crashed(self, err) -> None:
        """The engine process died, or stopped answering and was killed (err.hung): restart
        it after a wait, on safer settings if it keeps failing, or stay off for this run.
        A hang counts as a crash for the ladder. The text in the editor is untouched."""
        if self.state == "off":
            return
        self._crash_words = str(err)  # "The suggestion engine stopped (…)" / "… answering"
        self.model_info = None
        self.cpu_variant = None
        decision = self.ladder.crashed(self.engine_config())
        log.warning("engine crashed (%s) during %s; next: %s", err.reason, err.during, decision)
        if decision.off:
            # Not remembered: the next run tries again from the rung that last worked.
            reason = "it stopped answering" if err.hung else err.reason
            self._stay_off(
                f"The suggestion engine kept stopping ({reason}), even with the safest "
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
        self.message.emit(f"{err}; {what}…", False)
        self.restart_timer.start(round(decision.delay_s * 1000))

    def _stay_off(self, text: str) -> None:
        self.restart_timer.stop()
        self.worker.cancel()
        self.stopped.emit()
        self._set_state("off")
        self.model_text.emit("engine stopped")
        self.message.emit(text, True)

    def engine_worked(self) -> None:
        """The engine answered a request: the settings it runs with hold; remember them."""
        if self._proven:
            return
        self._proven = True
        self.ladder.worked()
        if self._memory_key is not None:
            name = rung_name(self.ladder.rung) if self.ladder.rung > 0 else None
            if remembered_rung(self._memory_key) != name:
                remember_rung(self._memory_key, name)

    def why_not_ready(self) -> str:
        """Why the engine can't answer now, in words."""
        return WHY_NOT.get(self.state, "No model is loaded: choose one in Settings → Model.")

    def _rung_words(self) -> str:
        return RUNGS[min(self.ladder.rung, OFF - 1)].name

    def _set_state(self, state: str) -> None:
        self.state = state
        self.state_changed.emit(state)

    def apply_settings(self, new: AppSettings, model_override: str | None) -> None:
        """Use `new`: the one place that decides whether the engine reloads
        (config.needs_reload) or only takes the new settings."""
        old_config = self.engine_config()
        self.settings, self.model_override = new, model_override
        new_config = self.engine_config()
        if self.state in ("none", "failed") or needs_reload(old_config, new_config):
            self.load()
        elif new_config != old_config:
            self.worker.update_config(self.ladder.config(new_config))
            self.stopped.emit()

    def set_thread_limit(self, n: int | None) -> None:
        """Run the engine on at most `n` threads (None: the settings' value again), without
        reloading the model; the writer's settings are not changed. A training run holds
        the engine to one core this way (writer_app/training/job.py says why)."""
        old = self.engine_config()
        self.thread_limit = n
        new = self.engine_config()
        if self.state == "ready" and new != old:
            self.worker.update_config(self.ladder.config(new))

    def shutdown(self) -> None:
        """Stop the restart timer and the engine (its process and thread)."""
        self.restart_timer.stop()
        self.worker.shutdown()
