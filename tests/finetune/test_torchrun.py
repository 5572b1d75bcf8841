"""The same `writer-finetune train` command under torchrun: 2 CPU processes (gloo) train as one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from finetune.report import read_metrics
from tests.finetune.training_corpus import tiny_args, write_corpus

REPO = Path(__file__).resolve().parents[2]
STEPS = 6


def test_two_process_torchrun_trains_with_identical_weights_on_both_ranks(tmp_path):
    books, val = write_corpus(tmp_path)
    out, dumps = tmp_path / "out", tmp_path / "weights"
    args = tiny_args(
        books,
        val,
        out,
        tmp_path / "cache",
        "--max-steps",
        str(STEPS),
        "--eval-every",
        "3",
        "--micro-batch",
        "2",
        "--no-export",
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "finetune.cli",
            *args,
        ],
        cwd=REPO,
        env={
            **os.environ,
            "OMP_NUM_THREADS": "1",
            "PYTHONPATH": str(REPO),
            "WRITER_FINETUNE_DUMP_RANK_WEIGHTS": str(dumps),
        },
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "world 2" in proc.stderr
    # 128 tokens per step = 2 ranks x 2 sequences x 32 tokens, no accumulation.
    assert "128 tokens/step (1 x 2 x 32)" in proc.stderr

    # Both ranks hold the same weights at the end, and they are trained ones.
    rank0, rank1 = (dumps / "rank0.sha256").read_text(), (dumps / "rank1.sha256").read_text()
    assert len(rank0.strip()) == 64
    assert rank0 == rank1

    # Only rank 0 writes: one metrics row per step and per evaluation, one model.
    rows = read_metrics(out / "metrics.jsonl")
    assert [r["step"] for r in rows if "loss" in r] == list(range(1, STEPS + 1))
    assert [r["step"] for r in rows if "val_loss" in r] == [3, 6]
    train = [r["loss"] for r in rows if "loss" in r]
    assert train[-1] < train[0] - 1.0
    assert (out / "model" / "model.safetensors").is_file()
    assert sorted(p.name for p in out.iterdir()) == [
        ".lock",  # finetune.locks: one run per folder
        "MODEL_CARD.md",
        "best",
        "checkpoint",
        "loss_curve.png",
        "metrics.jsonl",
        "model",
        "training-text.json",  # finetune.guards: what --resume must continue on
        "training_summary.json",
    ]
