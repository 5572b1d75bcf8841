"""Reading metrics.jsonl while a run appends to it (no Qt)."""

from __future__ import annotations

import json

from writer_app.training.metrics import MetricsReader, Progress


def row(**kw) -> str:
    return json.dumps(kw) + "\n"


def test_reader_returns_only_new_complete_lines(tmp_path):
    path = tmp_path / "metrics.jsonl"
    reader = MetricsReader(path)
    assert reader.read_new() == ([], False)  # no file yet
    path.write_text(row(step=1, tokens=10, loss=5.0, elapsed=1.0) + '{"step": 2, "tok')
    rows, restarted = reader.read_new()
    assert [r["step"] for r in rows] == [1] and not restarted
    with open(path, "a") as f:
        f.write('ens": 20, "val_loss": 4.0, "val_ppl": 54.6, "elapsed": 2.0}\n')
    rows, _ = reader.read_new()
    assert rows == [{"step": 2, "tokens": 20, "val_loss": 4.0, "val_ppl": 54.6, "elapsed": 2.0}]
    assert reader.read_new() == ([], False)


def test_a_rewritten_shorter_file_starts_over(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text(row(step=1, tokens=10) + row(step=2, tokens=20) + row(step=3, tokens=30))
    reader = MetricsReader(path)
    assert len(reader.read_new()[0]) == 3
    path.write_text(row(step=1, tokens=10))  # --resume dropped rows past its checkpoint
    rows, restarted = reader.read_new()
    assert restarted and rows == [{"step": 1, "tokens": 10}]


def test_progress_folds_rows_into_time_left_tokens_and_perplexities():
    p = Progress(budget_s=900)
    assert p.first_ppl is None and p.seconds_left == 900
    p.add(
        [
            {"step": 10, "tokens": 1000, "loss": 4.0, "elapsed": 30.0},
            {"step": 10, "tokens": 1000, "val_loss": 4.2, "val_ppl": 66.7, "elapsed": 31.0},
            {"step": 20, "tokens": 2000, "val_loss": 4.0, "val_ppl": 54.6, "elapsed": 61.0},
        ]
    )
    assert (p.step, p.tokens, p.seconds_left) == (20, 2000, 839.0)
    assert (p.first_ppl, p.last_ppl) == (66.7, 54.6)
    assert p.evals == [(1000, 66.7), (2000, 54.6)]
    p.add([{"step": 30, "tokens": 3000, "loss": 3.9, "elapsed": 90.0, "remaining_s": 120.0}])
    assert p.seconds_left == 120.0  # the trainer knows its steps to go: its estimate wins
