"""What a training run shows and leaves behind: the progress bar, metrics.jsonl,
MFU, the loss plot, sample continuations, the training summary and MODEL_CARD.md."""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict
from pathlib import Path

from finetune.outputs import EvalRow, TrainRow
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

SAMPLE_PROMPTS = (
    "The old wizard looked up from his book and said,",
    "Far beyond the mountains, in a land where no one had travelled,",
    '"Where are you going?" asked the girl.',
)


class Progress:
    """The training progress bar on stderr (tqdm): step, loss, tokens/s, MFU and ETA.

    The ETA is the one the caller passes: the schedule planner's remaining
    time, the same estimate that fits a time-budgeted run's length.
    """

    def __init__(self, total: int | None, initial: int = 0, enabled: bool = True):
        from tqdm import tqdm

        self.bar = tqdm(
            total=total,
            initial=initial,
            unit="step",
            file=sys.stderr,
            disable=not enabled,
            dynamic_ncols=True,
            # tqdm's own elapsed and rate would count from this process's start
            # and disagree with the planner; the postfix carries ours.
            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt}{postfix}",
        )
        self.text = ""

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(
        self,
        step: int,
        total: int | None,
        loss: float,
        tok_s: float,
        mfu: float | None,
        elapsed: float,
        remaining: float | None,
    ) -> None:
        """Show the state after `step`; `remaining` is the planner's estimate in seconds."""
        mfu_s = f" | MFU {100 * mfu:.1f}%" if mfu is not None else ""
        self.text = (
            f"loss {loss:.4f} | {tok_s:,.0f} tok/s{mfu_s} | "
            f"{clock(elapsed)} elapsed, ETA {clock(remaining)}"
        )
        self.bar.total = total
        self.bar.n = step
        self.bar.set_postfix_str(self.text, refresh=True)

    def note(self, text: str) -> None:
        """A line above the bar (evaluations, early stop)."""
        if not self.bar.disable:
            self.bar.write(text, file=sys.stderr)

    def close(self) -> None:
        self.bar.close()


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


def model_line(model, device, bf16: bool, cfg, world: int, accum: int) -> str:
    """The run's first line on stderr: the model, precision, device, optimizer and batch.

    `cfg` is the run's TrainConfig, its block size resolved.
    """
    c = model.config
    n_params = sum(p.numel() for p in model.parameters())
    micro, block = cfg.micro_batch, cfg.block_size
    return (
        f"model: {n_params / 1e6:.1f}M params, {c.n_layer} layers x {c.n_embd}, "
        f"{'bf16' if bf16 else 'fp32'} on {device}{' (compiled)' if cfg.compile else ''}, "
        f"{cfg.optimizer}, world {world}; {accum * micro * block * world:,} tokens/step "
        f"({accum} x {micro} x {block})"
    )


class Throughput:
    """Tokens/s and MFU since the last reading (one log line to the next)."""

    def __init__(self, flops_per_token: float, peak: float | None):
        self.flops_per_token, self.peak = flops_per_token, peak
        self.since, self.tokens = time.time(), 0

    def add(self, tokens: int) -> None:
        self.tokens += tokens

    def take(self) -> tuple[float, float | None]:
        """(tokens/s, MFU or None where the peak is unknown) since the last call; restarts."""
        now = time.time()
        tok_s = self.tokens / max(now - self.since, 1e-9)
        self.since, self.tokens = now, 0
        return tok_s, (tok_s * self.flops_per_token / self.peak if self.peak else None)


class MetricsLog:
    """OUT/metrics.jsonl, appended (a resumed run continues the same file); only the
    writing rank writes. Train rows carry `loss`, evaluation rows `val_loss`."""

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
            atomic_write(self.path, "".join(keep).encode())

    def log(self, row: TrainRow | EvalRow) -> None:
        """Append a row (finetune.outputs: the types the app reads them back as)."""
        if self.enabled:
            with open(self.path, "a") as f:
                f.write(json.dumps(asdict(row)) + "\n")


def train_row(
    *,
    step: int,
    tokens: int,
    loss: float,
    lr: float,
    tokens_per_s: float,
    mfu: float | None,
    elapsed: float,
    remaining_s: float | None,
    total_steps: int | None,
) -> TrainRow:
    """A training row, its figures rounded as metrics.jsonl keeps them."""
    return TrainRow(
        step=step,
        tokens=tokens,
        loss=round(loss, 5),
        lr=lr,
        tokens_per_s=round(tokens_per_s, 1),
        mfu=mfu,
        elapsed=round(elapsed, 2),
        remaining_s=None if remaining_s is None else round(remaining_s, 1),
        total_steps=total_steps,
    )


def eval_row(*, step: int, tokens: int, val_loss: float, elapsed: float) -> EvalRow:
    """An evaluation row, with the perplexity beside the loss."""
    return EvalRow(
        step=step,
        tokens=tokens,
        val_loss=round(val_loss, 5),
        val_ppl=round(math.exp(val_loss), 3),
        elapsed=round(elapsed, 2),
    )


def clock(seconds: float | None) -> str:
    """Seconds as h:mm:ss, or "?" when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def read_metrics(path: Path) -> list[dict]:
    """The rows of a metrics.jsonl file (train rows have `loss`, eval rows `val_loss`)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def plot_loss(metrics: list[dict], path: Path) -> None:
    """Train and val loss against tokens seen, as a PNG (skipped, with a warning, without matplotlib)."""
    try:
        import matplotlib
    except ImportError:
        print("warning: matplotlib is not installed; no loss_curve.png", file=sys.stderr)
        return

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [(r["tokens"], r["loss"]) for r in metrics if "loss" in r]
    val = [(r["tokens"], r["val_loss"]) for r in metrics if "val_loss" in r]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    if train:
        ax.plot(*zip(*train, strict=True), label="train", lw=1, alpha=0.8)
    if val:
        ax.plot(*zip(*val, strict=True), "o-", label="val", lw=1.5, ms=3)
    ax.set_xlabel("tokens")
    ax.set_ylabel("loss (nats/token)")
    ax.set_title("training loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def sample_continuations(model, tokenizer, prompts, device, max_new_tokens: int = 40) -> list[dict]:
    """Greedy-ish continuations (top-k 40, fixed seed) of a few prompts, for the card."""
    import torch

    model.eval()
    out = []
    torch.manual_seed(0)
    for prompt in prompts:
        ids = torch.tensor([tokenizer.encode(prompt).ids], device=device)
        with torch.no_grad():
            gen = model.generate(
                ids,
                max_new_tokens=max_new_tokens,
                do_sample=True,
                top_k=40,
                temperature=0.8,
                pad_token_id=EOS_TOKEN_ID,
                eos_token_id=EOS_TOKEN_ID,
            )
        text = tokenizer.decode(gen[0, ids.shape[1] :].tolist())
        out.append({"prompt": prompt, "continuation": text})
    return out


def training_summary(result, model) -> dict:
    """The summary of a finished run (OUT/training_summary.json, and the card's figures).

    `result` is the run's finetune.train.TrainResult; `model` the model saved
    from it.
    """
    from finetune.checkpoint import start_words

    cfg, c = result.config, model.config
    return {
        "model": {
            "n_layer": c.n_layer,
            "n_embd": c.n_embd,
            "n_head": c.n_head,
            "n_ctx": c.n_positions,
            "vocab_size": c.vocab_size,
            "parameters": sum(p.numel() for p in model.parameters()),
        },
        "start": start_words(asdict(cfg)),
        "steps": result.steps,
        "tokens": result.tokens,
        "tokens_per_step": result.tokens_per_step,
        "wall_seconds": round(result.elapsed, 1),
        "stopped": result.stopped,
        "best_val_loss": round(result.best_val_loss, 5),
        "best_val_ppl": round(math.exp(result.best_val_loss), 3),
        "precision": "bf16 autocast" if result.bf16 else "fp32",
        "device": result.device,
        "data": {k: v for k, v in result.data_summary.items() if k != "cleaning"},
        "config": asdict(cfg),
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def write_model_card(path: Path, s: dict) -> None:
    """MODEL_CARD.md from a training summary."""
    m, d = s["model"], s["data"]
    lines = [
        f"# Model card: {Path(s['config']['out']).name}",
        "",
        f"GPT-2 architecture, {m['parameters'] / 1e6:.1f}M parameters: {m['n_layer']} layers, width {m['n_embd']}, "
        f"{m['n_head']} heads, context {m['n_ctx']}, vocabulary {m['vocab_size']}. Started from {s['start']}.",
        "",
        "## Data",
        "",
        f"- Training files: {len(d.get('train_files', []))}; validation: {d.get('val_split')}",
        f"- Cleaning: {d.get('cleaning_summary')}",
        f"- Tokens: {d.get('train_tokens', 0):,} train, {d.get('val_tokens', 0):,} val "
        f"({d.get('train_documents')} / {d.get('val_documents')} documents)",
        "",
        "## Training",
        "",
        f"- Steps: {s['steps']:,}; tokens seen: {s['tokens']:,} ({s['tokens_per_step']:,} per step)",
        f"- Wall time: {s['wall_seconds'] / 60:.1f} min on {s['device']}, {s['precision']}",
        f"- Best validation loss {s['best_val_loss']:.4f}, perplexity **{s['best_val_ppl']:.2f}** "
        "(PyTorch, on windows spread across the validation tokens)",
        "",
        "Settings:",
        "",
        "```json",
        json.dumps({k: v for k, v in s["config"].items() if v not in (None, [], False)}, indent=1),
        "```",
        "",
    ]
    if "export" in s:
        e = s["export"]
        lines += ["## Export", "", f"- File: `{Path(e['path']).name}`"]
        for key in ("quant", "file_mb", "verify"):
            if key in e:
                lines.append(f"- {key}: `{json.dumps(e[key])}`")
        lines.append("")
    if s.get("samples"):
        lines += ["## Sample continuations", "", "(top-k 40, temperature 0.8)", ""]
        for smp in s["samples"]:
            lines += [f"> **{smp['prompt']}**{smp['continuation']}", ""]
    path.write_text("\n".join(lines))
