"""Settings in a writer's words: Writing, Spelling, Appearance, Model, and the engine's
machinery folded under Advanced; every input explains itself on hover."""

from __future__ import annotations

import re

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDialogButtonBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QWidget,
)

from writer_app.ui.dialogs.settings import SettingsDialog, confidence_words
from writer_app.ui.settings import FONT_SIZES, AppSettings, load_settings

INPUTS = (
    QAbstractButton,
    QComboBox,
    QAbstractSpinBox,
    QApplication,
    QAbstractSlider,
    QLineEdit,
    QAbstractItemView,
)
# Engine words a writer should not meet before opening Advanced.
MACHINE_WORDS = re.compile(
    r"buffer|temperature|GPU|thread|confidence|layers|wide|\b0\.\d\d\b", re.IGNORECASE
)


def inputs(dialog: SettingsDialog) -> list[QWidget]:
    """The dialog's own inputs: not the parts of another input, nor OK and Cancel."""
    found = []
    for widget in dialog.findChildren(QWidget):
        if not isinstance(widget, INPUTS):
            continue
        parent, inner = widget.parentWidget(), False
        while parent is not None and parent is not dialog:
            if isinstance(parent, (*INPUTS, QDialogButtonBox)):
                inner = True
            parent = parent.parentWidget()
        if not inner:
            found.append(widget)
    return found


def shown_words(widget: QWidget) -> list[str]:
    """The texts a writer reads in `widget` without hovering."""
    if isinstance(widget, (QLabel, QAbstractButton)):
        return [widget.text()]
    if isinstance(widget, QGroupBox):
        return [widget.title()]
    if isinstance(widget, QComboBox):
        return [widget.itemText(i) for i in range(widget.count())]
    if isinstance(widget, QAbstractSpinBox):
        return [widget.text()]
    return []


def make_dialog(qtbot, **values) -> SettingsDialog:
    dialog = SettingsDialog(AppSettings(**values))
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_every_input_has_a_one_line_tooltip(qtbot):
    dialog = make_dialog(qtbot)
    dialog.advanced.set_open(True)
    found = inputs(dialog)
    assert len(found) >= 18
    for widget in found:
        tip = widget.toolTip().strip()
        assert tip, f"{type(widget).__name__} {getattr(widget, 'text', lambda: '')()!r}"
        assert "\n" not in tip


def test_the_engine_words_wait_under_advanced_which_starts_folded(qtbot):
    dialog = make_dialog(qtbot, confidence=0.2)
    assert not dialog.advanced.body.isVisible()
    advanced = dialog.advanced.body
    outside = [
        text
        for widget in dialog.findChildren(QWidget)
        if widget is not advanced and not advanced.isAncestorOf(widget)
        for text in shown_words(widget)
    ]
    assert "Writing" in outside and "Appearance" in outside and "Advanced" in outside
    assert [t for t in outside if MACHINE_WORDS.search(t)] == []
    inside = [t for w in advanced.findChildren(QWidget) for t in shown_words(w)]
    assert "CPU extra buffer types" in inside and "Alternatives temperature" in inside
    dialog.advanced.toggle.click()
    assert dialog.advanced.body.isVisible()


def test_how_sure_is_a_slider_in_words_with_the_number_on_hover(qtbot):
    dialog = make_dialog(qtbot, confidence=0.2)
    assert dialog.confidence.value() == 20
    assert "0.20" in dialog.confidence.toolTip()
    assert confidence_words(0) == "suggest everything"
    assert confidence_words(95) == "only when sure"
    dialog.confidence.setValue(95)
    assert "only when sure" in dialog.confidence_label.text()
    assert "0.95" in dialog.confidence.toolTip()
    assert dialog.result_settings().confidence == 0.95


def test_line_spacing_column_width_and_the_suggestion_time_can_be_set(qtbot):
    dialog = make_dialog(qtbot, confidence=0.23)
    dialog.line_height.setValue(200)
    dialog.text_width.setValue(60)
    dialog.show_latency.setChecked(True)
    result = dialog.result_settings()
    assert (result.line_height, result.text_width_chars, result.show_latency) == (200, 60, True)
    assert result.confidence == 0.23  # untouched: kept to the hundredth


def test_the_window_applies_line_spacing_and_column_width(qtbot, make_window):
    window = make_window(load_model=False)
    editor = window.editor
    editor.setPlainText("A line.\nAnother.")
    new = AppSettings(**{**vars(window.settings), "line_height": 200, "text_width_chars": 40})
    window.apply_settings(new)
    block_format = editor.document().firstBlock().blockFormat()
    assert block_format.lineHeight() == 200
    narrow = editor.viewportMargins().left()
    window.apply_settings(AppSettings(**{**vars(new), "text_width_chars": 80}))
    assert editor.viewportMargins().left() < narrow


def test_suggestions_in_italics_from_the_dialog_to_the_painted_ghost(qtbot, make_window):
    dialog = make_dialog(qtbot)
    assert not dialog.ghost_italic.isChecked()  # upright by default
    dialog.ghost_italic.setChecked(True)
    assert dialog.result_settings().ghost_italic

    window = make_window(load_model=False)
    editor = window.editor
    editor.setPlainText("The door opened")
    editor.moveCursor(editor.textCursor().MoveOperation.End)
    editor.show_ghost(" and the wind came in.", editor.textCursor().position())
    upright = editor.viewport().grab().toImage()
    assert not editor._ghost_layout().font().italic()
    window.apply_settings(AppSettings(**{**vars(window.settings), "ghost_italic": True}))
    assert editor._ghost_layout().font().italic() and not editor.font().italic()
    assert editor.viewport().grab().toImage() != upright  # repainted in the italic
    assert editor.toPlainText() == "The door opened"


def test_zoom_keys_size_the_text_a_point_at_a_time_and_remember_it(qtbot, make_window):
    window = make_window(load_model=False)
    window.activateWindow()  # shortcuts reach the active window only
    qtbot.waitUntil(window.isActiveWindow)
    editor = window.editor
    editor.setPlainText("The door opened.")
    editor.document().setModified(False)
    editor.setFocus()
    size = window.settings.font_size
    ctrl = Qt.KeyboardModifier.ControlModifier
    qtbot.keyClick(editor, Qt.Key.Key_Equal, ctrl)  # Ctrl+=, the "+" key without Shift
    assert window.settings.font_size == editor.font().pointSize() == size + 1
    assert load_settings().font_size == size + 1  # kept for the next start
    for _ in range(3):
        qtbot.keyClick(editor, Qt.Key.Key_Minus, ctrl)
    assert editor.font().pointSize() == size - 2
    assert window.statusBar().currentMessage() == f"Text size {size - 2} pt"
    qtbot.keyClick(editor, Qt.Key.Key_0, ctrl)
    assert window.settings.font_size == editor.font().pointSize() == AppSettings().font_size
    wheel = QWheelEvent(
        QPointF(20, 20), QPointF(20, 20), QPoint(), QPoint(0, 120), Qt.MouseButton.NoButton,
        ctrl, Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    QApplication.sendEvent(editor.viewport(), wheel)  # Ctrl+wheel up: larger too
    assert window.settings.font_size == AppSettings().font_size + 1
    window.apply_settings(AppSettings(**{**vars(window.settings), "font_size": FONT_SIZES[1]}))
    window.menu.actions["Zoom In"].trigger()
    assert window.settings.font_size == FONT_SIZES[1]  # no larger than Settings allows
    assert editor.toPlainText() == "The door opened." and not editor.document().isModified()
