"""Suggestion latency of two llama.cpp builds, or of two models, side by side in one run.

Each build is a Python environment with this repository importable and its own
llama-cpp-python (the native build of scripts/install.sh in .venv; the portable
build of packaging/portable_llama.sh, which the desktop bundle carries, in
another venv). The rounds alternate between them (A, B, A, B, ...), each one
`writer-bench latency` over the same text with the same settings, so that
whatever else the machine does falls on both alike. Prints one JSON object:
each build's p50 and p95 per round, their medians, and the ratio B / A.

    python benchmarks/compare_builds.py --a .venv/bin/python --b /path/to/portable/bin/python \\
        --model resources/models/writer-default-q8_0.gguf --text PASSAGE --rounds 3

Two models on one build (a new round against an older one): --b defaults to
--a, and --b-model gives B its model (A keeps --model).

    python benchmarks/compare_builds.py --a .venv/bin/python --model OLD.gguf \\
        --b-model resources/models/writer-default-q8_0.gguf --text PASSAGE --rounds 3
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def latency(python: str, model: Path, args: argparse.Namespace) -> dict:
    """One `writer-bench latency` run of `model` under `python`: its JSON report."""
    cmd = [python, "-m", "writer_app.bench", "latency", "--model", str(model)]
    cmd += ["--text", str(args.text), "--threads", str(args.threads), "--json"]
    cmd += ["--confidence", str(args.confidence)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{shlex.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def figures(report: dict) -> tuple[float, float]:
    """(p50, p95) of the whole suggestion, in ms."""
    total = report["suggestion_ms"]
    return total["p50"], total["p95"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", required=True, help="python of build A (the reference)")
    parser.add_argument("--b", help="python of build B (default: --a)")
    parser.add_argument("--model", type=Path, required=True, help="A's model (and B's)")
    parser.add_argument("--b-model", type=Path, help="B's model (default: --model)")
    parser.add_argument("--text", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--confidence", type=float, default=0.0, help="0: the gate off")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    args.b = args.b or args.a
    models = {"a": args.model, "b": args.b_model or args.model}

    runs: dict[str, list[tuple[float, float]]] = {"a": [], "b": []}
    variants = {}
    for _ in range(args.rounds):
        for side in ("a", "b"):
            report = latency(getattr(args, side), models[side], args)
            runs[side].append(figures(report))
            variants[side] = report.get("cpu_variant") or report.get("backend")
    out = {}
    for side in ("a", "b"):
        p50s, p95s = zip(*runs[side], strict=True)
        out[side] = {
            "python": getattr(args, side),
            "model": str(models[side]),
            "variant": variants[side],
            "p50_ms": [round(v, 2) for v in p50s],
            "p95_ms": [round(v, 2) for v in p95s],
            "p50_median": round(statistics.median(p50s), 2),
            "p95_median": round(statistics.median(p95s), 2),
        }
    out["p95_ratio_b_over_a"] = round(out["b"]["p95_median"] / out["a"]["p95_median"], 3)
    out["p50_ratio_b_over_a"] = round(out["b"]["p50_median"] / out["a"]["p50_median"], 3)
    out["command"] = shlex.join([sys.executable, *sys.argv])
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
