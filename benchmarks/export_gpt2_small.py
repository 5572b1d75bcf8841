"""Time `writer-finetune export` to q8_0 (with its default verify) on the real GPT-2-small shape.

Builds a random-init GPT2LMHeadModel of GPT-2 small's shape (12 layers, 768
wide, 12 heads, 1024 context, 50257 tokens: 124M parameters) in a temp dir,
exports it, and prints one JSON object. Target: under 30 s.

    .venv/bin/python benchmarks/export_gpt2_small.py
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from finetune.export import export_gguf

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        checkpoint = Path(tmp) / "gpt2-small-random"
        t0 = time.perf_counter()
        model = GPT2LMHeadModel(
            GPT2Config(n_layer=12, n_embd=768, n_head=12, n_positions=1024, vocab_size=50257)
        )
        model.save_pretrained(str(checkpoint), safe_serialization=True)
        n_params = sum(p.numel() for p in model.parameters())
        del model
        seconds_build = time.perf_counter() - t0
        print(
            f"built {n_params / 1e6:.0f}M-parameter checkpoint in {seconds_build:.1f} s; exporting...",
            file=sys.stderr,
        )

        out = Path(tmp) / "gpt2-small-q8_0.gguf"
        summary = export_gguf(checkpoint, out, "q8_0")
        result = {
            "benchmark": "export GPT-2 small shape (random init) to q8_0 with verify",
            "seconds": summary["seconds"],
            "seconds_convert": summary["seconds_convert"],
            "seconds_quantize": summary["seconds_quantize"],
            "seconds_verify": summary["seconds_verify"],
            "file_mb": round(summary["size_bytes"] / 1e6, 1),
            "n_params": n_params,
            "verify": summary["verify"],
            "target_seconds": 30,
            "cpus": os.cpu_count(),
            "command": shlex.join([sys.executable, *sys.argv]),
        }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
