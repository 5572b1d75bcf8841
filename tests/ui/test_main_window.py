"""The window's menus: every action and shortcut, the Model menu, and Open Recent."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMenu

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
