"""Reading writer-finetune's metrics.jsonl while the run appends to it.

Train rows carry step, tokens, loss, elapsed; eval rows carry val_loss and
val_ppl. The reader keeps its place and returns only new, complete lines; a
resumed run may rewrite the file shorter (it drops rows its checkpoint does
not hold), and then the reader starts over.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


class MetricsReader:
    """Incremental reader of one metrics.jsonl."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._offset = 0
        self._partial = b""

    def read_new(self) -> tuple[list[dict], bool]:
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
                row = json.loads(line)
            except ValueError:
                continue  # a torn line from a killed run: skip it
            if isinstance(row, dict):
                rows.append(row)
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

    def add(self, rows: list[dict]) -> None:
        """Fold new rows in (an eval row for a step already seen replaces it)."""
        for row in rows:
            self.step = max(self.step, int(row.get("step", 0)))
            self.tokens = max(self.tokens, int(row.get("tokens", 0)))
            self.elapsed = max(self.elapsed, float(row.get("elapsed", 0.0)))
            if row.get("remaining_s") is not None:
                self.remaining_s = float(row["remaining_s"])
            if "val_ppl" in row:
                point = (int(row.get("tokens", 0)), float(row["val_ppl"]))
                self.evals = [p for p in self.evals if p[0] < point[0]] + [point]

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
