"""Find and Replace in the open text: counts, wrap-around, options, one undo for Replace All."""

import pytest

from tests.ui.conftest import write_project
from writer_app.ui.dialogs.find_replace import FindReplaceDialog
from writer_app.ui.editor.ghost_editor import GhostEditor

TEXT = "Mara met mara at the forge.\nAshford was far; Ash was near. MARA laughed."


@pytest.fixture
def dialog(qtbot):
    editor = GhostEditor()
    qtbot.addWidget(editor)
    editor.set_text(TEXT)
    d = FindReplaceDialog(editor)
    qtbot.addWidget(d)
    return d


def test_count_follows_match_case_and_whole_words(dialog):
    dialog.find_edit.setText("mara")
    assert dialog.count_label.text() == "3 matches"
    dialog.case_box.setChecked(True)
    assert dialog.count_label.text() == "1 match"
    dialog.case_box.setChecked(False)
    dialog.find_edit.setText("Ash")
    assert dialog.update_count() == 2
    dialog.words_box.setChecked(True)
    assert dialog.update_count() == 1
    dialog.find_edit.setText("dragon")
    assert dialog.count_label.text() == "0 matches"
    assert not dialog.replace_all_button.isEnabled()


def test_find_next_selects_each_match_in_order_and_wraps(dialog):
    dialog.find_edit.setText("mara")
    starts = []
    for _ in range(4):
        assert dialog.find_next()
        starts.append(dialog.editor.textCursor().selectionStart())
    assert starts == [0, 9, TEXT.index("MARA"), 0]
    assert dialog.find_previous()
    assert dialog.editor.textCursor().selectionStart() == TEXT.index("MARA")


def test_replace_all_is_one_undo_step_and_never_touches_the_ghost(dialog, qtbot):
    editor = dialog.editor
    editor.setFocus()
    cursor = editor.textCursor()
    cursor.movePosition(cursor.MoveOperation.End)
    editor.setTextCursor(cursor)
    editor.show_ghost(" Mara smiled.", cursor.position())
    dialog.find_edit.setText("Mara")
    dialog.replace_edit.setText("Maren")
    dialog.words_box.setChecked(True)
    assert dialog.replace_everywhere() == 3
    after = "Maren met Maren at the forge.\nAshford was far; Ash was near. Maren laughed."
    assert editor.toPlainText() == after
    assert "Mara" not in editor.toPlainText()
    editor.undo()
    assert editor.toPlainText() == TEXT
    editor.redo()
    assert editor.toPlainText() == after


def test_replacement_containing_the_needle_does_not_loop(dialog):
    dialog.find_edit.setText("a")
    dialog.replace_edit.setText("aa")
    n_a = TEXT.lower().count("a")
    assert dialog.replace_everywhere() == n_a
    assert dialog.editor.toPlainText().lower().count("a") == 2 * n_a


def test_replace_one_replaces_the_selected_match_then_moves_on(dialog):
    dialog.find_edit.setText("mara")
    dialog.replace_edit.setText("Tobin")
    dialog.find_next()
    dialog.replace_one()
    assert dialog.editor.toPlainText().startswith("Tobin met mara")
    assert dialog.editor.textCursor().selectionStart() == len("Tobin met ")


def test_ctrl_f_and_ctrl_h_open_the_dialog_from_the_window(make_window):
    window = make_window(load_model=False)
    window.editor.set_text(TEXT)
    window.menu.actions["Replace…"].trigger()
    assert window.find_replace.isVisible() and window.find_replace.replace_edit.isVisible()
    window.menu.actions["Find…"].trigger()
    assert window.find_replace.isVisible() and not window.find_replace.replace_edit.isVisible()
    assert window.menu.actions["Find…"].shortcut().toString() == "Ctrl+F"
    assert window.menu.actions["Replace…"].shortcut().toString() == "Ctrl+H"


def test_find_and_replace_across_the_project_then_undo_per_chapter(make_window, tmp_path):
    root = write_project(
        tmp_path / "novel",
        {
            "Chapter 1.md": "Mara woke. mara slept.\n",
            "Chapter 2.md": "No one here.\n",
            "Chapter 3.md": "Marathon day. Mara ran.\n",
            "notes.md": "## Mara Quenby\n",
        },
    )
    window = make_window(load_model=False)
    assert window.projects.open_folder(root)
    window.projects.open_file(root / "Chapter 1.md")
    dialog = window.find_replace
    dialog.open_for(True)
    assert dialog.project_box.isVisible()
    dialog.find_edit.setText("Mara")
    dialog.words_box.setChecked(True)
    assert dialog.update_count() == 2  # this chapter
    dialog.project_box.setChecked(True)
    assert dialog.count_label.text() == "4 matches in 3 files"

    # Find Next walks on into the next chapter with a match (skipping Chapter 2).
    assert dialog.find_next() and dialog.find_next()
    assert dialog.find_next()
    assert window.files.path == root / "Chapter 3.md"
    assert window.editor.textCursor().selectedText() == "Mara"

    dialog.replace_edit.setText("Maren")
    assert dialog.replace_everywhere() == 4
    assert window.files.path == root / "Chapter 3.md"  # back where the writer was
    text = {
        p.name: window.files.find(p).document.toPlainText()
        for p in root.glob("*.md")
        if window.files.find(p) is not None
    }
    assert text["Chapter 1.md"] == "Maren woke. Maren slept.\n"
    assert text["Chapter 3.md"] == "Marathon day. Maren ran.\n"
    assert text["notes.md"] == "## Maren Quenby\n"
    assert (root / "Chapter 1.md").read_text() == "Mara woke. mara slept.\n"  # not saved yet
    window.editor.undo()  # one undo: this chapter only, whole
    assert window.editor.toPlainText() == "Marathon day. Mara ran.\n"
    assert window.files.find(root / "Chapter 1.md").document.toPlainText().startswith("Maren")


def test_the_project_count_follows_a_file_changed_on_disk(make_window, tmp_path):
    root = write_project(
        tmp_path / "novel", {"Chapter 1.md": "Mara woke.\n", "Chapter 2.md": "No one here.\n"}
    )
    window = make_window(load_model=False)
    assert window.projects.open_folder(root)
    window.projects.open_file(root / "Chapter 1.md")
    dialog = window.find_replace
    dialog.open_for(False)
    dialog.project_box.setChecked(True)
    dialog.find_edit.setText("Mara")
    assert dialog.update_count() == 1
    (root / "Chapter 2.md").write_text("Mara came back at noon.\n", encoding="utf-8")
    assert dialog.update_count() == 2  # the file not open is read again, not remembered
