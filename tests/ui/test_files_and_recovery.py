"""Never lose text: saves, failed saves, bad encodings, crash recovery, a bad model."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
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


# --- issue 25: what the app wrote opens again; what is not a file never hangs it --------------


def test_a_file_with_a_nul_in_its_prose_opens_without_it_with_a_warning(
    qtbot, make_window, dialogs, tmp_path
):
    path = tmp_path / "chapter.md"
    path.write_bytes(b"She paused.\x00 Then she spoke.\n")
    window = make_window(load_model=False)
    assert window.files.open_file(path)
    assert window.editor.toPlainText() == "She paused. Then she spoke.\n"
    assert "control character" in dialogs.texts("warning")[0]
    png = tmp_path / "cover.md"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(512))
    assert not window.files.open_file(png)
    assert "cover.md is not a text file (it is a PNG image)" in dialogs.texts("critical")[0]


@pytest.mark.timeout(30)
def test_a_fifo_a_device_and_a_folder_are_refused_at_open_without_blocking(
    qtbot, make_window, dialogs, tmp_path
):
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    window = make_window(load_model=False)
    for path in (fifo, Path("/dev/zero"), tmp_path):
        assert not window.files.open_file(path)
    titles = [title for kind, title, _ in dialogs.shown if kind == "critical"]
    assert titles == ["Not a file"] * 3
    texts = dialogs.texts("critical")
    assert "is a pipe (FIFO), not a text file" in texts[0] and "is a device" in texts[1]
    assert "is a folder" in texts[2]


# --- issue 25: state files cannot stop the app ------------------------------------------------


def test_a_recovery_date_out_of_range_does_not_stop_the_launch(
    qtbot, make_window, dialogs, isolated_app_state
):
    folder = isolated_app_state / "recovery"
    folder.mkdir()
    (folder / "session-1-deadbeef.recovery").write_bytes(
        b'{"source_path": null, "saved_at": 1e300}\nWords from the year ten to the 300.'
    )
    dialogs.answers = [QMessageBox.StandardButton.Yes]
    window = make_window(load_model=False)
    assert window.files.offer_recovery()  # raised OverflowError in time.localtime
    assert window.editor.toPlainText() == "Words from the year ten to the 300."


def test_deeply_nested_statistics_do_not_stop_the_launch_and_the_writer_is_told(
    qtbot, make_window, dialogs, isolated_app_state
):
    data = isolated_app_state / "data"
    data.mkdir()
    (data / "suggestion-stats.json").write_text("[" * 100_000 + "]" * 100_000)
    window = make_window(load_model=False)  # raised RecursionError
    window.files.offer_recovery()  # what the app does right after showing the window
    (told,) = dialogs.texts("warning")
    assert "suggestion statistics" in told and "suggestion-stats.json.bad-" in told
    assert len(list(data.glob("suggestion-stats.json.bad-*"))) == 1
    window.files.show_notices()
    assert len(dialogs.texts("warning")) == 1  # told once


def test_a_damaged_recovery_copy_is_offered_and_kept_until_the_writer_decides(
    qtbot, make_window, dialogs, isolated_app_state
):
    folder = isolated_app_state / "recovery"
    folder.mkdir()
    damaged = folder / "session-1-deadbeef.recovery"
    damaged.write_bytes(b'{"source_path": nul\nCaf\xff and the rest of the chapter.')
    dialogs.answers = [QMessageBox.StandardButton.Ignore]
    window = make_window(load_model=False)
    assert not window.files.offer_recovery()
    assert "damaged" in dialogs.texts("question")[0]
    assert damaged.exists()  # Ignore: asked again next time
    dialogs.answers = [QMessageBox.StandardButton.Yes]
    assert window.files.offer_recovery()
    assert window.editor.toPlainText() == "Caf\ufffd and the rest of the chapter."
    assert not damaged.exists() and list(folder.glob(damaged.name + ".bad-*"))  # kept aside


def test_an_unwritable_recovery_folder_is_said_lastingly_with_where_to_save(
    qtbot, make_window, dialogs, isolated_app_state
):
    (isolated_app_state / "recovery").write_text("a file where the folder should be")
    window = make_window(load_model=False)
    qtbot.keyClicks(window.editor, "Unprotected words.")
    window.files.autosave()
    qtbot.keyClicks(window.editor, " More.")
    window.files.autosave()
    (warning,) = dialogs.texts("warning")  # once, not at every autosave
    assert "Save As" in warning and str(isolated_app_state / "recovery") in warning
    assert "No crash copy" in window.status.message_label.text()


def test_a_failed_settings_save_is_reported(qtbot, make_window, dialogs):
    from writer_app.ui.settings import open_qsettings

    window = make_window(load_model=False)
    Path(open_qsettings().fileName()).mkdir(parents=True)  # a folder where the file goes
    window.set_suggestions_enabled(False)
    window.files.show_notices()
    (told,) = dialogs.texts("warning")
    assert "settings could not be saved" in told


# --- mutation guards: the promises of the README, by behaviour ---------------------------------


def test_the_window_autosaves_every_30_seconds(qtbot, make_window):
    window = make_window(load_model=False)
    timer = window.files.autosave_timer
    assert timer.isActive() and not timer.isSingleShot()
    assert timer.interval() == 30_000  # the README: "every 30 seconds"
    qtbot.keyClicks(window.editor, "Words.")
    window.files.recovery_timer.stop()  # only the periodic timer is left to save them
    timer.timeout.emit()
    assert window.files.recovery.path.exists()


def test_unsaved_text_reaches_the_recovery_file_4_seconds_after_the_first_keystroke(
    qtbot, make_window, monkeypatch
):
    from writer_app.ui.editor import document_files

    now = [1000.0]

    class Clock:  # document_files' view of the time module, with a clock the test moves
        monotonic = staticmethod(lambda: now[0])

        def __getattr__(self, name):
            return getattr(time, name)

    monkeypatch.setattr(document_files, "time", Clock())
    window = make_window(load_model=False)
    timer = window.files.recovery_timer
    due = []
    for step in range(20):  # a writer who never pauses: a key every 0.4 s
        now[0] = 1000.0 + 0.4 * step
        qtbot.keyClick(window.editor, "a")
        due.append(round(now[0] + timer.interval() / 1000 - 1000.0, 3))
        if timer.interval() == 0:  # due now: the event loop runs it at once
            break
    # The quiet-time save keeps moving back as keys come, until the deadline stops it.
    assert due[-1] == 4.0 and max(due) == 4.0
    assert due[0] < 4.0  # not the deadline alone: a pause saves sooner
    qtbot.waitUntil(window.files.recovery.path.exists, timeout=10_000)
