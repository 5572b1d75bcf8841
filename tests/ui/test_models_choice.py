"""The suggestion confidence is the model's choice unless the writer sets their own
(issue 24): the setting's two states, how old settings files read, the Settings dialog's
way there and back, and the engine gating with what the setting says."""

from __future__ import annotations

import dataclasses
import shutil

import pytest
from PySide6.QtCore import QSettings

from gpt2gguf.metadata import CONFIDENCE_KEY, write_metadata
from writer_app.engine import Engine
from writer_app.ui.dialogs.settings import SettingsDialog
from writer_app.ui.settings import MODELS_CHOICE, AppSettings, load_settings

STORED = 0.5


@pytest.fixture(scope="module")
def calibrated(trained_gguf, tmp_path_factory):
    """A copy of the trained model whose file says its confidence is STORED."""
    path = tmp_path_factory.mktemp("calibrated") / "calibrated.gguf"
    shutil.copyfile(trained_gguf, path)
    write_metadata(path, {CONFIDENCE_KEY: STORED})
    return path


def store_with(tmp_path, lines: str) -> QSettings:
    # One file per content: QSettings caches a file by path, size and mtime, so rewriting
    # one path with a same-length line in the same second would read the old values.
    path = tmp_path / f"old-{len(list(tmp_path.glob('old-*.ini')))}.ini"
    path.write_text(f"[General]\n{lines}\n", encoding="utf-8")
    return QSettings(str(path), QSettings.Format.IniFormat)


def test_the_setting_is_the_models_choice_until_the_writer_sets_one():
    assert AppSettings().models_choice
    assert AppSettings().engine_config().confidence is None
    assert AppSettings(confidence=0.35).engine_config().confidence == 0.35
    assert AppSettings(confidence=0.0).engine_config().confidence == 0.0  # show everything


def test_settings_files_without_a_value_leave_it_to_the_model_and_an_old_02_is_kept(tmp_path):
    assert load_settings(store_with(tmp_path, "theme=dark")).models_choice
    # Older versions wrote every field on each save: an explicit 0.2 may have been chosen.
    old = load_settings(store_with(tmp_path, "confidence=0.2"))
    assert not old.models_choice and old.confidence == 0.2
    assert load_settings(store_with(tmp_path, "confidence=nan")).models_choice
    assert load_settings(store_with(tmp_path, f"confidence={MODELS_CHOICE}")).models_choice


def test_the_dialog_shows_the_models_choice_lets_the_writer_set_one_and_go_back(qtbot, calibrated):
    dialog = SettingsDialog(AppSettings(model_path=str(calibrated)))
    qtbot.addWidget(dialog)
    assert dialog.models_choice.isChecked() and not dialog.confidence.isEnabled()
    assert dialog.confidence.value() == 50
    assert "model's choice (0.50" in dialog.models_choice.toolTip()
    assert dialog.confidence_source.text() == "Suggestion confidence: model's choice (0.50)"
    assert "the model's choice" in dialog.confidence_label.text()
    assert dialog.result_settings().confidence == MODELS_CHOICE

    dialog.models_choice.setChecked(False)  # set my own, starting from the model's
    assert dialog.confidence.isEnabled() and dialog.confidence.value() == 50
    dialog.confidence.setValue(35)
    assert dialog.confidence_source.text() == "Suggestion confidence: your own (0.35)"
    assert dialog.result_settings().confidence == 0.35

    dialog.models_choice.setChecked(True)  # and back
    assert dialog.confidence.value() == 50
    assert dialog.result_settings().confidence == MODELS_CHOICE


def test_a_model_without_a_value_offers_the_usual_one_and_the_writers_value_stays(
    qtbot, trained_gguf, calibrated
):
    dialog = SettingsDialog(AppSettings(model_path=str(trained_gguf), confidence=0.3))
    qtbot.addWidget(dialog)
    assert not dialog.models_choice.isChecked() and dialog.confidence.value() == 30
    assert "0.20" in dialog.models_choice.toolTip()
    assert "not been measured" in dialog.models_choice.toolTip()
    dialog.choose_model(str(calibrated))  # another model: its choice is offered, mine kept
    assert "model's choice (0.50" in dialog.models_choice.toolTip()
    assert dialog.result_settings().confidence == 0.3


def test_the_engine_gates_with_the_models_value_or_the_writers(calibrated):
    for settings, expected in (
        (AppSettings(model_path=str(calibrated)), (STORED, "model")),
        (AppSettings(model_path=str(calibrated), confidence=0.35), (0.35, "setting")),
    ):
        config = dataclasses.replace(settings.engine_config(), n_threads=1, n_gpu_layers=0)
        with Engine(config) as engine:
            assert (engine.confidence, engine.confidence_source) == expected
