"""OUT/best holds the weights of the best validation loss, not the last ones.

In the other training tests the validation loss only falls, so "best" is
always "last" and a broken best-keeping would pass. Here the held-out text is
made to be learned first and unlearned later: numbers, each followed by ", the".
The model soon learns that ", the" is common (the loss falls), then learns the
book's own words after them, and the numbers grow ever less likely (it rises).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from finetune.cli import build_parser
from finetune.config import config_from_args
from finetune.report import read_metrics
from tests.finetune.training_corpus import tiny_args, write_corpus

STEPS, EVERY = 16, 4


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(folder / "model.safetensors")


def _state_weights(out: Path) -> dict:
    import torch

    state = torch.load(out / "checkpoint" / "state.pt", map_location="cpu", weights_only=False)
    return state["model"]


def _max_diff(a: dict, b: dict) -> float:
    return max((a[k] - b[k]).abs().max().item() for k in a)


def test_best_weights_are_those_of_the_lowest_validation_loss_not_the_last(tmp_path):
    from finetune.train import DebugHooks, train

    books, val = write_corpus(tmp_path)
    val.write_text(" ".join(f"{i * 7919 % 100000}, the" for i in range(120)))

    def config(out: str, *extra: str):
        args = tiny_args(
            books, val, tmp_path / out, tmp_path / "cache",
            "--max-steps", str(STEPS), "--eval-every", str(EVERY), "--eval-windows", "2",
            "--no-export", *extra,
        )  # fmt: skip
        return config_from_args(build_parser().parse_args(args))

    result = train(config("run"))
    rows = [r for r in read_metrics(tmp_path / "run" / "metrics.jsonl") if "val_loss" in r]
    losses = {r["step"]: r["val_loss"] for r in rows}
    best_step = min(losses, key=losses.get)
    # The premise: the loss fell, then rose well above its best by the end.
    assert list(losses) == list(range(EVERY, STEPS + 1, EVERY))
    assert EVERY < best_step < STEPS, losses
    assert losses[STEPS] > losses[best_step] + 0.3, losses
    assert result.best_val_loss == pytest.approx(min(losses.values()), abs=1e-4)

    # The same run, stopped at the best step, with a checkpoint there: its weights.
    train(config("to_best", "--checkpoint-every-steps", str(best_step)),
          DebugHooks(halt_after_steps=best_step))  # fmt: skip
    at_best = _state_weights(tmp_path / "to_best")
    at_end = _state_weights(tmp_path / "run")
    best = _weights(tmp_path / "run" / "best")
    shared = [k for k in best if k in at_best]
    best, at_best, at_end = ({k: d[k] for k in shared} for d in (best, at_best, at_end))
    assert _max_diff(best, at_best) < 1e-6
    assert _max_diff(best, at_end) > 1e-3
