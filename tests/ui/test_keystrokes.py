"""Every key the writer presses reaches the saved file, whatever the ghost is doing.

These tests drive the real editor in the real window with key events and read
the saved file back: the bytes on disk are what the writer typed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

RETURN, BACKSPACE, TAB = Qt.Key.Key_Return, Qt.Key.Key_Backspace, Qt.Key.Key_Tab
CTRL = Qt.KeyboardModifier.ControlModifier


def open_at_end(qtbot, window, path: Path, content: str):
    """Write `content` to `path`, open it as the writer does and put the cursor at its end."""
    path.write_bytes(content.encode("utf-8"))
    assert window.files.open_file(path)
    editor = window.editor
    editor.setFocus()
    qtbot.keyClick(editor, Qt.Key.Key_End, CTRL)
    return editor


def press(qtbot, editor, *keys) -> None:
    """Type each key: a str is typed character by character, a Qt.Key pressed once."""
    for key in keys:
        if isinstance(key, str):
            qtbot.keyClicks(editor, key)
        else:
            qtbot.keyClick(editor, key)


def saved_text(window) -> str:
    """Save through the window's files, and return the file as read back from disk."""
    assert window.files.save()
    return window.files.path.read_bytes().decode("utf-8")


def block_formats(editor) -> list[tuple[float, int]]:
    """The (line height, line height type) of every paragraph, in order."""
    formats, block = [], editor.document().begin()
    while block.isValid():
        fmt = block.blockFormat()
        formats.append((fmt.lineHeight(), fmt.lineHeightType()))
        block = block.next()
    return formats


@pytest.mark.parametrize(
    "content",
    ["The end.", "The end.\n", "The end.\n\n", "", "Windows.\r\nLines.\r\n"],
    ids=["no-final-newline", "final-newline", "blank-last-line", "empty-file", "crlf"],
)
def test_the_first_returns_of_a_session_reach_the_file(qtbot, make_window, tmp_path, content):
    window = make_window(load_model=False)
    editor = open_at_end(qtbot, window, tmp_path / "story.txt", content)
    press(qtbot, editor, RETURN, RETURN, "Next", RETURN, "x")
    newline = "\r\n" if "\r\n" in content else "\n"
    expected = content + newline.join(["", "", "Next", "x"])
    assert saved_text(window) == expected


def test_new_paragraphs_get_the_block_format_of_loaded_ones(qtbot, make_window, tmp_path):
    window = make_window(load_model=False)
    editor = open_at_end(qtbot, window, tmp_path / "story.txt", "One.\nTwo.\n")
    loaded = block_formats(editor)[0]
    assert loaded[0] == window.settings.line_height
    press(qtbot, editor, RETURN, RETURN, "Three.", RETURN, RETURN)
    qtbot.keyClick(editor, Qt.Key.Key_Home, CTRL)
    press(qtbot, editor, RETURN, "Zero.")
    assert block_formats(editor) == [loaded] * editor.document().blockCount()
    window.files.new_file()  # an untitled document's paragraphs too
    press(qtbot, editor, RETURN, RETURN, "a", RETURN)
    assert block_formats(editor) == [loaded] * 4


@pytest.fixture
def window_with_engine(make_window, tiny_gguf_f32):
    # A real engine, and a pause so long that a request stays pending through the test.
    return make_window(tiny_gguf_f32, debounce_ms=60_000)


def test_every_key_reaches_the_file_in_every_state_of_the_ghost(
    qtbot, window_with_engine, tmp_path
):
    window = window_with_engine
    editor = open_at_end(qtbot, window, tmp_path / "story.txt", "Loaded.\n")
    expected = "Loaded.\n"

    def at_cursor() -> int:
        return editor.textCursor().position()

    # No ghost, nothing pending.
    assert not window.suggestions.debounce.isActive() and editor.ghost_text == ""
    press(qtbot, editor, RETURN, "Abx", BACKSPACE, TAB)
    expected += "\nAb\t"
    # A request pending (the writer's pause is being timed).
    assert window.suggestions.debounce.isActive()
    press(qtbot, editor, RETURN, RETURN, "cd", BACKSPACE, TAB)
    expected += "\n\nc\t"
    # A ghost shown: other keys than its own hide it and do what they always do.
    for key, typed in ((RETURN, "\n"), (BACKSPACE, None), ("z", "z")):
        editor.show_ghost(" ghost", at_cursor())
        assert editor.ghost_text == " ghost"
        press(qtbot, editor, key)
        expected = expected[:-1] if typed is None else expected + typed
        assert editor.ghost_text == ""
    # Tab with a ghost takes it.
    editor.show_ghost(" taken", at_cursor())
    press(qtbot, editor, TAB)
    expected += " taken"
    # Typed through: the ghost's own characters, a paragraph break among them.
    press(qtbot, editor, RETURN)
    editor.show_ghost("\nNew start here", at_cursor())
    press(qtbot, editor, RETURN, "New s")
    assert editor.ghost_text == "tart here"
    press(qtbot, editor, "t", RETURN, RETURN)
    expected += "\n\nNew st\n\n"
    assert editor.toPlainText() == expected
    assert saved_text(window) == expected


def test_a_pasted_nul_and_control_characters_are_left_out_and_the_writer_told(
    qtbot, make_window, dialogs, tmp_path
):
    window = make_window(load_model=False)
    editor = open_at_end(qtbot, window, tmp_path / "story.txt", "Start ")
    notices = []
    editor.notice.connect(lambda text, ms: notices.append(text))
    QApplication.clipboard().setText("a\x00b\x07c\td\r\ne\x1b\x7f")
    qtbot.keyClick(editor, Qt.Key.Key_V, CTRL)
    assert editor.toPlainText() == "Start abc\td\ne"
    assert len(notices) == 1 and "4 invisible control characters" in notices[0]
    assert window.statusBar().currentMessage() == notices[0]
    assert block_formats(editor)[0] == block_formats(editor)[1]
    assert saved_text(window) == "Start abc\td\ne"
    assert window.files.open_file(window.files.path)
    assert editor.toPlainText() == "Start abc\td\ne"
    assert dialogs.shown == []
    QApplication.clipboard().setText("clean")  # a clean paste says nothing
    qtbot.keyClick(editor, Qt.Key.Key_V, CTRL)
    assert editor.toPlainText() == "cleanStart abc\td\ne" and len(notices) == 1


def test_one_undo_after_tab_takes_back_only_the_suggestion(qtbot, make_window):
    window = make_window(load_model=False)
    editor = window.editor
    press(qtbot, editor, "The dragon")
    editor.show_ghost(" flew", editor.textCursor().position())
    press(qtbot, editor, TAB)
    qtbot.keyClick(editor, Qt.Key.Key_Z, CTRL)
    assert editor.toPlainText() == "The dragon"
    qtbot.keyClick(editor, Qt.Key.Key_Z, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert editor.toPlainText() == "The dragon flew"
    # The words typed after the suggestion are an undo step of their own.
    press(qtbot, editor, " away")
    qtbot.keyClick(editor, Qt.Key.Key_Z, CTRL)
    assert editor.toPlainText() == "The dragon flew"
    qtbot.keyClick(editor, Qt.Key.Key_Z, CTRL)
    assert editor.toPlainText() == "The dragon"


def test_a_ghost_made_for_another_cursor_position_is_not_shown(qtbot, make_window):
    # Guards show_ghost's own check of the position: an answer made before the
    # cursor moved must not hang anywhere, nor be inserted by Tab.
    window = make_window(load_model=False)
    editor = window.editor
    press(qtbot, editor, "Once upon")
    editor.show_ghost(" a time", 4)
    assert editor.ghost_text == "" and editor.ghost_position == -1
    press(qtbot, editor, TAB)
    assert editor.toPlainText() == "Once upon\t"


def test_backspace_is_not_answered_with_the_letters_it_deleted(qtbot, make_window):
    window = make_window(load_model=False)
    editor = window.editor
    press(qtbot, editor, "The dragons", BACKSPACE, BACKSPACE)
    at = editor.textCursor().position()
    editor.show_ghost("ns flew", at)
    assert editor.ghost_text == ""  # the letters just deleted, offered back at once
    editor.show_ghost(" flew", at)
    assert editor.ghost_text == " flew"  # anything else is a suggestion like any other
    press(qtbot, editor, "n")
    editor.show_ghost("s flew", editor.textCursor().position())
    assert editor.ghost_text == "s flew"  # the writer typed again
