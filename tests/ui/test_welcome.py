"""The first minute: the welcome shows once, can be reopened, and its example behaves like the editor."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from writer_app.ui.dialogs.welcome import EXAMPLE_GHOSTS, EXAMPLE_TEXT
from writer_app.ui.settings import load_settings


def test_welcome_shows_at_the_first_start_only_and_help_reopens_it(make_window, qtbot):
    first = make_window(load_model=False, show_welcome=True)
    dialog = first.maybe_show_welcome()
    assert dialog is not None and dialog.isVisible()
    assert dialog.dont_show.isChecked()  # once is the default
    shown = " ".join(label.text() for label in dialog.findChildren(QLabel))
    assert "Open Folder" in shown and "notes.md" in shown  # a whole book: where to start
    dialog.accept()
    assert load_settings().show_welcome is False  # remembered for the next start

    second = make_window(load_model=False, **{"show_welcome": load_settings().show_welcome})
    assert second.maybe_show_welcome() is None
    second.menu.actions["Getting Started"].trigger()
    reopened = second.findChild(type(dialog))
    assert reopened is not None and reopened.isVisible()
    reopened.dont_show.setChecked(False)  # the writer wants it again
    reopened.accept()
    assert load_settings().show_welcome is True


def test_the_example_takes_tab_and_esc_as_the_editor_does(make_window, qtbot):
    window = make_window(load_model=False, show_welcome=False)
    dialog = window.show_welcome()
    example = dialog.example
    example.setFocus()
    assert example.ghost_text == EXAMPLE_GHOSTS[0]
    qtbot.keyClick(example, Qt.Key.Key_Tab)
    assert example.toPlainText() == EXAMPLE_TEXT + EXAMPLE_GHOSTS[0]
    assert example.ghost_text == EXAMPLE_GHOSTS[1]  # the next one is offered
    qtbot.keyClick(example, Qt.Key.Key_Escape)
    assert example.ghost_text == ""
    assert example.toPlainText() == EXAMPLE_TEXT + EXAMPLE_GHOSTS[0]


def test_an_empty_page_says_what_to_do(make_window):
    window = make_window(load_model=False)
    assert "Tab" in window.editor.placeholderText()
    assert "grey" in window.editor.placeholderText()
