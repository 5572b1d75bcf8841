"""Suggestion latency while a simulated writer types, in-process or through the engine process.

The writer types the text; at each pause after a word the app would ask for
a suggestion, unless the one shown still agrees with what was typed since
(type-through). Each request goes through Engine.suggest, as in the app.
Through the engine process (RemoteEngine, as the app runs it) the boundary's
own cost is measured per request: the round trip minus the engine's time.
"""

from __future__ import annotations

import dataclasses
import re
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from writer_app.bench.baseline import baseline_ms
from writer_app.bench.ksr import confidence_used
from writer_app.engine import Engine, EngineConfig, type_through
from writer_app.engine.client import RemoteEngine
from writer_app.engine.host import rss_mb

T = TypeVar("T")

# The figures of Engine.last_stats recorded per request (set also when no suggestion came).
REQUEST_STATS = ("first_token_ms", "prompt_tokens_evaluated", "generated_tokens")


@dataclasses.dataclass(frozen=True)
class LatencySettings:
    """What writer-bench latency measures, beyond the engine's own EngineConfig."""

    process: str = "in"  # "in" this process, "child" an engine process as the app, or "both"
    max_requests: int | None = None  # spread at most this many pauses over the text
    baseline_checkpoint: Path | None = None  # HF checkpoint of the same weights: time PyTorch too
    baseline_requests: int = 30  # requests, spread evenly, the baseline also runs


def pause_points(text: str) -> list[int]:
    """Return where the simulated writer pauses: just after the space that ends each word,
    and at the end of the text."""
    points = [m.end() for m in re.finditer(r"\S\s", text)]
    if text and (not points or points[-1] != len(text)):
        points.append(len(text))
    return points


def spread(items: Sequence[T], n: int | None) -> list[T]:
    """Return at most n items evenly spread over `items`, first one included
    (all of them if n is None)."""
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


def run_latency(
    engine: Engine | RemoteEngine,
    text: str,
    *,
    max_requests: int | None = None,
    keep_prompts: bool = False,
) -> list[dict]:
    """Type `text` as the app's writer would; return one record per engine request.

    Each record: position, suggestion_ms (wall time of suggest), first_token_ms,
    prompt_tokens_evaluated, generated_tokens, none (no suggestion came), and
    with `keep_prompts` the prompt's token ids (taken after the timing).
    """
    points = spread(pause_points(text), max_requests)
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
        stats = engine.last_stats
        records.append(
            {
                "position": pos,
                "suggestion_ms": ms,
                **{key: getattr(stats, key) for key in REQUEST_STATS},
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


def latency_report(config: EngineConfig, text: str, settings: LatencySettings) -> dict:
    """Run the latency benchmark on `text` in this process or an engine process
    (settings.process "in" or "child"); return the JSON-ready report.

    Raises EngineError if the model cannot load, BenchError if the baseline
    needs what is not installed.
    """
    engine = RemoteEngine(config) if settings.process == "child" else Engine(config)
    with engine:
        records = run_latency(
            engine,
            text,
            max_requests=settings.max_requests,
            keep_prompts=settings.baseline_checkpoint is not None,
        )
        report = {
            "benchmark": "latency",
            "model": str(config.model_path),
            "model_name": engine.model_name,
            "backend": engine.backend,
            "threads": engine.n_threads,
            "n_ctx": engine.n_ctx,
            **confidence_used(engine),
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
            "process": settings.process,
        }
        if isinstance(engine, RemoteEngine):
            report["boundary_ms"] = percentiles(engine.boundary_ms)
            report["engine_rss_mb"] = engine.process_rss_mb()
        if settings.baseline_checkpoint is not None:
            subset = spread(records, settings.baseline_requests)
            base = baseline_ms(settings.baseline_checkpoint, subset, engine.n_threads)
            ratios = [b / r["suggestion_ms"] for b, r in zip(base, subset, strict=True)]
            report["baseline"] = "transformers fp32 generate, CPU, full prompt"
            report["baseline_requests"] = len(subset)
            report["baseline_suggestion_ms"] = percentiles(base)
            report["engine_suggestion_ms_same_requests"] = percentiles(
                [r["suggestion_ms"] for r in subset]
            )
            report["speedup"] = round(statistics.median(ratios), 2)
    return report


def boundary_report(config: EngineConfig, text: str, settings: LatencySettings) -> dict:
    """Run the latency benchmark through an engine process, then in-process, on the same
    text; return both reports and what the process boundary costs."""
    # The engine process first: this process then holds no model yet, so its
    # RSS is what the app's own process pays for the engine (the client side).
    child = latency_report(
        config, text, dataclasses.replace(settings, process="child", baseline_checkpoint=None)
    )
    here = latency_report(config, text, dataclasses.replace(settings, process="in"))

    def diff(key: str, pct: str) -> float:
        return round(child[key][pct] - here[key][pct], 2)

    return {
        "benchmark": "latency-boundary",
        "model": str(config.model_path),
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
