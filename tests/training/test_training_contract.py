"""The app and writer-finetune agree on types, not key names: a tiny training run
started by the app's own job (run.json, `writer-finetune train --config`) is
read back through finetune.outputs, and every key the trainer writes is a
field of those dataclasses, and every field a key it writes.

If this fails after a change to finetune/train.py or finetune/report.py, the
dataclass in finetune/outputs.py and the writer of the file must change together.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import pytest

from finetune.outputs import (
    METRICS_FILE,
    SUMMARY_FILE,
    EvalRow,
    ExitCode,
    ExportSummary,
    ModelShape,
    RunOptions,
    TrainingSummary,
    TrainRow,
    metrics_row,
)
from writer_app.training.job import JobSpec, command, environment
from writer_app.training.metrics import MetricsReader, Progress
from writer_app.training.scan import scan, split, write_split


def names(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def required(cls) -> set[str]:
    return {
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }


@pytest.fixture(scope="module")
def finished_run(tiny_gguf_f32, tmp_path_factory) -> JobSpec:
    """A run of 4 steps on the tiny model, started as the app starts one (once here)."""
    tmp = tmp_path_factory.mktemp("contract")
    texts = tmp / "texts"
    texts.mkdir()
    words = "the rain fell on the quiet town and she walked home alone".split()
    body = [" ".join(words[(i + j) % len(words)] for j in range(25)) for i in range(100)]
    (texts / "story.txt").write_text("\n\n".join(body) + "\n", encoding="utf-8")
    train_dir, val_file = write_split(split(scan(texts)), tmp / "run" / "data")
    spec = JobSpec(
        base=tiny_gguf_f32,
        train_dir=train_dir,
        val_file=val_file,
        out=tmp / "run" / "train",
        minutes=15,
        threads=1,
        extra_args=[
            "--max-steps", "4", "--eval-every", "2", "--eval-windows", "2",
            "--block-size", "32", "--micro-batch", "2", "--batch-tokens", "64",
            "--dtype", "fp32", "--log-every", "1", "--quant", "f32",
            "--cache-dir", str(tmp / "cache"),
        ],
    )  # fmt: skip
    proc = subprocess.run(
        command(spec), env=environment(threads=1), capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == ExitCode.DONE, proc.stderr[-3000:]
    return spec


def test_the_app_starts_the_run_from_run_json(finished_run):
    cmd = command(finished_run)
    assert cmd[cmd.index("--config") + 1] == str(finished_run.config_path)
    assert RunOptions.from_json(finished_run.config_path.read_text()) == finished_run.options()


def test_every_metrics_key_the_trainer_writes_is_a_field_and_every_field_a_key(finished_run):
    raw = [json.loads(line) for line in (finished_run.out / METRICS_FILE).read_text().splitlines()]
    kinds = {TrainRow: 0, EvalRow: 0}
    for row in raw:
        typed = metrics_row(row, strict=True)  # a key the dataclass lacks fails here
        assert set(row) == names(type(typed)), row  # a field the trainer lacks fails here
        kinds[type(typed)] += 1
    assert kinds[TrainRow] == 4  # --log-every 1
    assert kinds[EvalRow] >= 2  # before training (--eval-at-start) and after


def test_the_app_reads_every_field_of_the_rows_through_the_types(finished_run):
    rows, _ = MetricsReader(finished_run.out / METRICS_FILE).read_new()
    train = [r for r in rows if isinstance(r, TrainRow)]
    evals = [r for r in rows if isinstance(r, EvalRow)]
    assert [r.step for r in train] == [1, 2, 3, 4]
    last = train[-1]
    assert last.tokens == 4 * 64 and last.total_steps == 4
    assert last.loss > 0 and last.lr > 0 and last.tokens_per_s > 0 and last.elapsed > 0
    assert last.mfu is None  # a CPU: no known peak
    assert last.remaining_s is None or last.remaining_s >= 0
    assert evals[0].step == 0 and evals[0].tokens == 0
    assert all(e.val_ppl > 1 and e.val_loss > 0 and e.elapsed >= 0 for e in evals)
    progress = Progress(budget_s=900)
    progress.add(rows)
    assert (progress.step, progress.tokens) == (4, 256)
    assert progress.first_is_before_training and len(progress.evals) == len(evals)


def test_every_summary_key_is_a_field_and_every_field_a_key(finished_run):
    raw = json.loads((finished_run.out / SUMMARY_FILE).read_text())
    assert required(TrainingSummary) <= set(raw) <= names(TrainingSummary)
    assert "samples" not in raw  # the app asks for none
    assert set(raw["model"]) == names(ModelShape)
    assert set(raw["export"]) == names(ExportSummary)
    # The copy beside the model, written before the export, is the same summary less it.
    beside = json.loads((finished_run.out / "model" / SUMMARY_FILE).read_text())
    assert required(TrainingSummary) <= set(beside) <= names(TrainingSummary) - {"export"}


def test_the_app_reads_the_summary_through_the_types(finished_run):
    summary = TrainingSummary.read(finished_run.out / SUMMARY_FILE)
    assert summary.model == ModelShape(
        n_layer=2,
        n_embd=64,
        n_head=2,
        n_ctx=256,
        vocab_size=50257,
        parameters=summary.model.parameters,
    )
    assert summary.model.parameters > 0
    assert summary.start == f"--base {finished_run.base}"
    assert (summary.steps, summary.tokens, summary.tokens_per_step) == (4, 256, 64)
    assert summary.stopped == "finished" and summary.wall_seconds > 0
    assert summary.best_val_loss > 0 and summary.best_val_ppl > 1
    assert summary.precision == "fp32" and summary.device == "cpu"
    assert summary.data["train_tokens"] > 0 and summary.finished
    assert summary.config["threads"] == 1 and summary.config["max_steps"] == 4
    assert summary.samples == []
    export = summary.export
    assert isinstance(export, ExportSummary)
    assert Path(export.path).is_file() and export.path == export.out
    assert export.quant == "f32" and export.size_bytes == Path(export.path).stat().st_size
    assert export.n_vocab == 50257 and export.n_placeholder_tokens == 0
    assert export.seconds >= export.seconds_convert >= 0 and export.seconds_quantize >= 0
    assert export.seconds_verify > 0 and export.verify["rel_l2"] < 1e-3
    assert export.tensor_types and isinstance(export.warnings, list)
