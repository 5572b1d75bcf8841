"""The look: the ghost readable on both themes, and disabled actions that look disabled."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QPalette

from writer_app.ui.theme import THEME_COLORS, apply_theme, contrast_ratio, ghost_contrast

Role, Group = QPalette.ColorRole, QPalette.ColorGroup


def test_contrast_ratio_matches_wcag_reference_values(qapp):
    from PySide6.QtGui import QColor

    assert contrast_ratio(QColor("#000000"), QColor("#ffffff")) == pytest.approx(21.0)
    assert contrast_ratio(QColor("#767676"), QColor("#ffffff")) == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("theme", sorted(THEME_COLORS))
def test_the_ghost_has_at_least_4_5_to_1_contrast_on_the_page(qapp, theme):
    assert ghost_contrast(theme) >= 4.5


@pytest.mark.parametrize("theme", sorted(THEME_COLORS))
def test_a_disabled_menu_item_is_drawn_fainter_than_an_enabled_one(qtbot, make_window, theme):
    window = make_window(load_model=False, theme=theme)
    retry = window.menu.retry_action
    assert not retry.isEnabled()  # no crash yet: nothing to retry
    palette = window.model_menu.palette()
    page = palette.color(Group.Active, Role.Window)
    for role in (Role.Text, Role.WindowText, Role.ButtonText):
        enabled = palette.color(Group.Active, role)
        disabled = palette.color(Group.Disabled, role)
        assert contrast_ratio(disabled, page) < contrast_ratio(enabled, page) / 1.5, role
    apply_theme("light")
