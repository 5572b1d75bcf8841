"""Training that goes wrong stops in words and keeps the last good checkpoint.

Damaged, truncated or foreign checkpoints are refused before training on them;
a loss that turns NaN stops the run instead of saving NaN weights; a failed
write leaves the previous `best/` whole; a new --max-steps on --resume is
honoured; and `--dtype auto` on a CPU follows a cached probe.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from finetune.checkpoint import save_pretrained_atomic
from finetune.cli import main as cli_main
from finetune.errors import FinetuneError
from finetune.report import read_metrics
from tests.finetune.training_corpus import tiny_args, write_corpus


def _run(tmp_path: Path, *extra: str, out: str = "out") -> list[str]:
    books, val = write_corpus(tmp_path)
    return tiny_args(books, val, tmp_path / out, tmp_path / "cache", "--no-export", *extra)


def _error(args: list[str], capsys) -> str:
    code = cli_main(args)
    err = capsys.readouterr().err
    assert code == 1, err[-2000:]
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


def _all_finite(folder: Path) -> bool:
    from safetensors.torch import load_file

    return all(t.isfinite().all() for t in load_file(folder / "model.safetensors").values())


@pytest.fixture
def five_steps(tmp_path) -> list[str]:
    """Arguments of a finished 5-step run with a checkpoint every step (run once here)."""
    args = _run(tmp_path, "--max-steps", "5", "--checkpoint-every-steps", "1", "--eval-every", "5")
    assert cli_main(args) == 0
    return args


def test_a_checkpoint_with_flipped_bytes_is_refused_on_resume(five_steps, tmp_path, capsys):
    state = tmp_path / "out" / "checkpoint" / "state.pt"
    data = bytearray(state.read_bytes())
    for i in range(200):  # 200 bytes flipped in the middle of the weights
        data[len(data) // 2 + i * 7] ^= 0xFF
    state.write_bytes(bytes(data))
    line = _error([*five_steps, "--resume", "--max-steps", "8"], capsys)
    assert "state.pt is damaged" in line and "checksum" in line
    assert _all_finite(tmp_path / "out" / "model")  # nothing was trained on the damage


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 half a zip"], ids=["empty", "truncated"])
def test_an_unreadable_checkpoint_says_what_to_do(five_steps, tmp_path, capsys, content):
    folder = tmp_path / "out" / "checkpoint"
    (folder / "state.pt").write_bytes(content)
    (folder / "state.pt.sha256").unlink()  # as a checkpoint from before checksums
    line = _error([*five_steps, "--resume"], capsys)
    assert "state.pt cannot be read" in line and "move" in line


def test_resume_with_another_model_shape_names_both(five_steps, capsys):
    args = list(five_steps)
    args[args.index("--init") + 1] = "n_layer=2,n_embd=64,n_head=2,n_ctx=64"
    line = _error([*args, "--resume"], capsys)
    assert "is of another model" in line
    assert "n_layer=1" in line and "n_layer=2" in line


def test_resume_honours_a_new_max_steps(five_steps, tmp_path, capsys):
    args = [*five_steps, "--resume"]
    args[args.index("--max-steps") + 1] = "8"
    assert cli_main(args) == 0
    assert "--max-steps 8 replaces the saved 5" in capsys.readouterr().err
    steps = [r["step"] for r in read_metrics(tmp_path / "out" / "metrics.jsonl") if "loss" in r]
    assert steps == list(range(1, 9))


def test_a_loss_that_turns_nan_stops_the_run_and_saves_no_nan(tmp_path, capsys):
    args = _run(tmp_path, "--max-steps", "20", "--checkpoint-every-steps", "1", "--lr", "1e30")
    line = _error(args, capsys)
    assert "NaN or inf" in line or "became nan" in line or "became inf" in line
    assert "last good checkpoint is kept" in line
    ckpt = tmp_path / "out" / "checkpoint" / "state.pt"
    if ckpt.exists():
        import torch

        saved = torch.load(ckpt, weights_only=False)["model"]
        assert all(t.isfinite().all() for t in saved.values())
    best = tmp_path / "out" / "best"
    assert not best.exists() or _all_finite(best)


def test_a_failed_best_write_keeps_the_previous_best_whole(tmp_path, monkeypatch):
    from transformers import GPT2LMHeadModel

    from tests.conftest import tiny_gpt2_config

    model = GPT2LMHeadModel(tiny_gpt2_config(n_layer=1))
    best = tmp_path / "best"
    save_pretrained_atomic(model, best)
    before = (best / "model.safetensors").read_bytes()

    def disk_full(folder, **kwargs):
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / "model.safetensors").write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(model, "save_pretrained", disk_full)
    with pytest.raises(FinetuneError, match="the disk is full"):
        save_pretrained_atomic(model, best)
    assert (best / "model.safetensors").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best"]  # no half-written folder left


def test_dtype_auto_probes_once_per_machine_and_caches(tmp_path, monkeypatch):
    from finetune import precision

    calls = []

    def fake_gflops(dtype, width, budget):
        calls.append(str(dtype))
        return 300.0 if "bfloat16" in str(dtype) else 100.0

    monkeypatch.setattr(precision, "_gflops", fake_gflops)
    first = precision.choose_cpu_dtype(256, tmp_path)
    assert (first.dtype, first.cached) == ("bf16", False)
    assert "3.00x" in first.reason
    n = len(calls)
    second = precision.choose_cpu_dtype(256, tmp_path)
    assert (second.dtype, second.cached, len(calls)) == ("bf16", True, n)
    assert json.loads((tmp_path / "dtype-probe.json").read_text())


@pytest.mark.parametrize("bf16, expected", [(60.0, "fp32"), (110.0, "fp32"), (200.0, "bf16")])
def test_dtype_auto_takes_bf16_only_where_it_is_clearly_faster(monkeypatch, bf16, expected):
    from finetune import precision

    monkeypatch.setattr(
        precision, "_gflops", lambda dtype, w, b: bf16 if "bfloat16" in str(dtype) else 100.0
    )
    assert precision.probe(256).dtype == expected
