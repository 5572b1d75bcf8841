"""File → Earlier Versions…: each save keeps the version it replaces, in the app's data
folder; the dialog shows them, newest first, and Restore puts one in the editor as one
undoable edit, writing nothing until the writer saves. A version that cannot be kept never
stops the save."""

from __future__ import annotations

from datetime import date, datetime

from PySide6.QtGui import QTextCursor

from tests.ui.conftest import write_project
from writer_app.core.versions import list_versions
from writer_app.ui.dialogs.versions import NONE_YET, VersionsDialog, when_words
from writer_app.ui.project import session


def type_at_end(qtbot, editor, text: str) -> None:
    editor.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClicks(editor, text)


def test_each_save_keeps_what_it_replaces_and_restore_is_one_undo_step(
    qtbot, make_window, tmp_path
):
    story = tmp_path / "story.txt"
    story.write_text("The first draft.", encoding="utf-8")
    window = make_window(load_model=False)
    window.files.load_path(story)
    editor = window.editor
    empty = VersionsDialog(story, editor, window)
    assert empty.about.text() == NONE_YET and not empty.changes.isEnabled()

    editor.selectAll()
    qtbot.keyClicks(editor, "A second draft")  # the first one deleted, then saved over
    assert window.files.save()
    type_at_end(qtbot, editor, ", longer.")
    assert window.files.save()
    assert story.read_text() == "A second draft, longer."

    dialog = VersionsDialog(story, editor, window)
    assert dialog.list.count() == 2  # the two texts the saves replaced, newest first
    assert dialog.preview.toPlainText() == "A second draft"
    assert dialog.list.item(0).text().startswith("Today ")
    dialog.list.setCurrentRow(1)
    assert dialog.preview.toPlainText() == "The first draft."
    assert dialog.about.text() == "3 words."
    dialog.changes.setChecked(True)  # what changed from it to the text now
    diff = dialog.preview.toPlainText().splitlines()
    assert "-The first draft." in diff and "+A second draft, longer." in diff
    dialog.changes.setChecked(False)
    assert dialog.preview.toPlainText() == "The first draft."
    dialog.restore()
    assert dialog.result() and editor.toPlainText() == "The first draft."
    assert editor.document().isModified()
    assert story.read_text() == "A second draft, longer."  # nothing written until Save
    editor.undo()  # one step takes the restore back
    assert editor.toPlainText() == "A second draft, longer."


def test_a_version_that_cannot_be_kept_never_stops_the_save(
    qtbot, make_window, tmp_path, monkeypatch
):
    story = tmp_path / "story.txt"
    story.write_text("Before.", encoding="utf-8")
    window = make_window(load_model=False)
    window.files.load_path(story)
    blocked = tmp_path / "no-data"
    blocked.write_text("a file where the data folder should be")
    monkeypatch.setenv("WRITER_APP_DATA_DIR", str(blocked))
    type_at_end(qtbot, window.editor, " After.")
    assert window.files.save()
    assert story.read_text() == "Before. After."
    assert "earlier version could not be kept" in window.statusBar().currentMessage()
    assert list_versions(story) == []


def test_a_text_without_a_file_says_versions_start_with_its_first_save(make_window, dialogs):
    window = make_window(load_model=False)
    assert window.show_versions() is None
    assert "first save" in dialogs.texts("information")[-1]


def test_read_only_documents_are_not_restored_into(qtbot, make_window, tmp_path):
    story = tmp_path / "story.txt"
    story.write_text("One.", encoding="utf-8")
    window = make_window(load_model=False)
    window.files.load_path(story)
    type_at_end(qtbot, window.editor, " Two.")
    assert window.files.save()
    window.editor.setReadOnly(True)  # as a file another window has open
    dialog = VersionsDialog(story, window.editor, window)
    assert dialog.preview.toPlainText() == "One." and not dialog.restore_button.isEnabled()
    dialog.restore()
    assert window.editor.toPlainText() == "One. Two."


def test_dates_read_as_words():
    today = date(2026, 12, 3)
    assert when_words(datetime(2026, 12, 3, 14, 2), today) == "Today 14:02"
    assert when_words(datetime(2026, 12, 2, 9, 15), today) == "Yesterday 09:15"
    assert when_words(datetime(2026, 11, 30, 8, 0), today) == "Mon 30 Nov 2026 08:00"


def test_a_renamed_chapter_keeps_its_earlier_versions(qtbot, make_window, tmp_path, monkeypatch):
    novel = write_project(tmp_path / "novel", {"Chapter 1.md": "First words."})
    window = make_window(load_model=False)
    assert window.projects.open_folder(novel)
    type_at_end(qtbot, window.editor, " Second words.")
    assert window.files.save()
    monkeypatch.setattr(session, "ask_name", lambda *args: "Prologue")
    assert window.projects.rename_chapter() == novel / "Prologue.md"
    dialog = VersionsDialog(novel / "Prologue.md", window.editor, window)
    assert dialog.preview.toPlainText() == "First words."
