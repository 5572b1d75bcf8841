"""Another program changed the file, or another window has it: the writer decides, and
neither text is ever lost."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

THEIRS = "Their version, written by another program.\n"


class Writer:
    """Answers the conflict and already-open questions from queues, and records them."""

    def __init__(self):
        self.conflicts: list[str] = []  # answers to "changed on disk"
        self.already_open: list[str] = []  # answers to "already open elsewhere"
        self.asked: list[tuple] = []
        self.diffs: list[str] = []


@pytest.fixture
def writer(monkeypatch) -> Writer:
    w = Writer()
    try:  # absent before the feature: the test then fails on the files, not here
        module = importlib.import_module("writer_app.ui.editor.disk_conflict")
    except ImportError:
        return w

    def ask_conflict(parent, name):
        w.asked.append(("conflict", name))
        return w.conflicts.pop(0) if w.conflicts else module.CANCEL

    def ask_already_open(parent, name, pid):
        w.asked.append(("already open", name, pid))
        return w.already_open.pop(0) if w.already_open else module.CANCEL

    monkeypatch.setattr(module, "ask_conflict", ask_conflict)
    monkeypatch.setattr(module, "ask_already_open", ask_already_open)
    monkeypatch.setattr(module, "show_diff", lambda parent, title, diff: w.diffs.append(diff))
    return w


def open_and_type(qtbot, make_window, path: Path, words: str):
    window = make_window(load_model=False)
    assert window.files.open_file(path)
    qtbot.keyClicks(window.editor, words)
    return window


def another_program_writes(path: Path, text: str = THEIRS) -> None:
    path.write_text(text, encoding="utf-8")


def texts_on_disk(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text("utf-8") for p in folder.iterdir() if p.is_file()}


def test_keep_mine_saves_mine_beside_theirs_and_goes_on_there(qtbot, make_window, writer, tmp_path):
    story = tmp_path / "story.md"
    story.write_text("First draft.\n")
    window = open_and_type(qtbot, make_window, story, "Mine: ")
    another_program_writes(story)
    writer.conflicts = ["Keep Mine"]
    assert window.files.save()
    assert texts_on_disk(tmp_path) == {
        "story.md": THEIRS,
        "story (mine).md": "Mine: First draft.\n",
    }
    assert window.files.path == tmp_path / "story (mine).md"
    assert not window.editor.document().isModified()
    qtbot.keyClicks(window.editor, "More. ")  # later saves go on in the (mine) file
    assert window.files.save() and writer.asked == [("conflict", "story.md")]
    assert story.read_text() == THEIRS


def test_reload_theirs_shows_theirs_and_keeps_mine_in_a_file(qtbot, make_window, writer, tmp_path):
    story = tmp_path / "story.txt"
    story.write_text("First draft.\n")
    window = open_and_type(qtbot, make_window, story, "Mine: ")
    another_program_writes(story)
    writer.conflicts = ["Reload Theirs"]
    assert window.files.save()
    assert window.editor.toPlainText() == THEIRS and window.files.path == story
    assert texts_on_disk(tmp_path) == {
        "story.txt": THEIRS,
        "story (mine).txt": "Mine: First draft.\n",
    }


def test_compare_shows_a_diff_then_asks_again_and_cancel_writes_nothing(
    qtbot, make_window, writer, tmp_path
):
    story = tmp_path / "story.md"
    story.write_text("Shared line.\n")
    window = open_and_type(qtbot, make_window, story, "Mine. ")
    another_program_writes(story, "Shared line.\nTheirs.\n")
    writer.conflicts = ["Compare", "Cancel"]
    assert not window.files.save()
    assert len(writer.diffs) == 1
    assert "-Shared line." in writer.diffs[0] and "+Mine. Shared line." in writer.diffs[0]
    assert "-Theirs." in writer.diffs[0]
    assert [a[0] for a in writer.asked] == ["conflict", "conflict"]
    assert texts_on_disk(tmp_path) == {"story.md": "Shared line.\nTheirs.\n"}
    assert window.editor.document().isModified()
    window.files.autosave()  # autosave never touches the document either
    assert story.read_text() == "Shared line.\nTheirs.\n"


def test_coming_back_to_the_window_reloads_an_unedited_file_and_asks_for_an_edited_one(
    qtbot, make_window, writer, tmp_path
):
    story = tmp_path / "story.md"
    story.write_text("Old.\n")
    window = make_window(load_model=False)
    assert window.files.open_file(story)
    another_program_writes(story)
    window.files.check_disk()  # what the window does when it comes back to the front
    assert window.editor.toPlainText() == THEIRS and not writer.asked
    qtbot.keyClicks(window.editor, "Edit. ")
    another_program_writes(story, "Third version.\n")
    window.files.check_disk()
    window.files.check_disk()  # once per version on disk, not at every activation
    assert writer.asked == [("conflict", "story.md")]
    assert story.read_text() == "Third version.\n"


def test_a_file_deleted_while_open_is_written_again_and_said_so(
    qtbot, make_window, writer, tmp_path
):
    story = tmp_path / "story.md"
    story.write_text("Draft.\n")
    window = open_and_type(qtbot, make_window, story, "Kept ")
    story.rename(tmp_path / "renamed-away.md")
    window.files.check_disk()
    assert "deleted" in window.statusBar().currentMessage()
    assert window.files.save()
    assert story.read_text() == "Kept Draft.\n" and not writer.asked


def test_a_file_open_in_another_window_opens_read_only_there(qtbot, make_window, writer, tmp_path):
    story = tmp_path / "story.md"
    story.write_text("Shared.\n")
    first = make_window(load_model=False)
    assert first.files.open_file(story)
    second = make_window(load_model=False)
    writer.already_open = ["Open Read-Only"]
    assert second.files.open_file(story)
    assert writer.asked == [("already open", "story.md", os.getpid())]
    assert second.files.read_only and second.editor.isReadOnly()
    assert "read-only" in second.status.message_label.text()
    second.editor.document().setModified(True)
    assert not second.files.save() and story.read_text() == "Shared.\n"

    third = make_window(load_model=False)
    writer.already_open = ["Cancel"]
    assert not third.files.open_file(story) and third.files.path is None
    writer.already_open = ["Open Anyway"]
    assert third.files.open_file(story) and not third.editor.isReadOnly()

    first.files.close()  # the first window lets go: a new window opens it without a question
    fourth = make_window(load_model=False)
    assert fourth.files.open_file(story) and len(writer.asked) == 3


HOLDER = """
import sys
from writer_app.core.open_files import DocumentLock
lock = DocumentLock(sys.argv[1])
assert lock.acquire() is None
print("locked", flush=True)
sys.stdin.read()
"""


def test_a_lock_held_by_another_process_names_it_and_a_dead_ones_is_taken_over(
    qtbot, make_window, writer, tmp_path
):
    story = tmp_path / "story.md"
    story.write_text("Shared.\n")
    other = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(story)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout.readline().strip() == "locked"
        window = make_window(load_model=False)
        writer.already_open = ["Open Read-Only"]
        assert window.files.open_file(story)
        assert writer.asked == [("already open", "story.md", other.pid)]
        assert window.files.read_only
    finally:
        other.kill()  # dies holding the lock: the kernel drops it
        other.wait(timeout=30)
        other.stdin.close()
        other.stdout.close()
    fresh = make_window(load_model=False)
    assert fresh.files.open_file(story) and not fresh.files.read_only
    assert len(writer.asked) == 1  # the stale lock was taken over silently


def test_window_activation_checks_the_disk(qtbot, make_window, writer, tmp_path):
    story = tmp_path / "story.md"
    story.write_text("Old.\n")
    window = make_window(load_model=False)
    assert window.files.open_file(story)
    another_program_writes(story)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    QApplication.sendEvent(window, QEvent(QEvent.Type.ActivationChange))  # back to the front
    assert window.editor.toPlainText() == THEIRS
