"""What a stopped training offers, on a real run of a tiny model: no stale time
left after Cancel, the panel reopened in its stopped state, and Use This
Model, Discard and Train on Another Folder each doing what it says (Keep
Training: tests/ui/test_train_dialog.py)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from gpt2gguf.validate import validate_gguf
from tests.ui import test_train_dialog as training
from writer_app.training.library import list_models
from writer_app.ui.training.dialog import TrainDialog

# The same writer's texts and private data folder as the dialog's tests (fixtures).
texts = training.texts
data_dir = training.data_dir
start_run, finish = training.start_run, training.finish
DISCARD = QMessageBox.StandardButton.Discard
CANCEL = QMessageBox.StandardButton.Cancel


def cancel_after_two_checks(qtbot, run, panel) -> None:
    """Let the run train past two evaluations, then press Cancel and wait for the stop."""
    qtbot.waitUntil(lambda: len(run.curve) >= 2 and panel.bar.value() > 0, timeout=60_000)
    assert "left" in panel.time_label.text()
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: run.state == "cancelled", timeout=60_000)


def test_use_this_model_after_cancel_saves_scores_lists_and_uses_the_best_so_far(
    make_window,
    tiny_gguf_f32,
    texts,
    dialogs,
    tmp_path,
    qtbot,
):
    window = make_window(model=tiny_gguf_f32)
    dialog, run, panel = start_run(window, texts, dialogs, tmp_path)
    try:
        cancel_after_two_checks(qtbot, run, panel)
        assert "left" not in panel.time_label.text()  # no stale time left
        assert panel.time_label.text().startswith("Stopped after")
        assert panel.cancel_button.isHidden()
        assert list_models() == []  # nothing in the library until the writer says so

        # Closed, then reopened from the menu: the same stopped run, with its four choices.
        window.training_dock.close()
        window.train_action.trigger()
        assert window.training_dock.isVisible() and window.training_dock.panel is panel
        assert "left" not in panel.time_label.text()
        for button in panel.outcomes.values():
            assert not button.isHidden() and button.isEnabled()

        qtbot.mouseClick(panel.use_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: run.state in ("cancelled", "failed"), timeout=120_000)
        assert run.state == "cancelled", panel.status.text() + panel.details.toPlainText()
    finally:
        finish(dialog)
    card = panel.card
    assert validate_gguf(card.gguf_path).n_layer == 2
    assert card.ppl_before is not None and card.ppl_after is not None
    assert f"{card.ppl_after:.1f} with this one" in panel.result.text()
    assert [c.gguf_path for c in list_models()] == [card.gguf_path]
    assert window.settings.model_path == str(card.gguf_path)
    qtbot.waitUntil(lambda: window.engine_state != "loading", timeout=30_000)
    assert window.engine_state == "ready"
    assert window.suggestions.engine_config().model_path == card.gguf_path
    assert not panel.use_button.isEnabled()  # it is the model in use now
    assert panel.keep_button.isEnabled()  # the stopped run can still go on

    # Discarding the model in use is refused, and nothing is deleted.
    dialogs.answers = [DISCARD]
    qtbot.mouseClick(panel.discard_button, Qt.MouseButton.LeftButton)
    assert "in use" in panel.status.text()
    assert run.run_dir.is_dir() and list_models()


def test_discard_asks_then_deletes_the_run_and_another_folder_opens_a_new_setup(
    make_window,
    tiny_gguf_f32,
    texts,
    dialogs,
    tmp_path,
    qtbot,
):
    window = make_window(model=tiny_gguf_f32)
    dialog, run, panel = start_run(window, texts, dialogs, tmp_path)
    try:
        cancel_after_two_checks(qtbot, run, panel)
    finally:
        finish(dialog)

    dialogs.answers = [CANCEL]  # asked first: Cancel keeps everything
    qtbot.mouseClick(panel.discard_button, Qt.MouseButton.LeftButton)
    assert "Your own texts are not touched" in dialogs.texts("question")[-1]
    assert run.run_dir.is_dir() and run.state == "cancelled"

    dialogs.answers = [DISCARD]
    qtbot.mouseClick(panel.discard_button, Qt.MouseButton.LeftButton)
    assert run.state == "discarded"
    assert not run.run_dir.exists()
    assert list_models() == []
    assert texts.is_dir() and (texts / "one.txt").is_file()  # the writer's own files stay
    assert [b for b in panel.outcomes.values() if not b.isHidden()] == [panel.another_button]

    qtbot.mouseClick(panel.another_button, Qt.MouseButton.LeftButton)
    setup = window.train_dialog
    assert isinstance(setup, TrainDialog) and setup is not dialog
    assert setup.isVisible() and setup.run is None
    assert setup.folder_edit.text() == ""  # anew: the writer chooses the other folder
    # With the run discarded, the menu opens the setup again, not the old panel.
    setup.hide()
    window.train_action.trigger()
    assert window.train_dialog is setup and setup.isVisible()
