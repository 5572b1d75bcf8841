"""About the Model in plain words: name, what it learnt from, size, how good it is (each
figure explained), where the file is; the raw metadata only behind Details."""

from __future__ import annotations

import pytest

from gpt2gguf.constants import default_model_path
from gpt2gguf.validate import validate_gguf
from writer_app.core.paths import DATA_DIR_ENV
from writer_app.training.library import ModelCard, models_dir, write_card
from writer_app.ui.dialogs.info import ModelInfoDialog, model_facts


def open_dialog(qtbot, path) -> ModelInfoDialog:
    dialog = ModelInfoDialog(validate_gguf(path))
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


@pytest.mark.skipif(default_model_path() is None, reason="no bundled model")
def test_the_bundled_model_is_described_from_its_card(qtbot):
    path = default_model_path()
    dialog = open_dialog(qtbot, path)
    text = dialog.text()
    assert "Name: writer-default" in text
    assert "Project Gutenberg" in dialog.labels["Trained on"].text()
    assert "MB on disk, about 19 million parameters" in text
    quality = dialog.labels["How good it is"].text()
    assert "Perplexity 97: lower is better; it is how surprised the model is" in quality
    assert "Keystroke savings 19%" in quality
    assert str(path) in dialog.labels["File"].text()
    # The raw metadata is there, folded away.
    assert "general.file_type" not in text and "{" not in text
    assert not dialog.details.body.isVisible()
    dialog.details.toggle.click()
    assert dialog.details.body.isVisible()
    table = dialog.details.body
    keys = [table.item(r, 0).text() for r in range(table.rowCount())]
    assert "general.file_type" in keys


def test_a_trained_model_says_it_learnt_from_the_writers_own_files(
    qtbot, trained_gguf, tmp_path, monkeypatch
):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    run = models_dir() / "2026-11-28-1730"
    (run / "train").mkdir(parents=True)
    card = ModelCard(
        gguf="train/mine-q8_0.gguf",
        created="2026-11-28 17:30",
        base="/somewhere/writer-default-q8_0.gguf",
        train_words=45_000,
        val_words=5_000,
        minutes=30,
        ppl_before=97.3,
        ppl_after=71.2,
        files=["one.md", "two.md", "three.txt", "four.txt"],
    )
    card.folder = run
    card.gguf_path.write_bytes(trained_gguf.read_bytes())
    write_card(run, card)
    dialog = open_dialog(qtbot, card.gguf_path)
    trained_on = dialog.labels["Trained on"].text()
    assert "50,000 words of your own writing (one.md, two.md, three.txt and 1 more)" in trained_on
    assert "writer-default-q8_0.gguf" in trained_on
    assert "Perplexity 71 (its starting model: 97): lower is better" in dialog.text()


def test_a_model_without_a_card_says_so_rather_than_guessing(qtbot, trained_gguf):
    facts = model_facts(validate_gguf(trained_gguf))
    assert facts.trained_on.startswith("Not known")
    assert facts.quality_lines() == ["Not measured: the model card gives no figures."]
