"""Model → Train on My Writing…: the dialog, a real training process on a tiny base
model, its progress panel, cancel and keep training, the offered model, the
time control, and bad input."""

from __future__ import annotations

import os
import signal
import stat
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from finetune.outputs import RunOptions
from gpt2gguf.validate import validate_gguf
from writer_app.core.paths import DATA_DIR_ENV
from writer_app.training.library import list_models
from writer_app.ui.settings import load_settings
from writer_app.ui.training.dialog import OTHER_BUDGET, TrainDialog

YES = QMessageBox.StandardButton.Yes
NO = QMessageBox.StandardButton.No
WORDS = 2_500


def tiny_args(cache: Path, max_steps: int = 100_000) -> list[str]:
    """writer-finetune flags that make a run on the tiny model take seconds."""
    return [
        "--max-steps", str(max_steps), "--eval-every", "2", "--eval-windows", "2",
        "--block-size", "32", "--micro-batch", "2", "--batch-tokens", "64",
        "--warmup-steps", "1", "--dtype", "fp32", "--checkpoint-every-steps", "2",
        "--log-every", "1", "--quant", "f32", "--cache-dir", str(cache),
    ]  # fmt: skip


@pytest.fixture
def texts(tmp_path) -> Path:
    """A folder of the writer's texts: two stories, and a file that is not text."""
    folder = tmp_path / "my-texts"
    folder.mkdir()
    words = "the rain fell on the quiet town and she walked home alone".split()
    for name, start in (("one.txt", 0), ("two.md", 3)):
        body = [" ".join(words[(start + i + j) % len(words)] for j in range(25)) for i in range(50)]
        (folder / name).write_text("\n\n".join(body) + "\n", encoding="utf-8")
    (folder / "cover.txt").write_bytes(b"\x89PNG\r\n\x1a\n an image renamed")
    return folder


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    return tmp_path / "data"


def open_dialog(window) -> TrainDialog:
    assert window.train_action in window.model_menu.actions()
    window.train_action.trigger()
    return window.train_dialog


def refused(make_window, texts, dialogs, answers=()) -> TrainDialog:
    """Open the dialog without a model, on `texts`, and try to start: it must refuse."""
    dialog = open_dialog(make_window(load_model=False))
    dialog.set_folder(texts)
    dialogs.answers = list(answers)
    assert not dialog.start()
    assert dialog.run is None
    return dialog


def start_run(window, texts, dialogs, tmp_path, **kw):
    dialog = open_dialog(window)
    dialog.include_document.setChecked(False)
    dialog.set_folder(texts)
    dialog.extra_args = tiny_args(tmp_path / "cache", **kw)
    dialog.calibrate_args = ["--chars", "300", "--no-refine"]  # short: minutes of CPU otherwise
    dialogs.answers = [YES]  # "Little text… Train anyway?"
    assert dialog.start()
    return dialog, dialog.run, dialog.panel


def finish(dialog) -> None:
    if dialog.run is not None:
        dialog.run.stop_and_wait(timeout_ms=20_000)


def test_a_run_reports_progress_cancels_resumes_and_offers_a_model_that_loads(
    make_window, tiny_gguf_f32, texts, dialogs, tmp_path, qtbot
):
    window = make_window(model=tiny_gguf_f32)
    dialog, run, panel = start_run(window, texts, dialogs, tmp_path)
    try:
        assert f"{WORDS:,} words" in dialogs.texts("question")[0]
        assert window.suggestions._thread_limit == 1  # the engine keeps its own core

        qtbot.waitUntil(lambda: len(run.progress_data.evals) >= 2, timeout=60_000)
        assert run.progress_data.evals[0][0] == 0  # the base model, scored before training
        assert "before training" in panel.score.text()
        assert len(panel.plot.points) == len(run.progress_data.evals)
        assert run.progress_data.tokens > 0
        assert not dialog.isVisible() and window.training_dock.isVisible()

        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: run.state == "cancelled", timeout=60_000)
        assert (run.spec.out / "checkpoint").is_dir()
        assert not panel.keep_button.isHidden() and panel.keep_button.isEnabled()
        assert window.suggestions._thread_limit is None  # the engine has its cores back
        assert window.settings.model_path == str(tiny_gguf_f32)
        stopped_at = run.progress_data.step

        # Resume where it stopped; a lower --max-steps lets the resumed run end soon.
        run.spec.extra_args = tiny_args(tmp_path / "cache", max_steps=stopped_at + 4)
        qtbot.mouseClick(panel.keep_button, Qt.MouseButton.LeftButton)
        assert "--config" in run.process.arguments()
        assert RunOptions.from_json(run.spec.config_path.read_text()).resume
        qtbot.waitUntil(lambda: run.state in ("done", "failed"), timeout=120_000)
        assert run.state == "done", panel.status.text() + panel.details.toPlainText()
        assert run.progress_data.step == stopped_at + 4
        assert "resumed from step" in (run.run_dir / "train.log").read_text()
        assert not (run.spec.out / "checkpoint").exists()  # a finished run frees the disk
    finally:
        finish(dialog)

    card = panel.card
    info = validate_gguf(card.gguf_path)
    assert info.n_layer == 2
    assert card.ppl_before is not None and card.ppl_after is not None
    assert f"{card.ppl_before:.1f}" in panel.result.text()
    assert f"{card.ppl_after:.1f}" in panel.result.text()
    assert [c.gguf_path for c in list_models()] == [card.gguf_path]
    assert panel.time_label.text().startswith("Trained for")

    assert_private_app_files(run.run_dir)

    qtbot.mouseClick(panel.use_button, Qt.MouseButton.LeftButton)
    assert window.settings.model_path == str(card.gguf_path)
    qtbot.waitUntil(lambda: window.engine_state != "loading", timeout=30_000)
    assert window.engine_state == "ready"
    assert window.suggestions.engine_config().model_path == card.gguf_path
    assert not panel.use_button.isEnabled()  # it is the model in use

    # Keep Training after the end: a new run from the finished model, on the same texts.
    qtbot.mouseClick(panel.keep_button, Qt.MouseButton.LeftButton)
    more = window.training_dock.run
    try:
        assert more is not run and more.state == "training"
        assert more.spec.base == card.gguf_path and more.run_dir != run.run_dir
        assert (more.spec.train_dir).is_dir() and more.spec.val_file.is_file()
        assert window.training_dock.panel.run is more
    finally:
        more.stop_and_wait(timeout_ms=20_000)


def assert_private_app_files(run_dir: Path) -> None:
    """What the app wrote for a run is the writer's alone: 0600 files in 0700 folders
    (the run folder, the copies of the texts, run.json, the log and the card), and
    what writer-finetune wrote is inside the run folder, which nobody else can open."""
    if os.name != "posix":
        return
    for folder in (run_dir.parent, run_dir, run_dir / "data", run_dir / "data" / "train"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    files = [
        *(run_dir / "data").rglob("*.txt"),
        *(run_dir / n for n in ("run.json", "job.json", "train.log")),
    ]
    for file in [*files, run_dir / "card.json"]:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


def test_a_killed_training_process_leaves_the_app_working_and_says_what_happened(
    make_window, tiny_gguf_f32, texts, dialogs, tmp_path, qtbot
):
    window = make_window(model=tiny_gguf_f32)
    dialog, run, panel = start_run(window, texts, dialogs, tmp_path)
    try:
        qtbot.waitUntil(lambda: len(run.tail) > 0, timeout=60_000)  # it is reading the texts
        os.kill(run.pid, signal.SIGKILL)
        qtbot.waitUntil(lambda: run.state == "failed", timeout=30_000)
    finally:
        finish(dialog)
    assert "SIGKILL" in panel.status.text()
    assert "current model is unchanged" in panel.status.text()
    assert panel.details.toPlainText().strip()  # the last lines it wrote
    assert window.settings.model_path == str(tiny_gguf_f32)
    assert window.suggestions._thread_limit is None
    assert list_models() == []
    # The app still answers: the editor types, and the engine still runs the old model.
    qtbot.keyClicks(window.editor, "Still here")
    assert window.editor.toPlainText().endswith("Still here")
    assert window.engine_state == "ready"
    assert window.suggestions.engine_config().model_path == tiny_gguf_f32


def test_the_setup_page_says_what_will_happen_and_lists_skipped_files(make_window, texts, data_dir):
    window = make_window(load_model=False)
    dialog = open_dialog(window)
    dialog.include_document.setChecked(False)
    dialog.set_folder(texts)
    summary = dialog.summary.text()
    assert f"Found {WORDS:,} words in 2 texts" in summary
    assert "held out" in summary and "never trains on it" in summary
    assert "cover.txt (a PNG image)" in summary
    assert "under 20,000" in summary
    assert str(data_dir / "models") in summary
    assert dialog.start_button.isEnabled()


def test_the_apps_data_folder_cannot_be_trained_on_and_the_dialog_says_why(make_window, data_dir):
    copies = data_dir / "models" / "2026-01-01-1200" / "data" / "train"
    copies.mkdir(parents=True)
    (copies / "0000-one.txt").write_text("an earlier run's copy of the writer's text " * 500)
    dialog = open_dialog(make_window(load_model=False))
    dialog.include_document.setChecked(False)
    for folder in (data_dir, copies):
        dialog.set_folder(folder)
        assert "the app's own data folder" in dialog.summary.text()
        assert "Choose the folder where you keep your own texts" in dialog.summary.text()
        assert not dialog.start_button.isEnabled()


def test_the_time_control_has_one_meaning(make_window, texts):
    dialog = open_dialog(make_window(load_model=False))
    assert dialog.budget_buttons["1 hour"].isChecked()
    assert not dialog.minutes.isEnabled() and dialog.minutes.value() == 60
    assert dialog.budget_minutes() == 60 and "about 60 minutes" in dialog.summary.text()
    dialog.choose_budget("15 minutes")
    assert dialog.minutes.value() == 15 and not dialog.minutes.isEnabled()
    dialog.choose_budget(OTHER_BUDGET, 45)
    assert dialog.minutes.isEnabled()
    assert dialog.budget_minutes() == 45 and "about 45 minutes" in dialog.summary.text()
    dialog.choose_budget("4 hours")
    assert dialog.budget_minutes() == 240 and not dialog.minutes.isEnabled()


def test_little_text_asks_first_and_no_means_no_run(make_window, texts, dialogs):
    refused(make_window, texts, dialogs, answers=[NO])
    assert "Train anyway?" in dialogs.texts("question")[0]


def test_missing_torch_is_said_before_anything_starts(make_window, texts, dialogs, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    refused(make_window, texts, dialogs)
    assert "needs torch" in dialogs.texts("warning")[0]


def test_an_unwritable_data_dir_is_said_before_anything_starts(
    make_window, texts, dialogs, tmp_path, monkeypatch
):
    (tmp_path / "blocked").write_text("a file where the data folder should be")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "blocked"))
    refused(make_window, texts, dialogs, answers=[YES])
    assert "cannot write to" in dialogs.texts("critical")[0]


def test_the_engine_keeps_one_thread_while_training_and_gets_its_own_back(
    make_window, tiny_gguf_f32, qtbot
):
    window = make_window(model=tiny_gguf_f32, n_threads=2)
    client = window.worker.worker.client

    def engine_threads() -> int:
        return (client.summary or {}).get("n_threads")

    qtbot.waitUntil(lambda: engine_threads() == 2, timeout=10_000)
    window.suggestions.set_thread_limit(1)
    qtbot.waitUntil(lambda: engine_threads() == 1, timeout=10_000)
    # A reload meanwhile (here: another GPU setting) keeps the limit.
    window.apply_settings(replace(window.settings, n_gpu_layers=0))
    qtbot.waitUntil(
        lambda: window.engine_state == "ready" and engine_threads() == 1, timeout=30_000
    )
    # So does a setting the engine takes without reloading.
    window.apply_settings(replace(window.settings, alt_temperature=0.5))
    assert window.suggestions.engine_config().n_threads == 1
    qtbot.wait(300)
    assert engine_threads() == 1
    window.suggestions.set_thread_limit(None)
    qtbot.waitUntil(lambda: engine_threads() == 2, timeout=10_000)
    assert window.settings.n_threads == 2
    assert load_settings().n_threads == 2  # never written to the writer's settings
