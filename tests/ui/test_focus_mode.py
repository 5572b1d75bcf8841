"""Focus mode (View → Focus Mode, F11): full screen, menus and status bar hidden, only the
paragraph being written in full ink, typewriter scrolling; Esc or F11 leaves it, and Esc
puts a showing ghost away first."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor

from writer_app.ui.editor.focus import extra_selections, set_extra_selections

STORY = "First paragraph, in the past.\nSecond paragraph, being written.\nThird, to come."


def dimmed_spans(window) -> list[tuple[int, int]]:
    return [
        (s.cursor.selectionStart(), s.cursor.selectionEnd())
        for s in extra_selections(window.editor, "focus")
    ]


def put_cursor(editor, position: int) -> None:
    cursor = editor.textCursor()
    cursor.setPosition(position)
    editor.setTextCursor(cursor)


def focused_window(qtbot, make_window):
    window = make_window(load_model=False)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.editor.setPlainText(STORY)
    put_cursor(window.editor, STORY.index("being"))
    window.editor.setFocus()
    qtbot.keyClick(window.editor, Qt.Key.Key_F11)
    assert window.focus.active
    return window


def test_f11_hides_everything_but_the_page_and_dims_the_other_paragraphs(qtbot, make_window):
    window = focused_window(qtbot, make_window)
    assert window.isFullScreen()
    assert not window.menuBar().isVisible() and not window.statusBar().isVisible()
    assert window.menu.focus_action.isChecked()
    second = window.editor.document().findBlockByNumber(1)
    start, end = second.position(), second.position() + second.length() - 1
    assert dimmed_spans(window) == [(0, start), (end, len(STORY))]

    put_cursor(window.editor, 2)  # the first paragraph now
    first = window.editor.document().firstBlock()
    assert dimmed_spans(window) == [(first.length() - 1, len(STORY))]

    qtbot.keyClick(window.editor, Qt.Key.Key_F11)  # works with the menu bar hidden
    assert not window.focus.active and not window.isFullScreen()
    assert window.menuBar().isVisible() and window.statusBar().isVisible()
    assert dimmed_spans(window) == [] and not window.menu.focus_action.isChecked()


def test_typing_at_the_start_of_the_paragraph_stays_in_full_ink(qtbot, make_window):
    window = focused_window(qtbot, make_window)
    start = window.editor.document().findBlockByNumber(1).position()
    put_cursor(window.editor, start)
    qtbot.keyClicks(window.editor, "Now ")
    assert dimmed_spans(window)[0] == (0, start)


def test_esc_puts_the_ghost_away_first_then_leaves(qtbot, make_window):
    window = focused_window(qtbot, make_window)
    editor = window.editor
    put_cursor(editor, STORY.index("\nThird"))
    editor.show_ghost(" Then the rain came.", editor.textCursor().position())
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert editor.ghost_text == "" and window.focus.active
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert not window.focus.active
    qtbot.keyClick(editor, Qt.Key.Key_Escape)  # outside focus mode Esc does nothing more
    assert not window.focus.active


def test_the_spelling_underlines_and_the_dimming_live_side_by_side(qtbot, make_window):
    window = focused_window(qtbot, make_window)
    editor = window.editor
    dimming = extra_selections(editor, "focus")
    window.spelling.refresh()  # gives its own list: the dimming stays
    assert extra_selections(editor, "focus") == dimming
    underline = editor.ExtraSelection()
    underline.cursor = QTextCursor(editor.document())
    underline.cursor.setPosition(0)
    underline.cursor.setPosition(5, QTextCursor.MoveMode.KeepAnchor)
    set_extra_selections(editor, "spelling", [underline])
    assert len(editor.extraSelections()) == len(dimming) + 1
    window.focus.leave()
    assert len(editor.extraSelections()) == 1  # the underline stays


def test_typewriter_scrolling_keeps_the_cursor_line_in_the_middle(qtbot, make_window):
    window = make_window(load_model=False)
    editor = window.editor
    editor.setPlainText("\n".join(f"Paragraph {n} of a long chapter." for n in range(300)))
    window.focus.enter()
    qtbot.waitUntil(lambda: editor.viewport().height() > 200)
    middle = editor.viewport().height() / 2
    line = editor.fontMetrics().height() * 2
    for n in (120, 150, 200):
        put_cursor(editor, editor.document().findBlockByNumber(n).position())
        assert abs(editor.cursorRect().center().y() - middle) <= line
    window.focus.leave()


def test_the_last_lines_come_up_to_the_middle_without_touching_the_text(qtbot, make_window):
    window = make_window(load_model=False)
    editor = window.editor
    text = "\n".join(f"Paragraph {n} of a long chapter." for n in range(300))
    editor.setPlainText(text)
    editor.document().setModified(False)
    bar = editor.verticalScrollBar()
    window.focus.enter()
    qtbot.waitUntil(lambda: editor.viewport().height() > 200)
    # The room below is no edit: nothing to undo, nothing to save.
    assert not editor.document().isUndoAvailable() and not editor.document().isModified()
    middle = editor.viewport().height() / 2
    line = editor.fontMetrics().height() * 2
    end = editor.textCursor()
    end.movePosition(QTextCursor.MoveOperation.End)
    editor.setTextCursor(end)
    assert abs(editor.cursorRect().center().y() - middle) <= line
    qtbot.keyClicks(editor, " The end")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.keyClicks(editor, "came.")  # the text grew: the range grows with it
    assert abs(editor.cursorRect().center().y() - middle) <= line
    assert editor.toPlainText() == text + " The end\ncame."
    window.focus.leave()
    qtbot.waitUntil(lambda: not window.isFullScreen())
    size = editor.document().documentLayout().documentSize().height()
    assert bar.maximum() <= size - editor.viewport().height() + 1
