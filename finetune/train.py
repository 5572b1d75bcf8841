"""The training loop: from cached tokens and a starting model to OUT/best and OUT/checkpoint.

One flat loop in the manner of nanoGPT: random windows of the cached token
stream, AdamW with warmup and cosine decay (finetune.schedule), gradient
accumulation to a batch measured in tokens, bf16 autocast, periodic
evaluation, checkpoints that `--resume` continues exactly
(finetune.checkpoint), and DDP when started by torchrun (each rank draws its
own batches; only rank 0 writes). `train()` returns a `TrainResult`; saving
the final model, the export and the card are finetune.pipeline's job.
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

from finetune.checkpoint import Checkpointer, RunState
from finetune.config import TrainConfig
from finetune.errors import FinetuneError
from finetune.schedule import SchedulePlanner
from gpt2gguf.constants import EOS_TOKEN_ID
from gpt2gguf.files import atomic_write

# Dense bf16 peak of the GPUs we know, for MFU. Unknown devices report no MFU.
PEAK_TFLOPS = {
    "H100": 989.0,
    "H200": 989.0,
    "A100": 312.0,
    "L4": 121.0,
    "A10": 125.0,
    "4090": 165.0,
}
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


# --------------------------------------------------------------------------- pieces of a step


def dist_info() -> tuple[int, int, int]:
    """(rank, world size, local rank) from torchrun's environment, or a single process."""
    return (
        int(os.environ.get("RANK", 0)),
        int(os.environ.get("WORLD_SIZE", 1)),
        int(os.environ.get("LOCAL_RANK", 0)),
    )


def get_batch(tokens, block: int, batch: int, seed: int, step: int, micro: int, rank: int):
    """Random windows of the stream. The draw depends only on (seed, step, micro, rank),
    so a resumed run sees exactly the batches the uninterrupted run would."""
    import numpy as np
    import torch

    rng = np.random.default_rng([seed, step, micro, rank])
    starts = rng.integers(0, len(tokens) - block - 1, size=batch)
    window = np.stack([np.asarray(tokens[s : s + block + 1], dtype=np.int64) for s in starts])
    window = torch.from_numpy(window)
    return window[:, :-1], window[:, 1:]


def make_optimizer(model, cfg: TrainConfig, device):
    """AdamW with weight decay on matrices only (not biases, LayerNorms), fused on CUDA."""
    import torch

    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": cfg.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=cfg.lr,
        betas=(cfg.beta1, cfg.beta2),
        fused=device.type == "cuda",
    )


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


def flops_per_token(model, block: int) -> float:
    """6N + 12*L*d*T: the FLOPs of one trained token (PaLM appendix B)."""
    c = model.config
    n_params = sum(p.numel() for p in model.parameters())
    return 6 * n_params + 12 * c.n_layer * c.n_embd * block


def peak_flops(device) -> float | None:
    """The device's dense bf16 peak in FLOP/s (PEAK_TFLOPS), or None where unknown (CPUs)."""
    import torch

    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((tf * 1e12 for key, tf in PEAK_TFLOPS.items() if key in name), None)


def evaluate(model, tokens, starts, block: int, autocast, batch: int = 4) -> float:
    """Mean next-token loss of `model` over the windows of block + 1 tokens at `starts`."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    device = next(model.parameters()).device
    model.eval()
    losses = []
    with torch.no_grad():
        for i in range(0, len(starts), batch):
            w = np.stack(
                [
                    np.asarray(tokens[s : s + block + 1], dtype=np.int64)
                    for s in starts[i : i + batch]
                ]
            )
            w = torch.from_numpy(w).to(device)
            with autocast:
                logits = model(input_ids=w[:, :-1]).logits
            nll = F.cross_entropy(logits.float().transpose(1, 2), w[:, 1:], reduction="none")
            losses.append(nll.mean(1))
    model.train()
    return torch.cat(losses).mean().item()


class _Metrics:
    """metrics.jsonl, appended (a resumed run continues the same file)."""

    def __init__(self, path: Path, enabled: bool):
        self.path, self.enabled = path, enabled

    def drop_after(self, step: int) -> None:
        """Drop rows past `step`: a killed run logged steps its checkpoint does not hold,
        and the resumed run logs them again."""
        import json

        if not (self.enabled and self.path.is_file()):
            return
        lines = self.path.read_text().splitlines(keepends=True)
        keep = [line for line in lines if line.strip() and json.loads(line).get("step", 0) <= step]
        if len(keep) != len(lines):
            atomic_write(self.path, "".join(keep).encode())

    def log(self, **row) -> None:
        import json

        if self.enabled:
            with open(self.path, "a") as f:
                f.write(json.dumps(row) + "\n")


class _Validation:
    """Scores the model on the validation windows, logs it and keeps the best weights.

    Rank 0 scores; every rank then agrees on the count of evaluations without
    improvement, so that all of them stop early at the same step.
    """

    def __init__(self, model, tokens, starts, block, autocast, metrics, ckpt, world, master):
        self.model, self.tokens, self.starts, self.block = model, tokens, starts, block
        self.autocast, self.metrics, self.ckpt = autocast, metrics, ckpt
        self.world, self.master = world, master
        self.last: float | None = None  # the latest validation loss (rank 0)

    def score(self, step: int) -> float:
        """Return the validation loss now; raises FinetuneError when it is not finite."""
        loss = evaluate(self.model, self.tokens, self.starts, self.block, self.autocast)
        if not math.isfinite(loss):
            raise FinetuneError(
                f"the validation loss became {loss} at step {step}; the last good "
                f"checkpoint is kept in {self.ckpt.folder}. Lower --lr, or check the data"
            )
        return loss

    def base(self) -> None:
        """Log the model's validation loss before training (step 0), without keeping it."""
        if self.master:
            loss = self.score(0)
            self.metrics.log(
                step=0,
                tokens=0,
                val_loss=round(loss, 5),
                val_ppl=round(math.exp(loss), 3),
                elapsed=0.0,
            )

    def __call__(self, run: RunState, bar) -> int:
        """Score, log, keep the weights if they are the best yet; return the number of
        evaluations in a row without improvement (the same on every rank)."""
        if self.master:
            loss = self.last = self.score(run.step)
            improved = loss < run.best_val
            self.metrics.log(
                step=run.step,
                tokens=run.tokens,
                val_loss=round(loss, 5),
                val_ppl=round(math.exp(loss), 3),
                elapsed=round(run.elapsed, 2),
            )
            bar.note(
                f"step {run.step}: val loss {loss:.4f}, "
                f"ppl {math.exp(loss):.2f}{' (best)' if improved else ''}"
            )
            if improved:
                run.best_val, run.bad_evals = loss, 0
                self.ckpt.save_best()
            else:
                run.bad_evals += 1
        run.bad_evals = int(_agree(run.bad_evals, self.world))
        return run.bad_evals


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


# --------------------------------------------------------------------------- the loop


def train(cfg: TrainConfig, hooks: DebugHooks | None = None) -> TrainResult:
    """Train, keeping the best weights in OUT/best and the state in OUT/checkpoint.

    Returns a TrainResult (on every rank under torchrun). Raises FinetuneError
    subclasses for bad input, and for a run that goes wrong (NaN loss, a failed
    write), keeping the last good checkpoint; KeyboardInterrupt after saving,
    on Ctrl+C or SIGTERM.
    """
    import torch

    from finetune import report

    hooks = hooks or DebugHooks.from_env()
    rank, world, local_rank = dist_info()
    master = rank == 0
    out = Path(cfg.out)
    if master:
        _check_writable(out)
    device = _init_device(cfg, world, local_rank)
    data = _load_tokens(cfg, world, master)
    torch.manual_seed(cfg.seed)
    raw_model = _load_model(cfg)
    cfg = replace(cfg, block_size=_block_size(cfg.block_size, raw_model.config.n_positions))
    block = cfg.block_size
    for name, stream in (("training", data.train), ("validation", data.val)):
        if len(stream) < block + 2:
            raise FinetuneError(
                f"the {name} text is too short ({len(stream)} tokens) for a block of {block}; "
                "give more text or a smaller --block-size"
            )
    use_bf16 = _use_bf16(cfg.dtype, device, raw_model.config.n_embd, master)
    raw_model.to(device)
    optimizer = make_optimizer(raw_model, cfg, device)

    accum = max(1, round(cfg.batch_tokens / (cfg.micro_batch * block * world)))
    tokens_per_step = accum * cfg.micro_batch * block * world
    planner = SchedulePlanner.plan(
        lr=cfg.lr,
        warmup_steps=cfg.warmup_steps,
        min_lr_ratio=cfg.min_lr_ratio,
        train_tokens=len(data.train),
        tokens_per_step=tokens_per_step,
        max_steps=cfg.max_steps,
        epochs=cfg.epochs,
        max_minutes=cfg.max_minutes,
    )
    ckpt = Checkpointer(out, raw_model, optimizer, device, asdict(cfg), writes=master)
    run = _resume(ckpt, planner, cfg, master) if cfg.resume else RunState()

    model = raw_model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        model = DDP(
            raw_model,
            device_ids=[device.index] if device.type == "cuda" else None,
            broadcast_buffers=False,
        )
    metrics = _Metrics(out / "metrics.jsonl", master)
    if cfg.resume:
        metrics.drop_after(run.step)
    from finetune.evaluate import window_starts

    windows = window_starts(len(data.val), cfg.eval_windows, block + 1)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16)
    step_loss = loss_step(model, autocast)
    if cfg.compile:
        step_loss = torch.compile(step_loss)
    flops_tok, peak = flops_per_token(raw_model, block), peak_flops(device)
    if master:
        c = raw_model.config
        n_params = sum(p.numel() for p in raw_model.parameters())
        print(
            f"model: {n_params / 1e6:.1f}M params, {c.n_layer} layers x {c.n_embd}, "
            f"{'bf16' if use_bf16 else 'fp32'} on {device}{' (compiled)' if cfg.compile else ''}, "
            f"world {world}; {tokens_per_step:,} tokens/step ({accum} x {cfg.micro_batch} x {block})",
            file=sys.stderr,
        )

    start_step, stopped = run.step, "finished"
    t_start = time.time() - run.elapsed
    t_ckpt = t_log = t_eval = time.time()
    tokens_log = 0
    model.train()
    validate = _Validation(
        raw_model, data.val, windows, block, autocast, metrics, ckpt, world, master
    )
    if cfg.eval_at_start and run.step == 0:  # "before", for the plot and the card
        validate.base()
    with _StopSignal() as stop, report.Progress(planner.total_steps, run.step, master) as bar:
        while not planner.done(run.step):
            t0 = time.time()
            lr = planner.lr_at(run.step)
            for group in optimizer.param_groups:
                group["lr"] = lr
            # Summed on the device: a .item() per micro-batch would stall the GPU queue.
            loss_sum = torch.zeros((), device=device)
            for micro in range(accum):
                x, y = get_batch(
                    data.train, block, cfg.micro_batch, cfg.seed, run.step, micro, rank
                )
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                # Under DDP, gradients are all-reduced only on the last micro-batch.
                last_micro = world == 1 or micro == accum - 1
                with contextlib.nullcontext() if last_micro else model.no_sync():
                    loss = step_loss(x, y) / accum
                    loss.backward()
                loss_sum += loss.detach()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(raw_model.parameters(), cfg.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            run.step += 1
            run.tokens += tokens_per_step
            run.elapsed = time.time() - t_start
            tokens_log += tokens_per_step
            if run.step - start_step > COMPILE_WARMUP_STEPS:
                planner.record(time.time() - t0)
            if planner.refit(run.step, run.elapsed):
                planner.total_steps = int(_agree(planner.total_steps, world))
            done = planner.done(run.step)

            if run.step % cfg.log_every == 0 or done:
                now = time.time()
                tok_s = tokens_log / max(now - t_log, 1e-9)
                mfu = tok_s * flops_tok / peak if peak else None
                loss_value = loss_sum.item()
                if not math.isfinite(loss_value):
                    raise FinetuneError(
                        f"the training loss became {loss_value} at step {run.step}; the last good "
                        f"checkpoint is kept in {ckpt.folder}. Lower --lr, or check the data"
                    )
                remaining = planner.remaining_s(run.step, run.elapsed)
                remaining = None if remaining is None else round(remaining, 1)
                metrics.log(
                    step=run.step,
                    tokens=run.tokens,
                    loss=round(loss_value, 5),
                    lr=lr,
                    tokens_per_s=round(tok_s, 1),
                    mfu=mfu,
                    elapsed=round(run.elapsed, 2),
                    remaining_s=remaining,
                    total_steps=planner.total_steps,
                )
                bar.update(
                    run.step, planner.total_steps, loss_value, tok_s, mfu, run.elapsed, remaining
                )
                t_log, tokens_log = now, 0

            # By the clock on rank 0, so that every rank evaluates at the same step.
            eval_due = cfg.eval_minutes > 0 and bool(
                _agree((time.time() - t_eval) / 60 >= cfg.eval_minutes, world)
            )
            if run.step % cfg.eval_every == 0 or eval_due or done:
                t_eval = time.time()
                patience = cfg.early_stop_patience
                if validate(run, bar) >= patience > 0:
                    bar.note(f"early stop: no improvement in {patience} evaluations")
                    planner.stop_at(run.step)
                    stopped = "early stop"

            due = (time.time() - t_ckpt) / 60 >= cfg.checkpoint_minutes or (
                cfg.checkpoint_every_steps and run.step % cfg.checkpoint_every_steps == 0
            )
            if due or planner.done(run.step) or stop.signum:
                ckpt.save(run, planner.total_steps, planner.fitted)
                t_ckpt = time.time()
            if stop.signum:
                bar.close()
                if master:
                    print(
                        f"\ninterrupted at step {run.step}: checkpoint saved; continue with --resume",
                        file=sys.stderr,
                    )
                raise KeyboardInterrupt
            if hooks.halt_after_steps and run.step - start_step >= hooks.halt_after_steps:
                stopped = "halted"
                break

    if hooks.dump_rank_weights:
        _dump_weights(raw_model, Path(hooks.dump_rank_weights), rank)
    if master and stopped != "halted" and not ckpt.best_folder.is_dir():
        ckpt.save_best()
    if world > 1:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
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
        bf16=use_bf16,
        data_summary=data.summary,
        writer=master,
    )


# --------------------------------------------------------------------------- setup


def _check_writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / ".write-test").write_text("")
        (out / ".write-test").unlink()
    except OSError as exc:
        raise FinetuneError(f"cannot write to the output dir {out}: {exc.strerror or exc}") from exc


def _init_device(cfg: TrainConfig, world: int, local_rank: int):
    """The torch device of this process (joining the process group under torchrun)."""
    import torch

    if world > 1:
        import torch.distributed as dist

        backend = "nccl" if torch.cuda.is_available() and cfg.device != "cpu" else "gloo"
        dist.init_process_group(backend)
    if cfg.device == "auto":
        device = torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(cfg.device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    return device


def _load_tokens(cfg: TrainConfig, world: int, master: bool):
    """The cached train/val token streams; under torchrun rank 0 tokenizes, the others read."""
    import torch

    from finetune.tokenizer import load_tokenizer
    from finetune.tokens import prepare_tokens

    tokenizer = load_tokenizer(Path(cfg.base) if cfg.base else None)
    cache_root = Path(cfg.cache_dir) if cfg.cache_dir else _default_cache()
    if world > 1 and not master:
        torch.distributed.barrier()
    data = prepare_tokens(
        cfg.data, cfg.val_data, tokenizer, EOS_TOKEN_ID, cache_root, cfg.val_fraction
    )
    if world > 1 and master:
        torch.distributed.barrier()
    return data


def _load_model(cfg: TrainConfig):
    import transformers

    from finetune import model_setup

    transformers.utils.logging.disable_progress_bar()
    if not cfg.base:
        return model_setup.new_model(cfg.init, cfg.dropout or 0.0)
    model = model_setup.load_base(cfg.base, cfg.allow_pickle)
    if cfg.dropout is not None:
        model_setup.set_dropout(model, cfg.dropout)
    return model


def _block_size(asked: int | None, context: int) -> int:
    """The training window: as asked, or the model's whole context."""
    if asked is None:
        return context
    if asked > context:
        raise FinetuneError(f"--block-size {asked} exceeds the model's context ({context})")
    return asked


def _resume(ckpt: Checkpointer, planner: SchedulePlanner, cfg: TrainConfig, master: bool):
    """Restore OUT/checkpoint into the model and optimizer, and its schedule into `planner`.

    Returns the run's saved progress, or a fresh RunState when there is no checkpoint.
    """
    if not ckpt.exists():
        if master:
            print(f"--resume: no checkpoint in {ckpt.folder}; starting fresh", file=sys.stderr)
        return RunState()
    saved = ckpt.resume()
    # A new --max-steps on the command line wins over a saved step count; the
    # cosine then decays to the new end. A run fitted to the clock stays so.
    if not saved.fitted and cfg.max_steps is not None:
        planner.total_steps = max(cfg.max_steps, saved.run.step)
    else:
        planner.total_steps = saved.total_steps
    planner.budget_s = cfg.max_minutes * 60 if saved.fitted and cfg.max_minutes else None
    if planner.total_steps is None and not planner.fitted:
        raise FinetuneError(
            f"the run in {ckpt.folder} is fitted to a time budget; resume it with --max-minutes"
        )
    if master:
        changed = (
            f"; --max-steps {planner.total_steps} replaces the saved {saved.total_steps}"
            if planner.total_steps != saved.total_steps
            else ""
        )
        print(
            f"resumed from step {saved.run.step} ({saved.run.tokens:,} tokens){changed}",
            file=sys.stderr,
        )
    return saved.run


def _use_bf16(dtype: str, device, width: int, master: bool) -> bool:
    """bf16 autocast or not: as asked, or for `auto`, always on CUDA and by a probe on a CPU."""
    if dtype != "auto":
        return dtype == "bf16"
    if device.type == "cuda":
        return True
    if device.type != "cpu":
        return False
    from finetune.precision import choose_cpu_dtype

    choice = choose_cpu_dtype(width)
    if master:
        figures = (
            f" (fp32 {choice.fp32_gflops:.0f}, bf16 {choice.bf16_gflops:.0f} GFLOP/s"
            f"{', cached' if choice.cached else ''})"
            if choice.fp32_gflops
            else ""
        )
        print(f"--dtype auto: {choice.dtype}: {choice.reason}{figures}", file=sys.stderr)
    return choice.dtype == "bf16"


def _agree(value: float, world: int) -> float:
    """Rank 0's value on every rank, so that all ranks take the same branch."""
    if world == 1:
        return value
    import torch

    t = torch.tensor([float(value)], dtype=torch.float64)
    torch.distributed.broadcast(t, src=0)
    return t.item()


def _dump_weights(model, folder: Path, rank: int) -> None:
    """Write a sha256 of this rank's parameters, so a test can check that DDP kept ranks equal."""
    import hashlib

    h = hashlib.sha256()
    for name, p in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(p.detach().cpu().contiguous().numpy().tobytes())
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"rank{rank}.sha256").write_text(h.hexdigest() + "\n")


def _default_cache() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("writer-finetune")) / "tokens"
