"""The progress panel: what it shows as metrics arrive, and the outcomes once it stops."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel

from finetune.outputs import EvalRow, TrainRow
from writer_app.training.job import JobSpec
from writer_app.training.library import ModelCard
from writer_app.training.metrics import Progress
from writer_app.ui.training.panel import BAR_STEPS, TrainingPanel, clock
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


def test_the_panel_shows_a_moving_bar_time_left_and_the_score_first_and_now_by_minutes(
    qtbot, tmp_path
):
    panel = make_panel(qtbot, tmp_path)
    run = panel.run
    run.state = "training"
    rows = [
        TrainRow(10, 40960, 4.0, 1e-3, 700.0, None, 60.0, None, 100),
        EvalRow(step=10, tokens=40960, val_loss=4.5, val_ppl=90.0, elapsed=61.0),
    ]
    (run.spec.out).mkdir(parents=True)
    metrics = run.spec.out / "metrics.jsonl"
    metrics.write_text("".join(json.dumps(asdict(r)) + "\n" for r in rows))
    run.poll()
    assert panel.time_label.text() == "1 min trained · about 13 min left"
    first = panel.bar.value()
    assert 0 < first < BAR_STEPS
    more = [
        TrainRow(20, 81920, 3.9, 1e-3, 700.0, None, 120.0, 600.0, 100),
        EvalRow(step=20, tokens=81920, val_loss=4.2, val_ppl=66.7, elapsed=120.0),
    ]
    with metrics.open("a") as f:
        f.write("".join(json.dumps(asdict(r)) + "\n" for r in more))
    run.poll()
    assert panel.bar.value() > first  # the bar moves
    assert panel.time_label.text() == "2 min trained · about 10 min left"
    assert "90.0 at the first check, 66.7 now" in panel.score.text()
    assert "lower is better" in panel.score.text()
    assert panel.plot.points == [(61.0 / 60, 90.0), (2.0, 66.7)]  # minutes, not tokens
    panel.plot.resize(300, 120)
    panel.plot.repaint()  # paints the points without error
    words = " ".join(w.text() for w in panel.findChildren(QLabel)) + panel.toolTip()
    for jargon in ("Tokens seen", "Perplexity", "checkpoint"):
        assert jargon not in words

    with_base = Progress(budget_s=900)  # --eval-at-start: the base model is scored at token 0
    with_base.add([EvalRow(step=0, tokens=0, val_loss=4.6, val_ppl=99.5, elapsed=0.0)])
    with_base.add([EvalRow(step=20, tokens=81920, val_loss=4.2, val_ppl=66.7, elapsed=120.0)])
    run.progress.emit(with_base)
    assert "99.5 before training, 66.7 now" in panel.score.text()


@pytest.mark.parametrize(("before", "after"), [(97.3, 71.2), (97.3, 99.0), (None, None)])
def test_a_finished_run_offers_the_four_outcomes_and_says_how_it_scored(
    qtbot, tmp_path, before, after
):
    panel = make_panel(qtbot, tmp_path)
    run = panel.run
    card = run.card
    card.ppl_before, card.ppl_after, card.folder = before, after, tmp_path
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "m.gguf").write_bytes(b"a model")
    run.model_fresh = True
    run._set_state("done")
    assert panel.cancel_button.isHidden()
    for button in panel.outcomes.values():
        assert not button.isHidden() and button.isEnabled()
    assert panel.time_label.text() == "Trained for 0 s."
    used = []
    panel.use_model.connect(used.append)
    panel.use_button.click()
    assert used == [card]
    if before is not None:
        assert f"{before:.1f} with the model you started from" in panel.result.text()
        assert f"{after:.1f} with this one" in panel.result.text()
        better = after < before
        assert ("predicts your writing better" in panel.result.text()) == better


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
