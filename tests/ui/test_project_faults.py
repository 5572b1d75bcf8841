"""A project's bad input and faults (issue 23): each gets a clear message, and no text is lost."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from writer_app.core.project import MAX_FILES

BODY = (
    "The dragon flew over the mountain. Zyrgalon watched it from the tower.\n\n"
    "Mira ran down the path. Zyrgalon followed her to the lake.\n\n"
    "At the shore she stopped. Zyrgalon stopped too.\n\n"
    "The dragon turned its great head and looked at "
)


def write(root: Path, rel: str, text: str = "Some words here.\n") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_binary_unreadable_looping_and_case_clashing_files_are_said_and_both_clashes_open(
    make_window, tmp_path
):
    root = tmp_path / "novel"
    write(root, "Chapter 1.md")
    write(root, "chapter 1.MD", "The other one.\n")
    (root / "cover.md").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    locked = write(root, "locked.txt")
    locked.chmod(0)
    (root / "loop").symlink_to(root, target_is_directory=True)
    window = make_window(load_model=False)
    try:
        assert window.projects.open_folder(root)
    finally:
        locked.chmod(0o600)
    panel = window.project_panel
    note = panel.note_label.text()
    assert "not listed" in note and "differing only in case" in note
    assert "cover.md: a PNG image" in panel.note_label.toolTip()
    clash = next(line for line in panel.note_label.toolTip().splitlines() if "case" in line)
    assert "Chapter 1.md" in clash and "chapter 1.MD" in clash
    if os.geteuid() != 0:  # root reads anything
        assert "locked.txt: cannot be read" in panel.note_label.toolTip()
    assert "differ only in case" in window.statusBar().currentMessage()
    window.projects.open_file(root / "chapter 1.MD")
    assert window.editor.toPlainText() == "The other one.\n"
    assert {d.path.name for d in window.files.documents} == {"Chapter 1.md", "chapter 1.MD"}


def test_a_chapter_deleted_on_disk_while_open_is_said_and_saving_writes_it_again(
    qtbot, make_window, tmp_path
):
    root = tmp_path / "novel"
    one = write(root, "Chapter 1.md", "Kept.\n")
    write(root, "Chapter 2.md")
    window = make_window(load_model=False)
    assert window.projects.open_folder(root)
    window.editor.moveCursor(window.editor.textCursor().MoveOperation.End)
    qtbot.keyClicks(window.editor, "Typed.")
    one.unlink()  # another program deletes (or renames) it
    window.projects.rescan()
    assert window.project_panel.item_for(one).text(1).startswith("not on disk")
    window.files.check_disk()  # the window comes back to the front
    assert "deleted, moved or replaced" in window.statusBar().currentMessage()
    assert window.files.save()
    assert one.read_text() == "Kept.\nTyped."


def test_a_folder_of_thousands_of_files_lists_the_first_and_says_so(make_window, tmp_path):
    root = tmp_path / "dump"
    root.mkdir()
    for i in range(MAX_FILES + 5):
        (root / f"n{i}.txt").write_bytes(b"x")
    window = make_window(load_model=False)
    assert window.projects.open_folder(root)
    assert window.project_panel.tree.topLevelItemCount() == MAX_FILES
    assert f"only the first {MAX_FILES:,} files" in window.statusBar().currentMessage()
    assert "5 files not listed" in window.project_panel.note_label.text()


def test_a_notes_file_of_fifty_thousand_names_opens_without_a_row_per_name(make_window, tmp_path):
    root = tmp_path / "saga"
    write(root, "Chapter 1.md")
    notes = "\n".join(f"- **Name{i} Surname{i}**: someone" for i in range(50_000))
    write(root, "notes/people.md", notes)
    window = make_window(load_model=False)
    start = time.perf_counter()
    assert window.projects.open_folder(root)
    print(f"opened a project with 50,000 names in {time.perf_counter() - start:.2f} s")
    assert len(window.projects.names()) == 50_000
    assert window.project_panel.tree.topLevelItemCount() == 2  # the chapter, the Notes group
    assert window.spelling.checker.project_words >= {"name49999", "surname49999"}


def test_the_engine_follows_a_chapter_switch(qtbot, make_window, tiny_gguf_f32, tmp_path):
    # The random-weight model knows no name: only the engine's copy of the shown
    # chapter can complete "Zyr"; it must be chapter 2's, not chapter 1's.
    root = tmp_path / "novel"
    write(root, "Chapter 1.md", "Nothing of note happens in this chapter at all.\n")
    write(root, "Chapter 2.md", BODY)
    window = make_window(tiny_gguf_f32)
    assert window.projects.open_folder(root)
    window.projects.open_file(root / "Chapter 2.md")
    window.editor.moveCursor(window.editor.textCursor().MoveOperation.End)
    answers = []
    window.suggestions.suggestion_handled.connect(lambda suggestion, shown: answers.append(shown))
    window.editor.setFocus()
    qtbot.keyClicks(window.editor, "Zyr")
    qtbot.waitUntil(lambda: len(answers) > 0, timeout=20_000)
    assert window.editor.ghost_text.startswith("galon")


@pytest.mark.parametrize("target", ["file", "missing"])
def test_a_folder_that_is_not_one_is_refused_in_words(make_window, dialogs, tmp_path, target):
    path = write(tmp_path, "a.md") if target == "file" else tmp_path / "gone"
    window = make_window(load_model=False)
    assert not window.projects.open_folder(path)
    assert window.projects.root is None
    assert ("a file, not a folder" if target == "file" else "does not exist") in dialogs.texts(
        "warning"
    )[0]
