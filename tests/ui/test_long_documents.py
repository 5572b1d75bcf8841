"""A whole novel opens, counts and types like a short file; what Qt cannot show, the app says."""

from __future__ import annotations

import random
import sys

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextBlock, QTextCursor
from PySide6.QtWidgets import QTextEdit

from writer_app.ui.editor.ghost_editor import GhostEditor

PARAGRAPH = "The keeper climbed the stairs, counting them as he went: one, two, three."


def novel(paragraphs: int) -> str:
    return "\n".join(f"{i}. {PARAGRAPH}" for i in range(paragraphs))


def test_the_word_count_never_reads_the_whole_text(qtbot, make_window, monkeypatch):
    window = make_window(load_model=False)
    window.editor.set_text(novel(200))
    qtbot.keyClicks(window.editor, "More words here ")

    def whole_text():
        raise AssertionError("the word count copied the whole document")

    with monkeypatch.context() as patch:
        patch.setattr(window.editor, "toPlainText", whole_text)
        patch.setattr(window.editor.document(), "toPlainText", whole_text)
        window.status.update_word_count()
    expected = len(QTextEdit.toPlainText(window.editor).split())
    assert window.status.words_label.text() == f"{expected:,} words"


@pytest.mark.parametrize("long_paragraph", [20_000, 0], ids=["short-paragraphs", "long-ones"])
def test_the_word_count_stays_exact_through_random_edits(qtbot, long_paragraph):
    editor = GhostEditor()
    qtbot.addWidget(editor)
    # long-ones: every paragraph is counted as a 10 MB line is, from around each edit.
    editor.words.long_paragraph_chars = long_paragraph
    editor.set_text(novel(30) + "\n\n  trailing   spaces\u00a0and\u2028breaks ")
    rng = random.Random(5)
    pieces = ["word", " ", "\n", "two words", "\n\npara\n", "\t", "", "x\u2029y", "\U0001f600 a"]
    for step in range(300):
        doc = editor.document()
        size = doc.characterCount() - 1
        a, b = sorted(rng.randint(0, size) for _ in range(2))
        cursor = QTextCursor(doc)
        cursor.setPosition(a)
        cursor.setPosition(b, QTextCursor.MoveMode.KeepAnchor)
        action = rng.random()
        if action < 0.45:
            cursor.insertText("".join(rng.choice(pieces) for _ in range(rng.randint(1, 5))))
        elif action < 0.7:
            cursor.removeSelectedText()
        elif action < 0.8:
            editor.undo()
        elif action < 0.85:
            editor.redo()
        else:
            editor.setTextCursor(cursor)
            qtbot.keyClicks(editor, rng.choice(["a", " ", "ab c"]))
        assert editor.words.total == len(editor.toPlainText().split()), f"step {step}"


def test_typing_in_a_very_long_paragraph_never_copies_it(qtbot, make_window, monkeypatch, tmp_path):
    # A 10 MB file without a line break is one paragraph: a copy of it per key (to count
    # its words, or to see whether the cursor is at its end) costs more than the key may.
    window = make_window(load_model=False)
    path = tmp_path / "one-line.txt"
    path.write_text("word " * 10_000 + "end\nShort one.")
    assert window.files.open_file(path)
    editor = window.editor
    long_block = editor.document().begin()
    assert long_block.length() > editor.words.long_paragraph_chars
    text_of = QTextBlock.text

    def short_text(block):
        assert block.length() <= 1_000, "a long paragraph was copied"
        return text_of(block)

    with monkeypatch.context() as patch:
        patch.setattr(QTextBlock, "text", short_text)
        qtbot.keyClick(editor, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyClick(editor, Qt.Key.Key_Up)
        qtbot.keyClick(editor, Qt.Key.Key_End)
        qtbot.keyClicks(editor, " and then   more words")
        qtbot.keyClick(editor, Qt.Key.Key_Backspace)
        qtbot.keyClicks(editor, "s. Two")
        assert editor.at_end_of_paragraph()
        tail = editor.text_before_cursor(1000)
        qtbot.keyClick(editor, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyClicks(editor, "Begin ")
        assert not editor.at_end_of_paragraph()
    # The count is exact once read (the deletion left the paragraph to count then).
    assert editor.words.total == len(editor.toPlainText().split()) == 10_000 + 1 + 6 + 2
    assert window.files.save()
    saved = path.read_text()
    assert saved == "Begin " + "word " * 10_000 + "end and then   more words. Two\nShort one."
    assert 500 < len(tail) <= 1000 and saved.endswith(tail + "\nShort one.")


def test_opening_gives_every_paragraph_the_line_height_and_no_undo_history(qtbot):
    editor = GhostEditor()
    qtbot.addWidget(editor)
    editor.set_text(novel(50))
    block = editor.document().begin()
    while block.isValid():
        assert block.blockFormat().lineHeight() == 150
        block = block.next()
    assert not editor.document().isModified()
    assert not editor.document().isUndoAvailable()
    assert editor.textCursor().position() == 0
    assert editor.toPlainText() == novel(50)


def test_the_prompt_is_only_the_tail_and_its_start_stays_put(qtbot):
    editor = GhostEditor()
    qtbot.addWidget(editor)
    editor.set_text(novel(40))
    editor.moveCursor(QTextCursor.MoveOperation.End)
    whole = editor.text_before_cursor()
    tail = editor.text_before_cursor(1000)
    assert 500 < len(tail) <= 1000 and whole.endswith(tail)
    assert (len(whole) - len(tail)) % 500 == 0  # a multiple of max_chars / 2
    qtbot.keyClicks(editor, " and")
    assert editor.text_before_cursor(1000) == tail + " and"  # same start: the cache holds


def test_a_document_too_tall_to_scroll_to_its_end_says_so(qtbot, make_window, dialogs, tmp_path):
    # Qt lays text out only down to 8,388,607 px: a 30 MB novel, or these big letters.
    window = make_window(load_model=False, font_size=200)
    (tmp_path / "short.txt").write_text("x\n" * 100)
    assert window.files.open_file(tmp_path / "short.txt")
    assert dialogs.texts("warning") == []
    (tmp_path / "huge.txt").write_text("x\n" * 30_000)
    assert window.files.open_file(tmp_path / "huge.txt")
    assert "huge.txt is too long for this editor" in dialogs.texts("warning")[0]
    assert window.editor.toPlainText() == "x\n" * 30_000


def test_a_long_typing_session_cannot_run_out_of_references_to_true(qtbot):
    # PySide6 6.12.0 drops a reference to True on every Signal.emit(): on Python
    # 3.11 the app aborted ("bool_dealloc") after about 1,000 keystrokes. 6.11.3
    # does not; on Python 3.12+ True is immortal and this always passes.
    editor = GhostEditor()
    qtbot.addWidget(editor)
    before = sys.getrefcount(True)
    for _ in range(500):
        editor.edited.emit()
    assert sys.getrefcount(True) > before - 50, "Signal.emit() leaks True: use another PySide6"
