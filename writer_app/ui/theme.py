"""The look of the app: the light and dark palettes, and the editor's prose font and page.

The ghost suggestion is painted in the palette's PlaceholderText colour
(editor/ghost_editor.py), so its contrast is set here: at least WCAG's 4.5:1
against the page on both themes (ghost_contrast), yet clearly lighter than the
writer's own text.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import QApplication

from writer_app.ui.editor.ghost_editor import GhostEditor
from writer_app.ui.settings import PROSE_FONTS, AppSettings

Role = QPalette.ColorRole
Group = QPalette.ColorGroup

# theme -> the palette colours that differ from the style's standard palette.
THEME_COLORS = {
    "dark": {
        Role.Window: "#2b2b2b",
        Role.WindowText: "#e6e6e6",
        Role.Base: "#1f1f1f",
        Role.AlternateBase: "#2b2b2b",
        Role.Text: "#e6e6e6",
        Role.Button: "#353535",
        Role.ButtonText: "#e6e6e6",
        Role.Highlight: "#3d6fb4",
        Role.HighlightedText: "#ffffff",
        Role.PlaceholderText: "#8a8a8a",  # the ghost text: 4.8:1 on the page
        Role.ToolTipBase: "#353535",
        Role.ToolTipText: "#e6e6e6",
    },
    "light": {
        Role.Base: "#fdfcf8",
        Role.Text: "#1d1d1d",
        Role.PlaceholderText: "#727272",  # the ghost text: 4.7:1 on the page
    },
}
# The disabled look, per theme. QPalette.setColor(role, colour) sets every colour group,
# the disabled one too: without these a disabled menu item ("Retry the Suggestion
# Engine") was drawn in the enabled ink and looked usable (issue 27).
DISABLED_COLORS = {
    "dark": {
        Role.WindowText: "#7a7a7a",
        Role.Text: "#7a7a7a",
        Role.ButtonText: "#7a7a7a",
    },
    "light": {
        Role.WindowText: "#a0a0a0",
        Role.Text: "#a0a0a0",
        Role.ButtonText: "#a0a0a0",
    },
}
MIN_GHOST_CONTRAST = 4.5  # WCAG AA for body text


def relative_luminance(color: QColor) -> float:
    """Return the WCAG 2 relative luminance of `color` (0: black, 1: white)."""

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * linear(color.redF())
        + 0.7152 * linear(color.greenF())
        + 0.0722 * linear(color.blueF())
    )


def contrast_ratio(a: QColor, b: QColor) -> float:
    """Return the WCAG 2 contrast ratio of two colours, from 1.0 (same) to 21.0."""
    light, dark = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def theme_palette(theme: str) -> QPalette:
    """Return the palette of the "light" or "dark" theme (unknown: light)."""
    app = QApplication.instance()
    palette = app.style().standardPalette() if app is not None else QPalette()
    theme = theme if theme in THEME_COLORS else "light"
    for role, color in THEME_COLORS[theme].items():
        palette.setColor(role, QColor(color))
    for role, color in DISABLED_COLORS[theme].items():
        palette.setColor(Group.Disabled, role, QColor(color))
    return palette


def ghost_contrast(theme: str) -> float:
    """Return the contrast ratio of the ghost text against the page in `theme`."""
    palette = theme_palette(theme)
    return contrast_ratio(palette.color(Role.PlaceholderText), palette.color(Role.Base))


def apply_theme(theme: str) -> None:
    """Set the application palette for the "light" or "dark" theme (unknown: light)."""
    app = QApplication.instance()
    if app is not None:
        app.setPalette(theme_palette(theme))


def apply_appearance(editor: GhostEditor, settings: AppSettings) -> None:
    """Give the editor the settings' font, line height, column width, ghost style and theme."""
    family = settings.font_family or next(
        (f for f in PROSE_FONTS if f in QFontDatabase.families()), "Serif"
    )
    font = QFont(family, settings.font_size)
    font.setStyleHint(QFont.StyleHint.Serif)
    editor.set_prose_format(font, settings.line_height, settings.text_width_chars)
    editor.set_ghost_italic(settings.ghost_italic)
    apply_theme(settings.theme)
    # The margins either side of the text column share the page colour.
    editor.setAutoFillBackground(True)
    palette = QPalette(QApplication.palette())
    palette.setColor(Role.Window, palette.color(Role.Base))
    editor.setPalette(palette)
