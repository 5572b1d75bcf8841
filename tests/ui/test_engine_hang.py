"""An engine that stops answering is noticed, killed and restarted, and the status bar says so.
The real app window, the real bundled model, a real SIGSTOP.

Bounds (generous, for a busy 2-core CI machine): the deadline of a suggestion
is 3 s or more (writer_app/engine/watchdog.py), then the restart loads the
model and evaluates the prompt again.
"""

from __future__ import annotations

import os
import signal

from PySide6.QtGui import QTextCursor

from tests.fixtures_text import TRAIN_TEXT

NOTICED_BOUND_MS = 60_000  # from the stop to the crash signal (a 3 s+ deadline, renewals)
RECOVERY_BOUND_MS = 60_000  # from the kill to a suggestion showing again


def test_a_stopped_engine_is_restarted_and_suggestions_come_back(qtbot, make_window):
    window = make_window(debounce_ms=30)  # no model given: the bundled one
    editor = window.editor
    start = TRAIN_TEXT[:300]
    editor.set_text(start)
    editor.moveCursor(QTextCursor.MoveOperation.End)
    old_pid = window.worker.engine_pid
    crashes, messages, stopped = [], [], []

    def stop_engine(request_id):  # in the worker thread, just before a request goes out
        if not stopped:
            stopped.append(request_id)
            os.kill(old_pid, signal.SIGSTOP)

    window.worker.worker.request_started.connect(stop_engine)
    window.worker.worker.crashed.connect(crashes.append)
    window.suggestions.message.connect(lambda text, error: messages.append(text))
    try:
        qtbot.keyClicks(editor, " The")
        qtbot.waitUntil(lambda: bool(crashes), timeout=NOTICED_BOUND_MS)
        typed = " keeper"  # the writer goes on while it restarts
        qtbot.keyClicks(editor, typed)
        qtbot.waitUntil(
            lambda: window.engine_state == "ready" and editor.ghost_text != "",
            timeout=RECOVERY_BOUND_MS,
        )
    finally:
        if not crashes:  # nothing noticed the stop: let the blocked worker go
            os.kill(old_pid, signal.SIGKILL)

    crash = crashes[0]
    assert crash.hung and crash.during == "suggest" and crash.returncode == -signal.SIGKILL
    assert "The suggestion engine stopped answering; restarting…" in messages
    assert window.status.message_label.text() == (
        "The suggestion engine stopped answering; restarted."
    )
    assert editor.toPlainText() == start + " The" + typed  # the text is untouched
    assert window.worker.engine_pid not in (None, old_pid)
    assert window.suggestions.engine.ladder.rung == 0  # one hang is no reason for safer settings
