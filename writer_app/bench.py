"""writer-bench: the app's engine driven by a simulated writer; prints one JSON object.

    writer-bench latency --model M.gguf --text story.txt [--threads N] [--n-ctx 512]
                         [--baseline transformers --checkpoint DIR] [--max-requests N] [--json]
    writer-bench ksr --model M.gguf --text story.txt [--json]

latency: the writer types the text; at each pause after a word, the app would
ask for a suggestion unless the one shown still agrees with what was typed
since (type-through). Each request goes through Engine.suggest, as in the app.
With --baseline transformers the same prompts (same token ids) also go
through PyTorch fp32 `generate` on the CPU the notebook's way: the full prompt
every time, greedy, the same number of new tokens.

ksr: keystroke-savings rate. The writer types the text character by
character; whenever no live suggestion agrees with the typed text a request
is made; a suggestion equal to the upcoming text is taken with Tab (one
keystroke), else its first k whole words, if they match, with Ctrl+Right k
times. ksr = 1 - keystrokes / characters, for Tab only and for Tab + words.

Progress goes to stderr, the JSON to stdout (pretty; one line with --json).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from writer_app.engine import Engine, EngineConfig, EngineError, type_through

WORD_WITH_SPACE = re.compile(r"\s*\S+")

# What the simulated writer asks: the same engine call the app makes, plus the
# upcoming text (only the KSR simulation's suggest function uses it).
SuggestFn = Callable[[str, str], "str | None"]


# ----- KSR: pure keystroke arithmetic ------------------------------------------------------
@dataclass
class KsrCount:
    """Outcome of one simulated typing of a text."""

    chars: int = 0
    keystrokes: int = 0
    suggestions: int = 0  # requests made
    accepted: int = 0  # suggestions taken (Tab, or Ctrl+Right for some of their words)

    @property
    def ksr(self) -> float:
        """1 - keystrokes/chars: the share of keystrokes the suggestions saved."""
        return 1.0 - self.keystrokes / self.chars if self.chars else 0.0


def matching_words(suggestion: str, upcoming: str) -> tuple[int, int]:
    """Return (k, length): the first k whole words of `suggestion` (with their leading
    whitespace) equal the upcoming text, and together are `length` characters long.

    A word is whole when the upcoming text also ends it there (whitespace or end follows).
    """
    k = length = 0
    for m in WORD_WITH_SPACE.finditer(suggestion):
        end = m.end()
        if upcoming[:end] != suggestion[:end]:
            break
        if end < len(upcoming) and not upcoming[end].isspace():
            break
        k, length = k + 1, end
    return k, length


def simulate_writer(text: str, suggest: SuggestFn, *, word_accept: bool) -> KsrCount:
    """Type `text` with suggestions and count keystrokes; return the KsrCount.

    `suggest(text_before, upcoming)` returns a suggestion or None. Tab takes a
    suggestion that equals the upcoming text; with `word_accept`, Ctrl+Right
    takes each matching whole word (k presses for k words). A suggestion stays
    live while typed characters agree with it (type-through); a new request is
    made whenever none is live. `accepted` counts suggestions taken, wholly or in part.
    """
    count = KsrCount(chars=len(text))
    i = 0
    live: str | None = None
    taken = False  # the live suggestion was already counted as accepted
    while i < len(text):
        if not live:
            live, taken = suggest(text[:i], text[i:]), False
            count.suggestions += 1
        upcoming = text[i:]
        if live and upcoming.startswith(live):
            count.keystrokes += 1  # Tab
            count.accepted += 0 if taken else 1
            i += len(live)
            live = None
            continue
        if live and word_accept:
            k, length = matching_words(live, upcoming)
            if k:
                count.keystrokes += k  # Ctrl+Right, k times
                count.accepted += 0 if taken else 1
                taken = True
                i += length
                live = live[length:]  # the rest stays shown but disagrees: typing kills it
                continue
        count.keystrokes += 1  # type one character
        live = type_through(live, text[i]) if live else None
        i += 1
    return count


def stop_once_diverged(upcoming: str) -> Callable[[str], bool]:
    """Return a stop_when for Engine.suggest: true once the suggestion so far
    disagrees with `upcoming` in a non-space character.

    Nothing after that point can be accepted (Tab needs all of it, Ctrl+Right
    stops at the first wrong word), so stopping there gives the same
    keystrokes as the full suggestion, only sooner. The disagreeing character
    is kept so the suggestion still disagrees after shaping strips spaces.
    """

    def stop(text: str) -> bool:
        n = min(len(text), len(upcoming))
        d = next((j for j in range(n) if text[j] != upcoming[j]), n)
        return d < len(text) and not text[d:].isspace()

    return stop


def engine_suggest_fn(engine: Engine, memo: dict[int, str | None] | None = None) -> SuggestFn:
    """Return a SuggestFn calling engine.suggest, stopping once the suggestion diverges.

    Results are remembered by cursor position in `memo`: the Tab-only and the
    Tab + words runs type the same text, so they share most requests.
    """
    memo = {} if memo is None else memo

    def suggest(before: str, upcoming: str) -> str | None:
        if len(before) not in memo:
            s = engine.suggest(before, stop_when=stop_once_diverged(upcoming))
            memo[len(before)] = s.text if s is not None else None
        return memo[len(before)]

    return suggest


# ----- latency ---------------------------------------------------------------------------
def pause_points(text: str) -> list[int]:
    """Return where the simulated writer pauses: just after the space that ends each word,
    and at the end of the text."""
    points = [m.end() for m in re.finditer(r"\S\s", text)]
    if text and (not points or points[-1] != len(text)):
        points.append(len(text))
    return points


def _spread(items: list, n: int | None) -> list:
    """Return at most n items evenly spread over `items` (all of them if n is None)."""
    if n is None or n >= len(items):
        return list(items)
    if n <= 0:
        return []
    step = len(items) / n
    return [items[int(k * step)] for k in range(n)]


def percentiles(values: list[float]) -> dict[str, float]:
    """Return p50, p95 and max of `values` (ms, rounded), or {} for no values."""
    if not values:
        return {}
    ordered = sorted(values)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    return {"p50": round(pct(50), 2), "p95": round(pct(95), 2), "max": round(ordered[-1], 2)}


def rss_mb() -> float:
    """Return this process's resident memory in MB (current on Linux, else peak)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def run_latency(
    engine: Engine, text: str, *, max_requests: int | None = None, keep_prompts: bool = False
) -> list[dict]:
    """Type `text` as the app's writer would; return one record per engine request.

    Each record: position, suggestion_ms (wall time of suggest), first_token_ms,
    prompt_tokens_evaluated, generated_tokens, none (no suggestion came), and
    with `keep_prompts` the prompt's token ids (taken after the timing).
    """
    points = _spread(pause_points(text), max_requests)
    records = []
    shown: str | None = None
    shown_at = 0
    for n, pos in enumerate(points):
        if shown:
            rest = type_through(shown, text[shown_at:pos])
            if rest:  # the shown suggestion still agrees: the app makes no request
                continue
        t0 = time.perf_counter()
        s = engine.suggest(text[:pos])
        ms = (time.perf_counter() - t0) * 1000
        stats = engine.last_stats  # also filled when the suggestion was None
        records.append(
            {
                "position": pos,
                "suggestion_ms": ms,
                "first_token_ms": stats["first_token_ms"],
                "prompt_tokens_evaluated": stats["prompt_tokens_evaluated"],
                "generated_tokens": stats["generated_tokens"],
                "none": s is None,
            }
        )
        if keep_prompts:  # the window the engine used now; later it will have moved on
            records[-1]["prompt"] = engine.prompt_tokens(text[:pos])
        shown, shown_at = (s.text if s is not None else None), pos
        if n % 25 == 0:
            print(
                f"latency: {n + 1}/{len(points)} pauses, {len(records)} requests", file=sys.stderr
            )
    return records


def run_baseline(checkpoint: Path, records: list[dict], threads: int) -> list[float]:
    """Time the notebook's way for each record: PyTorch fp32 generate on the CPU with
    the full prompt (the engine's own token ids), greedy, the same number of new tokens.
    Returns milliseconds per record. Raises SystemExit if torch/transformers are missing.
    """
    try:
        import torch
        from transformers import GPT2LMHeadModel
    except ImportError as exc:
        raise SystemExit(
            f"writer-bench: --baseline transformers needs the [finetune] extra ({exc})"
        ) from exc
    torch.set_num_threads(threads)
    model = GPT2LMHeadModel.from_pretrained(str(checkpoint), dtype=torch.float32).eval()
    eos = 50256

    def generate(ids: list[int], n_new: int) -> None:
        x = torch.tensor([ids])
        with torch.inference_mode():
            model.generate(
                x,
                attention_mask=torch.ones_like(x),
                max_new_tokens=n_new,
                min_new_tokens=n_new,
                do_sample=False,
                pad_token_id=eos,
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


def latency_report(args: argparse.Namespace) -> dict:
    """Run the latency benchmark for parsed args; return the JSON-ready report."""
    if args.baseline == "transformers" and args.checkpoint is None:
        raise SystemExit(
            "writer-bench: --baseline transformers needs --checkpoint DIR (the same weights)"
        )
    text = _read_text(args.text)
    engine = _open_engine(args)
    with engine:
        records = run_latency(
            engine, text, max_requests=args.max_requests, keep_prompts=args.baseline is not None
        )
        if not records:
            raise SystemExit("writer-bench: the text produced no requests")
        report = {
            "benchmark": "latency",
            "model": str(args.model),
            "model_name": engine.model_name,
            "backend": engine.backend,
            "threads": engine.n_threads,
            "n_ctx": engine.n_ctx,
            "chars": len(text),
            "requests": len(records),
            "no_suggestion": sum(r["none"] for r in records),
            "first_token_ms": percentiles([r["first_token_ms"] for r in records]),
            "suggestion_ms": percentiles([r["suggestion_ms"] for r in records]),
            "prompt_tokens_evaluated_mean": round(
                statistics.mean([r["prompt_tokens_evaluated"] for r in records]), 2
            ),
            "generated_tokens_mean": round(
                statistics.mean([r["generated_tokens"] for r in records]), 2
            ),
            "rss_mb": rss_mb(),
        }
        if args.baseline == "transformers":
            subset = _spread(records, args.baseline_requests)
            base = run_baseline(Path(args.checkpoint), subset, engine.n_threads)
            ratios = [b / r["suggestion_ms"] for b, r in zip(base, subset, strict=True)]
            report["baseline"] = "transformers fp32 generate, CPU, full prompt"
            report["baseline_requests"] = len(subset)
            report["baseline_suggestion_ms"] = percentiles(base)
            report["engine_suggestion_ms_same_requests"] = percentiles(
                [r["suggestion_ms"] for r in subset]
            )
            report["speedup"] = round(statistics.median(ratios), 2)
    return report


def ksr_report(args: argparse.Namespace) -> dict:
    """Run the KSR simulation (Tab only, then Tab + words) for parsed args; return the report."""
    text = _read_text(args.text)
    engine = _open_engine(args)
    with engine:
        t0 = time.perf_counter()
        print("ksr: Tab only...", file=sys.stderr)
        memo: dict[int, str | None] = {}
        tab = simulate_writer(text, engine_suggest_fn(engine, memo), word_accept=False)
        print("ksr: Tab + Ctrl+Right...", file=sys.stderr)
        word = simulate_writer(text, engine_suggest_fn(engine, memo), word_accept=True)
        return {
            "benchmark": "ksr",
            "model": str(args.model),
            "model_name": engine.model_name,
            "backend": engine.backend,
            "threads": engine.n_threads,
            "chars": len(text),
            "ksr_tab": round(tab.ksr, 4),
            "ksr_word": round(word.ksr, 4),
            "suggestions": word.suggestions,
            "accepted": word.accepted,
            "tab_only": asdict(tab),
            "tab_and_words": asdict(word),
            "engine_requests": len(memo),
            "seconds": round(time.perf_counter() - t0, 1),
        }


# ----- CLI -------------------------------------------------------------------------------
def _read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SystemExit(f"writer-bench: cannot read {path}: {exc}") from exc


def _open_engine(args: argparse.Namespace) -> Engine:
    config = EngineConfig(
        model_path=Path(args.model),
        n_threads=args.threads,
        n_ctx=args.n_ctx,
        n_gpu_layers=args.gpu_layers,
    )
    try:
        return Engine(config)
    except EngineError as exc:
        raise SystemExit(f"writer-bench: {exc}") from exc


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="GGUF model file")
    p.add_argument("--text", required=True, help="UTF-8 text the simulated writer types")
    p.add_argument(
        "--threads", type=int, default=None, help="CPU threads (default: physical cores)"
    )
    p.add_argument(
        "--n-ctx",
        type=int,
        default=EngineConfig.n_ctx,
        help="context size in tokens (default %(default)s)",
    )
    p.add_argument(
        "--gpu-layers",
        type=int,
        default=None,
        help="layers to offload (default: all if a GPU backend exists)",
    )
    p.add_argument("--json", action="store_true", help="print the JSON on one line")


def build_parser() -> argparse.ArgumentParser:
    """Return writer-bench's argument parser."""
    parser = argparse.ArgumentParser(prog="writer-bench", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    lat = sub.add_parser("latency", help="suggestion latency while a simulated writer types")
    _add_common(lat)
    lat.add_argument(
        "--baseline", choices=["transformers"], default=None, help="also time PyTorch generate"
    )
    lat.add_argument(
        "--checkpoint",
        default=None,
        help="HF checkpoint dir with the same weights (for --baseline)",
    )
    lat.add_argument(
        "--max-requests", type=int, default=None, help="spread at most N pauses over the text"
    )
    lat.add_argument(
        "--baseline-requests",
        type=int,
        default=30,
        help="requests (spread evenly) also run by the baseline (default %(default)s)",
    )
    ksr = sub.add_parser("ksr", help="keystroke-savings rate")
    _add_common(ksr)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of writer-bench; prints the report as JSON and returns 0."""
    args = build_parser().parse_args(argv)
    report = latency_report(args) if args.command == "latency" else ksr_report(args)
    report["command"] = " ".join(["writer-bench", *(argv if argv is not None else sys.argv[1:])])
    report["cpu_count"] = os.cpu_count()
    print(json.dumps(report) if args.json else json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
