"""The project's notes feed the suggestions (issue 23), through the real window and engine.

A project folder the test writes (three chapters and a notes file); the
random-weight tiny model knows no name, so only the notes can complete "Ma"
to "Mara Quenby" in a new chapter; the status bar says where it came from.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui.conftest import write_project
from writer_app.ui.project import session as session_module

WAIT_MS = 20_000
CHAPTERS = {
    "Chapter 1.md": "The harbour was grey at dawn.\n",
    "Chapter 2.md": "Rain on the harbour.\n",
    "Chapter 10.md": "The last of the boats left at noon.\n",
}
NOTES = "# Characters\n\n## Mara Quenby\nThe smith's daughter.\n\n- **Tobin Ashe**: her friend\n"


@pytest.fixture
def project(tmp_path) -> Path:
    return write_project(tmp_path / "novel", {**CHAPTERS, "notes.md": NOTES})


def ghost_after_typing(qtbot, window, keys: str) -> str:
    """Type `keys` at the end and return the ghost once the engine answered ("" if none)."""
    answers = []
    window.suggestions.suggestion_handled.connect(lambda suggestion, shown: answers.append(shown))
    window.editor.setFocus()
    window.editor.moveCursor(window.editor.textCursor().MoveOperation.End)
    qtbot.keyClicks(window.editor, keys)
    qtbot.waitUntil(lambda: len(answers) > 0 and answers[-1], timeout=WAIT_MS)
    return window.editor.ghost_text


def test_a_name_only_in_the_notes_completes_after_two_letters_in_a_new_chapter(
    qtbot, make_window, tiny_gguf_f32, project, monkeypatch
):
    monkeypatch.setattr(session_module, "ask_name", lambda *args: "Chapter 11")
    window = make_window(tiny_gguf_f32)
    assert window.projects.open_folder(project)
    assert window.projects.new_chapter() == project / "Chapter 11.md"
    assert window.editor.toPlainText() == ""
    assert ghost_after_typing(qtbot, window, "The door opened and in came Ma") == "ra Quenby"
    assert "from your notes: Mara Quenby" in window.statusBar().currentMessage()


def test_a_name_added_to_the_notes_on_disk_completes_too(
    qtbot, make_window, tiny_gguf_f32, project
):
    window = make_window(tiny_gguf_f32)
    assert window.projects.open_folder(project)
    (project / "notes.md").write_text(NOTES + "\n- **Wendeline Oro**: the ferrywoman\n")
    window.projects.rescan()  # as the folder watcher does after a change on disk
    window.editor.moveCursor(window.editor.textCursor().MoveOperation.End)
    window.editor.insertPlainText("\n")
    assert ghost_after_typing(qtbot, window, "She waved to We") == "ndeline Oro"
