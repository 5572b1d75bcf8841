"""The speed the engine is compared with: PyTorch fp32 `generate` on the CPU.

The baseline re-reads the full prompt for every request (no cache kept
between requests), greedy, and makes the same number of new tokens as the
engine did, from the engine's own prompt token ids: the straightforward way
to run a GPT-2 with transformers.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from gpt2gguf.constants import EOS_TOKEN_ID
from writer_app.bench.errors import BenchError


def baseline_ms(checkpoint: Path, records: list[dict], threads: int) -> list[float]:
    """Time PyTorch fp32 generate on each record's prompt ("prompt": token ids), making
    max(1, record["generated_tokens"]) new tokens; return milliseconds per record.

    `checkpoint` is a Hugging Face GPT-2 folder with the engine's weights. Raises
    BenchError if torch or transformers is not installed.
    """
    try:
        import torch
        from transformers import GPT2LMHeadModel
    except ImportError as exc:
        raise BenchError(
            f"--baseline transformers needs the [finetune] extra installed ({exc})"
        ) from exc
    torch.set_num_threads(threads)
    model = GPT2LMHeadModel.from_pretrained(str(checkpoint), dtype=torch.float32).eval()

    def generate(ids: list[int], n_new: int) -> None:
        x = torch.tensor([ids])
        with torch.inference_mode():
            model.generate(
                x,
                attention_mask=torch.ones_like(x),
                max_new_tokens=n_new,
                min_new_tokens=n_new,
                do_sample=False,
                pad_token_id=EOS_TOKEN_ID,
            )

    generate(records[0]["prompt"], 2)  # warm-up, not timed
    times = []
    for n, rec in enumerate(records):
        t0 = time.perf_counter()
        generate(rec["prompt"], max(1, rec["generated_tokens"]))
        times.append((time.perf_counter() - t0) * 1000)
        if n % 10 == 0:
            print(f"baseline: {n + 1}/{len(records)}", file=sys.stderr)
    return times
