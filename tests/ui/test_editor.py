"""The editor widget and the settings dialog on their own: no model needed."""

from __future__ import annotations

from PySide6.QtCore import Qt

from writer_app.ui.dialogs.settings import SettingsDialog
from writer_app.ui.editor.ghost_editor import GhostEditor
from writer_app.ui.settings import AppSettings


def make_editor(qtbot, text="Once upon a time"):
    editor = GhostEditor()
    qtbot.addWidget(editor)
    editor.resize(900, 600)
    editor.show()
    qtbot.waitExposed(editor)
    editor.set_text(text)
    editor.moveCursor(editor.textCursor().MoveOperation.End)
    return editor


def test_text_wraps_inside_a_centred_column_without_horizontal_scrolling(qtbot):
    editor = make_editor(qtbot, "word " * 400)
    margins = editor.viewportMargins()
    assert margins.left() > 0 and margins.left() == margins.right()
    assert editor.document().textWidth() <= editor.viewport().width()
    assert editor.horizontalScrollBar().maximum() == 0


def test_a_long_ghost_wraps_onto_more_lines_inside_the_column(qtbot):
    editor = make_editor(qtbot)
    ghost = " and the rain kept falling on the roofs of the sleeping town" * 4
    editor.show_ghost(ghost, editor.textCursor().position())
    layout = editor._ghost_layout()
    assert layout.lineCount() > 2
    right = editor.document().textWidth()
    for i in range(layout.lineCount()):
        line = layout.lineAt(i)
        assert line.x() + line.naturalTextWidth() <= right + 1
    assert editor.toPlainText() == "Once upon a time"


def test_accepting_a_word_at_a_time_keeps_the_rest_and_the_undo_steps(qtbot):
    editor = make_editor(qtbot)
    editor.show_ghost(" there lived a fox.", editor.textCursor().position())
    qtbot.keyClick(editor, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(editor, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    assert editor.toPlainText() == "Once upon a time there lived"
    assert editor.ghost_text == " a fox."
    editor.undo()
    assert editor.toPlainText() == "Once upon a time there"


def test_moving_the_cursor_hides_the_ghost(qtbot):
    editor = make_editor(qtbot)
    editor.show_ghost(" there lived a fox.", editor.textCursor().position())
    qtbot.keyClick(editor, Qt.Key.Key_Left)
    assert editor.ghost_text == ""
    editor.moveCursor(editor.textCursor().MoveOperation.End)
    editor.show_ghost(" there lived a fox.", editor.textCursor().position())
    qtbot.mouseClick(editor.viewport(), Qt.MouseButton.LeftButton)
    assert editor.ghost_text == ""


def test_settings_dialog_rejects_a_file_that_is_not_a_model(qtbot, dialogs, tmp_path, trained_gguf):
    bad = tmp_path / "notes.gguf"
    bad.write_text("not a model")
    dialog = SettingsDialog(AppSettings(model_path=str(trained_gguf)))
    qtbot.addWidget(dialog)
    assert not dialog.choose_model(str(bad))
    assert "notes.gguf" in dialogs.texts("warning")[0]
    assert dialog.result_settings().model_path == str(trained_gguf)
    assert dialog.choose_model(str(trained_gguf))
    dialog.length_unit.setCurrentText("sentences")
    dialog.length.setValue(2)
    result = dialog.result_settings()
    assert (result.length_unit, result.length) == ("sentences", 2)
    assert result.engine_config().max_sentences == 2
