"""The progress panel: what it shows as metrics arrive, and the offer at the end."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from finetune.outputs import EvalRow, TrainRow
from writer_app.training.job import JobSpec
from writer_app.training.library import ModelCard
from writer_app.training.metrics import Progress
from writer_app.ui.training.panel import TrainingPanel, clock
from writer_app.ui.training.run import TrainingRun, signal_name


def make_panel(qtbot, tmp_path: Path) -> TrainingPanel:
    spec = JobSpec(
        base=tmp_path / "base.gguf",
        train_dir=tmp_path / "data" / "train",
        val_file=tmp_path / "data" / "val.txt",
        out=tmp_path / "train",
        minutes=15,
        threads=1,
    )
    card = ModelCard("train/m.gguf", "2026-11-28 17:30", str(spec.base), 18_000, 2_000, 15)
    run = TrainingRun(spec, tmp_path, card)
    panel = TrainingPanel(run)
    qtbot.addWidget(panel)
    return panel


def test_the_panel_shows_time_left_tokens_and_perplexity_first_and_now(qtbot, tmp_path):
    panel = make_panel(qtbot, tmp_path)
    progress = Progress(budget_s=900)
    progress.add(
        [
            TrainRow(10, 40960, 4.0, 1e-3, 700.0, None, 60.0, None, 100),
            EvalRow(step=10, tokens=40960, val_loss=4.5, val_ppl=90.0, elapsed=61.0),
            EvalRow(step=20, tokens=81920, val_loss=4.2, val_ppl=66.7, elapsed=120.0),
        ]
    )
    panel.run.progress.emit(progress)
    assert panel.time_left.text() == "Time left: about 13 min"
    assert panel.tokens.text() == "Tokens seen: 81,920"
    assert "90.0 at the first check, 66.7 now" in panel.perplexity.text()
    assert panel.plot.points == [(40960, 90.0), (81920, 66.7)]
    panel.plot.resize(300, 120)
    panel.plot.repaint()  # paints the points without error

    with_base = Progress(budget_s=900)  # --eval-at-start: the base model is scored at token 0
    with_base.add([EvalRow(step=0, tokens=0, val_loss=4.6, val_ppl=99.5, elapsed=0.0)])
    with_base.add([EvalRow(step=20, tokens=81920, val_loss=4.2, val_ppl=66.7, elapsed=120.0)])
    panel.run.progress.emit(with_base)
    assert "99.5 before training, 66.7 now" in panel.perplexity.text()


@pytest.mark.parametrize(("before", "after"), [(97.3, 71.2), (97.3, 99.0), (None, None)])
def test_the_offer_makes_keeping_the_current_model_the_default_unless_the_new_is_better(
    qtbot, tmp_path, before, after
):
    panel = make_panel(qtbot, tmp_path)
    card = panel.run.card
    card.ppl_before, card.ppl_after, card.folder = before, after, tmp_path
    used = []
    panel.use_model.connect(used.append)
    panel.run.finished.emit(card)
    better = before is not None and after < before
    assert panel.use_button.isDefault() == better
    assert panel.keep_button.isDefault() == (not better)
    if before is not None:
        assert f"current model {before:.1f}, new model {after:.1f}" in panel.result.text()
    panel.use_button.click()
    assert used == [card]
    assert not panel.keep_button.isEnabled()


def test_words_for_time_and_signals():
    assert clock(40) == "40 s"
    assert clock(12 * 60 + 5) == "12 min"
    assert clock(3600 + 5 * 60) == "1 h 05 min"
    assert signal_name(9) == "SIGKILL"
    assert signal_name(200) == "signal 200"


def test_a_run_refused_because_its_folder_is_in_use_says_so(qtbot, tmp_path):
    from finetune.locks import OutputLock

    panel = make_panel(qtbot, tmp_path)
    run = panel.run
    with OutputLock(run.spec.out):  # another run holds the folder
        run.start()
        qtbot.waitUntil(lambda: run.state == "failed", timeout=60_000)
    assert panel.status.text().startswith("Another training run is using this run's folder")
    assert "current model is unchanged" in panel.status.text()
    assert f"another training run (pid {os.getpid()}) is using" in panel.details.toPlainText()
    assert not (run.spec.out / "metrics.jsonl").exists()  # it never started training
