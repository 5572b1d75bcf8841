"""The look of the app: the light and dark palettes, and the editor's prose font and page."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import QApplication

from writer_app.ui.editor.ghost_editor import GhostEditor
from writer_app.ui.settings import PROSE_FONTS, AppSettings

# theme -> the palette colours that differ from the style's standard palette.
THEME_COLORS = {
    "dark": {
        QPalette.ColorRole.Window: "#2b2b2b",
        QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#1f1f1f",
        QPalette.ColorRole.AlternateBase: "#2b2b2b",
        QPalette.ColorRole.Text: "#e6e6e6",
        QPalette.ColorRole.Button: "#353535",
        QPalette.ColorRole.ButtonText: "#e6e6e6",
        QPalette.ColorRole.Highlight: "#3d6fb4",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.PlaceholderText: "#7d7d7d",  # the ghost text
        QPalette.ColorRole.ToolTipBase: "#353535",
        QPalette.ColorRole.ToolTipText: "#e6e6e6",
    },
    "light": {
        QPalette.ColorRole.Base: "#fdfcf8",
        QPalette.ColorRole.Text: "#1d1d1d",
        QPalette.ColorRole.PlaceholderText: "#9a9a9a",  # the ghost text
    },
}


def apply_theme(theme: str) -> None:
    """Set the application palette for the "light" or "dark" theme (unknown: light)."""
    app = QApplication.instance()
    if app is None:
        return
    palette = app.style().standardPalette()
    for role, color in THEME_COLORS.get(theme, THEME_COLORS["light"]).items():
        palette.setColor(role, QColor(color))
    app.setPalette(palette)


def apply_appearance(editor: GhostEditor, settings: AppSettings) -> None:
    """Give the editor the settings' font, line height, column width and theme."""
    family = settings.font_family or next(
        (f for f in PROSE_FONTS if f in QFontDatabase.families()), "Serif"
    )
    font = QFont(family, settings.font_size)
    font.setStyleHint(QFont.StyleHint.Serif)
    editor.set_prose_format(font, settings.line_height, settings.text_width_chars)
    apply_theme(settings.theme)
    # The margins either side of the text column share the page colour.
    editor.setAutoFillBackground(True)
    palette = QPalette(QApplication.palette())
    palette.setColor(QPalette.ColorRole.Window, palette.color(QPalette.ColorRole.Base))
    editor.setPalette(palette)
