"""The status bar explains itself: the suggestion time in words (and only if wanted),
forgotten when another file opens, a selection's word count, and every label readable
(or ending in "…") in a 600 px window."""

from __future__ import annotations

from PySide6.QtGui import QTextCursor

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
