"""What a training run shows and leaves behind: progress, loss plot, samples,
the saved model, its GGUF export and MODEL_CARD.md."""

from __future__ import annotations

import json
import math
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path

from gpt2gguf.constants import EOS_TOKEN_ID, TOKENIZER_DIR


class Progress:
    """A one-line progress bar on stderr: step, loss, tokens/s, MFU and ETA."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.tty = sys.stderr.isatty()

    def update(
        self, step: int, total: int, loss: float, tok_s: float, mfu: float | None, elapsed: float
    ) -> None:
        if not self.enabled:
            return
        frac = step / total if total < 10**9 else 0.0
        eta = elapsed / frac - elapsed if frac > 0 else float("nan")
        bar = ("#" * int(20 * frac)).ljust(20)
        mfu_s = f" | MFU {100 * mfu:.1f}%" if mfu is not None else ""
        line = (
            f"[{bar}] step {step}/{total if total < 10**9 else '?'} | loss {loss:.4f} | "
            f"{tok_s:,.0f} tok/s{mfu_s} | {_clock(elapsed)} elapsed, ETA {_clock(eta)}"
        )
        print(
            ("\r" + line) if self.tty else line,
            end="" if self.tty else "\n",
            file=sys.stderr,
            flush=True,
        )

    def note(self, text: str) -> None:
        if self.enabled:
            print(("\n" if self.tty else "") + text, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.enabled and self.tty:
            print(file=sys.stderr)


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
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


def save_model(model, out_dir: Path, tokenizer_source: Path | None) -> None:
    """save_pretrained (safetensors) plus the tokenizer files beside it."""
    model.save_pretrained(out_dir, safe_serialization=True)
    src = (
        tokenizer_source
        if tokenizer_source and (tokenizer_source / "tokenizer.json").is_file()
        else TOKENIZER_DIR
    )
    for name in ("tokenizer.json", "vocab.json", "merges.txt"):
        if (src / name).is_file():
            shutil.copy(src / name, out_dir / name)


def finish(
    cfg,
    out: Path,
    model,
    tokenizer,
    data_summary: dict,
    state: dict,
    tokens_per_step: int,
    device,
    bf16: bool,
) -> dict:
    """Save the best model, export and verify the GGUF, plot, sample, write the card.

    Returns the training summary (also written to OUT/training_summary.json).
    """
    import torch

    from finetune.train import SAMPLE_PROMPTS

    best = out / "best"
    state_dict = type(model).from_pretrained(best).state_dict()
    model.load_state_dict(state_dict)
    model.to(device)
    model_dir = out / "model"
    base_dir = Path(cfg.base) if cfg.base and Path(cfg.base).is_dir() else None
    save_model(model, model_dir, base_dir)

    metrics = read_metrics(out / "metrics.jsonl")
    if metrics:
        plot_loss(metrics, out / "loss_curve.png")
    c = model.config
    summary = {
        "model": {
            "n_layer": c.n_layer,
            "n_embd": c.n_embd,
            "n_head": c.n_head,
            "n_ctx": c.n_positions,
            "vocab_size": c.vocab_size,
            "parameters": sum(p.numel() for p in model.parameters()),
        },
        "start": f"--base {cfg.base}" if cfg.base else f"--init {cfg.init}",
        "steps": state["step"],
        "tokens": state["tokens"],
        "tokens_per_step": tokens_per_step,
        "wall_seconds": round(state["elapsed"], 1),
        "best_val_loss": round(state["best_val"], 5),
        "best_val_ppl": round(math.exp(state["best_val"]), 3),
        "precision": "bf16 autocast" if bf16 else "fp32",
        "device": str(device),
        "data": {k: v for k, v in data_summary.items() if k not in ("cleaning",)},
        "config": asdict(cfg),
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if cfg.samples:
        with torch.no_grad():
            summary["samples"] = sample_continuations(model, tokenizer, SAMPLE_PROMPTS, device)
    (model_dir / "training_summary.json").write_text(json.dumps(summary, indent=1))

    if cfg.export:
        from finetune.export import export_gguf

        name = cfg.name or out.name
        gguf_path = out / f"{name}-{cfg.quant}.gguf"
        result = export_gguf(
            model_dir,
            gguf_path,
            cfg.quant,
            verify=True,
            name=name,
            description=f"GPT-2 trained by writer-finetune on {data_summary.get('train_tokens', 0):,} tokens",
            training_summary={
                k: summary[k] for k in ("start", "steps", "tokens", "wall_seconds", "best_val_ppl")
            },
        )
        summary["export"] = {
            "path": str(gguf_path),
            **{k: v for k, v in result.items() if k != "path"},
        }
    (out / "training_summary.json").write_text(json.dumps(summary, indent=1))
    write_model_card(out / "MODEL_CARD.md", summary)
    print(
        f"done: {model_dir}" + (f", {summary['export']['path']}" if cfg.export else ""),
        file=sys.stderr,
    )
    return summary


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
