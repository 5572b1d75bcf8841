"""About the Model in plain words: name, what it learnt from, size, how good it is (each
figure explained), where the file is; the raw metadata only behind Details."""

from __future__ import annotations

import json
import re

import pytest

from gpt2gguf.constants import default_model_path
from gpt2gguf.llama import cpu_variant, load_cpu_variants
from gpt2gguf.validate import validate_gguf
from writer_app.core.paths import DATA_DIR_ENV
from writer_app.engine.client import EngineClient
from writer_app.engine.config import EngineConfig
from writer_app.training.library import ModelCard, models_dir, write_card
from writer_app.ui.dialogs.info import ModelInfoDialog, describe_cpu_variant, model_facts


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
    # The val perplexity of the round that made the shipped file (its lineage's last row).
    shipped = json.loads((path.parent / "lineage.json").read_text())[-1]["val_ppl_after"]
    assert f"Perplexity {shipped:.0f}: lower is better; it is how surprised the model is" in quality
    # Its keystroke savings as the card gives them (ksr_tab: suggestions taken with Tab).
    card = (path.parent / "MODEL_CARD.md").read_text(encoding="utf-8")
    ksr_tab = float(re.search(r"ksr_tab ([\d.]+)", card).group(1))
    assert f"Keystroke savings {ksr_tab:.0%}" in quality
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


@pytest.mark.skipif(default_model_path() is None, reason="no bundled model")
def test_the_dialog_names_the_cpu_build_the_engine_process_picked(qtbot):
    client = EngineClient()
    try:
        summary = client.load(EngineConfig(model_path=default_model_path()))
    finally:
        client.dispose()
    # The engine process's answer; the same as this process's (same libraries, same CPU).
    assert summary["cpu_variant"] == cpu_variant()
    dialog = ModelInfoDialog(summary["info"], cpu_variant=summary["cpu_variant"])
    qtbot.addWidget(dialog)
    runs_on = dialog.labels["Runs on"].text()
    if load_cpu_variants():  # a portable build: one of its variants
        picked = summary["cpu_variant"].split(":")[0]
        assert f"llama.cpp's portable build, its {picked} variant" in runs_on
    else:
        assert runs_on.startswith("llama.cpp's native build for this machine (")
    assert "Runs on: llama.cpp's" in dialog.text()


def test_a_portable_builds_variant_is_named_with_what_it_uses():
    text = describe_cpu_variant("sandybridge: SSE3 AVX")
    assert text == (
        "llama.cpp's portable build, its sandybridge variant, the best of those bundled "
        "for this processor (SSE3 AVX)"
    )
    assert describe_cpu_variant("native build") == "llama.cpp's native build for this machine"


def test_without_the_engines_answer_the_dialog_has_no_runs_on_row(qtbot, trained_gguf):
    dialog = open_dialog(qtbot, trained_gguf)
    assert "Runs on" not in dialog.labels


def test_about_the_model_in_the_window_names_the_engines_cpu_variant(
    make_window, trained_gguf, qtbot, monkeypatch
):
    """The variant comes from the engine process (the app process loads no llama.cpp):
    Model → About the Model shows it in its "Runs on" row."""
    shown = []
    monkeypatch.setattr(ModelInfoDialog, "exec", lambda self: shown.append(self) or 0)
    window = make_window(model=trained_gguf)
    assert window.suggestions.cpu_variant == cpu_variant()
    window.show_model_info()
    (dialog,) = shown
    qtbot.addWidget(dialog)
    assert dialog.labels["Runs on"].text() == describe_cpu_variant(cpu_variant())
