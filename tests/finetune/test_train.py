"""`writer-finetune train`: the loss falls, runs resume exactly, interrupts save, the GGUF agrees.

Every run here is a 1-layer, 64-wide GPT-2 on the small corpus of
training_corpus.py, single-threaded, for a few dozen steps.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from finetune.cli import main as cli_main
from finetune.config import TrainConfig
from finetune.evaluate import gguf_perplexity, strip_separators, window_starts
from finetune.report import read_metrics
from finetune.schedule import lr_at
from finetune.tokenizer import load_tokenizer
from gpt2gguf.validate import validate_gguf
from tests.finetune.training_corpus import tiny_args, write_corpus

REPO = Path(__file__).resolve().parents[2]
UNTRAINED_LOSS = math.log(50257)  # 10.82: a uniform guess over the vocabulary
LEARNED_BOUND = 6.0  # 30 steps reach ~4.5; a loop that does not learn stays near 10.8
FULL_STEPS = 30


def _train_rows(out: Path) -> list[dict]:
    return [r for r in read_metrics(out / "metrics.jsonl") if "loss" in r]


def _val_rows(out: Path) -> list[dict]:
    return [r for r in read_metrics(out / "metrics.jsonl") if "val_loss" in r]


def _checkpoint(out: Path) -> dict:
    import torch

    return torch.load(out / "checkpoint" / "state.pt", map_location="cpu", weights_only=False)


def _subprocess_env(**extra: str) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), **extra}


def _start_training(args: list[str], **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "finetune.cli", *args],
        cwd=REPO,
        env=_subprocess_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(condition, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(
                f"training exited early ({proc.returncode}): {proc.stderr.read()[-2000:]}"
            )
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("training did not get there in time")
        time.sleep(0.02)


@pytest.fixture(scope="module", autouse=True)
def _restore_torch_threads():
    """In-process runs pass --threads 1, which sets torch's thread count for the whole process."""
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


# --------------------------------------------------------------------------- one full run


@pytest.fixture(scope="module")
def full_run(tmp_path_factory) -> tuple[Path, Path]:
    """A 30-step run with samples, the default q8_0 export and its verify; returns (out, val file)."""
    root = tmp_path_factory.mktemp("full_run")
    books, val = write_corpus(root)
    out = root / "out"
    args = tiny_args(
        books, val, out, root / "cache", "--max-steps", str(FULL_STEPS), "--eval-every", "10"
    )
    args.remove("--no-samples")
    assert cli_main(args) == 0
    return out, val


def test_loss_falls_far_below_an_untrained_models(full_run):
    out, _ = full_run
    train, val = _train_rows(out), _val_rows(out)
    assert train[0]["loss"] > UNTRAINED_LOSS - 1.0
    assert train[-1]["loss"] < LEARNED_BOUND
    assert val[-1]["val_loss"] < LEARNED_BOUND
    assert val[-1]["val_loss"] < val[0]["val_loss"]


def test_metrics_log_every_train_step_and_each_evaluation(full_run):
    out, _ = full_run
    train, val = _train_rows(out), _val_rows(out)
    assert [r["step"] for r in train] == list(range(1, FULL_STEPS + 1))
    assert [r["step"] for r in val] == [10, 20, 30]
    assert all(r["tokens"] == 128 * r["step"] for r in train)
    assert all(math.isclose(r["val_ppl"], math.exp(r["val_loss"]), rel_tol=1e-3) for r in val)


def test_loss_curve_png_is_written(full_run):
    out, _ = full_run
    png = out / "loss_curve.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 5000


def test_best_checkpoint_and_final_model_are_saved_with_tokenizer(full_run):
    out, _ = full_run
    for name in ("config.json", "model.safetensors"):
        assert (out / "best" / name).is_file()
    for name in ("config.json", "model.safetensors", "tokenizer.json", "vocab.json", "merges.txt"):
        assert (out / "model" / name).is_file()
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["best_val_loss"] == pytest.approx(
        min(r["val_loss"] for r in _val_rows(out)), abs=1e-4
    )
    assert summary["steps"] == FULL_STEPS


def test_model_card_has_data_config_steps_perplexity_export_and_samples(full_run):
    out, _ = full_run
    card = (out / "MODEL_CARD.md").read_text()
    summary = json.loads((out / "training_summary.json").read_text())
    for section in ("## Data", "## Training", "## Export", "## Sample continuations", "Settings:"):
        assert section in card
    assert "3 files, 3 documents" in card  # the cleaning counts
    assert f"Steps: {FULL_STEPS}" in card
    assert f"{summary['best_val_ppl']:.2f}" in card
    assert "Wall time" in card and "q8_0" in card
    assert card.count("> **") == 3  # one sample per prompt


def test_exported_gguf_loads_in_llama_cpp_and_its_perplexity_is_within_1pct_of_pytorch(full_run):
    import torch
    import torch.nn.functional as F
    from transformers import GPT2LMHeadModel

    out, val = full_run
    gguf = out / "out-q8_0.gguf"
    info = validate_gguf(gguf)
    assert info.tensor_types["Q8_0"] > 0
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["export"]["verify"]["top1_agreement"] >= 0.9

    text = val.read_text()
    result = gguf_perplexity(gguf, text, windows=8, window_tokens=64, n_threads=1)
    # PyTorch on the same tokens and windows (evaluate.py's protocol).
    ids = load_tokenizer().encode(strip_separators(text)).ids
    assert result["tokens_total"] == len(ids)
    starts = window_starts(len(ids), 8, 64)
    model = GPT2LMHeadModel.from_pretrained(out / "model").eval()
    nll, count = 0.0, 0
    with torch.no_grad():
        for s in starts:
            w = torch.tensor([ids[s : s + 64]])
            nll += F.cross_entropy(model(w).logits[0, :-1], w[0, 1:], reduction="sum").item()
            count += w.shape[1] - 1
    assert result["tokens_scored"] == count
    torch_ppl = math.exp(nll / count)
    assert torch_ppl < math.exp(LEARNED_BOUND)  # a trained model, not noise
    assert abs(result["ppl"] / torch_ppl - 1) < 0.01


# --------------------------------------------------------------------------- resume


def _tiny_config(books: Path, val: Path, out: Path, cache: Path, **overrides) -> TrainConfig:
    settings = dict(
        data=[str(books)],
        val_data=[str(val)],
        init="n_layer=1,n_embd=64,n_head=2,n_ctx=64",
        out=str(out),
        cache_dir=str(cache),
        block_size=32,
        micro_batch=2,
        batch_tokens=128,
        lr=1e-2,
        warmup_steps=2,
        eval_every=4,
        eval_windows=2,
        log_every=1,
        threads=1,
        dtype="fp32",
        export=False,
        samples=False,
    )
    return TrainConfig(**{**settings, **overrides})


def test_resume_after_an_interrupted_run_gives_the_same_next_step_loss_and_weights(tmp_path):
    from finetune.pipeline import run_pipeline
    from finetune.train import DebugHooks, train

    books, val = write_corpus(tmp_path)
    cache = tmp_path / "cache"
    # Run A: 12 steps straight through (micro-batch 2 x 2 accumulation steps).
    a = tmp_path / "a"
    result = train(_tiny_config(books, val, a, cache, max_steps=12, checkpoint_every_steps=3))
    assert (result.steps, result.stopped) == (12, "finished")
    assert not (a / "model").exists()  # train() only trains: saving the model is the pipeline's
    # Run B: stops after 6 steps as if killed, then resumes to 12.
    b = tmp_path / "b"
    halted = train(
        _tiny_config(books, val, b, cache, max_steps=12, checkpoint_every_steps=3),
        DebugHooks(halt_after_steps=6),
    )
    assert halted.stopped == "halted"
    assert _checkpoint(b)["state"]["step"] == 6
    assert [r["step"] for r in _train_rows(b)] == list(range(1, 7))
    run_pipeline(
        _tiny_config(books, val, b, cache, max_steps=12, checkpoint_every_steps=3, resume=True)
    )

    loss_a = {r["step"]: r["loss"] for r in _train_rows(a)}
    loss_b = {r["step"]: r["loss"] for r in _train_rows(b)}
    assert sorted(loss_b) == list(range(1, 13))
    assert abs(loss_b[7] - loss_a[7]) < 1e-4
    assert all(abs(loss_b[s] - loss_a[s]) < 1e-4 for s in range(7, 13))
    weights_a, weights_b = _checkpoint(a)["model"], _checkpoint(b)["model"]
    for name, tensor in weights_a.items():
        assert (tensor - weights_b[name]).abs().max().item() < 1e-5, name
    assert (b / "model" / "model.safetensors").is_file()  # the resumed run finished


def test_resume_after_kill_9_continues_the_step_count_and_the_loss(tmp_path):
    books, val = write_corpus(tmp_path)
    out, cache = tmp_path / "out", tmp_path / "cache"
    args = tiny_args(
        books,
        val,
        out,
        cache,
        "--max-steps",
        "40",
        "--checkpoint-every-steps",
        "5",
        "--eval-every",
        "20",
        "--no-export",
    )
    proc = _start_training(args)
    # Kill once the run has logged steps past its step-5 checkpoint: those rows
    # must not be logged twice when the resumed run does them again.
    _wait_for(lambda: (out / "checkpoint").is_dir() and len(_train_rows(out)) >= 7, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    saved = _checkpoint(out)["state"]["step"]
    assert 5 <= saved < 40 and saved % 5 == 0
    kept = [r for r in _train_rows(out) if r["step"] <= saved]

    assert cli_main([*args, "--resume"]) == 0
    rows = _train_rows(out)
    assert [r["step"] for r in rows] == list(range(1, 41))  # no restart, no step logged twice
    resumed_first = rows[len(kept)]
    assert resumed_first["step"] == saved + 1
    assert resumed_first["tokens"] == (saved + 1) * 128
    # The loss goes on from where it was, not from an untrained model's.
    assert resumed_first["loss"] < rows[0]["loss"] - 2.0
    assert _checkpoint(out)["state"]["step"] == 40


def test_ctrl_c_saves_a_checkpoint_and_exits_130(tmp_path):
    books, val = write_corpus(tmp_path)
    out = tmp_path / "out"
    args = tiny_args(
        books,
        val,
        out,
        tmp_path / "cache",
        "--max-steps",
        "5000",
        "--eval-every",
        "1000",
        "--no-export",
    )
    proc = _start_training(args)
    _wait_for(lambda: len(read_metrics(out / "metrics.jsonl")) >= 2, proc)
    assert not (out / "checkpoint").exists()  # checkpoints are 10 minutes apart by default
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    step = _checkpoint(out)["state"]["step"]
    assert step >= 2
    assert f"interrupted at step {step}: checkpoint saved" in err
    assert "Traceback" not in err


# --------------------------------------------------------------------------- schedule and bad input


def test_lr_warms_up_linearly_then_decays_by_cosine_to_the_floor():
    def lr(step: int) -> float:
        return lr_at(step, 1000, lr=1e-3, warmup_steps=10, min_lr_ratio=0.1)

    assert lr(0) == pytest.approx(1e-4)
    assert lr(9) == pytest.approx(1e-3)
    assert lr(505) == pytest.approx(0.55e-3, rel=1e-2)  # half way down the cosine
    assert lr(1000) == pytest.approx(1e-4)
    lrs = [lr(s) for s in range(10, 1001)]
    assert all(x >= y for x, y in zip(lrs, lrs[1:], strict=False))


def _cli_error(args: list[str], capsys) -> str:
    rc = cli_main(args)
    err = capsys.readouterr().err
    assert rc == 1
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ")
    return last


def test_output_dir_under_a_regular_file_is_an_error_naming_it(tmp_path, capsys):
    books, val = write_corpus(tmp_path)
    (tmp_path / "file.txt").write_text("not a folder")
    out = tmp_path / "file.txt" / "sub"
    line = _cli_error(tiny_args(books, val, out, tmp_path / "cache", "--no-export"), capsys)
    assert f"cannot write to the output dir {out}" in line


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_output_dir_is_an_error_naming_it(tmp_path, capsys):
    books, val = write_corpus(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        line = _cli_error(
            tiny_args(books, val, locked / "out", tmp_path / "cache", "--no-export"), capsys
        )
    finally:
        locked.chmod(0o700)
    assert "cannot write to the output dir" in line and str(locked) in line


def test_base_dir_that_is_not_a_checkpoint_is_an_error_naming_it(tmp_path, capsys):
    books, val = write_corpus(tmp_path)
    not_ckpt = tmp_path / "my-model"
    not_ckpt.mkdir()
    (not_ckpt / "notes.txt").write_text("weights coming soon")
    args = tiny_args(books, val, tmp_path / "out", tmp_path / "cache", "--no-export")
    i = args.index("--init")
    args[i : i + 2] = ["--base", str(not_ckpt)]
    line = _cli_error(args, capsys)
    assert str(not_ckpt) in line and "not a checkpoint" in line


def test_hub_base_without_internet_says_so_and_points_to_init(tmp_path):
    books, val = write_corpus(tmp_path)
    args = tiny_args(books, val, tmp_path / "out", tmp_path / "cache", "--no-export")
    i = args.index("--init")
    args[i : i + 2] = ["--base", "gpt2"]
    proc = subprocess.run(
        [sys.executable, "-m", "finetune.cli", *args],
        cwd=REPO,
        env=_subprocess_env(HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf")),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: --base gpt2")
    assert "HF_HUB_OFFLINE" in last and "--init" in last


def test_the_block_size_defaults_to_the_models_context(tmp_path):
    from finetune.cli import build_parser
    from finetune.config import config_from_args
    from finetune.train import train

    books, val = write_corpus(tmp_path)
    val.write_text(val.read_text() * 2)  # two windows of the tiny model's 256 tokens
    args = tiny_args(
        books, val, tmp_path / "out", tmp_path / "cache",
        "--micro-batch", "1", "--batch-tokens", "256", "--max-steps", "1", "--eval-windows", "1",
    )  # fmt: skip
    args[args.index("--init") + 1] = "tiny"
    i = args.index("--block-size")
    del args[i : i + 2]
    result = train(config_from_args(build_parser().parse_args(args)))
    assert result.config.block_size == 256
    assert result.tokens == 256


def test_a_block_size_beyond_the_models_context_is_an_error(tmp_path, capsys):
    books, val = write_corpus(tmp_path)
    args = tiny_args(books, val, tmp_path / "out", tmp_path / "cache", "--no-export")
    args[args.index("--init") + 1] = "tiny"
    args[args.index("--block-size") + 1] = "512"
    line = _cli_error(args, capsys)
    assert "--block-size 512 exceeds the model's context (256)" in line


def test_eval_minutes_evaluates_by_the_clock_and_eval_at_start_scores_the_base(tmp_path):
    from finetune.cli import build_parser
    from finetune.config import config_from_args
    from finetune.train import train

    books, val = write_corpus(tmp_path)
    steps = 6
    by_steps = tiny_args(
        books, val, tmp_path / "a", tmp_path / "cache",
        "--max-steps", str(steps), "--eval-every", "1000", "--no-export",
    )  # fmt: skip
    train(config_from_args(build_parser().parse_args(by_steps)))
    assert [r["step"] for r in _val_rows(tmp_path / "a")] == [steps]  # only the final one

    by_clock = [*by_steps, "--eval-minutes", "1e-9", "--eval-at-start"]  # due after every step
    by_clock[by_clock.index("--out") + 1] = str(tmp_path / "b")
    train(config_from_args(build_parser().parse_args(by_clock)))
    rows = _val_rows(tmp_path / "b")
    assert [r["step"] for r in rows] == list(range(0, steps + 1))  # 0: the model before training
    assert rows[0]["tokens"] == 0 and rows[0]["val_loss"] > rows[-1]["val_loss"]


def test_dropout_applies_to_a_base_model_and_defaults_to_the_bases_own(tiny_gguf_f32):
    import torch

    from finetune.config import TrainConfig
    from finetune.model_setup import load_model as _load_model

    def dropouts(model) -> set[float]:
        return {m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)}

    own = _load_model(TrainConfig(base=str(tiny_gguf_f32)))
    changed = _load_model(TrainConfig(base=str(tiny_gguf_f32), dropout=0.25))
    assert dropouts(changed) == {0.25} and changed.config.resid_pdrop == 0.25
    assert dropouts(own) != {0.25} and own.config.resid_pdrop != 0.25


def test_early_stop_ends_the_run_after_patience_evaluations_without_improvement(tmp_path):
    from finetune.cli import build_parser
    from finetune.config import config_from_args
    from finetune.train import train

    books, val = write_corpus(tmp_path)
    args = tiny_args(
        books, val, tmp_path / "out", tmp_path / "cache",
        "--max-steps", "20", "--eval-every", "1", "--early-stop-patience", "2",
        "--lr", "1e-30", "--no-export",  # the weights never move: no evaluation improves on the first
    )  # fmt: skip
    result = train(config_from_args(build_parser().parse_args(args)))
    assert (result.stopped, result.steps) == ("early stop", 3)
    assert [r["step"] for r in _val_rows(tmp_path / "out")] == [1, 2, 3]
    assert result.final_val_loss == result.best_val_loss  # the same weights throughout
