"""A training that the app's closing stopped is taken up at the next start: the
run's JobSpec and card are in its folder (job.json, card.json), TrainingRun.restore
reads them back with its progress, and Keep Training resumes it from its checkpoint.
Its panel shows at once if closing the app stopped it, once. Only the newest run, and
only one that can resume, is taken up; a folder it cannot read is left alone."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.ui import test_train_dialog as training
from writer_app.training.job import JOB_FILE, JobSpec
from writer_app.training.library import CARD, ModelCard, models_dir, write_card
from writer_app.ui.training.panel import STOPPED_AT_QUIT
from writer_app.ui.training.run import QUIT_MARK, TrainingRun

texts = training.texts
data_dir = training.data_dir
start_run, finish = training.start_run, training.finish


def test_a_run_stopped_by_quitting_is_back_at_the_next_start_and_goes_on(
    make_window, tiny_gguf_f32, texts, dialogs, tmp_path, qtbot
):
    window = make_window(model=tiny_gguf_f32)
    dialog, run, panel = start_run(window, texts, dialogs, tmp_path)
    try:
        qtbot.waitUntil(lambda: len(run.curve) >= 2, timeout=60_000)
        run.stop_and_wait()  # what quitting does (aboutToQuit)
    finally:
        finish(dialog)
    assert (run.spec.out / "checkpoint").is_dir() and (run.run_dir / QUIT_MARK).is_file()
    run.poll()  # the rows written while it stopped
    curve, step = list(run.curve), run.progress_data.step

    again = make_window(model=tiny_gguf_f32)  # the next start
    dock = again.training_dock
    restored = dock.run
    assert restored is not None and restored.run_dir == run.run_dir
    assert restored.state == "cancelled" and restored.can_resume
    assert restored.spec == run.spec and replace(restored.card, folder=None) == run.card
    assert restored.progress_data.step == step and restored.curve == curve
    assert (run.run_dir / QUIT_MARK).is_file() is False  # shown once: the mark is taken
    panel = dock.panel  # shown at once, since closing the app stopped it
    assert dock.isVisible() and panel.run is restored
    assert panel.status.text() == STOPPED_AT_QUIT
    assert panel.time_label.text().startswith("Stopped after")
    assert len(panel.plot.points) == len(curve)
    assert panel.keep_button.isEnabled() and panel.use_button.isEnabled()

    later = make_window(model=tiny_gguf_f32)  # a start after that: there, not in the way
    assert later.training_dock.run.run_dir == run.run_dir
    assert not later.training_dock.isVisible()
    later.train_action.trigger()  # the menu shows the run, not the setup
    assert later.training_dock.isVisible() and later.train_dialog is None

    log = run.run_dir / "train.log"
    try:
        qtbot.mouseClick(panel.keep_button, Qt.MouseButton.LeftButton)
        assert restored.state == "training" and "--config" in restored.process.arguments()
        qtbot.waitUntil(lambda: "resumed from step" in log.read_text(), timeout=60_000)
        qtbot.waitUntil(lambda: restored.progress_data.step > step, timeout=60_000)
    finally:
        restored.stop_and_wait(timeout_ms=20_000)
    assert f"resumed from step {step}" in log.read_text()  # from the checkpoint, not afresh


def stopped_run(name: str, checkpoint: bool = True) -> Path:
    """Lay out a run folder as a stopped run leaves it: job.json, card, a checkpoint."""
    run_dir = models_dir() / name
    out = run_dir / "train"
    (out / "checkpoint").mkdir(parents=True) if checkpoint else out.mkdir(parents=True)
    spec = JobSpec(
        base=Path("/models/base.gguf"),
        train_dir=run_dir / "data" / "train",
        val_file=run_dir / "data" / "val.txt",
        out=out,
        minutes=15,
        threads=1,
        extra_args=["--max-steps", "3"],
    )
    (run_dir / JOB_FILE).write_text(spec.to_json(), encoding="utf-8")
    write_card(run_dir, ModelCard("", "2026-12-03 10:00", str(spec.base), 900, 100, 15))
    return run_dir


def test_the_spec_goes_to_json_and_back_and_nothing_else_is_taken_for_one(data_dir):
    run_dir = stopped_run("2026-12-03-1000")
    spec = JobSpec.from_json((run_dir / JOB_FILE).read_text())
    assert spec.out == run_dir / "train" and spec.extra_args == ["--max-steps", "3"]
    assert JobSpec.from_json(spec.to_json()) == spec
    good = json.loads(spec.to_json())
    for bad in (
        "[]",
        "{not json",
        json.dumps({**good, "surprise": 1}),
        json.dumps({k: v for k, v in good.items() if k != "out"}),
        json.dumps({**good, "out": 7}),
        json.dumps({**good, "minutes": "soon"}),
        json.dumps({**good, "extra_args": [1, 2]}),
    ):
        with pytest.raises(ValueError):
            JobSpec.from_json(bad)


def test_only_the_newest_run_is_taken_up_and_only_if_it_can_resume(data_dir, qtbot):
    assert TrainingRun.restore() is None  # no library yet
    older = stopped_run("2026-12-01-0900")
    run = TrainingRun.restore()
    assert run is not None and run.run_dir == older and run.state == "cancelled"
    assert run.card.train_words == 900 and run.spec.minutes == 15

    stopped_run("2026-12-02-0900", checkpoint=False)  # newer, finished or never saved
    assert TrainingRun.restore() is None  # the older one is not dug up

    newest = stopped_run("2026-12-03-0900")
    assert TrainingRun.restore().run_dir == newest
    (newest / CARD).write_text("{damaged", encoding="utf-8")
    assert TrainingRun.restore() is None and (newest / JOB_FILE).is_file()  # left alone

    elsewhere = stopped_run("2026-12-04-0900")
    spec = JobSpec.from_json((elsewhere / JOB_FILE).read_text())
    spec.out = older / "train"  # a job.json that points into another folder
    (elsewhere / JOB_FILE).write_text(spec.to_json(), encoding="utf-8")
    assert TrainingRun.restore() is None
