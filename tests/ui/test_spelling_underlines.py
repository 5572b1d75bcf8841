"""Underlines for misspelled words on screen, fixes on right-click, never the ghost."""

import pytest

from tests.conftest import needs_en_us_dictionary
from writer_app.core.spelling import SpellChecker
from writer_app.ui.editor.ghost_editor import GhostEditor
from writer_app.ui.editor.spelling import SpellingUnderlines


@pytest.fixture(autouse=True)
def _en_us():
    needs_en_us_dictionary()


@pytest.fixture
def editor(qtbot, tmp_path):
    editor = GhostEditor()
    qtbot.addWidget(editor)
    editor.resize(600, 400)
    editor.show()
    checker = SpellChecker("en_US", tmp_path / "dict.txt")
    editor.spelling = SpellingUnderlines(editor, checker)
    return editor


def underlined(editor):
    text = editor.toPlainText()
    return [text[s:e] for s, e in editor.spelling.misspelled_ranges()]


def point_of(editor, index):
    cursor = editor.textCursor()
    cursor.setPosition(index)
    return editor.cursorRect(cursor).center()


def test_misspelled_words_are_underlined_but_not_the_word_being_typed(editor):
    editor.set_text("The quick brwon fox met Quenby, aloen")
    cursor = editor.textCursor()
    cursor.movePosition(cursor.MoveOperation.End)
    editor.setTextCursor(cursor)  # at the end of "aloen": still being typed
    assert underlined(editor) == ["brwon", "Quenby"]
    cursor.setPosition(0)
    editor.setTextCursor(cursor)
    assert underlined(editor) == ["brwon", "Quenby", "aloen"]
    editor.spelling.checker.set_project_words(["Quenby"])
    editor.spelling.refresh()
    assert [
        editor.toPlainText()[s.cursor.selectionStart() : s.cursor.selectionEnd()]
        for s in editor.extraSelections()
    ] == ["brwon", "aloen"]


def test_the_ghost_is_never_checked(editor):
    editor.set_text("A calm sentence")
    cursor = editor.textCursor()
    cursor.movePosition(cursor.MoveOperation.End)
    editor.setTextCursor(cursor)
    editor.show_ghost(" zqxjv wrods", cursor.position())
    editor.spelling.refresh()
    assert underlined(editor) == [] and editor.extraSelections() == []


def test_right_click_offers_fixes_that_replace_the_word_in_one_undo(editor):
    editor.set_text("The quick brwon fox.")
    menu = editor.spelling.build_menu(point_of(editor, 12))
    texts = [a.text() for a in menu.actions()]
    assert texts[0] == "brown"
    assert any(t == "Add “brwon” to Dictionary" for t in texts)
    menu.actions()[0].trigger()
    assert editor.toPlainText() == "The quick brown fox."
    editor.undo()
    assert editor.toPlainText() == "The quick brwon fox."


def test_add_to_dictionary_stops_the_underline(editor):
    editor.set_text("The glimmerfen glowed.")
    menu = editor.spelling.build_menu(point_of(editor, 6))
    add = next(a for a in menu.actions() if a.text().startswith("Add "))
    add.trigger()
    assert underlined(editor) == []


def test_only_the_paragraphs_on_screen_are_checked(editor):
    editor.set_text("\n".join(["All is well here."] * 400 + ["A misteak far below."]))
    assert underlined(editor) == []  # not on screen: not checked
    editor.verticalScrollBar().setValue(editor.verticalScrollBar().maximum())
    assert underlined(editor) == ["misteak"]


def test_a_correct_word_gets_the_usual_menu_only(editor):
    editor.set_text("The quick brown fox.")
    menu = editor.spelling.build_menu(point_of(editor, 12))
    assert not any("Dictionary" in a.text() for a in menu.actions())
    assert any("Copy" in a.text() for a in menu.actions())


def test_a_very_long_paragraph_is_checked_only_where_it_shows(editor, monkeypatch):
    from PySide6.QtGui import QTextBlock

    line = "All is well here. " * 20_000 + "A misteak at the very end."
    editor.set_text("A misteak first. " + line)
    cursor = editor.textCursor()
    cursor.setPosition(0)
    editor.setTextCursor(cursor)

    whole_text = QTextBlock.text

    def no_whole_copies(block):
        if block.length() > 100_000:
            raise AssertionError("the whole long paragraph was copied")
        return whole_text(block)

    monkeypatch.setattr(QTextBlock, "text", no_whole_copies)
    assert underlined(editor) == ["misteak"]  # the first one, on screen; not the last
