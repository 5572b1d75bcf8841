"""The training loop: from cached tokens and a starting model to OUT/best and OUT/checkpoint.

One flat loop in the manner of nanoGPT: random windows of the cached token
stream (finetune.batches), AdamW or Muon (finetune.optim) on a cosine or WSD
schedule (finetune.schedule), gradient accumulation to a batch measured in
tokens, bf16 autocast, periodic evaluation that keeps the best weights
(finetune.validation), checkpoints that `--resume` continues exactly
(finetune.checkpoint), and DDP when started by torchrun (finetune.distributed:
each rank draws its own batches; only rank 0 writes). `train()` returns a
`TrainResult`; saving the final model, the export and the card are
finetune.pipeline's job.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from finetune import model_setup, report
from finetune.batches import check_fits, get_batch, load_tokens
from finetune.checkpoint import Checkpointer, RunState, check_writable, resume_run
from finetune.config import TrainConfig
from finetune.distributed import Ranks, dump_weights
from finetune.errors import FinetuneError
from finetune.optim import make_optimizer
from finetune.precision import use_bf16
from finetune.schedule import SchedulePlanner
from finetune.validation import Validation

COMPILE_WARMUP_STEPS = 2  # not timed: they include torch.compile's work


@dataclass
class DebugHooks:
    """Testing aids, kept out of the user's TrainConfig.

    A test sets them directly, or through the environment for a run in a
    subprocess (torchrun); `from_env` is the one place that reads it.
    """

    halt_after_steps: int = 0  # stop as if killed after this many steps
    dump_rank_weights: str | None = None  # every rank writes DIR/rank{N}.sha256 at the end

    @classmethod
    def from_env(cls) -> DebugHooks:
        """The hooks named by WRITER_FINETUNE_HALT_AFTER_STEPS and WRITER_FINETUNE_DUMP_RANK_WEIGHTS."""
        return cls(
            halt_after_steps=int(os.environ.get("WRITER_FINETUNE_HALT_AFTER_STEPS") or 0),
            dump_rank_weights=os.environ.get("WRITER_FINETUNE_DUMP_RANK_WEIGHTS") or None,
        )


@dataclass
class TrainResult:
    """What a finished (or halted) run leaves: where its models are and how it went."""

    config: TrainConfig  # as run: the block size resolved
    out: Path
    best_dir: Path  # the weights of the best validation loss (save_pretrained)
    checkpoint_dir: Path  # the training state --resume continues
    steps: int
    tokens: int
    tokens_per_step: int
    elapsed: float
    best_val_loss: float
    final_val_loss: float | None
    stopped: str  # "finished", "early stop" or "halted"
    device: str
    bf16: bool
    data_summary: dict
    writer: bool  # this process wrote the outputs (rank 0)


def train(cfg: TrainConfig, hooks: DebugHooks | None = None) -> TrainResult:
    """Train, keeping the best weights in OUT/best and the state in OUT/checkpoint.

    Returns a TrainResult (on every rank under torchrun). Raises FinetuneError
    subclasses for bad input, and for a run that goes wrong (NaN loss, a failed
    write), keeping the last good checkpoint; KeyboardInterrupt after saving,
    on Ctrl+C or SIGTERM.
    """
    import torch

    from finetune.evaluate import window_starts

    hooks = hooks or DebugHooks.from_env()
    ranks = Ranks.start(cfg.device, cfg.threads)
    device, out = ranks.device, Path(cfg.out)
    if ranks.master:
        check_writable(out)
    data = load_tokens(cfg, ranks)
    torch.manual_seed(cfg.seed)
    raw_model = model_setup.load_model(cfg)
    block = model_setup.block_size(cfg.block_size, raw_model.config.n_positions)
    cfg = replace(cfg, block_size=block)
    check_fits(data, block)
    bf16 = use_bf16(cfg.dtype, device, raw_model.config.n_embd, ranks.master)
    raw_model.to(device)
    optimizer = make_optimizer(raw_model, cfg, device, bf16=bf16)

    accum = max(1, round(cfg.batch_tokens / (cfg.micro_batch * block * ranks.world)))
    tokens_per_step = accum * cfg.micro_batch * block * ranks.world
    planner = SchedulePlanner.plan(
        lr=cfg.lr,
        warmup_steps=cfg.warmup_steps,
        min_lr_ratio=cfg.min_lr_ratio,
        train_tokens=len(data.train),
        tokens_per_step=tokens_per_step,
        max_steps=cfg.max_steps,
        epochs=cfg.epochs,
        max_minutes=cfg.max_minutes,
        schedule=cfg.schedule,
        cooldown=cfg.cooldown,
    )
    ckpt = Checkpointer(out, raw_model, optimizer, device, asdict(cfg), writes=ranks.master)
    run = resume_run(ckpt, planner, cfg, ranks.master) if cfg.resume else RunState()
    model = ranks.wrap(raw_model)
    metrics = report.MetricsLog(out / "metrics.jsonl", ranks.master)
    if cfg.resume:
        metrics.drop_after(run.step)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)
    step_loss = loss_step(model, autocast)
    if cfg.compile:
        step_loss = torch.compile(step_loss)
    windows = window_starts(len(data.val), cfg.eval_windows, block + 1)
    validate = Validation(raw_model, data.val, windows, block, autocast, metrics, ckpt, ranks)
    if ranks.master:
        print(report.model_line(raw_model, device, bf16, cfg, ranks.world, accum), file=sys.stderr)
    if cfg.eval_at_start and run.step == 0:  # "before", for the plot and the card
        validate.base()

    start_step, stopped = run.step, "finished"
    t_start = time.time() - run.elapsed
    t_ckpt = t_eval = time.time()
    pace = report.Throughput(report.flops_per_token(raw_model, block), report.peak_flops(device))
    model.train()
    with _StopSignal() as stop, report.Progress(planner.total_steps, run.step, ranks.master) as bar:
        while not planner.done(run.step):
            t0 = time.time()
            factor = planner.factor_at(run.step)
            optimizer.set_lr(factor)
            loss = _optimizer_step(model, step_loss, optimizer, data.train, cfg, run, accum, ranks)
            run.step += 1
            run.tokens += tokens_per_step
            run.elapsed = time.time() - t_start
            pace.add(tokens_per_step)
            if run.step - start_step > COMPILE_WARMUP_STEPS:
                planner.record(time.time() - t0)
            if planner.refit(run.step, run.elapsed):
                planner.total_steps = ranks.agree(planner.total_steps)
            done = planner.done(run.step)

            if run.step % cfg.log_every == 0 or done:
                _log_step(run, loss, cfg.lr * factor, planner, pace, metrics, bar, ckpt)
            # By the clock on rank 0, so that every rank evaluates at the same step.
            eval_due = cfg.eval_minutes > 0 and bool(
                ranks.agree((time.time() - t_eval) / 60 >= cfg.eval_minutes)
            )
            if run.step % cfg.eval_every == 0 or eval_due or done:
                t_eval = time.time()
                patience = cfg.early_stop_patience
                if validate(run, bar) >= patience > 0:
                    bar.note(f"early stop: no improvement in {patience} evaluations")
                    planner.stop_at(run.step)
                    stopped = "early stop"

            ckpt_due = (time.time() - t_ckpt) / 60 >= cfg.checkpoint_minutes or (
                cfg.checkpoint_every_steps and run.step % cfg.checkpoint_every_steps == 0
            )
            if ckpt_due or planner.done(run.step) or stop.signum:
                ckpt.save(run, planner.total_steps, planner.fitted)
                t_ckpt = time.time()
            if stop.signum:
                bar.close()
                if ranks.master:
                    print(
                        f"\ninterrupted at step {run.step}: checkpoint saved; continue with --resume",
                        file=sys.stderr,
                    )
                raise KeyboardInterrupt
            if hooks.halt_after_steps and run.step - start_step >= hooks.halt_after_steps:
                stopped = "halted"
                break

    if hooks.dump_rank_weights:
        dump_weights(raw_model, Path(hooks.dump_rank_weights), ranks.rank)
    if ranks.master and stopped != "halted" and not ckpt.best_folder.is_dir():
        ckpt.save_best()  # a run that never evaluated keeps its last weights as the best
    ranks.close()
    return TrainResult(
        config=cfg,
        out=out,
        best_dir=ckpt.best_folder,
        checkpoint_dir=ckpt.folder,
        steps=run.step,
        tokens=run.tokens,
        tokens_per_step=tokens_per_step,
        elapsed=run.elapsed,
        best_val_loss=run.best_val,
        final_val_loss=validate.last,
        stopped=stopped,
        device=str(device),
        bf16=bf16,
        data_summary=data.summary,
        writer=ranks.master,
    )


# --------------------------------------------------------------------------- pieces of a step


def loss_step(model, autocast):
    """A function (x, y) -> mean cross-entropy of `model`'s next-token logits, under autocast.

    Compile it whole (`torch.compile(loss_step(...))`): inductor then fuses the
    fp32 upcast into the cross-entropy instead of materialising [B, T, 50257]
    fp32 logits.
    """
    import torch.nn.functional as F

    def loss_of(x, y):
        with autocast:
            logits = model(input_ids=x).logits
        return F.cross_entropy(logits.float().view(-1, logits.size(-1)), y.reshape(-1))

    return loss_of


def _optimizer_step(model, step_loss, optimizer, tokens, cfg, run: RunState, accum, ranks):
    """Step `run.step`: `accum` micro-batches, then one optimizer step; returns the mean
    loss as a tensor on the device (a .item() per micro-batch would stall the GPU queue)."""
    import torch

    device, step = ranks.device, run.step
    loss_sum = torch.zeros((), device=device)
    for micro in range(accum):
        x, y = get_batch(tokens, cfg.block_size, cfg.micro_batch, cfg.seed, step, micro, ranks.rank)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        # Under DDP, gradients are all-reduced only on the last micro-batch.
        last_micro = ranks.world == 1 or micro == accum - 1
        with contextlib.nullcontext() if last_micro else model.no_sync():
            loss = step_loss(x, y) / accum
            loss.backward()
        loss_sum += loss.detach()
    if cfg.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return loss_sum


def _log_step(run: RunState, loss, lr: float, planner, pace, metrics, bar, ckpt) -> None:
    """Log the step's loss, learning rate (AdamW's), pace and ETA to metrics.jsonl and the bar.

    Raises FinetuneError when the loss is not finite.
    """
    loss_value = loss.item()
    if not math.isfinite(loss_value):
        raise FinetuneError(
            f"the training loss became {loss_value} at step {run.step}; the last good "
            f"checkpoint is kept in {ckpt.folder}. Lower --lr, or check the data"
        )
    tok_s, mfu = pace.take()
    remaining = planner.remaining_s(run.step, run.elapsed)
    row = report.train_row(
        step=run.step,
        tokens=run.tokens,
        loss=loss_value,
        lr=lr,
        tokens_per_s=tok_s,
        mfu=mfu,
        elapsed=run.elapsed,
        remaining_s=remaining,
        total_steps=planner.total_steps,
    )
    metrics.log(row)
    # The ETA as the row keeps it (rounded to 0.1 s): the bar and metrics.jsonl say the same.
    bar.update(run.step, planner.total_steps, loss_value, tok_s, mfu, run.elapsed, row.remaining_s)


class _StopSignal:
    """Turns Ctrl+C and SIGTERM into a flag the loop reads after each step, so it saves first.

    The caller's handlers come back on exit.
    """

    def __enter__(self) -> _StopSignal:
        self.signum = None
        self._old = {s: signal.signal(s, self._catch) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def _catch(self, signum, _frame) -> None:
        self.signum = signum

    def __exit__(self, *exc) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)
