"""A novel as a project (issue 23): File → Open Folder, the chapter panel, chapters that keep
their own undo history, saves, locks and recovery, the notes' names, the last project."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from tests.conftest import needs_en_us_dictionary
from tests.ui.conftest import write_project
from writer_app.ui.dialogs.versions import VersionsDialog
from writer_app.ui.editor import disk_conflict
from writer_app.ui.project import session as session_module
from writer_app.ui.settings import load_settings

CHAPTERS = {
    "Chapter 1.md": "Mara Quenby woke early.\n",
    "Chapter 2.md": "Rain on the harbour.\n",
    "Chapter 10.md": "The last of the boats left at noon.\n",
}
RESUME = ("last_project", "last_file", "last_position")  # what a restart goes on from
NOTES = "# Characters\n\n## Mara Quenby\nThe smith's daughter.\n\n- **Tobin Ashe**: her friend\n"


@pytest.fixture
def project(tmp_path) -> Path:
    """A project folder of three chapters and a notes file."""
    return write_project(tmp_path / "novel", {**CHAPTERS, "notes.md": NOTES})


@pytest.fixture
def names_asked(monkeypatch) -> list:
    """Answers the name questions (New Chapter, Rename) from a queue; records the defaults."""
    answers: list = []

    def ask_name(parent, title, label, default):
        answers.append(("asked", title, default))
        queued = [a for a in answers if a[0] == "answer"]
        if not queued:
            return default
        answers.remove(queued[0])
        return queued[0][1]

    monkeypatch.setattr(session_module, "ask_name", ask_name)
    return answers


def open_project(make_window, root: Path, **settings):
    window = make_window(load_model=False, **settings)
    assert window.projects.open_folder(root)
    return window


def rows(window) -> list[tuple[str, str]]:
    tree = window.project_panel.tree
    out = []
    for i in range(tree.topLevelItemCount()):
        item = tree.topLevelItem(i)
        out.append((item.text(0), item.text(1)))
        out += [
            (f"  {item.child(j).text(0)}", item.child(j).text(1)) for j in range(item.childCount())
        ]
    return out


def text_of(window, path: Path) -> str:
    return window.files.find(path).document.toPlainText()


def type_at_end(qtbot, editor, words: str) -> None:
    cursor = editor.textCursor()
    cursor.movePosition(cursor.MoveOperation.End)
    editor.setTextCursor(cursor)
    qtbot.keyClicks(editor, words)


def test_the_panel_lists_chapters_in_natural_order_with_counts_and_the_total(make_window, project):
    window = open_project(make_window, project)
    assert window.project_panel.isVisible()
    assert rows(window) == [
        ("Chapter 1.md", "4"),
        ("Chapter 2.md", "4"),
        ("Chapter 10.md", "8"),
        ("Notes", ""),
        ("  notes.md", "13"),
    ]
    assert window.project_panel.total == 16  # the notes are not manuscript
    assert "16 words in 3 chapters" in window.project_panel.total_label.text()
    assert window.files.path == project / "Chapter 1.md"  # the first chapter is shown
    assert window.editor.toPlainText() == CHAPTERS["Chapter 1.md"]
    assert "novel" in window.windowTitle()

    # The names have the room: none is cut short while the panel is wide enough.
    tree = window.project_panel.tree
    widest = max(tree.fontMetrics().horizontalAdvance(name) for name in CHAPTERS)
    assert tree.columnWidth(0) > widest + tree.indentation() > tree.columnWidth(1)
    assert tree.topLevelItem(2).toolTip(0) == "Chapter 10.md"

    # The status bar counts the chapter shown, at once.
    assert window.status.words_label.text() == "4 words"
    window.projects.open_file(project / "Chapter 10.md")
    assert window.status.words_label.text() == "8 words"


def test_each_chapter_keeps_its_own_undo_history(qtbot, make_window, project):
    window = open_project(make_window, project)
    one, two = project / "Chapter 1.md", project / "Chapter 2.md"
    type_at_end(qtbot, window.editor, "Then she ran.")
    panel = window.project_panel
    panel.tree.itemClicked.emit(panel.item_for(two), 0)  # the writer clicks chapter 2
    assert window.files.path == two and window.editor.toPlainText() == CHAPTERS["Chapter 2.md"]
    type_at_end(qtbot, window.editor, "It did not stop.")
    window.projects.open_file(one)
    assert window.editor.toPlainText() == CHAPTERS["Chapter 1.md"] + "Then she ran."
    window.editor.undo()
    assert window.editor.toPlainText() == CHAPTERS["Chapter 1.md"]  # only chapter 1's typing
    assert text_of(window, two) == CHAPTERS["Chapter 2.md"] + "It did not stop."
    window.projects.open_file(two)
    window.editor.undo()
    assert window.editor.toPlainText() == CHAPTERS["Chapter 2.md"]
    assert one.read_text() == CHAPTERS["Chapter 1.md"]  # nothing saved behind the writer's back


def test_each_chapter_saves_to_its_own_file_and_the_window_asks_once_with_the_list(
    qtbot, make_window, dialogs, project
):
    window = open_project(make_window, project)
    type_at_end(qtbot, window.editor, "One more.")
    window.projects.open_file(project / "Chapter 10.md")
    type_at_end(qtbot, window.editor, "Ten more.")
    dialogs.answers = [QMessageBox.StandardButton.Cancel]
    assert not window.close()
    assert len(dialogs.texts("question")) == 1
    question = dialogs.texts("question")[0]
    assert "Chapter 1.md" in question and "Chapter 10.md" in question
    dialogs.answers = [QMessageBox.StandardButton.Save]
    assert window.close()
    assert (project / "Chapter 1.md").read_text() == CHAPTERS["Chapter 1.md"] + "One more."
    assert (project / "Chapter 10.md").read_text() == CHAPTERS["Chapter 10.md"] + "Ten more."
    assert (project / "Chapter 2.md").read_text() == CHAPTERS["Chapter 2.md"]


def crash(window) -> None:
    """What a killed app leaves: its recovery files, with their locks and the files' gone."""
    for doc in window.files.documents:
        doc.recovery.close()
        if doc.lock is not None:
            doc.lock.release()
    window.hide()


def test_each_unsaved_chapter_has_its_own_recovery_copy_and_a_restart_offers_them(
    qtbot, make_window, dialogs, project, isolated_app_state
):
    window = open_project(make_window, project)
    type_at_end(qtbot, window.editor, "Unsaved one.")
    window.projects.open_file(project / "Chapter 2.md")  # switching keeps chapter 1's copy
    type_at_end(qtbot, window.editor, "Unsaved two.")
    QApplication.sendEvent(window, QEvent(QEvent.Type.ActivationChange))  # focus loss
    copies = {d.path.name: d.recovery.path for d in window.files.documents if d.modified}
    assert set(copies) == {"Chapter 1.md", "Chapter 2.md"}
    assert all(p.exists() for p in copies.values()) and len(set(copies.values())) == 2
    crash(window)

    assert load_settings().last_project == str(project)
    fresh = make_window(load_model=False, last_project=load_settings().last_project)
    fresh.reopen_last_project()
    assert fresh.projects.root == project
    dialogs.answers = [QMessageBox.StandardButton.Yes]
    assert fresh.files.offer_recovery()
    question = dialogs.texts("question")[-1]
    assert "Chapter 1.md" in question and "Chapter 2.md" in question  # one question, both
    assert text_of(fresh, project / "Chapter 1.md") == CHAPTERS["Chapter 1.md"] + "Unsaved one."
    assert text_of(fresh, project / "Chapter 2.md") == CHAPTERS["Chapter 2.md"] + "Unsaved two."
    assert {d.path.name for d in fresh.files.unsaved()} == {"Chapter 1.md", "Chapter 2.md"}
    assert (project / "Chapter 1.md").read_text() == CHAPTERS["Chapter 1.md"]
    assert not any(p.exists() for p in copies.values())  # now in the new session's own copies


def test_new_chapter_takes_the_next_number_and_rename_follows_the_open_chapter(
    qtbot, make_window, dialogs, project, names_asked
):
    window = open_project(make_window, project)
    created = window.projects.new_chapter()
    assert names_asked[0] == ("asked", "New Chapter", "Chapter 11")
    assert created == project / "Chapter 11.md" and created.exists()
    assert window.files.path == created and window.project_panel.item_for(created) is not None
    type_at_end(qtbot, window.editor, "A new start.")

    names_asked.append(("answer", "Prologue"))
    assert window.projects.rename_chapter() == project / "Prologue.md"
    assert not created.exists() and (project / "Prologue.md").exists()
    assert window.files.path == project / "Prologue.md"  # the open chapter follows
    assert window.editor.toPlainText() == "A new start."
    assert window.files.save()
    assert (project / "Prologue.md").read_text() == "A new start."

    names_asked.append(("answer", "chapter 2"))  # "Chapter 2.md" exists, in another case
    assert window.projects.rename_chapter() is None
    assert "only in case" in dialogs.texts("warning")[-1]
    assert (project / "Prologue.md").exists()


def test_a_chapter_changed_on_disk_with_unsaved_edits_asks_before_anything_is_overwritten(
    qtbot, make_window, project, monkeypatch
):
    asked = []

    def ask_conflict(parent, name):
        asked.append(name)
        return disk_conflict.CANCEL

    monkeypatch.setattr(disk_conflict, "ask_conflict", ask_conflict)
    window = open_project(make_window, project)
    one = project / "Chapter 1.md"
    type_at_end(qtbot, window.editor, "Mine.")
    window.projects.open_file(project / "Chapter 2.md")
    one.write_text("Theirs.\n", encoding="utf-8")  # another program
    window.projects.open_file(one)  # back to it: asked at once
    assert asked == ["Chapter 1.md"]
    assert one.read_text() == "Theirs.\n"
    assert window.editor.toPlainText() == CHAPTERS["Chapter 1.md"] + "Mine."
    assert not window.files.save()  # Cancel writes nothing, and the next save asks again
    assert asked == ["Chapter 1.md"] * 2 and one.read_text() == "Theirs.\n"


def test_save_as_from_a_markdown_file_keeps_markdown(make_window, monkeypatch, tmp_path):
    story = tmp_path / "story.md"
    story.write_text("A story.\n")
    window = make_window(load_model=False)
    assert window.files.open_file(story)
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "copy"), "")
    )
    assert window.files.save_as()
    assert window.files.path == tmp_path / "copy.md"
    assert (tmp_path / "copy.md").read_text() == "A story.\n"


def test_a_single_file_opens_as_before_and_leaves_the_project(make_window, project, tmp_path):
    window = open_project(make_window, project)
    window.projects.open_file(project / "Chapter 2.md")
    story = tmp_path / "story.txt"
    story.write_text("Alone.\n")
    assert window.files.open_file(story)
    assert window.projects.root is None and not window.project_panel.isVisible()
    assert len(window.files.documents) == 1 and window.editor.toPlainText() == "Alone.\n"
    assert load_settings().last_project == ""
    assert window.menu.new_chapter_action.isEnabled() is False


def test_close_leaves_an_empty_page_and_forgets_the_project(make_window, project):
    window = open_project(make_window, project)
    window.menu.actions["Close"].trigger()
    assert window.projects.root is None and window.files.path is None
    assert window.editor.toPlainText() == ""
    assert load_settings().last_project == ""


def test_notes_names_are_never_misspelled_and_follow_the_notes(qtbot, make_window, project):
    window = open_project(make_window, project)
    needs_en_us_dictionary()
    assert [n.full for n in window.projects.names()] == ["Mara Quenby", "Tobin Ashe"]
    chapter = project / "Chapter 2.md"
    chapter.write_text("Tobin Ashe met Quenby and Selwyn Drummarch. Teh end.\n")
    window.projects.open_file(chapter)
    window.editor.setTextCursor(window.editor.textCursor())  # cursor at 0: nothing is typing
    text = window.editor.toPlainText()
    flagged = [text[s:e] for s, e in window.spelling.misspelled_ranges()]
    assert "Quenby" not in flagged and "Ashe" not in flagged
    assert "Teh" in flagged and "Drummarch" in flagged
    projects = window.projects
    with qtbot.waitSignals([projects.names_changed, projects.texts_changed], timeout=5_000):
        (project / "notes.md").write_text(NOTES + "- **Selwyn Drummarch**: the harbour master\n")
    assert "Selwyn Drummarch" in [n.full for n in projects.names()]  # another program's edit
    flagged = [text[s:e] for s, e in window.spelling.misspelled_ranges()]
    assert "Drummarch" not in flagged and "Teh" in flagged


def test_a_rows_menu_renames_shows_earlier_versions_and_the_folder(
    make_window, project, names_asked, monkeypatch
):
    window = open_project(make_window, project)
    panel = window.project_panel
    notes_heading = panel.notes_item
    assert panel.context_menu(notes_heading) is None  # the Notes heading is no file
    chapter_2 = panel.item_for(project / "Chapter 2.md")
    menu = panel.context_menu(chapter_2)
    actions = {a.text(): a for a in menu.actions()}
    assert list(actions) == ["Rename…", "Earlier Versions…", "Show in Folder"]
    notes_menu = panel.context_menu(panel.item_for(project / "notes.md"))
    assert not notes_menu.actions()[0].isEnabled()  # notes are not renamed as chapters

    shown = []
    monkeypatch.setattr(VersionsDialog, "exec", lambda dialog: shown.append(dialog) or 0)
    actions["Earlier Versions…"].trigger()  # the chapter is shown, then its versions
    assert window.files.path == project / "Chapter 2.md"
    assert [d.windowTitle() for d in shown] == ["Earlier Versions of Chapter 2.md"]

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    actions["Show in Folder"].trigger()
    assert [Path(u.toLocalFile()) for u in opened] == [project]

    names_asked.append(("answer", "Interlude"))
    actions["Rename…"].trigger()
    assert (project / "Interlude.md").exists() and not (project / "Chapter 2.md").exists()


def test_ctrl_page_down_and_up_step_through_the_chapters_in_order(qtbot, make_window, project):
    window = open_project(make_window, project)
    window.activateWindow()  # shortcuts reach the active window only
    qtbot.waitUntil(window.isActiveWindow)
    editor = window.editor
    editor.setFocus()
    ctrl = Qt.KeyboardModifier.ControlModifier
    qtbot.keyClick(editor, Qt.Key.Key_PageDown, ctrl)
    assert window.files.path == project / "Chapter 2.md"
    qtbot.keyClick(editor, Qt.Key.Key_PageDown, ctrl)
    assert window.files.path == project / "Chapter 10.md"
    assert window.projects.step_chapter(1) is None  # the last: it stays
    assert window.files.path == project / "Chapter 10.md"
    qtbot.keyClick(editor, Qt.Key.Key_PageUp, ctrl)
    assert window.files.path == project / "Chapter 2.md"
    window.projects.open_file(project / "notes.md")  # from the notes: into the chapters
    assert window.projects.step_chapter(-1).path == project / "Chapter 10.md"
    window.projects.close()
    assert not window.menu.next_chapter_action.isEnabled()


def test_the_next_start_opens_the_project_at_the_chapter_and_place_left(make_window, project):
    window = open_project(make_window, project)
    window.projects.open_file(project / "Chapter 10.md")
    cursor = window.editor.textCursor()
    cursor.setPosition(12)
    window.editor.setTextCursor(cursor)
    window.shutdown()  # quitting
    settings = load_settings()
    assert (settings.last_file, settings.last_position) == (str(project / "Chapter 10.md"), 12)

    fresh = make_window(load_model=False, **{k: getattr(settings, k) for k in RESUME})
    fresh.reopen_last_project()
    assert fresh.files.path == project / "Chapter 10.md"
    assert fresh.editor.textCursor().position() == 12

    fresh.shutdown()  # its chapters' locks go: the next window opens them freely
    (project / "Chapter 10.md").unlink()  # gone since: the first chapter, as before
    again = make_window(load_model=False, **{k: getattr(settings, k) for k in RESUME})
    again.reopen_last_project()
    assert again.files.path == project / "Chapter 1.md"
    assert again.editor.textCursor().position() == 0
