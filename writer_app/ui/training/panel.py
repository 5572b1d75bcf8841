"""The progress panel of a training run, in a writer's words: a progress bar with
the time trained and the time left, how well the model predicts the writer's
held-out text with a plot against minutes, and Cancel.

Once the run stops (Cancel, a failure, or the end) it offers four outcomes:
Use this model, Keep training, Discard, and Train on Another Folder.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from writer_app.training.errors import TrainingError
from writer_app.training.library import ModelCard
from writer_app.training.metrics import Progress
from writer_app.ui.training.plot import ScorePlot
from writer_app.ui.training.run import RUNNING, TrainingRun

# state -> what the panel says
STATE_WORDS = {
    "idle": "Starting…",
    "training": "Training on your writing. You can keep writing meanwhile.",
    "cancelling": "Stopping: saving where the training got to…",
    "cancelled": "Stopped. What it learnt so far is kept: choose what to do with it below.",
    "exporting": "Saving the model so far as a file the app can use…",
    "scoring": "Scoring the model on your held-out text…",
    "done": "Done. Choose what to do with the new model below.",
    "failed": "Training did not finish.",
    "discarded": "Discarded: this training's models and its copies of your texts are deleted.",
}
STOPPED_AT_QUIT = (
    "Stopped when Writer closed. What it learnt so far is kept: Keep Training goes on "
    "from there, or choose another outcome below."
)
SCORE_NAME = "Surprise on your held-out text"
SCORE_TIP = (
    "How surprised the model is, on average, by each word of the part of your texts it "
    "never trains on (its perplexity there). Lower means it predicts your writing better."
)
PLOT_TITLE = "How well it predicts your held-out text, by minutes of training (lower is better)"
BAR_STEPS = 1000
TIPS = {
    "use": "Make the best model so far the one that suggests (it is saved and scored first).",
    "keep": "Go on training from where it stopped.",
    "discard": "Delete this training: its models, where it got to, and its copies of your texts.",
    "another": "Start a new training on another folder of your texts.",
}


def clock(seconds: float) -> str:
    """Return seconds as "1 h 05 min", "12 min" or "40 s"."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds // 60 % 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def time_words(progress: Progress, state: str, to_the_end: bool = False) -> str:
    """Return the time line under the bar: time trained and, only while it trains, time
    left. `to_the_end`: the run trained its whole time (and is scoring or done)."""
    if state in ("idle", "training"):
        return f"{clock(progress.elapsed)} trained · about {clock(progress.seconds_left)} left"
    if state == "done" or (to_the_end and state != "discarded"):
        return f"Trained for {clock(progress.elapsed)}."
    return f"Stopped after {clock(progress.elapsed)} of training."


class TrainingPanel(QWidget):
    """Shows one TrainingRun and its outcomes. Emits use_model(card) when the writer takes
    the model, train_more() for Keep training after a finished run (a new run from its
    model), and another_folder() for Train on Another Folder."""

    use_model = Signal(object)  # ModelCard
    train_more = Signal()
    another_folder = Signal()

    def __init__(
        self,
        run: TrainingRun,
        model_in_use: Callable[[], Path | None] = lambda: None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.run = run
        self.model_in_use = model_in_use
        self.card: ModelCard | None = None
        self._use_pending = False
        self.status = QLabel(STATE_WORDS["idle"])
        self.status.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, BAR_STEPS)
        self.bar.setTextVisible(False)
        self.time_label = QLabel("Starting…")
        self.score = QLabel(f"{SCORE_NAME}: waiting for the first check")
        self.score.setWordWrap(True)
        self.score.setToolTip(SCORE_TIP)
        plot_title = QLabel(PLOT_TITLE)
        plot_title.setWordWrap(True)
        self.plot = ScorePlot()
        self.plot.setToolTip(SCORE_TIP)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setMaximumBlockCount(400)
        self.details.hide()
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.hide()

        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(run.cancel)
        self.use_button = QPushButton("Use This Model")
        self.use_button.clicked.connect(self._use)
        self.keep_button = QPushButton("Keep Training")
        self.keep_button.clicked.connect(self._keep)
        self.discard_button = QPushButton("Discard…")
        self.discard_button.clicked.connect(self._discard)
        self.another_button = QPushButton("Train on Another Folder…")
        self.another_button.clicked.connect(self.another_folder)
        self.outcomes = {
            "use": self.use_button,
            "keep": self.keep_button,
            "discard": self.discard_button,
            "another": self.another_button,
        }
        for key, button in self.outcomes.items():
            button.setToolTip(TIPS[key])
        first_row, second_row = QHBoxLayout(), QHBoxLayout()
        first_row.addStretch(1)
        for button in (self.cancel_button, self.use_button, self.keep_button):
            first_row.addWidget(button)
        second_row.addStretch(1)
        for button in (self.discard_button, self.another_button):
            second_row.addWidget(button)

        layout = QVBoxLayout(self)
        for widget in (self.status, self.bar, self.time_label, self.score, plot_title, self.plot):
            layout.addWidget(widget)
        layout.addWidget(self.result)
        layout.addWidget(self.details, 1)
        layout.addLayout(first_row)
        layout.addLayout(second_row)

        run.state_changed.connect(self._on_state)
        run.progress.connect(self._on_progress)
        run.failed.connect(self._on_failed)
        run.model_ready.connect(self._on_model_ready)
        self._on_state(run.state)
        if run.progress_data.step:  # a restored run: where it got to
            self._on_progress(run.progress_data)
        if run.stopped_at_quit:
            self.status.setText(STOPPED_AT_QUIT)

    # --- what the run says ------------------------------------------------------------

    def _on_state(self, state: str) -> None:
        self.status.setText(STATE_WORDS.get(state, state))
        if state == "training":
            self.details.hide()
        if state == "done":
            self.bar.setValue(BAR_STEPS)
        self.time_label.setText(
            time_words(self.run.progress_data, state, self.run.trained_to_the_end)
        )
        self.refresh()

    def _on_progress(self, progress: Progress) -> None:
        done, left = progress.elapsed, progress.seconds_left
        if self.run.state in ("idle", "training", "cancelled") and done + left > 0:
            self.bar.setValue(round(BAR_STEPS * done / (done + left)))
        self.time_label.setText(time_words(progress, self.run.state, self.run.trained_to_the_end))
        if progress.evals:
            first = "before training" if progress.first_is_before_training else "at the first check"
            self.score.setText(
                f"{SCORE_NAME} (lower is better): {progress.first_ppl:.1f} {first}, "
                f"{progress.last_ppl:.1f} now"
            )
        self.plot.set_points(self.run.curve)

    def _on_failed(self, message: str) -> None:
        first, _, rest = message.partition("\n\n")
        self.status.setText(first)
        if rest:
            self.details.setPlainText(rest)
            self.details.show()
        self._use_pending = False
        self.refresh()

    def _on_model_ready(self, card: ModelCard) -> None:
        self.card = card
        if card.ppl_before is not None and card.ppl_after is not None:
            verdict = (
                "It predicts your writing better than the model you started from."
                if card.better
                else "It is not better than the model you started from."
            )
            text = (
                f"{SCORE_NAME} ({card.val_words:,} words it never trained on; lower is "
                f"better): {card.ppl_before:.1f} with the model you started from, "
                f"{card.ppl_after:.1f} with this one. {verdict}"
            )
        else:
            text = "The model could not be scored on your held-out text."
        self.result.setText(f"{text}\nSaved as {card.gguf_path}.")
        self.result.show()
        if self._use_pending:
            self._use_pending = False
            self.use_model.emit(card)
            self.status.setText("This model now makes your suggestions.")
        self.refresh()

    def refresh(self) -> None:
        """Show Cancel while the run works, and the outcomes that can be done once it stops."""
        run = self.run
        running = run.state in RUNNING
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(run.state in ("training", "exporting", "scoring"))
        for key, button in self.outcomes.items():
            button.setVisible(not running and (key == "another" or run.state != "discarded"))
        in_use = self.model_in_use()
        used = (
            run.model_fresh
            and in_use is not None
            and Path(in_use).resolve() == run.card.gguf_path.resolve()
        )
        self.use_button.setEnabled(run.can_make_model and not used)
        self.keep_button.setEnabled(run.can_resume or (run.state == "done" and run.has_model))
        self.discard_button.setEnabled(run.stopped)

    # --- the outcomes ---------------------------------------------------------------------

    def _use(self) -> None:
        self._use_pending = True
        self.run.make_model()  # model_ready follows: then the model is used

    def _keep(self) -> None:
        if self.run.can_resume:
            self.result.hide()
            self.run.resume()
        elif self.run.state == "done":
            self.train_more.emit()

    def _discard(self) -> None:
        answer = QMessageBox.question(
            self,
            "Discard this training?",
            f"Delete {self.run.run_dir}: the models this training made, where it got to, "
            "and its copies of your texts? Your own texts are not touched.",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Discard:
            return
        try:
            self.run.discard(self.model_in_use())
        except (TrainingError, OSError) as err:
            self.status.setText(f"Not discarded: {err}")
            return
        self.result.hide()
