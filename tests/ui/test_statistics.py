"""Suggestions → Statistics in the real app: counted from real keys, kept across a restart,
reset on request, and never in the way when the data folder cannot be written."""

from __future__ import annotations

import json
import re
import statistics

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from writer_app.core.stats import UNTITLED, Counts
from writer_app.ui.stats.dialog import StatisticsDialog

WAIT_MS = 20_000


def wait_for_ghost(qtbot, window) -> str:
    qtbot.waitUntil(lambda: window.editor.ghost_text != "", timeout=WAIT_MS)
    return window.editor.ghost_text


def inject_ghost(window, text: str, ms: float) -> None:
    """Show `text` as a new suggestion the way the controller does, without the model."""
    window.suggestions.ghost_ready.emit(text, window.editor.textCursor().position())
    window.suggestions.suggestion_shown.emit(ms)


def figures(c: Counts) -> dict:
    return {
        "shown": c.shown,
        "whole": c.accepted_whole,
        "partly": c.accepted_partly,
        "words": c.words_accepted,
        "dismissed": c.dismissed,
        "chars": c.chars_saved,
        "keys": c.keys_saved,
        "times": len(c.times_ms),
    }


def test_a_typing_session_counts_by_hand_and_the_figures_survive_a_restart(
    qtbot, make_window, trained_gguf, tmp_path
):
    story = tmp_path / "story.txt"
    window = make_window(trained_gguf)
    assert window.files.load_path(story)  # a new file: its path is the document's key
    editor = window.editor
    editor.setFocus()

    qtbot.keyClicks(editor, "The dragon")
    first = wait_for_ghost(qtbot, window)
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    qtbot.keyClicks(editor, " and")
    second = wait_for_ghost(qtbot, window)
    words = re.findall(r"\s*\S+", second)
    assert len(words) > 2, f"the fixture model should suggest three words or more: {second!r}"
    ctrl = Qt.KeyboardModifier.ControlModifier
    qtbot.keyClick(editor, Qt.Key.Key_Right, ctrl)
    qtbot.keyClick(editor, Qt.Key.Key_Right, ctrl)
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert editor.toPlainText() == "The dragon" + first + " and" + words[0] + words[1]

    chars = len(first) + len(words[0]) + len(words[1])
    expected = {
        "shown": 2,
        "whole": 1,  # the first, with Tab
        "partly": 1,  # two words of the second, then Esc
        "words": 2,
        "dismissed": 1,
        "chars": chars,
        "keys": chars - 3,  # one Tab and two Ctrl+Right
        "times": 2,
    }
    stats = window.stats.stats
    assert figures(stats.total) == expected
    assert figures(stats.document(str(story))) == expected
    assert figures(stats.today) == expected
    assert stats.total.acceptance_rate == 1.0
    assert stats.total.median_ms == statistics.median(stats.total.times_ms) > 0
    tooltip = window.statusBar().toolTip()
    assert tooltip.startswith("Today: 2 suggestions, 2 accepted (100%)")
    assert f"{chars} characters and {chars - 3} keystrokes saved" in tooltip

    window.close()  # saves them (the unsaved-changes prompt is answered Discard)
    again = make_window(load_model=False)
    assert figures(again.stats.stats.total) == expected
    assert figures(again.stats.stats.document(str(story))) == expected
    assert again.statusBar().toolTip() == tooltip


def test_reset_asks_first_then_clears_every_figure_on_disk_too(
    qtbot, make_window, dialogs, isolated_app_state
):
    window = make_window(load_model=False)
    qtbot.keyClicks(window.editor, "Once")
    inject_ghost(window, " upon a time", 12.0)
    qtbot.keyClick(window.editor, Qt.Key.Key_Tab)
    assert figures(window.stats.stats.document(UNTITLED))["chars"] == len(" upon a time")
    dialog = StatisticsDialog(window.stats, window)
    qtbot.addWidget(dialog)
    assert dialog.summary.item(0, 0).text() == "1"  # this document: one shown

    dialogs.answers = [QMessageBox.StandardButton.Cancel]
    assert not dialog.ask_reset()
    assert window.stats.stats.total.shown == 1

    dialogs.answers = [QMessageBox.StandardButton.Reset]
    dialog.reset_button.click()
    assert dialogs.shown[-1][1] == "Reset the statistics?"
    assert window.stats.stats.total == Counts() and window.stats.stats.documents == {}
    assert dialog.summary.item(0, 0).text() == "0" and dialog.by_document.rowCount() == 0
    saved = json.loads((isolated_app_state / "data" / "suggestion-stats.json").read_text())
    assert saved["total"]["shown"] == 0
    assert window.statusBar().toolTip() == "Today: no suggestions yet."


def test_an_unwritable_data_folder_is_reported_once_and_never_stops_the_writer(
    qtbot, make_window, tmp_path, monkeypatch
):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the data folder should be")
    monkeypatch.setenv("WRITER_APP_DATA_DIR", str(blocker / "data"))
    window = make_window(load_model=False)  # loading from there starts from zero
    failures = []
    window.stats.save_failed.connect(failures.append)
    qtbot.keyClicks(window.editor, "Once")
    inject_ghost(window, " upon a time", 12.0)
    qtbot.keyClick(window.editor, Qt.Key.Key_Tab)

    assert not window.stats.save()
    assert len(failures) == 1 and "Could not save the suggestion statistics" in failures[0]
    assert "Could not save the suggestion statistics" in window.statusBar().currentMessage()
    qtbot.keyClicks(window.editor, " there")
    inject_ghost(window, " lived a fox", 8.0)
    qtbot.keyClick(window.editor, Qt.Key.Key_Tab)
    assert not window.stats.save()
    window.shutdown()  # saves once more at close: fails, logged, not raised
    assert len(failures) == 1  # reported once
    assert window.stats.stats.total.shown == 2  # still counted for this session
    assert window.editor.toPlainText() == "Once upon a time there lived a fox"


CTRL = Qt.KeyboardModifier.ControlModifier
UNDO = (Qt.Key.Key_Z, CTRL)
REDO = (Qt.Key.Key_Z, CTRL | Qt.KeyboardModifier.ShiftModifier)


def test_an_undone_tab_is_taken_back_and_a_redone_one_counts_again(qtbot, make_window):
    window = make_window(load_model=False)
    editor = window.editor
    qtbot.keyClicks(editor, "Once")
    inject_ghost(window, " upon a time", 12.0)
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    stats = window.stats.stats
    assert figures(stats.total)["whole"] == 1

    qtbot.keyClick(editor, *UNDO)
    assert editor.toPlainText() == "Once"
    for bucket in (stats.total, stats.today, stats.document(UNTITLED)):
        assert figures(bucket) == {**figures(Counts()), "shown": 1, "times": 1}
    assert window.statusBar().toolTip().startswith("Today: 1 suggestion, 0 accepted (0%)")

    qtbot.keyClick(editor, *REDO)
    assert editor.toPlainText() == "Once upon a time"
    assert figures(stats.total)["whole"] == 1
    assert figures(stats.total)["chars"] == len(" upon a time")


def test_typing_after_an_undone_tab_keeps_it_uncounted(qtbot, make_window):
    window = make_window(load_model=False)
    editor = window.editor
    qtbot.keyClicks(editor, "Once")
    inject_ghost(window, " upon a time", 12.0)
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    qtbot.keyClicks(editor, " there")
    qtbot.keyClick(editor, *UNDO)  # " there"
    qtbot.keyClick(editor, *UNDO)  # the Tab
    assert editor.toPlainText() == "Once"
    qtbot.keyClicks(editor, " more and more words typed over the old history")
    for _ in range(3):
        qtbot.keyClick(editor, *REDO)  # nothing left to redo
        qtbot.keyClick(editor, *UNDO)
    assert window.stats.stats.total.accepted_whole == 0
    assert window.stats.stats.total.chars_saved == 0


def test_undoing_words_taken_with_ctrl_right_takes_them_back_one_by_one(qtbot, make_window):
    window = make_window(load_model=False)
    editor = window.editor
    qtbot.keyClicks(editor, "Once")
    inject_ghost(window, " upon a time", 12.0)
    qtbot.keyClick(editor, Qt.Key.Key_Right, CTRL)
    qtbot.keyClick(editor, Qt.Key.Key_Right, CTRL)
    qtbot.keyClick(editor, Qt.Key.Key_Tab)  # the rest
    stats = window.stats.stats
    assert figures(stats.total)["whole"] == 1 and figures(stats.total)["partly"] == 0

    qtbot.keyClick(editor, *UNDO)  # the Tab: two words taken remain
    assert editor.toPlainText() == "Once upon a"
    assert figures(stats.total)["whole"] == 0 and figures(stats.total)["partly"] == 1
    assert figures(stats.total)["words"] == 2 and figures(stats.total)["chars"] == 7
    qtbot.keyClick(editor, *UNDO)
    assert figures(stats.total)["words"] == 1 and figures(stats.total)["partly"] == 1
    qtbot.keyClick(editor, *UNDO)
    assert editor.toPlainText() == "Once"
    assert figures(stats.total) == {**figures(Counts()), "shown": 1, "times": 1}


def test_a_cleared_history_keeps_what_was_counted(qtbot, make_window, tmp_path):
    window = make_window(load_model=False)
    editor = window.editor
    qtbot.keyClicks(editor, "Once")
    inject_ghost(window, " upon a time", 12.0)
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    # A new line spacing is applied outside the undo history, which it clears.
    window.apply_settings(type(window.settings)(**{**vars(window.settings), "line_height": 180}))
    qtbot.keyClicks(editor, " there")
    qtbot.keyClick(editor, *UNDO)
    qtbot.keyClick(editor, *UNDO)
    assert window.stats.stats.total.accepted_whole == 1

    other = tmp_path / "other.txt"
    other.write_text("Another text.")
    editor.document().setModified(False)
    assert window.files.open_file(other)
    assert window.stats.stats.total.accepted_whole == 1


def save_as(monkeypatch, window, path) -> None:
    monkeypatch.setattr(
        "PySide6.QtWidgets.QFileDialog.getSaveFileName", lambda *a, **k: (str(path), "")
    )
    assert window.files.save_as()


def test_statistics_follow_the_document_to_its_new_name(qtbot, make_window, tmp_path, monkeypatch):
    window = make_window(load_model=False)
    old = tmp_path / "draft.txt"
    assert window.files.load_path(old)
    qtbot.keyClicks(window.editor, "Once")
    inject_ghost(window, " upon a time", 12.0)
    qtbot.keyClick(window.editor, Qt.Key.Key_Tab)
    new = tmp_path / "chapter-1.txt"
    save_as(monkeypatch, window, new)

    stats = window.stats.stats
    assert str(old) not in stats.documents
    assert figures(stats.document(str(new)))["whole"] == 1
    assert window.stats.current.accepted_whole == 1
    dialog = StatisticsDialog(window.stats, window)
    qtbot.addWidget(dialog)
    assert dialog.summary.horizontalHeaderItem(0).text() == "This document (chapter-1.txt)"
    assert dialog.summary.item(1, 0).text() == "1"  # accepted whole
    # An accept made before the rename is still taken back by its undo.
    qtbot.keyClick(window.editor, *UNDO)
    assert figures(stats.document(str(new)))["whole"] == 0


def test_an_untitled_text_takes_only_its_own_figures_to_its_name(
    qtbot, make_window, tmp_path, monkeypatch
):
    earlier = make_window(load_model=False)  # another untitled text, in an earlier session
    qtbot.keyClicks(earlier.editor, "It")
    inject_ghost(earlier, " was dark", 9.0)
    qtbot.keyClick(earlier.editor, Qt.Key.Key_Escape)
    earlier.editor.document().setModified(False)
    earlier.close()

    window = make_window(load_model=False)
    assert window.stats.stats.document(UNTITLED).dismissed == 1
    qtbot.keyClicks(window.editor, "Once")
    inject_ghost(window, " upon a time", 12.0)
    qtbot.keyClick(window.editor, Qt.Key.Key_Tab)
    story = tmp_path / "story.md"
    save_as(monkeypatch, window, story)

    stats = window.stats.stats
    moved = figures(stats.document(str(story)))
    assert moved["shown"] == 1 and moved["whole"] == 1 and moved["dismissed"] == 0
    assert figures(stats.document(UNTITLED))["shown"] == 1  # the earlier text's stays
    assert figures(stats.document(UNTITLED))["dismissed"] == 1
    assert stats.total.shown == 2
