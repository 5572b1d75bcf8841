"""A crash of the engine process never reaches the editor. Real processes, real signals.

Bounds (generous, for a busy 2-core CI machine):
- RECOVERY_BOUND_S: from the crash to a suggestion shown again, through the
  restart (backoff, a new interpreter, the model loaded, a full prompt evaluated);
- MAX_GAP_MS: the longest the editor's event loop may stall while the engine
  crashes at every load and the ladder runs out.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QTextCursor

from tests.fixtures_text import TRAIN_TEXT
from writer_app.engine.host import TEST_CRASH_ENV
from writer_app.ui.settings import AppSettings

RECOVERY_BOUND_S = 20
MAX_GAP_MS = 50
TICK_MS = 5
KEY_INTERVAL_MS = 40  # a quick typist: each key supersedes the request of the last


class LoopWatch:
    """The longest gap between ticks of a 5 ms timer: how long the event loop stalled."""

    def __init__(self):
        self.max_gap_ms = 0.0
        self._last = None
        self._timer = QTimer(interval=TICK_MS, timerType=Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)

    def _tick(self):
        now = time.perf_counter()
        if self._last is not None:
            self.max_gap_ms = max(self.max_gap_ms, (now - self._last) * 1000)
        self._last = now

    def start(self):
        self._timer.start()

    def stop(self):
        self._timer.stop()


class Typist:
    """Types `text` into the editor one key per KEY_INTERVAL_MS, inside the event loop."""

    def __init__(self, qtbot, editor, text: str):
        self.qtbot, self.editor, self.text, self.i = qtbot, editor, text, 0
        self._timer = QTimer(interval=KEY_INTERVAL_MS)
        self._timer.timeout.connect(self._key)
        self._timer.start()

    def _key(self):
        if self.i >= len(self.text):
            self._timer.stop()
            return
        self.qtbot.keyClicks(self.editor, self.text[self.i])
        self.i += 1

    @property
    def done(self) -> bool:
        return self.i >= len(self.text)


def show_every_suggestion(monkeypatch) -> None:
    """A random-weight model is never confident, and the document's own counts make it
    repeat itself into nothing: show whatever it writes (confidence 0, no document cache)."""
    original = AppSettings.engine_config

    def engine_config(self):
        return replace(original(self), confidence=0.0, document_cache=False)

    monkeypatch.setattr(AppSettings, "engine_config", engine_config)


def put_text(editor, text: str) -> None:
    editor.set_text(text)
    editor.moveCursor(QTextCursor.MoveOperation.End)


@pytest.mark.parametrize(
    "sig, words", [(signal.SIGKILL, "killed"), (signal.SIGSEGV, "segmentation fault")]
)
def test_killing_the_engine_mid_request_loses_no_keystroke_and_suggestions_come_back(
    qtbot, make_window, slow_gguf, sig, words, monkeypatch
):
    show_every_suggestion(monkeypatch)
    window = make_window(slow_gguf, debounce_ms=30)
    editor = window.editor
    start = TRAIN_TEXT[:600]  # ~150 tokens for the first request to evaluate
    put_text(editor, start)
    old_pid = window.worker.engine_pid
    crashes, kill = [], {}

    # In the worker thread, as the first suggestion request goes out: the engine dies
    # with it unanswered. (A timer into the request could land after it, while the
    # worker sends an edit, when the next key cancels a quick request first.)
    def kill_now(request_id):
        if not kill:
            kill["pid"] = old_pid
            os.kill(old_pid, sig)

    window.worker.worker.request_started.connect(kill_now)
    window.worker.worker.crashed.connect(crashes.append)
    typed = " Then the keeper walked down to the shore"
    typist = Typist(qtbot, editor, typed)
    qtbot.waitUntil(lambda: bool(crashes), timeout=60_000)
    crashed_at = time.perf_counter()
    qtbot.waitUntil(lambda: typist.done, timeout=60_000)
    qtbot.waitUntil(
        lambda: window.engine_state == "ready" and editor.ghost_text != "",
        timeout=RECOVERY_BOUND_S * 1000,
    )
    recovered_s = time.perf_counter() - crashed_at
    print(f"{words}: a suggestion again {recovered_s:.1f} s after the crash")

    assert editor.toPlainText() == start + typed  # not one keystroke lost
    assert crashes[0].during == "suggest" and crashes[0].returncode == -sig
    assert words in window.status.message_label.text()
    assert "restarted" in window.status.message_label.text()
    assert window.worker.engine_pid not in (None, old_pid)


def test_an_engine_that_crashes_at_every_load_is_off_for_this_run_only_and_retry_works(
    qtbot, make_window, trained_gguf, monkeypatch
):
    monkeypatch.setenv(TEST_CRASH_ENV, "load")
    window = make_window(trained_gguf, wait_ready=False)
    watch = LoopWatch()
    watch.start()
    typed = "She wrote on while the engine failed."
    typist = Typist(qtbot, window.editor, typed)
    try:
        qtbot.waitUntil(lambda: window.engine_state == "off", timeout=120_000)
        qtbot.waitUntil(lambda: typist.done, timeout=60_000)
    finally:
        watch.stop()
    print(f"max event-loop gap {watch.max_gap_ms:.1f} ms")

    message = window.status.message_label.text()
    assert "aborted" in message and "Suggestions are off" in message and "Retry" in message
    assert window.status.suggestions_label.text() == "suggestions off"
    assert window.menu.retry_action.isEnabled()
    assert window.editor.toPlainText() == typed
    assert watch.max_gap_ms < MAX_GAP_MS, f"the event loop stalled for {watch.max_gap_ms:.0f} ms"

    # Off lasts this run only: the next window (a new run, the same settings file) tries
    # again, and with whatever crashed it gone, gets suggestions.
    monkeypatch.delenv(TEST_CRASH_ENV)
    again = make_window(trained_gguf, debounce_ms=30)  # waits until it is ready
    qtbot.keyClicks(again.editor, "The dragon")
    qtbot.waitUntil(lambda: again.editor.ghost_text != "", timeout=60_000)
    assert again.status.suggestions_label.text() == "suggestions on"

    # Retry brings suggestions back in the first window too.
    window.menu.retry_action.trigger()
    qtbot.waitUntil(lambda: window.engine_state == "ready", timeout=60_000)
    assert window.status.suggestions_label.text() == "suggestions on"
    assert not window.menu.retry_action.isEnabled()


def test_a_crash_at_the_first_suggestion_steps_down_to_safe_cpu_settings_and_is_remembered(
    qtbot, make_window, trained_gguf, monkeypatch
):
    # The AMX bug's shape: SIGILL at the first suggestion while extra buffer types are on.
    monkeypatch.setenv(TEST_CRASH_ENV, "suggest-with-extra-bufts")
    window = make_window(trained_gguf, extra_buffers="on")
    qtbot.keyClicks(window.editor, "The dragon")
    qtbot.waitUntil(lambda: window.editor.ghost_text != "", timeout=60_000)
    message = window.status.message_label.text()
    assert "illegal instruction" in message and "no CPU extra buffer types" in message
    assert window.editor.toPlainText() == "The dragon"
    assert window.menu.retry_action.isEnabled()

    second = make_window(trained_gguf, extra_buffers="on")
    crashes = []
    second.worker.worker.crashed.connect(crashes.append)
    qtbot.keyClicks(second.editor, "The dragon")
    qtbot.waitUntil(lambda: second.editor.ghost_text != "", timeout=60_000)
    assert not crashes
    assert "safer engine settings" in second.status.message_label.text()


def test_a_setting_change_reloads_the_model_only_when_the_engine_needs_it(
    qtbot, make_window, trained_gguf
):
    window = make_window(trained_gguf, debounce_ms=30)
    states = []
    window.suggestions.state_changed.connect(states.append)
    window.apply_settings(replace(window.settings, length=2))
    qtbot.keyClicks(window.editor, "The dragon")
    qtbot.waitUntil(lambda: window.editor.ghost_text != "", timeout=20_000)
    assert len(window.editor.ghost_text.split()) <= 2
    assert states == []  # no reload for a length
    window.apply_settings(replace(window.settings, extra_buffers="off"))
    qtbot.waitUntil(lambda: window.engine_state == "ready", timeout=20_000)
    assert states == ["loading", "ready"]


def test_the_app_process_never_loads_llama_cpp(trained_gguf, tmp_path):
    probe = f"""
import sys
from PySide6.QtCore import QTimer
from writer_app.ui.app import create_application
from writer_app.ui.main_window import MainWindow
from writer_app.ui.settings import AppSettings
app = create_application()
window = MainWindow(AppSettings(model_path={str(trained_gguf)!r}, n_threads=1))
def check():
    if window.engine_state == "loading":
        return
    print(window.engine_state, "llama_cpp" in sys.modules)
    window.suggestions.shutdown()
    app.quit()
timer = QTimer(interval=50)
timer.timeout.connect(check)
timer.start()
app.exec()
"""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.stdout.split()[-2:] == ["ready", "False"], out.stderr[-2000:]
