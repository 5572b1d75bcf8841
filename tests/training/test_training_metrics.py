"""Reading metrics.jsonl while a run appends to it (no Qt)."""

from __future__ import annotations

import json
from dataclasses import asdict

from finetune.outputs import EvalRow, TrainRow
from writer_app.training.metrics import MetricsReader, Progress


def train_row(step: int, elapsed: float = 1.0, remaining_s: float | None = None) -> TrainRow:
    return TrainRow(
        step=step,
        tokens=step * 100,
        loss=5.0,
        lr=1e-3,
        tokens_per_s=100.0,
        mfu=None,
        elapsed=elapsed,
        remaining_s=remaining_s,
        total_steps=50,
    )


def eval_row(step: int, val_ppl: float, elapsed: float = 1.0) -> EvalRow:
    return EvalRow(step=step, tokens=step * 100, val_loss=4.0, val_ppl=val_ppl, elapsed=elapsed)


def line(row) -> str:
    return json.dumps(asdict(row)) + "\n"


def test_reader_returns_only_new_complete_rows_as_their_types(tmp_path):
    path = tmp_path / "metrics.jsonl"
    reader = MetricsReader(path)
    assert reader.read_new() == ([], False)  # no file yet
    half = line(eval_row(2, 54.6))
    path.write_text(line(train_row(1)) + half[:20])
    rows, restarted = reader.read_new()
    assert rows == [train_row(1)] and not restarted
    with open(path, "a") as f:
        f.write(half[20:])
    assert reader.read_new() == ([eval_row(2, 54.6)], False)
    assert reader.read_new() == ([], False)


def test_torn_and_foreign_lines_are_skipped(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "tok\n[1, 2]\n{"step": 2}\n' + line(train_row(3)))
    assert MetricsReader(path).read_new() == ([train_row(3)], False)


def test_a_rewritten_shorter_file_starts_over(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text(line(train_row(1)) + line(train_row(2)) + line(train_row(3)))
    reader = MetricsReader(path)
    assert len(reader.read_new()[0]) == 3
    path.write_text(line(train_row(1)))  # --resume dropped rows past its checkpoint
    rows, restarted = reader.read_new()
    assert restarted and rows == [train_row(1)]


def test_progress_folds_rows_into_time_left_tokens_and_perplexities():
    p = Progress(budget_s=900)
    assert p.first_ppl is None and p.seconds_left == 900
    p.add([train_row(10, elapsed=30.0), eval_row(10, 66.7, 31.0), eval_row(20, 54.6, 61.0)])
    assert (p.step, p.tokens, p.seconds_left) == (20, 2000, 839.0)
    assert (p.first_ppl, p.last_ppl) == (66.7, 54.6)
    assert p.evals == [(1000, 66.7), (2000, 54.6)]
    p.add([train_row(30, elapsed=90.0, remaining_s=120.0)])
    assert p.seconds_left == 120.0  # the trainer knows its steps to go: its estimate wins
