"""Train on My Writing calibrates the model it makes (issue 24): after scoring, the new
model's suggestion confidence is chosen on the writer's held-out text and stored in its
file; without held-out text the step is skipped, and train.log says so."""

from __future__ import annotations

import shutil

from gpt2gguf.metadata import model_confidence
from gpt2gguf.validate import validate_gguf
from tests.fixtures_text import TRAIN_TEXT
from writer_app.training.job import JobSpec, calibrate_command
from writer_app.training.library import ModelCard
from writer_app.ui.training.run import LOG_FILE, TrainingRun

SHORT = ["--chars", "300", "--no-refine"]  # a short passage: seconds on the test model


def finished_run(tmp_path, trained_gguf, val_text: str) -> tuple[TrainingRun, object]:
    """A run whose training has ended, with its exported model and held-out text in place."""
    run_dir = tmp_path / "run"
    (run_dir / "train").mkdir(parents=True)
    (run_dir / "data").mkdir()
    gguf = run_dir / "train" / "my-writing-q8_0.gguf"
    shutil.copyfile(trained_gguf, gguf)
    val = run_dir / "data" / "val.txt"
    val.write_text(val_text, encoding="utf-8")
    spec = JobSpec(
        base=trained_gguf,
        train_dir=run_dir / "data" / "train",
        val_file=val,
        out=run_dir / "train",
        minutes=1,
        threads=1,
        calibrate_args=list(SHORT),
    )
    card = ModelCard("", "2026-12-03 10:00", str(trained_gguf), 100, 100, 1)
    return TrainingRun(spec, run_dir, card), gguf


def test_the_trained_model_is_calibrated_on_the_held_out_text(qtbot, tmp_path, trained_gguf):
    run, gguf = finished_run(tmp_path, trained_gguf, TRAIN_TEXT)
    with qtbot.waitSignal(run.model_ready, timeout=300_000):
        run._score(gguf)  # what a run does once its model is exported
    assert run.stopped
    assert model_confidence(validate_gguf(gguf).metadata) is not None
    log = (run.run_dir / LOG_FILE).read_text(encoding="utf-8")
    assert "calibrate: chose" in log and "| confidence |" in log
    assert run.card.ppl_after is not None  # scored as before


def test_without_held_out_text_the_calibration_is_skipped_and_the_log_says_so(
    qtbot, tmp_path, trained_gguf
):
    run, gguf = finished_run(tmp_path, trained_gguf, " \n\n ")
    assert calibrate_command(run.spec, gguf) is None
    before = gguf.read_bytes()
    with qtbot.waitSignal(run.model_ready, timeout=300_000):
        run._score(gguf)
    assert gguf.read_bytes() == before
    log = (run.run_dir / LOG_FILE).read_text(encoding="utf-8")
    assert "No held-out text to calibrate the suggestion confidence on" in log


def test_the_calibration_command_stores_the_choice_on_the_val_text(tmp_path, trained_gguf):
    run, gguf = finished_run(tmp_path, trained_gguf, TRAIN_TEXT)
    cmd = calibrate_command(run.spec, gguf)
    at = cmd.index("calibrate")
    assert cmd[at - 2 : at] == ["-m", "writer_app.bench"]
    assert cmd[cmd.index("--text") + 1] == str(run.spec.val_file)
    assert cmd[cmd.index("--model") + 1] == str(gguf)
    assert "--write" in cmd and cmd[-3:] == SHORT
