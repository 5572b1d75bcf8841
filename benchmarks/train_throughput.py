"""Training throughput on the GPT-2-small shape: our loop against HF Trainer at its defaults.

Trains GPT-2 small (12 layers x 768, 12 heads, context 1024, 124M parameters)
on random tokens for a fixed number of steps, two ways in one run:

- ours: the model finetune.model_setup builds (SDPA attention) and the loop
  settings of finetune/train.py: bf16 autocast, torch.compile, fused AdamW,
  warmup + cosine learning rate, gradient clipping, batches drawn by
  finetune.batches.get_batch, micro-batch 16 x 1024;
- trainer: HF Trainer at its defaults (fp32, no compile), batch 32 x 128, the
  usual first way to fine-tune a GPT-2.

Prints one JSON object: tokens/s and MFU of each, their ratio, the device,
the steps and the command. MFU counts 6N + 12*L*d*T FLOPs per token
(finetune.report.flops_per_token) against the dense bf16 peak
(finetune.report.PEAK_TFLOPS: 989 TFLOP/s for H100 and H200).
Goal on an H100: ours >= 40% MFU and >= 10x the trainer's tokens/s.

    python benchmarks/train_throughput.py                 # on a GPU
    python benchmarks/train_throughput.py --tiny          # a small shape on CPU, to check it runs
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import sys
import tempfile
import time

GOAL_MFU = 0.40
GOAL_RATIO = 10.0
# (model --init spec, ours micro-batch x block, trainer batch x block)
SHAPES = {
    "full": ("small", (16, 1024), (32, 128)),
    "tiny": ("n_layer=2,n_embd=64,n_head=2,n_ctx=128", (2, 64), (4, 32)),
}


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _free(device) -> None:
    import gc

    import torch

    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def bench_ours(
    init: str,
    micro: int,
    block: int,
    steps: int,
    warmup: int,
    device,
    compile_model: bool,
    compile_loss: bool,
    optimizer_kind: str = "adamw",
) -> dict:
    """finetune/train.py's loop (one micro-batch per step) with `optimizer_kind` (adamw or
    muon); returns tokens/s and the settings."""
    import numpy as np
    import torch

    from finetune.batches import get_batch
    from finetune.config import TrainConfig
    from finetune.model_setup import new_model
    from finetune.optim import OPTIMIZERS, make_optimizer
    from finetune.report import flops_per_token
    from finetune.schedule import lr_factor
    from finetune.train import loss_step

    torch.manual_seed(0)
    cfg = TrainConfig(lr=6e-4, warmup_steps=warmup, optimizer=optimizer_kind)
    model = new_model(init).to(device)
    model.train()
    use_bf16 = device.type == "cuda"
    optimizer = make_optimizer(model, cfg, device, bf16=use_bf16)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16)
    # train.py compiles the loss step whole (--compile); the default here compiles
    # the model only, and --compile-loss times train.py's way.
    fwd_model = torch.compile(model) if compile_model and not compile_loss else model
    loss_of = loss_step(fwd_model, autocast)
    if compile_loss:
        loss_of = torch.compile(loss_of)

    tokens = np.random.default_rng(0).integers(
        0, model.config.vocab_size, size=max(1 << 20, 64 * micro * block), dtype=np.uint16
    )
    total = warmup + steps
    t0 = None
    for step in range(total):
        if step == warmup:  # compile and autotuning happen in the untimed warm-up steps
            _sync(device)
            t0 = time.perf_counter()
        optimizer.set_lr(lr_factor(step, total, cfg.warmup_steps, cfg.min_lr_ratio))
        x, y = get_batch(tokens, block, micro, cfg.seed, step, 0, 0)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        loss = loss_of(x, y)
        loss.backward()
        loss.item()  # as train.py does, to log the loss
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        _sync(device)
    seconds = time.perf_counter() - t0
    tok_s = steps * micro * block / seconds
    flops = flops_per_token(model, block)
    del model, optimizer
    _free(device)
    return {
        "tokens_per_s": round(tok_s, 1),
        "flops_per_token": flops,
        "seconds": round(seconds, 3),
        "micro_batch": micro,
        "block": block,
        "precision": "bf16 autocast" if use_bf16 else "fp32",
        "compile": "model+loss" if compile_loss else ("model" if compile_model else "none"),
        "optimizer": OPTIMIZERS[optimizer_kind]
        + (" (AdamW fused)" if device.type == "cuda" else ""),
        "attention": "sdpa",
        "final_loss": round(loss.item(), 4),
    }


def bench_trainer(init: str, batch: int, block: int, steps: int, warmup: int, device) -> dict:
    """HF Trainer at its defaults (fp32, no compile) on a synthetic dataset; returns tokens/s."""
    import torch
    from transformers import (
        GPT2Config,
        GPT2LMHeadModel,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    from finetune.model_setup import parse_init
    from finetune.report import flops_per_token
    from gpt2gguf.constants import GPT2_VOCAB_SIZE

    class RandomBlocks(torch.utils.data.Dataset):
        def __init__(self, n: int, vocab: int):
            g = torch.Generator().manual_seed(0)
            self.ids = torch.randint(0, vocab, (n, block), generator=g)

        def __len__(self) -> int:
            return len(self.ids)

        def __getitem__(self, i: int) -> dict:
            return {"input_ids": self.ids[i], "labels": self.ids[i]}

    class Clock(TrainerCallback):
        """Times the steps after the warm-up ones, synchronising the GPU at both ends."""

        start = end = None

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == warmup:
                _sync(device)
                self.start = time.perf_counter()
            elif state.global_step == warmup + steps:
                _sync(device)
                self.end = time.perf_counter()

    torch.manual_seed(0)
    # A stock GPT2Config of the same shape, with the default attention.
    model = GPT2LMHeadModel(GPT2Config(vocab_size=GPT2_VOCAB_SIZE, **parse_init(init)))
    clock = Clock()
    with tempfile.TemporaryDirectory(prefix="bench-trainer-") as tmp:
        args = TrainingArguments(
            output_dir=tmp,
            per_device_train_batch_size=batch,
            max_steps=warmup + steps,
            report_to="none",
            save_strategy="no",  # writing checkpoints is not what we time
            disable_tqdm=True,
            use_cpu=device.type == "cpu",
        )
        trainer = Trainer(
            model=model,
            args=args,
            train_dataset=RandomBlocks(batch * (warmup + steps), GPT2_VOCAB_SIZE),
            callbacks=[clock],
        )
        # Trainer prints its logs to stdout, which is for our JSON.
        with contextlib.redirect_stdout(sys.stderr):
            trainer.train()
        seconds = clock.end - clock.start
        precision = "bf16" if args.bf16 else ("fp16" if args.fp16 else "fp32")
        optim = getattr(args.optim, "value", str(args.optim))
    tok_s = steps * batch * block / seconds
    flops = flops_per_token(model, block)
    del trainer, model
    _free(device)
    return {
        "tokens_per_s": round(tok_s, 1),
        "flops_per_token": flops,
        "seconds": round(seconds, 3),
        "batch": batch,
        "block": block,
        "precision": precision,
        "compile": "none",
        "optimizer": optim,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps", type=int, default=None, help="timed steps (default 50; 5 with --tiny)"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="untimed warm-up steps first (default 10; 2 with --tiny)",
    )
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="a 2-layer, 64-wide model and small batches, to check on CPU",
    )
    parser.add_argument("--device", default="auto", help="auto, cuda, cuda:1, cpu")
    parser.add_argument(
        "--no-compile",
        action="store_true",
        help="ours without torch.compile (default: compile on CUDA)",
    )
    parser.add_argument(
        "--compile-loss",
        action="store_true",
        help="also time ours with the loss inside the compiled graph",
    )
    parser.add_argument("--skip-trainer", action="store_true", help="time ours only")
    parser.add_argument(
        "--optimizer", choices=["adamw", "muon"], default="adamw", help="ours with this optimizer"
    )
    args = parser.parse_args(argv)

    import torch

    from finetune.report import peak_flops

    init, (micro, block), (tr_batch, tr_block) = SHAPES["tiny" if args.tiny else "full"]
    steps = args.steps or (5 if args.tiny else 50)
    warmup = args.warmup if args.warmup is not None else (2 if args.tiny else 10)
    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True  # as train.py sets
        torch.backends.cudnn.allow_tf32 = True
    compile_model = device.type == "cuda" and not args.no_compile
    peak = peak_flops(device)
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"cpu ({torch.get_num_threads()} threads)"
    )

    def with_mfu(r: dict) -> dict:
        r["mfu"] = round(r["tokens_per_s"] * r["flops_per_token"] / peak, 4) if peak else None
        return r

    print(f"ours: {init}, {micro} x {block}, {steps} timed steps on {name}...", file=sys.stderr)
    result = {
        "benchmark": "train GPT-2 small shape: our loop vs HF Trainer defaults",
        "device": name,
        "peak_tflops": peak / 1e12 if peak else None,
        "model": init,
        "steps": steps,
        "warmup_steps": warmup,
        "ours": with_mfu(
            bench_ours(
                init, micro, block, steps, warmup, device, compile_model, False, args.optimizer
            )
        ),
    }
    if args.compile_loss:
        print("ours, loss compiled too...", file=sys.stderr)
        result["ours_compiled_loss"] = with_mfu(
            bench_ours(init, micro, block, steps, warmup, device, True, True, args.optimizer)
        )
    if not args.skip_trainer:
        print(f"trainer: HF Trainer defaults, {tr_batch} x {tr_block}...", file=sys.stderr)
        result["trainer"] = with_mfu(bench_trainer(init, tr_batch, tr_block, steps, warmup, device))
        result["ratio"] = round(
            result["ours"]["tokens_per_s"] / result["trainer"]["tokens_per_s"], 2
        )
    ours_mfu = result["ours"]["mfu"]
    result["goal"] = {"mfu": GOAL_MFU, "ratio": GOAL_RATIO}
    result["meets_goal"] = (
        None
        if ours_mfu is None or "ratio" not in result
        else bool(ours_mfu >= GOAL_MFU and result["ratio"] >= GOAL_RATIO)
    )
    result["command"] = shlex.join([sys.executable, *sys.argv])
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
