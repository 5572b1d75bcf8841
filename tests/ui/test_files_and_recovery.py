"""Never lose text: saves, failed saves, bad encodings, crash recovery, a bad model."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from writer_app.ui.settings import AppSettings, load_settings, save_settings


def test_autosave_recovers_the_text_after_a_crash(qtbot, make_window, dialogs, isolated_app_state):
    crashed = make_window(load_model=False)
    qtbot.keyClicks(crashed.editor, "Words that were never saved.")
    QApplication.sendEvent(crashed, QEvent(QEvent.Type.ActivationChange))  # focus loss autosaves
    assert crashed.recovery.path.exists()
    crashed.worker.shutdown()  # the crash: no closeEvent, no clean exit, the file stays
    crashed.hide()

    dialogs.answers = [QMessageBox.StandardButton.Yes]
    fresh = make_window(load_model=False)
    assert fresh.offer_recovery()
    assert fresh.editor.toPlainText() == "Words that were never saved."
    assert fresh.editor.document().isModified()
    assert not crashed.recovery.path.exists()
    fresh.close()  # a clean exit (the unsaved prompt is answered Discard) leaves nothing
    assert list((isolated_app_state / "recovery").iterdir()) == []


def test_a_failed_save_says_so_and_keeps_the_buffer_dirty(qtbot, make_window, dialogs, tmp_path):
    window = make_window(load_model=False)
    qtbot.keyClicks(window.editor, "Precious.")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    window.path = blocker / "story.txt"  # its folder is a file: the save must fail
    assert not window.save()
    assert window.editor.document().isModified()
    assert dialogs.texts("critical") and "Could not save" in dialogs.texts("critical")[0]
    assert window.editor.toPlainText() == "Precious."


def test_invalid_utf8_opens_with_a_warning(qtbot, make_window, dialogs, tmp_path):
    path = tmp_path / "old.txt"
    path.write_bytes("Caf\u00e9 d\u00e9j\u00e0 vu".encode("cp1252"))
    window = make_window(load_model=False)
    assert window.open_file(path)
    assert window.editor.toPlainText() == "Caf\u00e9 d\u00e9j\u00e0 vu"
    assert "not valid UTF-8" in dialogs.texts("warning")[0]


def test_opening_with_unsaved_changes_asks_first(qtbot, make_window, dialogs, tmp_path):
    path = tmp_path / "other.txt"
    path.write_text("Other story.")
    window = make_window(load_model=False)
    qtbot.keyClicks(window.editor, "Draft")
    dialogs.answers = [QMessageBox.StandardButton.Cancel]
    assert not window.open_file(path)
    assert window.editor.toPlainText() == "Draft"
    assert dialogs.texts("question")


def test_a_bad_model_path_leaves_a_working_editor_with_a_message(qtbot, make_window, tmp_path):
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"this is not a model")
    window = make_window(bad, wait_ready=False)
    qtbot.waitUntil(lambda: window.engine_state == "failed", timeout=20_000)
    message = window.message_label.text()
    assert "model.gguf" in message and "Settings → Model" in message
    qtbot.keyClicks(window.editor, "Still writing.")
    qtbot.keyClick(window.editor, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    assert window.editor.toPlainText() == "Still writing."
    assert window.editor.ghost_text == ""
    window.path = tmp_path / "story.txt"
    assert window.save() and window.path.read_text() == "Still writing."


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
