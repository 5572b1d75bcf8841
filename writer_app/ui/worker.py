"""The engine's thread: a QObject living on a QThread that owns the Engine.

The UI thread talks to it only through queued signals, and never calls the
model itself. Every request carries an id; the UI thread sets `latest_id` when
it makes a request, and a running generation whose id is no longer the latest
is cancelled through the engine's should_cancel hook. That int is the only
state shared between the threads (reading or writing it is atomic in Python).
"""

from __future__ import annotations

import logging
import os
import sys
import threading

from PySide6.QtCore import QObject, QThread, Signal, Slot

from writer_app.engine import Engine, EngineConfig, EngineError
from writer_app.engine.errors import GenerationCancelled

log = logging.getLogger(__name__)

ENGINE_NICE = 2  # how much lower than the UI the model computes (Linux nice steps)


class EngineWorker(QObject):
    """Loads the model and answers suggestion requests in its own thread.

    Slots are invoked through queued connections (see WorkerHandle); results
    come back as signals carrying the request's id, revision and cursor position.
    """

    loaded = Signal(object)  # {"model_name": str, "backend": str, "info": GGUFInfo}
    load_failed = Signal(str)  # a message for the writer
    suggestion_ready = Signal(int, int, int, object)  # id, revision, cursor, Suggestion | None
    alternatives_ready = Signal(int, int, int, object)  # id, revision, cursor, list[Suggestion]
    failed = Signal(int, str)  # id, message: the engine raised while generating

    def __init__(self):
        super().__init__()
        self.engine: Engine | None = None
        self.latest_id = 0  # written by the UI thread, read here

    def _cancelled(self, request_id: int) -> bool:
        return self.latest_id != request_id

    @Slot()
    def lower_priority(self) -> None:
        """Make this thread (and llama.cpp's threads it starts) yield the CPU to the UI thread.

        QThread priorities are ignored on Linux, so there the thread's nice value
        is raised instead (Linux keeps nice per thread). Best effort: never raises.
        """
        if not sys.platform.startswith("linux"):
            return
        try:
            tid = threading.get_native_id()
            os.setpriority(
                os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + ENGINE_NICE)
            )
        except OSError as err:
            log.info("could not lower the engine thread's priority: %s", err)

    @Slot(object)
    def load(self, config: EngineConfig) -> None:
        """Close any engine and load a new one from `config`; emits loaded or load_failed."""
        self.close()
        try:
            self.engine = Engine(config)
        except EngineError as err:
            log.warning("model failed to load: %s", err)
            self.load_failed.emit(str(err))
            return
        except Exception as err:  # a bug or an llama.cpp surprise must not kill the thread
            log.exception("model failed to load")
            self.load_failed.emit(f"The model could not be loaded: {err}")
            return
        self.loaded.emit(
            {
                "model_name": self.engine.model_name,
                "backend": self.engine.backend,
                "info": self.engine.info,
            }
        )

    @Slot(object)
    def update_config(self, config: EngineConfig) -> None:
        """Apply generation settings (lengths, temperature) to the loaded engine."""
        if self.engine is None:
            return
        try:
            self.engine.update_config(config)
        except Exception as err:  # a reload that failed leaves the engine closed
            log.exception("applying the settings failed")
            self.engine = None
            self.load_failed.emit(str(err))

    @Slot(int, int, int, str)
    def suggest(self, request_id: int, revision: int, cursor: int, text: str) -> None:
        """Generate one suggestion for `text` unless superseded; emits suggestion_ready or failed."""
        if self.engine is None or self._cancelled(request_id):
            return
        result = self._run(
            request_id, lambda cancel: self.engine.suggest(text, should_cancel=cancel)
        )
        if result is not _CANCELLED:
            self.suggestion_ready.emit(request_id, revision, cursor, result)

    @Slot(int, int, int, str)
    def alternatives(self, request_id: int, revision: int, cursor: int, text: str) -> None:
        """Generate the alternatives for `text` unless superseded; emits alternatives_ready or failed."""
        if self.engine is None or self._cancelled(request_id):
            return
        result = self._run(
            request_id, lambda cancel: self.engine.alternatives(text, should_cancel=cancel)
        )
        if result is not _CANCELLED:
            self.alternatives_ready.emit(request_id, revision, cursor, result)

    @Slot(int, str)
    def prefetch(self, request_id: int, text: str) -> None:
        """Warm the engine for `text` (after an accept), unless a newer request came in."""
        if self.engine is None or self._cancelled(request_id):
            return
        try:
            self.engine.prefetch(text, should_cancel=lambda: self._cancelled(request_id))
        except Exception:  # only a speed-up: never worth a message
            log.exception("prefetch failed")

    @Slot()
    def close(self) -> None:
        """Free the engine (and its model memory)."""
        if self.engine is not None:
            engine, self.engine = self.engine, None
            try:
                engine.close()
            except Exception:
                log.exception("closing the engine failed")

    def _run(self, request_id, call):
        try:
            return call(lambda: self._cancelled(request_id))
        except GenerationCancelled:
            return _CANCELLED
        except Exception as err:
            log.exception("suggestion request %d failed", request_id)
            self.failed.emit(request_id, str(err) or type(err).__name__)
            return _CANCELLED


_CANCELLED = object()


class WorkerHandle(QObject):
    """The UI thread's side: starts the worker thread and sends it requests by signal.

    Call shutdown() before the application quits.
    """

    _load = Signal(object)
    _update_config = Signal(object)
    _suggest = Signal(int, int, int, str)
    _alternatives = Signal(int, int, int, str)
    _prefetch = Signal(int, str)
    _close = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.worker = EngineWorker()
        self.thread = QThread()
        self.thread.setObjectName("engine")
        self.worker.moveToThread(self.thread)
        # Queued: the sender lives in the UI thread, the worker in its own.
        self._load.connect(self.worker.load)
        self._update_config.connect(self.worker.update_config)
        self._suggest.connect(self.worker.suggest)
        self._alternatives.connect(self.worker.alternatives)
        self._prefetch.connect(self.worker.prefetch)
        self._close.connect(self.worker.close)
        self.thread.started.connect(self.worker.lower_priority)
        self._next_id = 0
        self._prefetch_text: str | None = None
        self.thread.start(QThread.Priority.LowPriority)  # honoured on macOS and Windows

    def _new_id(self) -> int:
        # Setting latest_id is what cancels the request in flight.
        self._next_id += 1
        self.worker.latest_id = self._next_id
        self._prefetch_text = None
        return self._next_id

    def cancel(self) -> None:
        """Cancel whatever the worker is generating or has queued."""
        self._new_id()

    def load(self, config: EngineConfig) -> None:
        """Ask the worker to (re)load the model; answered by loaded or load_failed."""
        self.cancel()
        self._load.emit(config)

    def update_config(self, config: EngineConfig) -> None:
        """Send generation settings to the loaded engine."""
        self._update_config.emit(config)

    def suggest(self, revision: int, cursor: int, text: str) -> int:
        """Request a suggestion, superseding older requests; returns the request id."""
        if text == self._prefetch_text:
            # The prefetch is computing exactly this: keep its id so it is not
            # cancelled; this request then finds the answer in the engine's cache.
            request_id, self._prefetch_text = self._next_id, None
        else:
            request_id = self._new_id()
        self._suggest.emit(request_id, revision, cursor, text)
        return request_id

    def alternatives(self, revision: int, cursor: int, text: str) -> int:
        """Request the alternatives, superseding older requests; returns the request id."""
        request_id = self._new_id()
        self._alternatives.emit(request_id, revision, cursor, text)
        return request_id

    def prefetch(self, text: str) -> None:
        """Ask the worker to compute ahead for `text`; superseded by any later request."""
        request_id = self._new_id()
        self._prefetch_text = text
        self._prefetch.emit(request_id, text)

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Cancel requests, free the engine and stop the thread (waits up to timeout_ms)."""
        if not self.thread.isRunning():
            return
        self.cancel()
        self._close.emit()
        self.thread.quit()
        if not self.thread.wait(timeout_ms):
            log.warning("the engine thread did not stop within %d ms", timeout_ms)
