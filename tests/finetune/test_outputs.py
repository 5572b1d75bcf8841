"""finetune.outputs: the types the app and writer-finetune share, light enough for the app.

The test that every key a real run writes is a field (and every field a key
it writes) is tests/training/test_training_contract.py: it runs a tiny
training through the app's own job.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from finetune.config import TrainConfig, config_from_args
from finetune.errors import (
    FinetuneError,
    RefusedError,
    RunLockedError,
    SettingError,
    TextChangedError,
)
from finetune.outputs import (
    EvalRow,
    ExitCode,
    RunOptions,
    TrainingSummary,
    TrainRow,
    metrics_row,
)

REPO = Path(__file__).resolve().parents[2]


def options(**kw) -> RunOptions:
    return RunOptions(
        **{
            "base": "base.gguf",
            "data": ["data/train"],
            "val_data": ["data/val.txt"],
            "out": "train",
            "max_minutes": 15.0,
            "threads": 1,
            "eval_minutes": 1.0,
            "lr": 3e-4,
            "warmup_steps": 10,
            "name": "my-writing",
            **kw,
        }
    )


def test_importing_the_contract_loads_no_torch_numpy_or_transformers():
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, finetune.outputs, finetune.errors; "
            "print(sorted({'torch', 'numpy', 'transformers'} & set(sys.modules)))",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout.strip() == "[]", proc.stderr[-2000:]


def test_every_run_option_is_a_train_config_setting_of_the_same_type():
    config_hints = typing.get_type_hints(TrainConfig)
    for name, hint in typing.get_type_hints(RunOptions).items():
        assert name in config_hints, f"RunOptions.{name} is not a TrainConfig field"
        wanted = {a for a in typing.get_args(config_hints[name]) if a is not type(None)}
        assert hint == config_hints[name] or hint in wanted, (name, hint, config_hints[name])


def test_a_run_json_is_read_by_writer_finetune_as_written(tmp_path):
    run = options(resume=True)
    path = tmp_path / "run.json"
    path.write_text(run.to_json())
    cfg = config_from_args(argparse.Namespace(config=str(path)))
    for f in dataclasses.fields(RunOptions):
        assert getattr(cfg, f.name) == getattr(run, f.name), f.name
    assert RunOptions.from_json(path.read_text()) == run


def test_run_options_out_of_range_are_refused_as_flags_are(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(options(threads=0).to_json())
    with pytest.raises(SettingError, match="--threads must be at least 1"):
        config_from_args(argparse.Namespace(config=str(path)))


def test_each_error_carries_its_exit_code():
    codes = {
        FinetuneError: ExitCode.FAILED,
        RefusedError: ExitCode.REFUSED,
        TextChangedError: ExitCode.TEXT_CHANGED,
        RunLockedError: ExitCode.LOCKED,
    }
    for error, code in codes.items():
        assert error.exit_code == code
    assert (ExitCode.INTERRUPTED, ExitCode.DONE) == (130, 0)
    assert ExitCode.of(130) is ExitCode.INTERRUPTED and ExitCode.of(-9) is None


def test_metrics_rows_are_told_apart_by_their_loss():
    train = {
        "step": 3,
        "tokens": 384,
        "loss": 5.1,
        "lr": 1e-3,
        "tokens_per_s": 900.0,
        "mfu": None,
        "elapsed": 1.5,
        "remaining_s": 3.0,
        "total_steps": 9,
    }
    row = metrics_row(train)
    assert isinstance(row, TrainRow) and (row.step, row.mfu, row.total_steps) == (3, None, 9)
    row = metrics_row({"step": 0, "tokens": 0, "val_loss": 4, "val_ppl": 54.6, "elapsed": 0})
    assert isinstance(row, EvalRow) and row.val_loss == 4.0
    assert metrics_row({**train, "new_key": 1}).step == 3  # a newer trainer's key is ignored
    with pytest.raises(ValueError, match="new_key"):
        metrics_row({**train, "new_key": 1}, strict=True)
    with pytest.raises(ValueError, match="tokens_per_s"):
        metrics_row({k: v for k, v in train.items() if k != "tokens_per_s"})
    with pytest.raises(ValueError, match="step"):
        metrics_row({**train, "step": "three"})
    with pytest.raises(ValueError):
        metrics_row({"step": 1})


def test_a_summary_that_is_not_one_is_a_value_error(tmp_path):
    path = tmp_path / "training_summary.json"
    path.write_text('{"steps": 3}')
    with pytest.raises(ValueError, match="TrainingSummary"):
        TrainingSummary.read(path)
