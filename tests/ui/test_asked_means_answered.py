"""Asked means answered (issue 27): on a new page the confidence gate hides the automatic
suggestion, and says so on hover; Ctrl+Space shows the model's best guess anyway, marked
as less sure, and says so when there is nothing at all.

The window runs the real engine process on the bundled model (as a writer's first page)
or on the tiny model that memorised TRAIN_TEXT.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.fixtures_text import TRAIN_TEXT
from writer_app.ui.editor.ghost_editor import UNSURE_MARK, GhostEditor
from writer_app.ui.suggest.controller import GATE_HID, NOTHING_HERE, NOTHING_YET

NEW_PAGE = "Once upon a "  # issue 27: no suggestion here, even with Ctrl+Space
SURE = 0.9  # only what the model is nearly certain of passes the gate
WAIT_MS = 20_000  # the machine is shared and busy: generous, never a sleep


def ctrl_space(qtbot, editor) -> None:
    qtbot.keyClick(editor, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)


@pytest.fixture
def new_page(qtbot, make_window):
    """A window on the bundled model with a strict gate, NEW_PAGE typed; only asking asks."""
    window = make_window(confidence=SURE, debounce_ms=60_000)
    window.editor.setFocus()
    qtbot.keyClicks(window.editor, NEW_PAGE)
    return window


def test_the_gate_hides_the_automatic_suggestion_and_says_so_on_hover(qtbot, new_page):
    window = new_page
    with qtbot.waitSignal(window.suggestion_handled, timeout=WAIT_MS) as answer:
        window.suggestions.request(automatic=True)  # what the pause does
    suggestion, shown = answer.args
    assert suggestion is None and not shown
    assert window.suggestions.dropped_results == 0  # answered for this very place
    assert window.editor.ghost_text == ""
    assert GATE_HID in window.status.suggestions_label.toolTip()


def test_ctrl_space_shows_the_best_guess_marked_less_sure_and_tab_takes_only_it(qtbot, new_page):
    window, editor = new_page, new_page.editor
    window.status.set_gate_note(GATE_HID)  # as after a hidden automatic answer
    ctrl_space(qtbot, editor)
    qtbot.waitUntil(lambda: editor.ghost_text != "", timeout=WAIT_MS)
    ghost = editor.ghost_text
    assert editor.ghost_unsure
    assert editor._ghost_layout().text() == ghost + UNSURE_MARK  # painted, not in the text
    assert editor.toPlainText() == NEW_PAGE
    assert GATE_HID not in window.status.suggestions_label.toolTip()  # something shows now
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    assert editor.toPlainText() == NEW_PAGE + ghost
    assert not editor.ghost_unsure and editor.ghost_text == ""


def test_ctrl_space_with_nothing_to_offer_says_so(qtbot, make_window, trained_gguf):
    window = make_window(trained_gguf, confidence=SURE, debounce_ms=60_000)
    editor, bar = window.editor, window.statusBar()
    editor.setFocus()
    ctrl_space(qtbot, editor)  # an empty page: nothing to go on
    assert bar.currentMessage() == NOTHING_YET
    # After the story's last line the model that memorised it has nothing more to say,
    # gate or no gate.
    editor.set_text(TRAIN_TEXT)
    editor.moveCursor(editor.textCursor().MoveOperation.End)
    with qtbot.waitSignal(window.suggestion_handled, timeout=WAIT_MS) as answer:
        ctrl_space(qtbot, editor)
    assert answer.args == [None, False]
    assert bar.currentMessage() == NOTHING_HERE
    assert editor.ghost_text == ""


def test_the_less_sure_mark_is_never_inserted(qtbot):
    editor = GhostEditor()
    qtbot.addWidget(editor)
    qtbot.keyClicks(editor, "The rain")
    editor.show_ghost(" had stopped", editor.textCursor().position())
    editor.mark_ghost_unsure()
    qtbot.keyClicks(editor, " h")  # typed through: the rest stays less sure
    assert editor.ghost_text == "ad stopped" and editor.ghost_unsure
    qtbot.keyClick(editor, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    assert editor.toPlainText() == "The rain had" and editor.ghost_unsure
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    assert editor.toPlainText() == "The rain had stopped"
    editor.show_ghost(" again.", editor.textCursor().position())  # a new ghost: sure again
    assert not editor.ghost_unsure
