"""writer-bench: the app's engine driven by a simulated writer; prints one JSON object.

    writer-bench latency --model M.gguf --text story.txt [--threads N] [--n-ctx 512]
                         [--baseline transformers --checkpoint DIR] [--max-requests N]
                         [--process in|child|both] [--json]
    writer-bench ksr --model M.gguf --text story.txt [--confidence C] [--no-cache] [--fast] [--json]
    writer-bench ppl --model M.gguf --text book.txt [--no-cache] [--json]       (bench_quality.py)
    writer-bench quality --model M.gguf --text story.txt [--fast] [--json]      (bench_quality.py)

latency: the writer types the text; at each pause after a word, the app would
ask for a suggestion unless the one shown still agrees with what was typed
since (type-through). Each request goes through Engine.suggest, as in the app.
With --baseline transformers the same prompts (same token ids) also go
through PyTorch fp32 `generate` on the CPU the notebook's way: the full prompt
every time, greedy, the same number of new tokens.
With --process child the requests go to an engine process, as in the app
(engine/client.py), so the boundary's cost is measured; --process both runs
the same text through the engine process, then in-process, and reports the
difference and the boundary's own cost per request (round trip minus the
engine's time), with the memory of both processes.

ksr: keystroke-savings rate. The writer types the text character by
character; whenever no live suggestion agrees with the typed text a request
is made; a suggestion equal to the upcoming text is taken with Tab (one
keystroke), else its first k whole words, if they match, with Ctrl+Right k
times. ksr = 1 - keystrokes / characters, for Tab only and for Tab + words.
The document is what the writer has typed so far (it feeds the document
cache). Also reported, for Tab + words: shown (requests that gave a
suggestion), acceptance_rate (accepted / shown), words_shown,
words_accepted and mean_accepted_chars (characters per acceptance).

Progress goes to stderr, the JSON to stdout (pretty; one line with --json).
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from writer_app.engine import Engine, EngineConfig, EngineError, type_through
from writer_app.engine.client import RemoteEngine
from writer_app.engine.host import rss_mb

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
    shown: int = 0  # requests that gave a suggestion (not None, not empty)
    accepted: int = 0  # suggestions taken (Tab, or Ctrl+Right for some of their words)
    words_shown: int = 0  # words in the suggestions shown
    words_accepted: int = 0  # words taken with Tab or Ctrl+Right
    chars_accepted: int = 0  # characters taken with Tab or Ctrl+Right

    @property
    def ksr(self) -> float:
        """1 - keystrokes/chars: the share of keystrokes the suggestions saved."""
        return 1.0 - self.keystrokes / self.chars if self.chars else 0.0

    @property
    def acceptance_rate(self) -> float:
        """accepted / shown: the share of suggestions shown that the writer took, wholly or in part."""
        return self.accepted / self.shown if self.shown else 0.0

    @property
    def mean_accepted_chars(self) -> float:
        """Characters taken per accepted suggestion."""
        return self.chars_accepted / self.accepted if self.accepted else 0.0

    def summary(self) -> dict:
        """Return the counts and the rates, rounded, as a JSON-ready dict."""
        return {
            **asdict(self),
            "ksr": round(self.ksr, 4),
            "acceptance_rate": round(self.acceptance_rate, 4),
            "mean_accepted_chars": round(self.mean_accepted_chars, 2),
        }


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
    made whenever none is live. `accepted` counts suggestions taken, wholly or in part;
    `shown` the requests that gave one, and `words_shown` their words.
    """
    count = KsrCount(chars=len(text))
    i = 0
    live: str | None = None
    taken = False  # the live suggestion was already counted as accepted
    while i < len(text):
        if not live:
            live, taken = suggest(text[:i], text[i:]), False
            count.suggestions += 1
            if live:
                count.shown += 1
                count.words_shown += len(WORD_WITH_SPACE.findall(live))
        upcoming = text[i:]
        if live and upcoming.startswith(live):
            count.keystrokes += 1  # Tab
            count.accepted += 0 if taken else 1
            count.words_accepted += len(WORD_WITH_SPACE.findall(live))
            count.chars_accepted += len(live)
            i += len(live)
            live = None
            continue
        if live and word_accept:
            k, length = matching_words(live, upcoming)
            if k:
                count.keystrokes += k  # Ctrl+Right, k times
                count.accepted += 0 if taken else 1
                count.words_accepted += k
                count.chars_accepted += length
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


def engine_suggest_fn(
    engine: Engine, memo: dict[int, str | None] | None = None, *, fast: bool = False
) -> SuggestFn:
    """Return a SuggestFn calling engine.suggest as the app does: the document is
    what the writer has typed so far (Engine.set_document), the cursor at its end.

    With `fast`, generation stops once the suggestion disagrees with the text
    (stop_once_diverged): the same keystrokes, shown and accepted counts, but
    words_shown then counts only the words generated. Results are remembered by
    cursor position in `memo`: the Tab-only and the Tab + words runs type the
    same text, so they share most requests.
    """
    memo = {} if memo is None else memo

    def suggest(before: str, upcoming: str) -> str | None:
        if len(before) not in memo:
            engine.set_document(before)
            stop = stop_once_diverged(upcoming) if fast else None
            s = engine.suggest(before, stop_when=stop)
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


def ksr_figures(tab, word) -> dict:
    """The keystroke-savings and acceptance figures of a Tab-only and a Tab+Ctrl+Right run."""
    return {
        "ksr_tab": round(tab.ksr, 4),
        "ksr_word": round(word.ksr, 4),
        "suggestions": word.suggestions,
        "shown": word.shown,
        "accepted": word.accepted,
        "acceptance_rate": round(word.acceptance_rate, 4),
        "words_shown": word.words_shown,
        "words_accepted": word.words_accepted,
        "mean_accepted_chars": round(word.mean_accepted_chars, 2),
    }


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
    # The document cache learns from what the writer typed (in-process engines).
    sync_document = getattr(engine, "set_document", None)
    shown: str | None = None
    shown_at = 0
    for n, pos in enumerate(points):
        if shown:
            rest = type_through(shown, text[shown_at:pos])
            if rest:  # the shown suggestion still agrees: the app makes no request
                continue
        if sync_document is not None:  # the app reports edits as they happen, not timed here
            sync_document(text[:pos])
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
            "process": args.process,
        }
        if isinstance(engine, RemoteEngine):
            report["boundary_ms"] = percentiles(engine.boundary_ms)
            report["engine_rss_mb"] = engine.process_rss_mb()
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


def boundary_report(args: argparse.Namespace) -> dict:
    """Run the latency benchmark through an engine process, then in-process, on the same
    text; return both reports and what the process boundary costs."""
    # The engine process first: this process then holds no model yet, so its
    # RSS is what the app's own process pays for the engine (the client side).
    child = latency_report(
        argparse.Namespace(**{**vars(args), "process": "child", "baseline": None})
    )
    here = latency_report(argparse.Namespace(**{**vars(args), "process": "in"}))

    def diff(key: str, pct: str) -> float:
        return round(child[key][pct] - here[key][pct], 2)

    return {
        "benchmark": "latency-boundary",
        "model": str(args.model),
        "threads": here["threads"],
        "requests": here["requests"],
        "first_token_ms_p50": {
            "in_process": here["first_token_ms"]["p50"],
            "engine_process": child["first_token_ms"]["p50"],
        },
        "suggestion_ms_p95": {
            "in_process": here["suggestion_ms"]["p95"],
            "engine_process": child["suggestion_ms"]["p95"],
        },
        "overhead_ms": {
            "first_token_p50": diff("first_token_ms", "p50"),
            "suggestion_p50": diff("suggestion_ms", "p50"),
            "suggestion_p95": diff("suggestion_ms", "p95"),
            "boundary_per_request": child["boundary_ms"],  # measured on each request
        },
        "rss_mb": {
            "app_engine_in_process": here["rss_mb"],
            "app_engine_in_child": child["rss_mb"],
            "engine_process": child["engine_rss_mb"],
        },
        "in_process": here,
        "engine_process": child,
    }


def ksr_report(args: argparse.Namespace) -> dict:
    """Run the KSR simulation (Tab only, then Tab + words) for parsed args; return the report."""
    text = _read_text(args.text)
    engine = _open_engine(args)
    with engine:
        t0 = time.perf_counter()
        print("ksr: Tab only...", file=sys.stderr)
        memo: dict[int, str | None] = {}
        fast = getattr(args, "fast", False)
        tab = simulate_writer(text, engine_suggest_fn(engine, memo, fast=fast), word_accept=False)
        print("ksr: Tab + Ctrl+Right...", file=sys.stderr)
        word = simulate_writer(text, engine_suggest_fn(engine, memo, fast=fast), word_accept=True)
        # The acceptance figures are those of the app's keys: Tab and Ctrl+Right.
        return {
            "benchmark": "ksr",
            "model": str(args.model),
            "model_name": engine.model_name,
            "backend": engine.backend,
            "threads": engine.n_threads,
            "confidence": engine.config.confidence,
            "document_cache": engine.config.document_cache,
            "chars": len(text),
            **ksr_figures(tab, word),
            "tab_only": tab.summary(),
            "tab_and_words": word.summary(),
            "engine_requests": len(memo),
            "fast": fast,
            "seconds": round(time.perf_counter() - t0, 1),
        }


# ----- CLI -------------------------------------------------------------------------------
def _read_text(path: str) -> str:
    try:
        if path.endswith(".xz"):
            with lzma.open(path, "rt", encoding="utf-8") as f:
                return f.read()
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, lzma.LZMAError) as exc:
        raise SystemExit(f"writer-bench: cannot read {path}: {exc}") from exc


def _open_engine(args: argparse.Namespace) -> Engine | RemoteEngine:
    config = EngineConfig(
        model_path=Path(args.model),
        n_threads=args.threads,
        n_ctx=args.n_ctx,
        n_gpu_layers=args.gpu_layers,
        confidence=getattr(args, "confidence", EngineConfig.confidence),
        document_cache=not getattr(args, "no_cache", False),
    )
    try:
        if getattr(args, "process", "in") == "child":
            return RemoteEngine(config)
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
    lat.add_argument(
        "--process",
        choices=["in", "child", "both"],
        default="in",
        help="run the engine in this process, in an engine process as the app does, "
        "or both on the same text (default %(default)s)",
    )
    _add_suggestion_settings(lat)
    ksr = sub.add_parser("ksr", help="keystroke-savings rate")
    _add_common(ksr)
    _add_suggestion_settings(ksr)
    ksr.add_argument(
        "--fast",
        action="store_true",
        help="stop each suggestion once it disagrees with the text (same keystrokes and "
        "acceptance; words_shown counts only the words generated)",
    )
    from writer_app import bench_quality  # its own module: perplexity and the settings table

    bench_quality.add_commands(sub)
    return parser


def _add_suggestion_settings(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--confidence",
        type=float,
        default=EngineConfig.confidence,
        help="Suggestion confidence, 0 to show everything (default %(default)s)",
    )
    p.add_argument(
        "--no-cache", action="store_true", help="turn the document cache off (default on)"
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of writer-bench; prints the report as JSON and returns 0."""
    args = build_parser().parse_args(argv)
    if args.command == "ksr":
        report = ksr_report(args)
    elif args.command in ("ppl", "quality"):
        from writer_app import bench_quality

        report = bench_quality.report(args)
    elif args.process == "both":
        report = boundary_report(args)
    else:
        report = latency_report(args)
    report["command"] = " ".join(["writer-bench", *(argv if argv is not None else sys.argv[1:])])
    report["cpu_count"] = os.cpu_count()
    print(json.dumps(report) if args.json else json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
