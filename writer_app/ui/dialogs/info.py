"""The window's small dialogs: the keyboard shortcuts and the model's GGUF metadata."""

from __future__ import annotations

import html

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from writer_app.ui.dialogs.settings import describe_model

# (keys, what they do): Help → Keyboard Shortcuts lists these, as the README's table does.
SHORTCUTS = (
    ("Tab", "Accept the whole suggestion (one undo step). Without a suggestion: a normal Tab."),
    ("Ctrl+Right", "Accept the suggestion's next word."),
    ("Esc", "Dismiss the suggestion."),
    ("Keep typing", "Characters that match the suggestion are consumed and the rest stays."),
    ("Ctrl+Space", "Ask for a suggestion now."),
    ("Alt+]  /  Alt+[", 'Next / previous alternative suggestion ("2/3" in the status bar).'),
    ("Ctrl+Shift+E", "Turn suggestions on or off."),
    ("Ctrl+N, Ctrl+O, Ctrl+S, Ctrl+Shift+S", "New, Open, Save, Save As."),
    ("Ctrl+Z, Ctrl+Shift+Z", "Undo, Redo."),
    ("Ctrl+F, Ctrl+H", "Find; Find and Replace (Replace All is one undo step)."),
    ("Ctrl+,", "Settings."),
)
MAX_VALUE_CHARS = 500  # a tokenizer's vocabulary is one metadata value: show its start


def show_shortcuts(parent: QWidget) -> None:
    """Show the keyboard shortcuts in a message box."""
    rows = "".join(
        f"<tr><td><b>{html.escape(k)}</b>&nbsp;&nbsp;</td><td>{html.escape(v)}</td></tr>"
        for k, v in SHORTCUTS
    )
    QMessageBox.information(parent, "Keyboard shortcuts", f"<table>{rows}</table>")


class ModelInfoDialog(QDialog):
    """A table of the model's GGUF metadata (`info`: a GGUFInfo)."""

    def __init__(self, info, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("About the model")
        rows = [("file", str(info.path)), ("summary", describe_model(info))]
        rows += [(key, str(value)) for key, value in sorted(info.metadata.items())]
        table = QTableWidget(len(rows), 2, self)
        table.setHorizontalHeaderLabels(["key", "value"])
        for i, (key, value) in enumerate(rows):
            if len(value) > MAX_VALUE_CHARS:
                value = value[:MAX_VALUE_CHARS] + "…"
            table.setItem(i, 0, QTableWidgetItem(key))
            table.setItem(i, 1, QTableWidgetItem(value))
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        table.verticalHeader().setVisible(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)
        self.resize(760, 520)
