"""Reading writer-finetune's metrics.jsonl while the run appends to it.

The rows are finetune.outputs' TrainRow (every --log-every steps) and
EvalRow (each evaluation on the held-out text): the trainer and the app share
those types rather than key names. The reader keeps its place and returns
only new, complete lines; a resumed run may rewrite the file shorter (it
drops rows its checkpoint does not hold), and then the reader starts over.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from finetune.outputs import EvalRow, MetricsRow, metrics_row


class MetricsReader:
    """Incremental reader of one metrics.jsonl."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._offset = 0
        self._partial = b""

    def read_new(self) -> tuple[list[MetricsRow], bool]:
        """Return (new rows, whether the file was rewritten and the rows start over)."""
        try:
            size = self.path.stat().st_size
        except OSError:
            return [], False
        restarted = size < self._offset
        if restarted:
            self._offset, self._partial = 0, b""
        if size == self._offset:
            return [], restarted
        with open(self.path, "rb") as f:
            f.seek(self._offset)
            chunk = f.read(size - self._offset)
        self._offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()  # an unfinished line waits for its end
        rows = []
        for line in lines:
            try:
                rows.append(metrics_row(json.loads(line)))
            except (ValueError, TypeError):
                continue  # a torn line from a killed run: skip it
        return rows, restarted


@dataclass
class Progress:
    """What the panel shows, folded from metrics rows."""

    budget_s: float
    step: int = 0
    tokens: int = 0
    elapsed: float = 0.0
    remaining_s: float | None = None  # the trainer's own estimate, when it gives one
    evals: list[tuple[int, float]] = field(default_factory=list)  # (tokens, val perplexity)

    def add(self, rows: list[MetricsRow]) -> None:
        """Fold new rows in (an eval row for a step already seen replaces it)."""
        for row in rows:
            self.step = max(self.step, row.step)
            self.tokens = max(self.tokens, row.tokens)
            self.elapsed = max(self.elapsed, row.elapsed)
            if isinstance(row, EvalRow):
                point = (row.tokens, row.val_ppl)
                self.evals = [p for p in self.evals if p[0] < point[0]] + [point]
            elif row.remaining_s is not None:
                self.remaining_s = row.remaining_s

    def reset(self) -> None:
        """Forget everything (the file was rewritten)."""
        self.step, self.tokens, self.elapsed, self.evals = 0, 0, 0.0, []
        self.remaining_s = None

    @property
    def seconds_left(self) -> float:
        """Return the training time left, in seconds: the trainer's estimate (it knows the
        steps to go), else what is left of the budget."""
        if self.remaining_s is not None:
            return max(0.0, self.remaining_s)
        return max(0.0, self.budget_s - self.elapsed)

    @property
    def first_ppl(self) -> float | None:
        """Return the perplexity at the first evaluation, or None before it."""
        return self.evals[0][1] if self.evals else None

    @property
    def first_is_before_training(self) -> bool:
        """Return whether the first evaluation is of the base model (at token 0)."""
        return bool(self.evals) and self.evals[0][0] == 0

    @property
    def last_ppl(self) -> float | None:
        """Return the perplexity at the latest evaluation, or None before the first."""
        return self.evals[-1][1] if self.evals else None
