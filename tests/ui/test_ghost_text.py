"""Ghost-text behaviour of the real app, with the real engine on the trained tiny model."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

PROMPT = "The dragon"
WAIT_MS = 20_000  # the machine is shared and busy: generous, never a sleep


@pytest.fixture
def window(make_window, trained_gguf):
    return make_window(trained_gguf)


def type_and_wait_for_ghost(qtbot, window, text=PROMPT) -> str:
    window.editor.setFocus()
    qtbot.keyClicks(window.editor, text)
    qtbot.waitUntil(lambda: window.editor.ghost_text != "", timeout=WAIT_MS)
    return window.editor.ghost_text


def test_pausing_shows_ghost_text_and_tab_inserts_exactly_it(qtbot, window):
    ghost = type_and_wait_for_ghost(qtbot, window)
    assert window.editor.toPlainText() == PROMPT
    qtbot.keyClick(window.editor, Qt.Key.Key_Tab)
    assert window.editor.toPlainText() == PROMPT + ghost
    assert window.editor.textCursor().position() == len(PROMPT + ghost)
    assert window.editor.ghost_text == ""


def test_tab_without_a_suggestion_types_a_tab(qtbot, make_window):
    window = make_window(load_model=False)
    qtbot.keyClicks(window.editor, "a")
    qtbot.keyClick(window.editor, Qt.Key.Key_Tab)
    assert window.editor.toPlainText() == "a\t"


def test_ctrl_right_inserts_one_word_and_keeps_the_rest(qtbot, window):
    ghost = type_and_wait_for_ghost(qtbot, window)
    word = re.match(r"\s*\S+", ghost).group()
    assert word != ghost, "the fixture model should suggest more than one word"
    qtbot.keyClick(window.editor, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    assert window.editor.toPlainText() == PROMPT + word
    assert window.editor.ghost_text == ghost[len(word) :]


def test_escape_clears_the_suggestion(qtbot, window):
    type_and_wait_for_ghost(qtbot, window)
    qtbot.keyClick(window.editor, Qt.Key.Key_Escape)
    assert window.editor.ghost_text == ""
    assert window.editor.toPlainText() == PROMPT


def test_typing_the_suggestion_consumes_it_without_asking_the_model(qtbot, window):
    ghost = type_and_wait_for_ghost(qtbot, window)
    requests = window.suggestions.requests_sent
    qtbot.keyClicks(window.editor, ghost[:3])
    assert window.editor.toPlainText() == PROMPT + ghost[:3]
    assert window.editor.ghost_text == ghost[3:]
    qtbot.wait(3 * window.settings.debounce_ms)  # a debounce would have fired by now
    assert window.suggestions.requests_sent == requests
    assert window.editor.ghost_text == ghost[3:]


def test_a_different_character_hides_the_suggestion_at_once(qtbot, window):
    ghost = type_and_wait_for_ghost(qtbot, window)
    other = "q" if not ghost.startswith("q") else "z"
    qtbot.keyClicks(window.editor, other)
    assert window.editor.ghost_text == ""


def test_a_stale_result_arriving_after_an_edit_is_not_shown(qtbot, make_window, trained_gguf):
    window = make_window(trained_gguf, debounce_ms=60_000)  # only Ctrl+Space asks
    qtbot.keyClicks(window.editor, PROMPT)
    with qtbot.waitSignal(window.suggestion_handled, timeout=WAIT_MS) as result:
        qtbot.keyClick(window.editor, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyClicks(window.editor, " x")  # edits before the answer can be delivered
    suggestion, shown = result.args
    assert suggestion is not None and suggestion.text, (
        "the request should have produced a suggestion"
    )
    assert not shown and window.suggestions.dropped_results == 1
    assert window.editor.ghost_text == ""
    assert window.editor.toPlainText() == PROMPT + " x"


def test_the_document_never_contains_the_ghost_text(qtbot, window, tmp_path):
    ghost = type_and_wait_for_ghost(qtbot, window)
    editor = window.editor
    assert editor.toPlainText() == PROMPT
    window.files.path = tmp_path / "story.txt"
    assert window.files.save()
    assert window.files.path.read_text(encoding="utf-8") == PROMPT
    editor.selectAll()
    editor.copy()
    assert QApplication.clipboard().text() == PROMPT
    window.status.update_word_count()
    assert window.status.words_label.text() == "2 of 2 words selected"  # all, no ghost
    while editor.document().isUndoAvailable():  # nor anywhere in the undo stack
        editor.undo()
        assert PROMPT.startswith(editor.toPlainText())
    assert ghost.strip() not in editor.toPlainText()


def test_undo_after_accepting_restores_the_text(qtbot, window):
    ghost = type_and_wait_for_ghost(qtbot, window)
    qtbot.keyClick(window.editor, Qt.Key.Key_Tab)
    assert window.editor.toPlainText() == PROMPT + ghost
    qtbot.keyClick(window.editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.editor.toPlainText() == PROMPT


def test_alternatives_are_computed_on_first_use_and_cycle_with_a_counter(
    qtbot, make_window, tiny_gguf_f32
):
    # A random-weight model: its samples differ, so there is something to cycle.
    window = make_window(tiny_gguf_f32, debounce_ms=60_000, alt_temperature=1.0)
    qtbot.keyClicks(window.editor, PROMPT)
    requests = window.suggestions.requests_sent
    alt = Qt.KeyboardModifier.AltModifier
    qtbot.keyClick(window.editor, Qt.Key.Key_BracketRight, alt)
    assert window.suggestions.requests_sent == requests + 1
    qtbot.waitUntil(
        lambda: re.fullmatch(r"1/\d+", window.status.alt_label.text()) is not None, timeout=WAIT_MS
    )
    total = int(window.status.alt_label.text().split("/")[1])
    assert total >= 2
    first = window.editor.ghost_text
    qtbot.keyClick(window.editor, Qt.Key.Key_BracketRight, alt)
    assert window.status.alt_label.text() == f"2/{total}" and window.editor.ghost_text != first
    qtbot.keyClick(window.editor, Qt.Key.Key_BracketLeft, alt)
    assert window.status.alt_label.text() == f"1/{total}" and window.editor.ghost_text == first
    assert window.suggestions.requests_sent == requests + 1  # computed once, then only cycled
    assert window.editor.toPlainText() == PROMPT


def test_ghost_text_is_painted_in_the_ghost_grey_after_the_cursor_not_in_the_text_colour(
    qtbot, window
):
    type_and_wait_for_ghost(qtbot, window)
    editor = window.editor
    palette = editor.palette()
    grey = palette.color(QPalette.ColorRole.PlaceholderText)
    ink = palette.color(QPalette.ColorRole.Text)
    assert abs(grey.lightness() - ink.lightness()) > 80, "the theme's ghost must differ from ink"
    with_ghost = editor.grab().toImage()
    editor.hide_ghost()
    without = editor.grab().toImage()
    # The cursor in the editor's own coordinates (the viewport sits inside frame and margins).
    rect = editor.cursorRect().translated(editor.viewport().mapTo(editor, QPoint(0, 0)))
    painted = [
        with_ghost.pixelColor(x, y)
        for y in range(rect.top(), rect.bottom() + 1)
        for x in range(rect.right() + 2, min(with_ghost.width(), rect.right() + 300))
        if with_ghost.pixel(x, y) != without.pixel(x, y)
    ]
    assert len(painted) > 20, "nothing was painted after the cursor"
    # Antialiased glyphs blend the pen into the page: no pixel is darker than the
    # pen, and the glyphs' solid cores reach it. Ink would be far darker.
    darkest = min(painted, key=QColor.lightness)
    assert abs(darkest.lightness() - grey.lightness()) <= 24, (darkest.name(), grey.name())
    assert all(abs(c.red() - c.green()) <= 12 and abs(c.green() - c.blue()) <= 12 for c in painted)
    assert abs(darkest.lightness() - ink.lightness()) > 60, "the ghost was painted in ink"
