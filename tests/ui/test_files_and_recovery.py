"""Never lose text: saves, failed saves, bad encodings, crash recovery, a bad model."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from writer_app.ui.settings import AppSettings, load_settings, save_settings


def test_autosave_recovers_the_text_after_a_crash(qtbot, make_window, dialogs, isolated_app_state):
    crashed = make_window(load_model=False)
    qtbot.keyClicks(crashed.editor, "Words that were never saved.")
    QApplication.sendEvent(crashed, QEvent(QEvent.Type.ActivationChange))  # focus loss autosaves
    assert crashed.files.recovery.path.exists()
    crashed.worker.shutdown()  # the crash: no closeEvent, no clean exit, the file stays
    crashed.files.recovery.close()  # and its lock goes, as a dead process's does
    crashed.hide()

    dialogs.answers = [QMessageBox.StandardButton.Yes]
    fresh = make_window(load_model=False)
    assert fresh.files.offer_recovery()
    assert fresh.editor.toPlainText() == "Words that were never saved."
    assert fresh.editor.document().isModified()
    assert not crashed.files.recovery.path.exists()
    fresh.close()  # a clean exit (the unsaved prompt is answered Discard) leaves nothing
    assert list((isolated_app_state / "recovery").iterdir()) == []


def test_a_failed_save_says_so_and_keeps_the_buffer_dirty(qtbot, make_window, dialogs, tmp_path):
    window = make_window(load_model=False)
    qtbot.keyClicks(window.editor, "Precious.")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    window.files.path = blocker / "story.txt"  # its folder is a file: the save must fail
    assert not window.files.save()
    assert window.editor.document().isModified()
    assert dialogs.texts("critical") and "Could not save" in dialogs.texts("critical")[0]
    assert window.editor.toPlainText() == "Precious."


def test_invalid_utf8_opens_with_a_warning(qtbot, make_window, dialogs, tmp_path):
    path = tmp_path / "old.txt"
    path.write_bytes("Caf\u00e9 d\u00e9j\u00e0 vu".encode("cp1252"))
    window = make_window(load_model=False)
    assert window.files.open_file(path)
    assert window.editor.toPlainText() == "Caf\u00e9 d\u00e9j\u00e0 vu"
    assert "not valid UTF-8" in dialogs.texts("warning")[0]


def test_opening_with_unsaved_changes_asks_first(qtbot, make_window, dialogs, tmp_path):
    path = tmp_path / "other.txt"
    path.write_text("Other story.")
    window = make_window(load_model=False)
    qtbot.keyClicks(window.editor, "Draft")
    dialogs.answers = [QMessageBox.StandardButton.Cancel]
    assert not window.files.open_file(path)
    assert window.editor.toPlainText() == "Draft"
    assert dialogs.texts("question")


def test_a_bad_model_path_leaves_a_working_editor_with_a_message(qtbot, make_window, tmp_path):
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"this is not a model")
    window = make_window(bad, wait_ready=False)
    qtbot.waitUntil(lambda: window.engine_state == "failed", timeout=20_000)
    message = window.status.message_label.text()
    assert "model.gguf" in message and "Settings → Model" in message
    qtbot.keyClicks(window.editor, "Still writing.")
    qtbot.keyClick(window.editor, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    assert window.editor.toPlainText() == "Still writing."
    assert window.editor.ghost_text == ""
    window.files.path = tmp_path / "story.txt"
    assert window.files.save() and window.files.path.read_text() == "Still writing."


def test_settings_round_trip_through_qsettings():
    settings = AppSettings(
        model_path="/m.gguf",
        n_threads=3,
        debounce_ms=350,
        length_unit="sentences",
        length=2,
        alt_temperature=1.1,
        theme="dark",
        suggestions_enabled=False,
        recent_files=["/a.txt", "/b.md"],
    )
    save_settings(settings)
    assert load_settings() == settings
    empty = AppSettings()
    save_settings(empty)
    assert load_settings() == empty


# The whole app, started as `writer-app` is, typing through real key events.
TYPIST = r"""
import sys
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication
from writer_app.ui.app import create_application, main

KEYS = {"\n": Qt.Key.Key_Return, "\t": Qt.Key.Key_Tab}  # the rest: the character alone

def type_text():
    window = next(w for w in QApplication.topLevelWidgets() if hasattr(w, "editor"))
    for ch in sys.argv[1]:
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            event = QKeyEvent(kind, KEYS.get(ch, 0), Qt.KeyboardModifier.NoModifier, ch)
            QApplication.sendEvent(window.editor, event)
    print("typed", flush=True)

app = create_application()
QTimer.singleShot(0, type_text)
sys.exit(main(["--model", sys.argv[2]]))
"""
UNSAVED = "Chapter 12\nÉlodie’s “café” — naïve, 10:45 p.m.; the last words\tbefore the crash."
KILL_AFTER_S = 6  # the promise is 5 s; the margin is for a loaded machine


def test_a_killed_app_keeps_everything_typed_5_seconds_before(
    qtbot, make_window, dialogs, isolated_app_state
):
    env = os.environ | {
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(isolated_app_state / "config"),
        "HOME": str(isolated_app_state),
    }
    app = subprocess.Popen(
        [sys.executable, "-c", TYPIST, UNSAVED, str(isolated_app_state / "no-model.gguf")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
        start_new_session=True,  # its own process group: the kill takes every process it started
    )
    try:
        assert app.stdout.readline().strip() == "typed"
        time.sleep(KILL_AFTER_S)
    finally:
        os.killpg(app.pid, signal.SIGKILL)
        app.wait(timeout=30)
        app.stdout.close()

    dialogs.answers = [QMessageBox.StandardButton.Yes]
    restarted = make_window(load_model=False)
    assert restarted.files.offer_recovery()
    assert restarted.editor.toPlainText() == UNSAVED


def test_a_pause_in_typing_reaches_the_recovery_file_without_focus_loss(qtbot, make_window):
    window = make_window(load_model=False)
    qtbot.keyClicks(window.editor, "A line")
    assert not window.files.recovery.path.exists()
    qtbot.waitUntil(window.files.recovery.path.exists, timeout=10_000)
    window.files.recovery.close()  # what a crash does to the lock
    from writer_app.core.recovery import find_recoverable

    assert [r.text for r in find_recoverable(window.files.recovery.folder)] == ["A line"]


def test_a_binary_file_is_refused_and_left_untouched(qtbot, make_window, dialogs, tmp_path):
    program = tmp_path / "ls"
    program.write_bytes(Path(sys.executable).resolve().read_bytes()[:200_000])
    before = program.read_bytes()
    window = make_window(load_model=False)
    qtbot.keyClicks(window.editor, "Draft")
    window.editor.document().setModified(False)
    assert not window.files.open_file(program)
    assert "ls is not a text file" in dialogs.texts("critical")[0]
    assert window.editor.toPlainText() == "Draft" and window.files.path is None
    assert program.read_bytes() == before


def test_a_new_file_in_a_missing_folder_says_so_when_opened(qtbot, make_window, dialogs, tmp_path):
    window = make_window(load_model=False)
    assert window.files.open_file(tmp_path / "typo-folder" / "chapter.md")
    assert "typo-folder does not exist" in dialogs.texts("warning")[0]
    assert window.files.open_file(tmp_path / "chapter.md")  # a folder that exists: no warning
    assert len(dialogs.texts("warning")) == 1


def test_save_as_creates_a_file_that_follows_the_umask(qtbot, make_window, monkeypatch, tmp_path):
    window = make_window(load_model=False)
    qtbot.keyClicks(window.editor, "Shared with the group.")
    target = tmp_path / "shared.txt"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(target), ""))
    old = os.umask(0o022)
    try:
        assert window.files.save_as()
    finally:
        os.umask(old)
    assert target.read_text() == "Shared with the group."
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)
