"""Settings → Model lists the models trained on the writer's texts, and deletes them
only when asked, never the one in use."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox

from writer_app.core.paths import DATA_DIR_ENV
from writer_app.training.library import ModelCard, models_dir, write_card
from writer_app.ui.dialogs.settings import SettingsDialog
from writer_app.ui.settings import AppSettings

YES = QMessageBox.StandardButton.Yes
NO = QMessageBox.StandardButton.No


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))


def trained(name: str, gguf_bytes: bytes) -> ModelCard:
    run = models_dir() / name
    (run / "train").mkdir(parents=True)
    card = ModelCard(
        gguf="train/mine-q8_0.gguf",
        created=name,
        base="/somewhere/writer-default-q8_0.gguf",
        train_words=45_000,
        val_words=5_000,
        minutes=60,
        ppl_before=97.3,
        ppl_after=71.2,
        folder=run,
    )
    card.gguf_path.write_bytes(gguf_bytes)
    write_card(run, card)
    return card


def test_trained_models_are_listed_with_date_base_size_and_score(qtbot, trained_gguf):
    trained("2026-11-28 17:30", trained_gguf.read_bytes())
    dialog = SettingsDialog(AppSettings())
    qtbot.addWidget(dialog)
    assert dialog.trained.count() == 1
    text = dialog.trained.item(0).text()
    for part in ("2026-11-28 17:30", "writer-default-q8_0.gguf", "50,000 words", "97.3 → 71.2"):
        assert part in text


def test_use_chooses_the_trained_model(qtbot, trained_gguf):
    card = trained("2026-11-28 17:30", trained_gguf.read_bytes())
    dialog = SettingsDialog(AppSettings())
    qtbot.addWidget(dialog)
    dialog.trained.setCurrentRow(0)
    dialog.use_trained()
    assert dialog.result_settings().model_path == str(card.gguf_path)


def test_delete_asks_first_and_no_keeps_the_model(qtbot, dialogs):
    card = trained("2026-11-28 17:30", b"GGUF")
    dialog = SettingsDialog(AppSettings())
    qtbot.addWidget(dialog)
    dialog.trained.setCurrentRow(0)
    dialogs.answers = [NO]
    assert not dialog.delete_trained()
    assert "Delete the model trained 2026-11-28 17:30" in dialogs.texts("question")[0]
    assert card.gguf_path.is_file()

    dialogs.answers = [YES]
    assert dialog.delete_trained()
    assert not card.folder.exists()
    assert dialog.trained.count() == 0


def test_the_model_in_use_is_not_deleted_until_the_writer_switches_back(qtbot, dialogs):
    card = trained("2026-11-28 17:30", b"GGUF")
    dialog = SettingsDialog(AppSettings(model_path=str(card.gguf_path)))
    qtbot.addWidget(dialog)
    dialog.trained.setCurrentRow(0)
    dialogs.answers = [YES]
    assert not dialog.delete_trained()
    assert "in use" in dialogs.texts("warning")[0]
    assert not dialogs.texts("question")  # not even asked
    assert card.gguf_path.is_file()
    # Choosing the bundled model in the dialog is not enough: the engine runs it until OK.
    dialog._set_model("")
    assert not dialog.delete_trained()
    assert card.gguf_path.is_file()
