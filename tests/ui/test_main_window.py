"""The window's menus: every action and shortcut, the Model menu, and Open Recent; and files
dropped on the page."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox

from tests.ui.conftest import write_project

Std = QKeySequence.StandardKey

# menu title -> (action text, shortcut): what the writer finds, in order.
EXPECTED = {
    "File": [
        ("New", Std.New),
        ("Open…", Std.Open),
        ("Open Recent", None),
        ("Open Folder…", "Ctrl+Shift+O"),
        ("New Chapter", None),
        ("Rename Chapter…", None),
        ("Next Chapter", "Ctrl+PgDown"),
        ("Previous Chapter", "Ctrl+PgUp"),
        ("Save", Std.Save),
        ("Save As…", Std.SaveAs),
        ("Close", Std.Close),
        ("Earlier Versions…", None),
        ("Export…", None),
        ("Export Manuscript…", None),
        ("Print…", Std.Print),
        ("Quit", Std.Quit),
    ],
    "Edit": [
        ("Undo", Std.Undo),
        ("Redo", Std.Redo),
        ("Cut", Std.Cut),
        ("Copy", Std.Copy),
        ("Paste", Std.Paste),
        ("Select All", Std.SelectAll),
        ("Find…", Std.Find),
        ("Replace…", "Ctrl+H"),
    ],
    "View": [
        ("Focus Mode", "F11"),
        ("Zoom In", "Ctrl++"),  # and Ctrl+= (test_settings_dialog's zoom test)
        ("Zoom Out", "Ctrl+-"),
        ("Actual Size", "Ctrl+0"),
    ],
    "Suggestions": [
        ("Show Suggestions", "Ctrl+Shift+E"),
        ("Request Now", "Ctrl+Space"),
        ("Next Alternative", "Alt+]"),
        ("Previous Alternative", "Alt+["),
        ("Accept (Tab)", None),
        ("Accept Next Word (Ctrl+Right)", None),
        ("Dismiss (Esc)", None),
        ("Statistics…", None),
    ],
    "Model": [
        ("About the Model…", None),
        ("Retry the Suggestion Engine", None),
        ("Train on My Writing…", None),
    ],
    "Settings": [("Settings…", "Ctrl+,")],
    "Help": [("Getting Started", None), ("Keyboard Shortcuts", Std.HelpContents)],
}


def test_every_menu_action_and_shortcut_is_there(make_window):
    window = make_window(load_model=False)
    found = {}
    for top in window.menuBar().actions():
        found[top.text().replace("&", "")] = [
            (a.text().replace("&", ""), a.shortcut())
            for a in top.menu().actions()
            if not a.isSeparator()
        ]
    expected = {
        title: [(text, QKeySequence(key) if key else QKeySequence()) for text, key in items]
        for title, items in EXPECTED.items()
    }
    assert found == expected
    assert isinstance(window.model_menu, QMenu) and window.model_menu.title() == "&Model"


def test_menu_actions_reach_their_slots(qtbot, make_window, dialogs, tmp_path):
    window = make_window(load_model=False)
    window.menu.actions["Show Suggestions"].trigger()  # checked -> unchecked
    assert not window.settings.suggestions_enabled
    assert window.status.suggestions_label.text() == "suggestions off"
    window.menu.actions["About the Model…"].trigger()
    assert "Suggestions are off" in dialogs.texts("information")[-1]
    window.menu.actions["Keyboard Shortcuts"].trigger()
    assert "Ctrl+Right" in dialogs.texts("information")[-1]

    story = tmp_path / "story.txt"
    story.write_text("A story.")
    window.settings.recent_files = [str(story)]
    window.menu.recent_menu.aboutToShow.emit()
    [recent] = window.menu.recent_menu.actions()
    recent.trigger()
    assert window.files.path == story and window.editor.toPlainText() == "A story."
    assert window.windowTitle() == "story.txt[*] — Writer"


def drop(editor, *, paths=(), text=None) -> None:
    """Drop what a file manager (paths) or another program (text) drags, on the page."""
    data = QMimeData()
    if paths:
        data.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
        data.setText("\n".join(QUrl.fromLocalFile(str(p)).toString() for p in paths))
    if text is not None:
        data.setText(text)
    where = editor.viewport().rect().center()
    args = (
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    for event in (  # as a real drag: it enters, moves, then drops
        QDragEnterEvent(where, *args),
        QDragMoveEvent(where, *args),
        QDropEvent(QPointF(where), *args),
    ):
        QApplication.sendEvent(editor.viewport(), event)


def test_a_dropped_file_opens_and_its_name_is_never_typed_in(make_window, tmp_path, dialogs):
    story = tmp_path / "story.txt"
    story.write_text("Once there was a forge.", encoding="utf-8")
    novel = write_project(tmp_path / "novel", {"01.txt": "One.", "02.txt": "Two."})
    window = make_window(load_model=False)
    editor = window.editor
    editor.setPlainText("Unsaved words.")
    dialogs.answers = [QMessageBox.StandardButton.Discard]  # "Save changes?" first
    drop(editor, paths=[story])
    assert window.files.path == story and editor.toPlainText() == "Once there was a forge."

    drop(editor, paths=[novel])  # a folder: the project
    assert window.projects.root == novel and window.files.path == novel / "01.txt"
    drop(editor, paths=[novel / "02.txt", story])  # a chapter: shown, in the project
    assert window.projects.root == novel and editor.toPlainText() == "Two."
    assert "one file at a time" in window.statusBar().currentMessage()

    drop(editor, text=" More.")  # text from another program is still text
    assert "More." in editor.toPlainText()
