"""Suggestion latency while the app trains on the writer's texts (issue 17). Prints one JSON object.

    .venv/bin/python benchmarks/training_contention.py [--model M.gguf] [--requests 300]
        [--seconds 120] [--gap-ms 200] [--train-words 20000] [--minutes 15] [--no-split]

In one run, through the engine's own process as in the app:
1. idle: suggestion latency (round trip, ms) on the settings' threads;
2. training: the same requests while a real `writer-finetune train` runs from
   the same model, started exactly as the app starts it (writer_app.training.job:
   all cores but one, nice 19, OMP_WAIT_POLICY=PASSIVE), with the engine held to
   one thread as SuggestionController.set_thread_limit does.
`--no-split` runs the training on every core, at normal priority, with spinning
OpenMP threads and the engine on the settings' threads: the case that made a
benchmark take 146 s instead of 7 s.

The simulated writer pauses after each word of STORY (benchmarks/engine_latency.py),
and asks for the next suggestion --gap-ms later (0: back to back, the worst case).
The goal is p95 <= 150 ms while training. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_latency import STORY  # noqa: E402

from finetune.outputs import MetricsRow  # noqa: E402
from gpt2gguf.constants import default_model_path  # noqa: E402
from writer_app.engine.client import RemoteEngine  # noqa: E402
from writer_app.engine.config import EngineConfig  # noqa: E402
from writer_app.training.job import JobSpec, command, core_split, environment  # noqa: E402
from writer_app.training.metrics import MetricsReader  # noqa: E402
from writer_app.training.scan import scan, split, write_split  # noqa: E402

GOAL_P95_MS = 150.0
TRAINING_STARTS_S = 600  # the longest wait for the first training step


def pauses(text: str, n: int) -> list[str]:
    """Return `n` prompts: the text up to the end of each word, cycling through it."""
    ends = [i for i, c in enumerate(text) if c == " " and i > 200]
    return [text[: ends[k % len(ends)]] for k in range(n)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(engine: RemoteEngine, prompts: list[str], seconds: float, gap_s: float) -> dict:
    """Time each suggestion's round trip, for all `prompts` and at least `seconds`
    (cycling through them), `gap_s` apart; return p50, p95 and max in ms."""
    engine.suggest(prompts[0])  # warm: the first request loads the caches
    times = []
    start = time.perf_counter()
    while len(times) < len(prompts) or time.perf_counter() - start < seconds:
        prompt = prompts[len(times) % len(prompts)]
        t0 = time.perf_counter()
        engine.suggest(prompt)
        times.append((time.perf_counter() - t0) * 1000)
        time.sleep(gap_s)  # the writer types on: the pause before the next suggestion
    return {
        "requests": len(times),
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(percentile(times, 0.95), 2),
        "max_ms": round(max(times), 2),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=default_model_path())
    p.add_argument("--requests", type=int, default=300, help="suggestions per phase")
    p.add_argument(
        "--seconds",
        type=float,
        default=120,
        help="the least time per phase (training steps are slow)",
    )
    p.add_argument(
        "--gap-ms",
        type=float,
        default=200,
        help="time between requests (default: the app's pause before suggesting; 0: back to back)",
    )
    p.add_argument("--threads", type=int, default=0, help="the engine's threads (0: auto)")
    p.add_argument("--train-words", type=int, default=20_000, help="size of the training text")
    p.add_argument("--minutes", type=float, default=15, help="the run's --max-minutes")
    p.add_argument("--no-split", action="store_true", help="train as if nothing else ran")
    p.add_argument("--train-args", default="", help="more writer-finetune train flags")
    args = p.parse_args()

    cores = os.cpu_count() or 1
    train_threads, engine_threads = core_split(cores)
    config = EngineConfig(model_path=args.model, n_threads=args.threads or None)
    prompts = pauses(STORY, args.requests)
    gap = args.gap_ms / 1000
    result: dict = {
        "model": str(args.model),
        "cores": cores,
        "split": not args.no_split,
        "gap_ms": args.gap_ms,
    }
    with tempfile.TemporaryDirectory() as tmp, RemoteEngine(config) as engine:
        result["idle"] = {
            "engine_threads": engine.n_threads,
            **measure(engine, prompts, args.seconds, gap),
        }

        folder = Path(tmp) / "texts"
        folder.mkdir()
        words = STORY.split()
        text = " ".join(words[i % len(words)] for i in range(args.train_words))
        (folder / "story.txt").write_text(text.replace(". ", ".\n\n"), encoding="utf-8")
        train_dir, val_file = write_split(split(scan(folder)), Path(tmp) / "data")
        spec = JobSpec(
            base=args.model,
            train_dir=train_dir,
            val_file=val_file,
            out=Path(tmp) / "train",
            minutes=args.minutes,
            threads=cores if args.no_split else train_threads,
            extra_args=[
                "--cache-dir",
                str(Path(tmp) / "cache"),
                "--log-every",
                "1",  # a row per step, to count the steps made meanwhile
                *shlex.split(args.train_args),
            ],
        )
        cmd = command(spec)
        env = environment(threads=spec.threads)
        if args.no_split:
            cmd = cmd[cmd.index(sys.executable) :]  # no nice
            env.pop("OMP_WAIT_POLICY")
        else:
            engine.client.configure(dataclasses.replace(config, n_threads=engine_threads))
        result["training_command"] = shlex.join(cmd)
        # A file, not a pipe: nobody reads the progress while the engine is timed, and a
        # full pipe would stall the training being measured against.
        log_path = Path(tmp) / "train.log"
        with open(log_path, "w") as log_file:
            proc = subprocess.Popen(cmd, env=env, stderr=log_file, text=True)
        reader = MetricsReader(spec.out / "metrics.jsonl")

        def latest(last: MetricsRow | None = None) -> MetricsRow | None:
            rows, _ = reader.read_new()
            return rows[-1] if rows else last

        try:
            deadline = time.time() + TRAINING_STARTS_S
            before = None
            while before is None:  # measure during steps, not during imports
                if proc.poll() is not None or time.time() > deadline:
                    raise SystemExit(f"training did not start:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.5)
                before = latest()
            t0 = time.time()
            busy = measure(engine, prompts, args.seconds, gap)
            seconds = time.time() - t0
            after = latest(before)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        tokens = after.tokens - before.tokens
        result["training"] = {
            "engine_threads": engine.client.summary["n_threads"],
            "train_threads": spec.threads,
            **busy,
            "phase_s": round(seconds, 1),
            "train_steps": after.step - before.step,
            "train_tokens_per_s": round(tokens / seconds, 1) if seconds else None,
        }
    result["goal_p95_ms"] = GOAL_P95_MS
    result["goal_met"] = result["training"]["p95_ms"] <= GOAL_P95_MS
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    result["command"] = shlex.join([sys.executable, *sys.argv])
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
