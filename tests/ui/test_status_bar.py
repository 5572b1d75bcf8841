"""The status bar explains itself: the suggestion time in words (and only if wanted),
forgotten when another file opens, a selection's word count, and every label readable
(or ending in "…") in a 600 px window, and the words written today against the daily
goal."""

from __future__ import annotations

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QFileDialog

from writer_app.ui.main_status import WORD_COUNT_DELAY_MS
from writer_app.ui.settings import AppSettings

LONG_MODEL = "writer-default-q8_0 · a very long model name that a writer gave it · CUDA (GPU)"


def fits(label) -> bool:
    shown = label.displayed_text() if hasattr(label, "displayed_text") else label.text()
    width = label.contentsRect().width()
    return label.fontMetrics().horizontalAdvance(shown) <= width


def test_the_suggestion_time_is_hidden_unless_asked_for_and_says_what_it_is(make_window):
    window = make_window(load_model=False)
    window.suggestions.latency_text.emit("18 ms")
    assert window.status.latency_label.text() == "suggestion in 18 ms"
    assert not window.status.latency_label.isVisible()  # hidden by default

    window.apply_settings(type(window.settings)(**{**vars(window.settings), "show_latency": True}))
    assert window.status.latency_label.isVisible()
    assert window.status.latency_label.toolTip()


def test_the_suggestion_time_is_cleared_when_a_file_is_opened(make_window, tmp_path):
    window = make_window(load_model=False, show_latency=True)
    window.suggestions.latency_text.emit("18 ms")
    story = tmp_path / "story.txt"
    story.write_text("Another story.")
    assert window.files.open_file(story)
    assert window.status.latency_label.text() == ""


def test_a_selection_shows_its_word_count_of_the_whole(qtbot, make_window):
    window = make_window(load_model=False)
    editor = window.editor
    editor.setPlainText("One two three four five.\nSix seven eight nine ten.")
    window.status.update_word_count()
    assert window.status.words_label.text() == "10 words"
    cursor = editor.textCursor()
    cursor.setPosition(0)
    cursor.setPosition(13, QTextCursor.MoveMode.KeepAnchor)  # "One two three"
    editor.setTextCursor(cursor)
    assert window.status.words_label.text() == "3 of 10 words selected"
    cursor.setPosition(4)
    cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
    editor.setTextCursor(cursor)  # across the paragraph break
    assert window.status.words_label.text() == "9 of 10 words selected"
    cursor.clearSelection()
    editor.setTextCursor(cursor)
    assert window.status.words_label.text() == "10 words"


def test_every_label_fits_or_ends_in_an_ellipsis_at_600_px(qtbot, make_window):
    window = make_window(load_model=False, show_latency=True)
    status = window.status
    status.set_message("Loading the model… you can write meanwhile; suggestions will follow.")
    status.model_label.setText(LONG_MODEL)
    status.alt_label.setText("2/3")
    window.suggestions.latency_text.emit("18 ms")
    window.editor.setPlainText("word " * 3480)
    cursor = window.editor.textCursor()
    cursor.setPosition(0)
    cursor.setPosition(60, QTextCursor.MoveMode.KeepAnchor)
    window.editor.setTextCursor(cursor)
    window.resize(600, 400)
    qtbot.waitUntil(lambda: window.width() == 600)
    window.statusBar().layout().activate()
    assert status.words_label.text() == "12 of 3,480 words selected"
    for label in status.labels:
        assert label.isVisible()
        assert fits(label), (label.text(), label.displayed_text(), label.width())
        assert label.geometry().right() <= window.statusBar().width()
    # The count is what a writer looks at most: shown whole, not squeezed away.
    assert status.words_label.displayed_text() == status.words_label.text()
    # What is cut is still there on hover.
    assert status.model_label.displayed_text().endswith("…")
    assert status.model_label.toolTip()


def test_the_words_written_today_count_toward_the_daily_goal_and_survive_a_restart(
    qtbot, make_window, tmp_path, monkeypatch
):
    chapter = tmp_path / "chapter.txt"
    chapter.write_text("word " * 5_000, encoding="utf-8")
    window = make_window(load_model=False)
    today = window.status.today_label
    window.files.load_path(chapter)  # a long text opened is not written today
    window.editor.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.wait(WORD_COUNT_DELAY_MS * 2)
    assert today.text() == "" and today.toolTip()
    qtbot.keyClicks(window.editor, "and three more")
    qtbot.waitUntil(lambda: today.text() == "3 written today")

    target = tmp_path / "renamed.txt"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    assert window.files.save_as()  # the same text under a new name keeps its count
    window.files.new_file()  # a new, untitled text counts apart
    qtbot.keyClicks(window.editor, "two words")
    qtbot.waitUntil(lambda: today.text() == "5 written today")

    window.apply_settings(AppSettings(**{**vars(window.settings), "daily_goal": 5}))
    assert today.text() == "5 of 5 words today, goal met"
    window.files.load_path(target)  # opened again: its 3 words stay today's, no more
    qtbot.wait(WORD_COUNT_DELAY_MS * 2)
    assert today.text() == "5 of 5 words today, goal met"

    window.editor.document().setModified(False)
    window.shutdown()  # saves the count
    again = make_window(load_model=False, daily_goal=10)
    assert again.status.today_label.text() == "5 of 10 words today"
