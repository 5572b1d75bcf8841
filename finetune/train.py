"""`writer-finetune train`: from a folder of books to a GGUF the app loads.

One flat loop in the manner of nanoGPT: random windows of the cached token
stream, AdamW with warmup and cosine decay, gradient accumulation to a batch
measured in tokens, bf16 autocast on CUDA, periodic evaluation, atomic
checkpoints that `--resume` continues exactly, and DDP when started by
torchrun (each rank draws its own batches; only rank 0 writes).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from finetune.errors import FinetuneError
from gpt2gguf.constants import EOS_TOKEN_ID

# Dense bf16 peak of the GPUs we know, for MFU. Unknown devices report no MFU.
PEAK_TFLOPS = {
    "H100": 989.0,
    "H200": 989.0,
    "A100": 312.0,
    "L4": 121.0,
    "A10": 125.0,
    "4090": 165.0,
}
SAMPLE_PROMPTS = (
    "The old wizard looked up from his book and said,",
    "Far beyond the mountains, in a land where no one had travelled,",
    '"Where are you going?" asked the girl.',
)


@dataclass
class TrainConfig:
    # data
    data: list[str] = field(default_factory=list)
    val_data: list[str] | None = None
    val_fraction: float = 0.02
    cache_dir: str | None = None
    # model
    base: str | None = None
    init: str | None = None
    dropout: float = 0.0
    allow_pickle: bool = False
    # training
    out: str = "runs/model"
    block_size: int = 512
    micro_batch: int = 8
    batch_tokens: int = 8 * 512
    lr: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 100
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0
    max_steps: int | None = None
    max_minutes: float | None = None
    epochs: float | None = None
    dtype: str = "auto"  # auto: bf16 on CUDA; on a CPU, bf16 where a probe finds it faster
    compile: bool = False
    seed: int = 1337
    device: str = "auto"
    threads: int | None = None
    # evaluation and checkpoints
    eval_every: int = 200
    eval_windows: int = 24
    early_stop_patience: int = 0  # evaluations without improvement before stopping; 0: never
    log_every: int = 10
    checkpoint_minutes: float = 10.0
    checkpoint_every_steps: int = 0
    resume: bool = False
    halt_after_steps: int = 0  # testing aid: stop as if killed after this many steps
    dump_rank_weights: str | None = None  # testing aid: every rank writes DIR/rank{N}.sha256
    # output
    export: bool = True
    quant: str = "q8_0"
    name: str | None = None
    samples: bool = True

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> TrainConfig:
        values = {}
        if args.config:
            values.update(json.loads(Path(args.config).read_text()))
        for key in cls.__dataclass_fields__:
            value = getattr(args, key, None)
            if value is not None:
                values[key] = value
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise FinetuneError(f"{args.config}: unknown settings {sorted(unknown)}")
        return cls(**values)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="JSON file of settings (flags given here override it)")
    d = p.add_argument_group("data")
    d.add_argument("--data", nargs="+", help="files, folders or globs of .txt/.md/.xz")
    d.add_argument("--val-data", nargs="+", help="held-out text (default: about 2%% of documents)")
    d.add_argument("--val-fraction", type=float)
    d.add_argument("--cache-dir", help="token cache (default: the user cache dir)")
    m = p.add_argument_group("model")
    src = m.add_mutually_exclusive_group()
    src.add_argument(
        "--base",
        help="what to fine-tune: default (the bundled model), a GPT-2 .gguf file, "
        "a local checkpoint dir or a hub id (e.g. gpt2)",
    )
    src.add_argument(
        "--init",
        help="train from scratch: tiny, mini, small or n_layer=..,n_embd=..,n_head=..,n_ctx=..",
    )
    m.add_argument("--dropout", type=float)
    m.add_argument(
        "--allow-pickle",
        action="store_true",
        default=None,
        help="allow loading .bin (pickle) weights",
    )
    t = p.add_argument_group("training")
    t.add_argument("--out", help="output dir (checkpoints, model, GGUF, card)")
    t.add_argument("--block-size", type=int)
    t.add_argument("--micro-batch", type=int, help="sequences per forward pass")
    t.add_argument(
        "--batch-tokens", type=int, help="tokens per optimizer step (gradient accumulation)"
    )
    t.add_argument("--lr", type=float)
    t.add_argument("--min-lr-ratio", type=float)
    t.add_argument("--warmup-steps", type=int)
    t.add_argument("--weight-decay", type=float)
    t.add_argument("--grad-clip", type=float)
    t.add_argument("--max-steps", type=int)
    t.add_argument("--max-minutes", type=float, help="fit the schedule to this time budget")
    t.add_argument("--epochs", type=float)
    t.add_argument("--dtype", choices=["auto", "fp32", "bf16"])
    t.add_argument("--compile", action="store_true", default=None, help="torch.compile the model")
    t.add_argument("--seed", type=int)
    t.add_argument("--device", help="auto, cpu, cuda, cuda:1, mps")
    t.add_argument("--threads", type=int, help="CPU threads for torch")
    e = p.add_argument_group("evaluation and checkpoints")
    e.add_argument("--eval-every", type=int)
    e.add_argument("--eval-windows", type=int)
    e.add_argument("--early-stop-patience", type=int)
    e.add_argument("--log-every", type=int)
    e.add_argument("--checkpoint-minutes", type=float)
    e.add_argument("--checkpoint-every-steps", type=int)
    e.add_argument(
        "--resume", action="store_true", default=None, help="continue from OUT/checkpoint"
    )
    e.add_argument("--halt-after-steps", type=int, help=argparse.SUPPRESS)
    e.add_argument("--dump-rank-weights", help=argparse.SUPPRESS)
    o = p.add_argument_group("output")
    o.add_argument("--no-export", dest="export", action="store_const", const=False, default=None)
    o.add_argument("--quant", help="GGUF type for the export (default q8_0)")
    o.add_argument("--name", help="model name written into the GGUF")
    o.add_argument("--no-samples", dest="samples", action="store_const", const=False, default=None)


def run(args: argparse.Namespace) -> int:
    cfg = TrainConfig.from_args(args)
    if not cfg.data:
        raise FinetuneError("--data is required (files, folders or globs of .txt/.md/.xz)")
    if not (cfg.base or cfg.init):
        raise FinetuneError(
            "say what to start from: --base gpt2 (or a checkpoint dir), or --init SIZE"
        )
    train(cfg)
    return 0


# --------------------------------------------------------------------------- helpers


def _dist_info() -> tuple[int, int, int]:
    """(rank, world size, local rank) from torchrun's environment, or a single process."""
    return (
        int(os.environ.get("RANK", 0)),
        int(os.environ.get("WORLD_SIZE", 1)),
        int(os.environ.get("LOCAL_RANK", 0)),
    )


def lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    """Linear warmup, then cosine decay to lr * min_lr_ratio at `total` steps."""
    warmup = min(cfg.warmup_steps, max(1, total // 10))
    if step < warmup:
        return cfg.lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + 0.5 * (cfg.lr - floor) * (1 + math.cos(math.pi * progress))


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


def eval_windows(tokens, block: int, n: int):
    """Start offsets of `n` windows spread evenly across the validation stream."""
    import numpy as np

    last = len(tokens) - block - 1
    if last <= 0:
        raise FinetuneError(
            f"the validation text is too short ({len(tokens)} tokens) for a block of {block}; "
            "give more --val-data or a smaller --block-size"
        )
    return np.linspace(0, last, num=min(n, last + 1)).astype(int)


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


def flops_per_token(model, block: int) -> float:
    """6N + 12*L*d*T: the FLOPs of one trained token (PaLM appendix B)."""
    c = model.config
    n_params = sum(p.numel() for p in model.parameters())
    return 6 * n_params + 12 * c.n_layer * c.n_embd * block


def _peak_flops(device) -> float | None:
    import torch

    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((tf * 1e12 for key, tf in PEAK_TFLOPS.items() if key in name), None)


def _start_words(config: dict) -> str:
    if config.get("base"):
        return f"--base {config['base']}"
    return f"--init {config.get('init')}"


class _Metrics:
    """metrics.jsonl, appended (a resumed run continues the same file)."""

    def __init__(self, path: Path, enabled: bool):
        self.path, self.enabled = path, enabled

    def drop_after(self, step: int) -> None:
        """Drop rows past `step`: a killed run logged steps its checkpoint does not hold,
        and the resumed run logs them again."""
        if not (self.enabled and self.path.is_file()):
            return
        lines = self.path.read_text().splitlines(keepends=True)
        keep = [line for line in lines if line.strip() and json.loads(line).get("step", 0) <= step]
        if len(keep) != len(lines):
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text("".join(keep))
            os.replace(tmp, self.path)

    def log(self, **row) -> None:
        if self.enabled:
            with open(self.path, "a") as f:
                f.write(json.dumps(row) + "\n")


# --------------------------------------------------------------------------- the loop


def train(cfg: TrainConfig) -> dict:
    """Train, keep the best checkpoint, then save, export and write the model card.

    Returns a summary dict (also written to OUT/training_summary.json).
    Raises FinetuneError subclasses for bad input, and for a run that goes
    wrong (NaN loss, a failed write), keeping the last good checkpoint.
    """
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _train(cfg)
    finally:  # the loop traps Ctrl+C to save first; give the caller its handlers back
        _restore(handlers)


def _train(cfg: TrainConfig) -> dict:
    import numpy as np
    import torch
    import torch.nn.functional as F
    import transformers

    from finetune import checkpoint, model_setup, report
    from finetune.tokenizer import load_tokenizer
    from finetune.tokens import prepare_tokens

    transformers.utils.logging.disable_progress_bar()
    rank, world, local_rank = _dist_info()
    master = rank == 0
    out = Path(cfg.out)
    if master:
        try:
            out.mkdir(parents=True, exist_ok=True)
            (out / ".write-test").write_text("")
            (out / ".write-test").unlink()
        except OSError as exc:
            raise FinetuneError(
                f"cannot write to the output dir {out}: {exc.strerror or exc}"
            ) from exc

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

    # ---- data
    tokenizer = load_tokenizer(Path(cfg.base) if cfg.base and Path(cfg.base).is_dir() else None)
    cache_root = Path(cfg.cache_dir) if cfg.cache_dir else _default_cache()
    if world > 1 and not master:
        torch.distributed.barrier()  # rank 0 tokenizes; the others then read its cache
    data = prepare_tokens(
        cfg.data, cfg.val_data, tokenizer, EOS_TOKEN_ID, cache_root, cfg.val_fraction
    )
    if world > 1 and master:
        torch.distributed.barrier()
    if len(data.train) < cfg.block_size + 2:
        raise FinetuneError(
            f"the training text is too short ({len(data.train)} tokens) for a block of {cfg.block_size}"
        )

    # ---- model
    torch.manual_seed(cfg.seed)
    model = (
        model_setup.load_base(cfg.base, cfg.allow_pickle)
        if cfg.base
        else model_setup.new_model(cfg.init, cfg.dropout)
    )
    if cfg.block_size > model.config.n_positions:
        raise FinetuneError(
            f"--block-size {cfg.block_size} exceeds the model's context ({model.config.n_positions})"
        )
    use_bf16 = _use_bf16(cfg.dtype, device, model.config.n_embd, master)
    model.to(device)
    raw_model = model
    optimizer = make_optimizer(model, cfg, device)

    accum = max(1, round(cfg.batch_tokens / (cfg.micro_batch * cfg.block_size * world)))
    tokens_per_step = accum * cfg.micro_batch * cfg.block_size * world
    total_steps = cfg.max_steps
    if total_steps is None and cfg.epochs:
        total_steps = max(1, int(cfg.epochs * len(data.train) / tokens_per_step))
    if total_steps is None and not cfg.max_minutes:
        total_steps = max(1, int(len(data.train) / tokens_per_step))  # one epoch
    fitted = total_steps is None  # --max-minutes alone: fit the schedule to the clock
    if fitted:
        total_steps = 10**9

    state = {
        "step": 0,
        "tokens": 0,
        "elapsed": 0.0,
        "best_val": float("inf"),
        "bad_evals": 0,
        "total_steps": total_steps,
    }
    ckpt_dir = out / "checkpoint"
    if cfg.resume and (ckpt_dir / checkpoint.STATE_FILE).is_file():
        saved = checkpoint.load_state(ckpt_dir, device)
        try:
            raw_model.load_state_dict(saved["model"])
            optimizer.load_state_dict(saved["optimizer"])
        except (KeyError, RuntimeError, ValueError) as exc:
            was = saved.get("config", {}) if isinstance(saved, dict) else {}
            raise FinetuneError(
                f"the checkpoint in {ckpt_dir} is of another model "
                f"(it was started with {_start_words(was)}, this run with {_start_words(asdict(cfg))}); "
                f"resume with the same settings, or give another --out"
            ) from exc
        bad = checkpoint.non_finite(raw_model)
        if bad:
            raise FinetuneError(
                f"the checkpoint in {ckpt_dir} holds NaN or inf weights ({bad[0]}, ...); "
                "it cannot be continued. Move it aside and start again"
            )
        torch.set_rng_state(saved["rng_cpu"])
        if device.type == "cuda" and saved.get("rng_cuda") is not None:
            torch.cuda.set_rng_state(saved["rng_cuda"])
        state.update(saved["state"])
        saved_total = state["total_steps"]
        fitted = saved.get("fitted", fitted)
        # A new --max-steps (or --epochs) on the command line wins over the saved
        # schedule; the cosine then decays to the new end.
        if not fitted and total_steps is not None and cfg.max_steps is not None:
            total_steps = max(cfg.max_steps, state["step"])
        else:
            total_steps = saved_total
        if master:
            changed = (
                f"; --max-steps {total_steps} replaces the saved {saved_total}"
                if total_steps != saved_total
                else ""
            )
            print(
                f"resumed from step {state['step']} ({state['tokens']:,} tokens){changed}",
                file=sys.stderr,
            )
    elif cfg.resume and master:
        print(f"--resume: no checkpoint in {ckpt_dir}; starting fresh", file=sys.stderr)

    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        model = DDP(
            model,
            device_ids=[device.index] if device.type == "cuda" else None,
            broadcast_buffers=False,
        )

    flops_tok = flops_per_token(raw_model, cfg.block_size)
    peak = _peak_flops(device)
    metrics = _Metrics(out / "metrics.jsonl", master)
    if cfg.resume:
        metrics.drop_after(state["step"])
    windows = eval_windows(data.val, cfg.block_size, cfg.eval_windows)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16)

    def loss_of(x, y):
        with autocast:
            logits = model(input_ids=x).logits
        return F.cross_entropy(logits.float().view(-1, logits.size(-1)), y.reshape(-1))

    # Compile the loss with the model: inductor then fuses the fp32 upcast into
    # the cross-entropy instead of materialising [B, T, 50257] fp32 logits.
    step_loss = torch.compile(loss_of) if cfg.compile else loss_of

    @torch.no_grad()
    def evaluate() -> float:
        raw_model.eval()
        losses = []
        for i in range(0, len(windows), 4):
            starts = windows[i : i + 4]
            w = torch.from_numpy(
                np.stack(
                    [
                        np.asarray(data.val[s : s + cfg.block_size + 1], dtype=np.int64)
                        for s in starts
                    ]
                )
            )
            with autocast:
                logits = raw_model(input_ids=w[:, :-1].to(device)).logits
            losses.append(
                F.cross_entropy(
                    logits.float().transpose(1, 2), w[:, 1:].to(device), reduction="none"
                ).mean(1)
            )
        raw_model.train()
        return torch.cat(losses).mean().item()

    def save_checkpoint() -> None:
        if not master:
            return
        bad = checkpoint.non_finite(raw_model)
        if bad:  # never replace a good checkpoint with a broken one
            raise FinetuneError(
                f"the weights became NaN or inf by step {state['step']} ({bad[0]}, ...); "
                f"the last good checkpoint is kept in {ckpt_dir}. Lower --lr, or check the data"
            )
        checkpoint.save_state(
            {
                "model": raw_model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "rng_cpu": torch.get_rng_state(),
                "rng_cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                "state": dict(state, total_steps=total_steps),
                "fitted": fitted,
                "config": asdict(cfg),
            },
            ckpt_dir,
        )

    def save_best() -> None:
        if master:
            checkpoint.save_pretrained_atomic(raw_model, out / "best")

    stop = {"signal": None}

    def on_signal(signum, _frame):
        stop["signal"] = signum

    old_handlers = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}

    # ---- train
    model.train()
    start_step = state["step"]
    t_start = time.time() - state["elapsed"]
    t_last_ckpt = time.time()
    t_log, tokens_log = time.time(), 0
    step_times: list[float] = []
    progress = report.Progress(enabled=master)
    if master:
        n_params = sum(p.numel() for p in raw_model.parameters())
        print(
            f"model: {n_params / 1e6:.1f}M params, {raw_model.config.n_layer} layers x {raw_model.config.n_embd}, "
            f"{'bf16' if use_bf16 else 'fp32'} on {device}{' (compiled)' if cfg.compile else ''}, world {world}; "
            f"{tokens_per_step:,} tokens/step ({accum} x {cfg.micro_batch} x {cfg.block_size})",
            file=sys.stderr,
        )
    halted = False
    while state["step"] < total_steps:
        step = state["step"]
        t0 = time.time()
        lr = lr_at(step, total_steps, cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        # Summed on the device: a .item() per micro-batch would stall the GPU queue.
        loss_acc = torch.zeros((), device=device)
        for micro in range(accum):
            x, y = get_batch(
                data.train, cfg.block_size, cfg.micro_batch, cfg.seed, step, micro, rank
            )
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            sync = world == 1 or micro == accum - 1
            ctx = model.no_sync() if not sync else contextlib.nullcontext()
            with ctx:
                loss = step_loss(x, y) / accum
                loss.backward()
            loss_acc += loss.detach()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(raw_model.parameters(), cfg.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        dt = time.time() - t0
        state["step"] += 1
        state["tokens"] += tokens_per_step
        state["elapsed"] = time.time() - t_start
        tokens_log += tokens_per_step
        if state["step"] - start_step > 2:  # the first steps include compile warm-up
            step_times.append(dt)

        if (
            fitted
            and cfg.max_minutes
            and len(step_times) >= 5
            and (state["step"] % 10 == 0 or len(step_times) == 5)
        ):
            # Fit the cosine schedule to the clock: steps left = time left / step time,
            # with a margin for evaluations and the export at the end.
            recent = sorted(step_times[-50:])[len(step_times[-50:]) // 2]
            remaining = cfg.max_minutes * 60 * 0.97 - state["elapsed"]
            total_steps = int(
                _agree(max(state["step"] + 1, state["step"] + int(remaining / recent)), world)
            )

        if state["step"] % cfg.log_every == 0 or state["step"] == total_steps:
            now = time.time()
            tok_s = tokens_log / max(now - t_log, 1e-9)
            mfu = tok_s * flops_tok / peak if peak else None
            loss_sum = loss_acc.item()
            if not math.isfinite(loss_sum):
                progress.close()
                raise FinetuneError(
                    f"the training loss became {loss_sum} at step {state['step']}; the last good "
                    f"checkpoint is kept in {ckpt_dir}. Lower --lr, or check the data"
                )
            metrics.log(
                step=state["step"],
                tokens=state["tokens"],
                loss=round(loss_sum, 5),
                lr=lr,
                tokens_per_s=round(tok_s, 1),
                mfu=mfu,
                elapsed=round(state["elapsed"], 2),
            )
            progress.update(state["step"], total_steps, loss_sum, tok_s, mfu, state["elapsed"])
            t_log, tokens_log = now, 0

        last = state["step"] >= total_steps
        if state["step"] % cfg.eval_every == 0 or last:
            val_loss = evaluate() if master else 0.0
            if master and not math.isfinite(val_loss):
                progress.close()
                raise FinetuneError(
                    f"the validation loss became {val_loss} at step {state['step']}; the last good "
                    f"checkpoint is kept in {ckpt_dir}. Lower --lr, or check the data"
                )
            if master:
                improved = val_loss < state["best_val"]
                metrics.log(
                    step=state["step"],
                    tokens=state["tokens"],
                    val_loss=round(val_loss, 5),
                    val_ppl=round(math.exp(val_loss), 3),
                    elapsed=round(state["elapsed"], 2),
                )
                progress.note(
                    f"step {state['step']}: val loss {val_loss:.4f}, ppl {math.exp(val_loss):.2f}{' (best)' if improved else ''}"
                )
                if improved:
                    state["best_val"], state["bad_evals"] = val_loss, 0
                    save_best()
                else:
                    state["bad_evals"] += 1
            state["bad_evals"] = int(_agree(state["bad_evals"], world))
            if cfg.early_stop_patience and state["bad_evals"] >= cfg.early_stop_patience:
                progress.note(
                    f"early stop: no improvement in {cfg.early_stop_patience} evaluations"
                )
                total_steps = state["step"]

        due = (time.time() - t_last_ckpt) / 60 >= cfg.checkpoint_minutes or (
            cfg.checkpoint_every_steps and state["step"] % cfg.checkpoint_every_steps == 0
        )
        if due or state["step"] >= total_steps or stop["signal"]:
            save_checkpoint()
            t_last_ckpt = time.time()
        if stop["signal"]:
            progress.close()
            if master:
                print(
                    f"\ninterrupted at step {state['step']}: checkpoint saved; continue with --resume",
                    file=sys.stderr,
                )
            _restore(old_handlers)
            raise KeyboardInterrupt
        if cfg.halt_after_steps and state["step"] - start_step >= cfg.halt_after_steps:
            halted = True
            break
    progress.close()
    _restore(old_handlers)
    if cfg.dump_rank_weights:
        _dump_weights(raw_model, Path(cfg.dump_rank_weights), rank)
    summary = {}
    if master and not halted:
        if not (out / "best").is_dir():
            save_best()
        summary = report.finish(
            cfg, out, raw_model, tokenizer, data.summary, state, tokens_per_step, device, use_bf16
        )
    if world > 1:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    return summary


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


def _restore(handlers: dict) -> None:
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


def _default_cache() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("writer-finetune")) / "tokens"


def main(argv: list[str] | None = None) -> int:
    from finetune.cli import main as cli_main

    return cli_main(["train", *(argv or sys.argv[1:])])


if __name__ == "__main__":
    sys.exit(main())
