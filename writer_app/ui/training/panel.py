"""The progress panel of a training run: time left, tokens seen, the perplexity on
the writer's held-out text with a small plot, Cancel and Resume, and at the end
the offer to use the new model."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from writer_app.training.library import ModelCard
from writer_app.training.metrics import Progress
from writer_app.ui.training.run import TrainingRun

# state -> what the panel says
STATE_WORDS = {
    "idle": "Starting…",
    "training": "Training on your writing. You can keep writing meanwhile.",
    "cancelling": "Stopping: saving the last checkpoint…",
    "cancelled": "Stopped. The last checkpoint is kept: Resume continues from it.",
    "scoring": "Scoring the new model on your held-out text…",
    "done": "Done.",
    "failed": "Training did not finish.",
}


def clock(seconds: float) -> str:
    """Return seconds as "1 h 05 min", "12 min" or "40 s"."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds // 60 % 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"


class PerplexityPlot(QWidget):
    """Validation perplexity against tokens seen, painted as points joined by lines."""

    MARGIN = 8

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.points: list[tuple[int, float]] = []
        self.setMinimumHeight(110)

    def set_points(self, points: list[tuple[int, float]]) -> None:
        """Show these (tokens, perplexity) points."""
        self.points = list(points)
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = self.rect().adjusted(self.MARGIN, self.MARGIN, -self.MARGIN, -self.MARGIN)
        pen_color = self.palette().text().color()
        painter.setPen(QPen(QColor(pen_color.red(), pen_color.green(), pen_color.blue(), 90)))
        painter.drawRect(rect)
        if not self.points:
            painter.setPen(pen_color)
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "waiting for the first evaluation")
            return
        xs = [float(x) for x, _ in self.points]
        ys = [y for _, y in self.points]
        x0, x1 = min(xs), max(xs)
        y0, y1 = min(ys), max(ys)
        span_x = (x1 - x0) or 1.0
        span_y = (y1 - y0) or 1.0

        def at(x: float, y: float) -> QPointF:
            # Lower perplexity is better: it is drawn lower, as loss curves are.
            return QPointF(
                rect.left() + (x - x0) / span_x * rect.width(),
                rect.bottom() - (y - y0) / span_y * rect.height(),
            )

        line = QPolygonF([at(x, y) for x, y in zip(xs, ys, strict=True)])
        accent = self.palette().highlight().color()
        painter.setPen(QPen(accent, 2))
        painter.drawPolyline(line)
        painter.setBrush(accent)
        for point in line:
            painter.drawEllipse(point, 3, 3)
        painter.setPen(pen_color)
        painter.drawText(
            rect.adjusted(4, 2, -4, -2),
            Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignRight,
            f"{y1:.1f}",
        )
        painter.drawText(
            rect.adjusted(4, 2, -4, -2),
            Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignRight,
            f"{y0:.1f}",
        )


class TrainingPanel(QWidget):
    """Shows one TrainingRun; emits use_model(card) when the writer takes the new model."""

    use_model = Signal(object)  # ModelCard
    kept_current = Signal()

    def __init__(self, run: TrainingRun, parent: QWidget | None = None):
        super().__init__(parent)
        self.run = run
        self.card: ModelCard | None = None
        self.status = QLabel(STATE_WORDS["idle"])
        self.status.setWordWrap(True)
        self.time_left = QLabel("Time left: –")
        self.tokens = QLabel("Tokens seen: 0")
        self.perplexity = QLabel("Perplexity on your held-out text: waiting for the first check")
        self.perplexity.setWordWrap(True)
        self.plot = PerplexityPlot()
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setMaximumBlockCount(400)
        self.details.hide()
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.hide()

        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(run.cancel)
        self.resume_button = QPushButton("Resume")
        self.resume_button.clicked.connect(run.resume)
        self.use_button = QPushButton("Use this model")
        self.use_button.clicked.connect(self._use)
        self.keep_button = QPushButton("Keep the current model")
        self.keep_button.clicked.connect(self._keep)
        for button in (self.use_button, self.keep_button, self.resume_button):
            button.hide()
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.cancel_button, self.resume_button, self.keep_button, self.use_button):
            buttons.addWidget(button)

        layout = QVBoxLayout(self)
        for widget in (self.status, self.time_left, self.tokens, self.perplexity, self.plot):
            layout.addWidget(widget)
        layout.addWidget(self.result)
        layout.addWidget(self.details, 1)
        layout.addLayout(buttons)

        run.state_changed.connect(self._on_state)
        run.progress.connect(self._on_progress)
        run.failed.connect(self._on_failed)
        run.finished.connect(self._on_finished)

    def _on_state(self, state: str) -> None:
        self.status.setText(STATE_WORDS.get(state, state))
        self.cancel_button.setVisible(state in ("training", "scoring", "cancelling"))
        self.cancel_button.setEnabled(state in ("training", "scoring"))
        self.resume_button.setVisible(self.run.can_resume)
        if state == "training":
            self.details.hide()

    def _on_progress(self, progress: Progress) -> None:
        self.time_left.setText(f"Time left: about {clock(progress.seconds_left)}")
        self.tokens.setText(f"Tokens seen: {progress.tokens:,}")
        if progress.evals:
            first = "before training" if progress.first_is_before_training else "at the first check"
            self.perplexity.setText(
                f"Perplexity on your held-out text (lower is better): "
                f"{progress.first_ppl:.1f} {first}, {progress.last_ppl:.1f} now"
            )
        self.plot.set_points(progress.evals)

    def _on_failed(self, message: str) -> None:
        first, _, rest = message.partition("\n\n")
        self.status.setText(first)
        if rest:
            self.details.setPlainText(rest)
            self.details.show()
        self.resume_button.setVisible(self.run.can_resume)

    def _on_finished(self, card: ModelCard) -> None:
        self.card = card
        if card.ppl_before is not None and card.ppl_after is not None:
            verdict = (
                "The new model predicts your writing better."
                if card.better
                else "The new model is not better on your held-out text."
            )
            text = (
                f"Perplexity on your held-out text ({card.val_words:,} words it never trained on; "
                f"lower is better): current model {card.ppl_before:.1f}, new model "
                f"{card.ppl_after:.1f}. {verdict}"
            )
        else:
            text = "The new model could not be scored on your held-out text."
        self.result.setText(f"{text}\nSaved as {card.gguf_path}.")
        self.result.show()
        self.use_button.show()
        self.keep_button.show()
        # The safe choice is the default whenever the new model is not shown to be better.
        self.use_button.setDefault(card.better)
        self.keep_button.setDefault(not card.better)
        (self.use_button if card.better else self.keep_button).setFocus()

    def _use(self) -> None:
        if self.card is not None:
            self.use_model.emit(self.card)
            self._offer_done("Using the new model.")

    def _keep(self) -> None:
        self.kept_current.emit()
        self._offer_done("Kept the current model. The new one stays in Settings → Model.")

    def _offer_done(self, text: str) -> None:
        self.status.setText(text)
        self.use_button.setEnabled(False)
        self.keep_button.setEnabled(False)
