"""The engine's thread: a QObject living on a QThread that owns the engine process.

The model runs in a child process (writer_app.engine.client / host), so a
native crash ends that process and never the editor. This worker owns the
child's EngineClient and blocks on it, so the UI thread never waits on a pipe.
The UI thread talks to the worker only through queued signals.

Every request carries an id. The UI thread writes the newest id into the
CancelFlag, a shared int that the child's abort callback reads, so a newer
request stops an older one inside llama.cpp without a message. That flag is
the only state shared between the threads (and the processes).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QThread, Signal, Slot

from writer_app.engine import EngineConfig, EngineError
from writer_app.engine.client import EngineClient, EngineCrashed
from writer_app.engine.errors import GenerationCancelled
from writer_app.engine.protocol import CancelFlag

log = logging.getLogger(__name__)

KILL_WAIT_MS = 2000  # after a shutdown that timed out: the wait once the child is killed


class EngineWorker(QObject):
    """Starts the engine process and relays requests to it, in its own thread.

    Slots are invoked through queued connections (see WorkerHandle); results
    come back as signals carrying the request's id, revision and cursor position.
    """

    process_started = Signal(object)  # protocol.Hello: pid, the machine's defaults
    loaded = Signal(object)  # the load summary: model_name, backend, info, ...
    load_failed = Signal(str)  # a message for the writer
    crashed = Signal(object)  # EngineCrashed: the engine process died
    request_started = Signal(int)  # id: a request went to the engine process
    # id, revision, cursor, Suggestion | None, and whether the confidence gate hid one
    # (RequestStats.gate_hid).
    suggestion_ready = Signal(int, int, int, object, bool)
    alternatives_ready = Signal(int, int, int, object)  # id, revision, cursor, list[Suggestion]
    failed = Signal(int, str)  # id, message: the engine raised while generating
    document_lost = Signal()  # an edit did not fit the engine's copy: resend the whole text

    def __init__(self, flag: CancelFlag):
        super().__init__()
        self.flag = flag
        self.client = EngineClient(flag)

    def _cancelled(self, request_id: int) -> bool:
        return self.flag.get() != request_id

    @Slot(object)
    def load(self, config: EngineConfig) -> None:
        """Load `config`'s model, starting the engine process if needed; emits loaded,
        load_failed or crashed."""
        try:
            if not self.client.running:
                self.process_started.emit(self.client.start())
            summary = self.client.load(config)
        except EngineCrashed as err:
            self.crashed.emit(err)
            return
        except EngineError as err:
            log.warning("model failed to load: %s", err)
            self.load_failed.emit(str(err))
            return
        except Exception as err:  # a bug or a surprise must not kill the thread
            log.exception("model failed to load")
            self.load_failed.emit(f"The model could not be loaded: {err}")
            return
        self.loaded.emit(summary)

    @Slot(object)
    def update_config(self, config: EngineConfig) -> None:
        """Apply settings that need no reload (lengths, temperature, threads) to the engine."""
        if not self.client.loaded:
            return
        try:
            summary = self.client.configure(config)
        except EngineCrashed as err:
            self.crashed.emit(err)
            return
        except Exception as err:
            log.exception("applying the settings failed")
            self.load_failed.emit(str(err))
            return
        if summary.get("reloaded"):
            self.loaded.emit(summary)

    @Slot(int, int, int, str, bool)
    def suggest(
        self, request_id: int, revision: int, cursor: int, text: str, ungated: bool
    ) -> None:
        """Generate one suggestion for `text` unless superseded (`ungated`: past the confidence
        gate, Engine.suggest); emits suggestion_ready or failed."""
        # Only an ungated request says so: the others keep their frames as they were.
        options = {"ungated": True} if ungated else {}
        result = self._run(request_id, "suggest", text, **options)
        if result is not _CANCELLED:
            stats = self.client.last_stats
            hid = stats is not None and stats.gate_hid
            self.suggestion_ready.emit(request_id, revision, cursor, result, hid)

    @Slot(int, int, int, str)
    def alternatives(self, request_id: int, revision: int, cursor: int, text: str) -> None:
        """Generate the alternatives for `text` unless superseded; emits alternatives_ready or failed."""
        result = self._run(request_id, "alternatives", text)
        if result is not _CANCELLED:
            self.alternatives_ready.emit(request_id, revision, cursor, result)

    @Slot(int, str)
    def prefetch(self, request_id: int, text: str) -> None:
        """Warm the engine for `text` (after an accept), unless a newer request came in."""
        self._run(request_id, "prefetch", text, quiet=True)

    @Slot(str, object, object)
    def notify(self, kind: str, args: tuple, kwargs: dict) -> None:
        """Send a request whose answer nobody waits for (a kind of protocol.REQUESTS)."""
        if not self.client.loaded:
            return
        try:
            self.client.request(kind, *args, **kwargs)
        except EngineCrashed as err:
            self.crashed.emit(err)
        except EngineError as err:
            log.warning("request %s failed: %s", kind, err)
            if kind == "document_changed":
                self.document_lost.emit()
        except Exception:
            log.exception("request %s failed", kind)

    @Slot()
    def close(self) -> None:
        """Stop the engine process (and free its model memory) and its watchdog."""
        try:
            self.client.dispose()  # the flag is the handle's: dispose leaves it
        except Exception:
            log.exception("stopping the engine process failed")

    def _run(self, request_id: int, kind: str, text: str, quiet: bool = False, **options):
        if not self.client.loaded or self._cancelled(request_id):
            return _CANCELLED
        self.request_started.emit(request_id)
        try:
            return self.client.request(kind, text, cancel_id=request_id, **options)
        except GenerationCancelled:
            return _CANCELLED
        except EngineCrashed as err:
            self.crashed.emit(err)
            return _CANCELLED
        except Exception as err:
            if quiet:  # a prefetch is only a speed-up: never worth a message
                log.exception("%s failed", kind)
            else:
                log.exception("%s request %d failed", kind, request_id)
                self.failed.emit(request_id, str(err) or type(err).__name__)
            return _CANCELLED


_CANCELLED = object()


class WorkerHandle(QObject):
    """The UI thread's side: starts the worker thread and sends it requests by signal.

    Call shutdown() before the application quits.
    """

    _load = Signal(object)
    _update_config = Signal(object)
    _suggest = Signal(int, int, int, str, bool)
    _alternatives = Signal(int, int, int, str)
    _prefetch = Signal(int, str)
    _notify = Signal(str, object, object)
    _close = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.flag = CancelFlag()
        self.worker = EngineWorker(self.flag)
        self.thread = QThread()
        self.thread.setObjectName("engine")
        self.worker.moveToThread(self.thread)
        # Queued: the sender lives in the UI thread, the worker in its own.
        self._load.connect(self.worker.load)
        self._update_config.connect(self.worker.update_config)
        self._suggest.connect(self.worker.suggest)
        self._alternatives.connect(self.worker.alternatives)
        self._prefetch.connect(self.worker.prefetch)
        self._notify.connect(self.worker.notify)
        self._close.connect(self.worker.close)
        self._next_id = 0
        self._prefetch_text: str | None = None
        self.thread.start()

    @property
    def latest_id(self) -> int:
        """The newest request's id: answers to any other are stale."""
        return self.flag.get()

    @property
    def engine_pid(self) -> int | None:
        """The engine process's id (None when none runs)."""
        return self.worker.client.pid

    def _new_id(self) -> int:
        # Setting the flag is what cancels the request in flight, in the child.
        self._next_id += 1
        self.flag.set(self._next_id)
        self._prefetch_text = None
        return self._next_id

    def cancel(self) -> None:
        """Cancel whatever the worker is generating or has queued."""
        self._new_id()

    def load(self, config: EngineConfig) -> None:
        """Ask the worker to (re)load the model; answered by loaded, load_failed or crashed."""
        self.cancel()
        self._load.emit(config)

    def update_config(self, config: EngineConfig) -> None:
        """Send settings that need no reload to the loaded engine."""
        self._update_config.emit(config)

    def suggest(self, revision: int, cursor: int, text: str, ungated: bool = False) -> int:
        """Request a suggestion, superseding older requests; returns the request id.

        `ungated`: the writer asked (Ctrl+Space); the confidence gate does not cut it.
        """
        if text == self._prefetch_text and not ungated:
            # The prefetch is computing exactly this: keep its id so it is not
            # cancelled; this request then finds the answer in the engine's cache.
            request_id, self._prefetch_text = self._next_id, None
        else:
            request_id = self._new_id()
        self._suggest.emit(request_id, revision, cursor, text, ungated)
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

    def notify(self, kind: str, *args, **kwargs) -> None:
        """Send the engine a request of `kind` (protocol.REQUESTS) without waiting for it."""
        self._notify.emit(kind, args, kwargs)

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Cancel requests, stop the engine process and the thread (waits up to timeout_ms;
        then kills the process)."""
        if not self.thread.isRunning():
            return
        self.cancel()
        self._close.emit()
        self.thread.quit()
        if not self.thread.wait(timeout_ms):
            log.warning("the engine did not stop within %d ms; killing it", timeout_ms)
            self.worker.client.kill()
            if not self.thread.wait(KILL_WAIT_MS):
                return  # the flag stays mapped: the thread may still read it
        self.flag.close()
