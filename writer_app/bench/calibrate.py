"""Calibrate a model's suggestion confidence: the gate threshold that suits it, measured.

One number does not suit every model: a sharper model clears a given
threshold more often, so the threshold that saves the most keystrokes while
writers still take most of what they see differs per model. `writer-bench
calibrate` types a held-out passage with the simulated writer of ksr.py once
per threshold of a coarse grid (the app's other settings, document cache on),
then once at each midpoint beside the best, and chooses by `choose`: the
highest ksr_word among the thresholds whose acceptance is at least
MIN_ACCEPTANCE, or, when none reaches it, the one with the highest acceptance
(the report says so). `--write` stores the choice in the model file
(gpt2gguf.metadata), where the app and writer-bench find it.

It types with ksr's `fast` stop (a suggestion ends once it disagrees with
the text): the keystrokes and acceptance are the same, and they are all the
choice reads. About 3,000 characters of passage keep a model's calibration to
minutes on a laptop's CPU.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gpt2gguf.metadata import CALIBRATION_KEYS, CONFIDENCE_KEY, write_metadata
from writer_app.bench.ksr import ksr_figures, type_both_ways
from writer_app.engine import Engine, EngineConfig

MIN_ACCEPTANCE = 0.45  # writers take at least this share of the suggestions they see
COARSE_GRID = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6)
FINEST_STEP = 0.01  # refinement stops at midpoints closer than this
PASSAGE_CHARS = 3000


@dataclass(frozen=True)
class Choice:
    """The chosen threshold, whether it met the acceptance floor, and why, for people."""

    confidence: float
    met: bool
    reason: str


def choose(rows: Sequence[Mapping], min_acceptance: float = MIN_ACCEPTANCE) -> Choice:
    """Return the threshold `rows` (each with confidence, ksr_word, acceptance_rate) call
    for: the highest ksr_word among the rows with acceptance_rate >= `min_acceptance`
    (ties: the higher acceptance, then the lower threshold); when no row reaches it, the
    highest acceptance (ties: the higher ksr_word, then the lower threshold).

    Raises ValueError for no rows.
    """
    if not rows:
        raise ValueError("no thresholds were measured")
    passing = [r for r in rows if r["acceptance_rate"] >= min_acceptance]
    if passing:
        best = max(passing, key=lambda r: (r["ksr_word"], r["acceptance_rate"], -r["confidence"]))
        return Choice(
            best["confidence"],
            True,
            f"the highest ksr_word ({best['ksr_word']}) with acceptance at least "
            f"{min_acceptance} ({best['acceptance_rate']})",
        )
    best = max(rows, key=lambda r: (r["acceptance_rate"], r["ksr_word"], -r["confidence"]))
    return Choice(
        best["confidence"],
        False,
        f"no threshold reached acceptance {min_acceptance}: this one has the highest "
        f"({best['acceptance_rate']}, ksr_word {best['ksr_word']})",
    )


def refinements(measured: Sequence[float], chosen: float) -> list[float]:
    """Return the midpoints between `chosen` and its neighbours among the `measured`
    thresholds that are not measured yet and at least FINEST_STEP from both ends."""
    ordered = sorted(set(measured))
    i = ordered.index(chosen)
    neighbours = ordered[max(0, i - 1) : i] + ordered[i + 1 : i + 2]
    mids = [round((chosen + n) / 2, 3) for n in neighbours]
    return [m for m in mids if abs(m - chosen) >= FINEST_STEP / 2 and m not in ordered]


def passage(text: str, chars: int = PASSAGE_CHARS) -> str:
    """Return the start of `text`, about `chars` characters long, cut at a whitespace
    (the whole text when it is shorter)."""
    if len(text) <= chars:
        return text
    cut = max(text.rfind(" ", 0, chars), text.rfind("\n", 0, chars))
    return text[: cut if cut > 0 else chars]


def measure(engine: Engine, text: str, confidence: float) -> dict:
    """Type `text` through `engine` at threshold `confidence` (a fresh document);
    return its row: the threshold and ksr's figures."""
    engine.update_config(dataclasses.replace(engine.config, confidence=confidence))
    engine.set_document("")
    tab, word, _ = type_both_ways(engine, text, fast=True, label=f"calibrate: {confidence:g}")
    return {"confidence": confidence, **ksr_figures(tab, word)}


def calibrate_report(
    config: EngineConfig,
    text: str,
    *,
    chars: int = PASSAGE_CHARS,
    refine: bool = True,
    write: bool = False,
) -> dict:
    """Measure the grid (and, with `refine`, the midpoints beside the best) on a passage
    of `text`; return the table and the choice. `write`: store the choice in the model
    file. Raises EngineError if the model cannot load, OSError if it cannot be written.
    """
    t0 = time.perf_counter()
    typed = passage(text, chars)
    with Engine(config) as engine:
        before, source = engine.confidence, engine.confidence_source
        path = engine.info.path
        model_name = engine.model_name
        rows = [measure(engine, typed, c) for c in COARSE_GRID]
        choice = choose(rows)
        if refine:
            for c in refinements([r["confidence"] for r in rows], choice.confidence):
                rows.append(measure(engine, typed, c))
            choice = choose(rows)
    rows.sort(key=lambda r: r["confidence"])
    chosen = next(r for r in rows if r["confidence"] == choice.confidence)
    stored = {
        CONFIDENCE_KEY: float(choice.confidence),
        CALIBRATION_KEYS["ksr_word"]: float(chosen["ksr_word"]),
        CALIBRATION_KEYS["acceptance"]: float(chosen["acceptance_rate"]),
        CALIBRATION_KEYS["chars"]: len(typed),
        CALIBRATION_KEYS["date"]: time.strftime("%Y-%m-%d"),
    }
    if write:
        write_metadata(path, stored)
    print(markdown_table(rows, choice.confidence), file=sys.stderr)
    print(f"calibrate: chose {choice.confidence}: {choice.reason}", file=sys.stderr)
    return {
        "benchmark": "calibrate",
        "model": str(path),
        "model_name": model_name,
        "chars": len(typed),
        "document_cache": config.document_cache,
        "min_acceptance": MIN_ACCEPTANCE,
        "rows": rows,
        "confidence": choice.confidence,
        "met_min_acceptance": choice.met,
        "reason": choice.reason,
        "ksr_word": chosen["ksr_word"],
        "acceptance_rate": chosen["acceptance_rate"],
        "before": {"confidence": before, "source": source},
        "written": stored if write else None,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def markdown_table(rows: Sequence[Mapping], chosen: float) -> str:
    """Return the calibration rows as a Markdown table, the chosen one marked."""
    lines = [
        "| confidence | ksr_word | ksr_tab | acceptance | shown | chars/accept |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        mark = " ←" if r["confidence"] == chosen else ""
        lines.append(
            f"| {r['confidence']}{mark} | {r['ksr_word']} | {r['ksr_tab']} | "
            f"{r['acceptance_rate']} | {r['shown']} | {r['mean_accepted_chars']} |"
        )
    return "\n".join(lines)
