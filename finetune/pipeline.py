"""`writer-finetune train`: from a folder of books to a GGUF the app loads.

The pipeline, in order: train (finetune.train) -> save the best weights as
OUT/model -> export OUT/NAME-QUANT.gguf (finetune.export) -> write the loss
curve, samples, training summary and MODEL_CARD.md (finetune.report).
Under torchrun every rank trains; only rank 0 does the rest.

Before anything is written, rank 0 takes OUT's lock (finetune.locks: one run
per folder) and checks the folder (finetune.guards: no checkpoint replaced
without --overwrite, no resume onto other text without --allow-new-text).
SIGTERM, as the app's Cancel sends, becomes KeyboardInterrupt outside the
training loop too, so an export in progress removes its partial file.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
from pathlib import Path

from finetune import config
from finetune.config import TrainConfig
from finetune.errors import RefusedError
from finetune.interrupts import terminate_as_interrupt
from finetune.locks import OutputLock


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `writer-finetune train`: one per TrainConfig field, and --config."""
    config.add_arguments(parser, TrainConfig)


def run(args: argparse.Namespace) -> int:
    """Run the pipeline for the parsed flags; returns the exit status (0).

    Raises RefusedError for settings it cannot run, and what run_pipeline raises.
    """
    cfg = config.config_from_args(args, TrainConfig)
    if not cfg.data:
        raise RefusedError("--data is required (files, folders or globs of .txt/.md/.xz)")
    if not (cfg.base or cfg.init):
        raise RefusedError(
            "say what to start from: --base gpt2 (or a checkpoint dir), or --init SIZE"
        )
    run_pipeline(cfg)
    return 0


def run_pipeline(cfg: TrainConfig, hooks=None) -> dict | None:
    """Train, save, export and report. Returns the training summary (also written to
    OUT/training_summary.json), or None on a rank that does not write or a halted run.

    Raises RunLockedError when another run holds OUT, RefusedError or
    TextChangedError when OUT's run may not be replaced or continued as asked
    (finetune.guards), other FinetuneError subclasses (see finetune.train.train
    and finetune.export.export_gguf), and KeyboardInterrupt on Ctrl+C or SIGTERM.
    """
    with terminate_as_interrupt(), _guarded(cfg):
        return _run_pipeline(cfg, hooks)


@contextlib.contextmanager
def _guarded(cfg: TrainConfig):
    """Hold OUT's lock and check the folder (rank 0; the other ranks follow it)."""
    if int(os.environ.get("RANK", 0)) != 0:
        yield
        return
    from finetune.guards import prepare_output

    with OutputLock(Path(cfg.out)):
        prepare_output(cfg)
        yield


def _run_pipeline(cfg: TrainConfig, hooks) -> dict | None:
    from finetune import report
    from finetune.tokenizer import load_tokenizer, tokenizer_dir
    from finetune.train import train

    result = train(cfg, hooks)
    if not result.writer or result.stopped == "halted":
        return None
    cfg, out = result.config, result.out

    model = _load_best(result.best_dir, result.device)
    model_dir = out / "model"
    save_model(model, model_dir, tokenizer_dir(cfg.base))

    metrics = report.read_metrics(out / "metrics.jsonl")
    if metrics:
        report.plot_loss(metrics, out / "loss_curve.png")
    summary = report.training_summary(result, model)
    if cfg.samples:
        tokenizer = load_tokenizer(cfg.base)
        summary["samples"] = report.sample_continuations(
            model, tokenizer, report.SAMPLE_PROMPTS, model.device
        )
    (model_dir / "training_summary.json").write_text(json.dumps(summary, indent=1))

    if cfg.export:
        summary["export"] = _export(model_dir, out, cfg, summary)
    (out / "training_summary.json").write_text(json.dumps(summary, indent=1))
    report.write_model_card(out / "MODEL_CARD.md", summary)
    done = f"done: {model_dir}" + (f", {summary['export']['path']}" if cfg.export else "")
    print(done, file=sys.stderr)
    return summary


def save_model(model, folder: Path, tokenizer_source: Path) -> None:
    """save_pretrained (safetensors, swapped in whole) plus the tokenizer files beside it.

    Raises FinetuneError when the write fails.
    """
    from finetune.checkpoint import save_pretrained_atomic
    from finetune.tokenizer import TOKENIZER_FILES

    save_pretrained_atomic(model, folder)
    for name in TOKENIZER_FILES:
        if (tokenizer_source / name).is_file():
            shutil.copy(tokenizer_source / name, folder / name)


def _load_best(folder: Path, device: str):
    from transformers import GPT2LMHeadModel

    return GPT2LMHeadModel.from_pretrained(folder, attn_implementation="sdpa").to(device)


def _export(model_dir: Path, out: Path, cfg: TrainConfig, summary: dict) -> dict:
    """Export OUT/model to OUT/NAME-QUANT.gguf, verified; returns what the summary keeps of it."""
    from finetune.export import export_gguf

    name = cfg.name or out.name
    gguf_path = out / f"{name}-{cfg.quant}.gguf"
    result = export_gguf(
        model_dir,
        gguf_path,
        cfg.quant,
        verify=True,
        name=name,
        description=(
            f"GPT-2 trained by writer-finetune on {summary['data'].get('train_tokens', 0):,} tokens"
        ),
        training_summary={
            k: summary[k] for k in ("start", "steps", "tokens", "wall_seconds", "best_val_ppl")
        },
    )
    return {"path": str(gguf_path), **{k: v for k, v in result.items() if k != "path"}}
