"""Training tokens/s on this CPU: fp32, bf16 and bf16 + torch.compile, side by side in one run.

    python benchmarks/cpu_dtype_throughput.py --data TRAIN.txt --val VAL.txt [--base default]

Each setting runs `writer-finetune train` for --steps steps from the same
start (the bundled model by default) on the same data, with the cpu profile's
batch (4 x 512 tokens, accumulated to 2,048), and reports the median tokens/s
of the steps after warm-up (compilation included in the first ones). Prints
one JSON object with the CPU's name and flags, and what `--dtype auto` picks.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SETTINGS = {"fp32": ["--dtype", "fp32"], "bf16": ["--dtype", "bf16"],
            "bf16+compile": ["--dtype", "bf16", "--compile"]}  # fmt: skip


def run(setting: list[str], args, folder: Path) -> float:
    out = folder / "out"
    cmd = [sys.executable, "-m", "finetune.cli", "train", "--data", str(args.data),
           "--val-data", str(args.val), "--base", args.base, "--out", str(out),
           "--cache-dir", str(folder.parent / "cache"), "--block-size", "512",
           "--micro-batch", "4", "--batch-tokens", "2048", "--max-steps", str(args.steps),
           "--log-every", "1", "--eval-every", "100000", "--eval-windows", "1",
           "--threads", str(args.threads), "--no-export", "--no-samples", *setting]  # fmt: skip
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    subprocess.run(cmd, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    rates = [r["tokens_per_s"] for r in rows if "tokens_per_s" in r and r["step"] > args.warmup]
    return statistics.median(rates)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--val", type=Path, required=True)
    ap.add_argument("--base", default="default")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    from finetune.precision import choose_cpu_dtype, cpu_flags

    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, setting in SETTINGS.items():
            folder = Path(tmp) / name.replace("+", "-")
            folder.mkdir()
            rates[name] = round(run(setting, args, folder), 1)
            print(f"{name}: {rates[name]} tokens/s", file=sys.stderr)
    model_name = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            "unknown",
        )
        if Path("/proc/cpuinfo").is_file()
        else "unknown"
    )
    flags = sorted(
        f for f in cpu_flags() if f.startswith(("avx512_bf16", "amx", "avx2", "avx512f"))
    )
    auto = choose_cpu_dtype(256)
    print(
        json.dumps(
            {
                "benchmark": "cpu_dtype_throughput",
                "cpu": model_name,
                "cpu_flags": flags,
                "threads": args.threads,
                "tokens_per_s": rates,
                "ratio_vs_fp32": {k: round(v / rates["fp32"], 2) for k, v in rates.items()},
                "auto_picks": auto.dtype,
                "auto_reason": auto.reason,
                "command": "python benchmarks/cpu_dtype_throughput.py " + " ".join(sys.argv[1:]),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
