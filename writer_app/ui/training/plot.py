"""The training panel's plot: how well the model predicts the writer's held-out
text (its perplexity there) against minutes of training, lower is better."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QWidget


class ScorePlot(QWidget):
    """(minutes, score) points joined by lines, with the minutes along the bottom."""

    MARGIN = 8
    AXIS = 16  # room under the box for the minutes

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.points: list[tuple[float, float]] = []
        self.setMinimumHeight(120)

    def set_points(self, points: list[tuple[float, float]]) -> None:
        """Show these (minutes, score) points."""
        self.points = list(points)
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        m = self.MARGIN
        rect = self.rect().adjusted(m, m, -m, -m - self.AXIS)
        text = self.palette().text().color()
        painter.setPen(QPen(QColor(text.red(), text.green(), text.blue(), 90)))
        painter.drawRect(rect)
        painter.setPen(text)
        if not self.points:
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "waiting for the first check")
            return
        xs = [x for x, _ in self.points]
        ys = [y for _, y in self.points]
        x1 = max(max(xs), 1.0)  # a scale of at least a minute: early points do not jump about
        y0, y1 = min(ys), max(ys)
        span_y = (y1 - y0) or 1.0

        def at(x: float, y: float) -> QPointF:
            # Lower is better: drawn lower, as loss curves are.
            return QPointF(
                rect.left() + x / x1 * rect.width(),
                rect.bottom() - (y - y0) / span_y * rect.height(),
            )

        inner = rect.adjusted(4, 2, -4, -2)
        top_right = Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignRight
        bottom_right = Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignRight
        painter.drawText(inner, top_right, f"{y1:.1f}")
        painter.drawText(inner, bottom_right, f"{y0:.1f}")
        axis = self.rect().adjusted(m, 0, -m, 0)
        painter.drawText(axis, Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignLeft, "0 min")
        painter.drawText(axis, bottom_right, f"{x1:.0f} min")
        line = QPolygonF([at(x, y) for x, y in self.points])
        accent = self.palette().highlight().color()
        painter.setPen(QPen(accent, 2))
        painter.drawPolyline(line)
        painter.setBrush(accent)
        for point in line:
            painter.drawEllipse(point, 3, 3)
