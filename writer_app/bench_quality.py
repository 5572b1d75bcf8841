"""writer-bench ppl and quality: how good the engine's suggestions are, on one text.

    writer-bench ppl --model M.gguf --text book.txt [--no-cache] [--window 512] [--stride 256]
    writer-bench quality --model M.gguf --text passage.txt [--confidence C] [--fast] [--no-ppl]

ppl: the perplexity of the engine's final next-token distribution (the
model's, blended with the document cache: engine.next_token_probs), reading
the text in order as a writer types it, so the cache holds only the text
before each token. The model reads sliding windows of --window tokens, each
ending --stride tokens after the one before: every token after the first is
scored once, with at least window - stride tokens of context once the first
window is done. The same pass gives the model alone (ppl_model), so the
cache's gain needs one run.

quality: the four settings of issue 14 on the same text in one run, each a
row of the `rows` table: off (no confidence gate, no cache), gate only,
cache only, and both (the app's defaults). Each row has the keystroke
savings and acceptance figures of `writer-bench ksr` and the perplexity of
its distribution (the gate does not change it).
"""

from __future__ import annotations

import argparse
import codecs
import dataclasses
import math
import statistics
import sys
import time
from pathlib import Path

from gpt2gguf.validate import validate_gguf
from writer_app.engine import Engine, EngineConfig, EngineError
from writer_app.engine.cache import CacheWeights, DocumentCache
from writer_app.engine.engine import next_token_probs, softmax
from writer_app.engine.model import LlamaModel, default_gpu_layers, physical_cores

# name -> the EngineConfig fields that make the setting (None: the --confidence given).
SETTINGS: dict[str, dict] = {
    "off": {"confidence": 0.0, "document_cache": False},
    "gate only": {"confidence": None, "document_cache": False},
    "cache only": {"confidence": 0.0, "document_cache": True},
    "both": {"confidence": None, "document_cache": True},
}
CONTEXT_TOKENS = 8  # tokens of context handed to the cache (it uses its max_context)


# ----- perplexity --------------------------------------------------------------------------
def windows(n_tokens: int, window: int, stride: int) -> list[tuple[int, int, int]]:
    """Return (start, end, first) per window: tokens[start:end] are read, and the
    positions start+first .. end-1 scored. Together they score 1 .. n_tokens-1 once."""
    out, end = [], 0
    while end < n_tokens:
        new_end = min(n_tokens, window if end == 0 else end + stride)
        start = max(0, new_end - window)
        out.append((start, new_end, max(1, end - start)))
        end = new_end
    return out


def perplexity(
    model: LlamaModel,
    text: str,
    *,
    window: int = 512,
    stride: int = 256,
    weights: CacheWeights | None = None,
) -> dict:
    """Score `text` with the engine's distribution; return the JSON-ready figures.

    `weights` None: no cache (ppl equals ppl_model). Needs a model loaded with
    logits_all=True. Raises SystemExit if the text has fewer than 2 tokens.
    """
    tokens = model.tokenize(text)
    if len(tokens) < 2:
        raise SystemExit("writer-bench: the text is too short to score")
    window = min(window, model.n_ctx)
    stride = max(1, min(stride, window - 1))
    document = DocumentCache(model.tokenize if weights is not None else None, model.n_vocab)
    weights = weights if weights is not None else CacheWeights()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    fed = 0
    nll_model = nll = 0.0
    cache_ms: list[float] = []
    lambdas: list[float] = []
    spans = windows(len(tokens), window, stride)
    for n, (start, end, first) in enumerate(spans):
        rows = model.window_logits(tokens[start:end])
        for j in range(first, end - start):
            i = start + j  # rows[j - 1] predicts tokens[i]
            while fed < i:  # the writer has typed everything before token i
                piece = decoder.decode(model.pieces[tokens[fed]])
                if piece:
                    document.edit(len(document), 0, piece)
                fed += 1
            row = rows[j - 1]
            # CPU time of this thread: what the cache costs, whatever else the machine runs.
            t0 = time.thread_time()
            probs, _ = softmax(row)
            t1 = time.thread_time()
            final, lam = next_token_probs(
                row, document, weights, tokens[max(0, i - CONTEXT_TOKENS) : i]
            )
            t2 = time.thread_time()
            cache_ms.append(max(0.0, (t2 - t1) - (t1 - t0)) * 1000)
            lambdas.append(lam)
            nll_model -= math.log(max(float(probs[tokens[i]]), 1e-30))
            nll -= math.log(max(float(final[tokens[i]]), 1e-30))
        if n % 5 == 0:
            print(f"ppl: window {n + 1}/{len(spans)}", file=sys.stderr)
    scored = len(tokens) - 1
    ppl_model, ppl = math.exp(nll_model / scored), math.exp(nll / scored)
    return {
        "tokens": len(tokens),
        "tokens_scored": scored,
        "window": window,
        "stride": stride,
        "ppl_model": round(ppl_model, 3),
        "ppl": round(ppl, 3),
        "cache_gain": round(1 - ppl / ppl_model, 4),
        "document_cache": document.enabled,
        "cache_weights": dataclasses.asdict(weights) if document.enabled else None,
        "cache_lambda_mean": round(statistics.mean(lambdas), 4),
        # What the cache adds to each token (CPU ms): its lookups and the blend.
        "cache_ms_per_token": {
            "mean": round(statistics.mean(cache_ms), 3),
            "p95": round(sorted(cache_ms)[int(0.95 * (len(cache_ms) - 1))], 3),
        },
        "cache_mb": round(document.counts.nbytes() / 1e6, 2),
    }


def _scoring_model(args: argparse.Namespace) -> LlamaModel:
    try:
        info = validate_gguf(Path(args.model))
        return LlamaModel(
            Path(args.model),
            n_ctx=min(args.window, info.n_ctx),
            n_threads=args.threads or physical_cores(),
            n_gpu_layers=args.gpu_layers if args.gpu_layers is not None else default_gpu_layers(),
            logits_all=True,
        )
    except EngineError as exc:
        raise SystemExit(f"writer-bench: {exc}") from exc


def ppl_report(args: argparse.Namespace, text: str) -> dict:
    """Run `writer-bench ppl` for parsed args on `text`; return the report."""
    model = _scoring_model(args)
    try:
        weights = None if args.no_cache else CacheWeights()
        return {
            "benchmark": "ppl",
            "model": str(args.model),
            "chars": len(text),
            **perplexity(model, text, window=args.window, stride=args.stride, weights=weights),
        }
    finally:
        model.close()


# ----- the four settings -------------------------------------------------------------------
def quality_report(args: argparse.Namespace, text: str) -> dict:
    """Run ksr for each of SETTINGS (and ppl with and without the cache); return the table."""
    from writer_app.bench import engine_suggest_fn, ksr_figures, simulate_writer

    t0 = time.perf_counter()
    ppl = None
    if not args.no_ppl:
        ppl = ppl_report(args, text)
    base = EngineConfig(
        model_path=Path(args.model),
        n_threads=args.threads,
        n_ctx=args.n_ctx,
        n_gpu_layers=args.gpu_layers,
    )
    rows = []
    try:
        engine = Engine(base)
    except EngineError as exc:
        raise SystemExit(f"writer-bench: {exc}") from exc
    with engine:
        for name, fields in SETTINGS.items():
            confidence = args.confidence if fields["confidence"] is None else fields["confidence"]
            engine.update_config(
                dataclasses.replace(
                    base, confidence=confidence, document_cache=fields["document_cache"]
                )
            )
            engine.set_document("")
            print(f"quality: {name}...", file=sys.stderr)
            memo: dict[int, str | None] = {}
            tab = simulate_writer(
                text, engine_suggest_fn(engine, memo, fast=args.fast), word_accept=False
            )
            word = simulate_writer(
                text, engine_suggest_fn(engine, memo, fast=args.fast), word_accept=True
            )
            row = {
                "setting": name,
                "confidence": confidence,
                "document_cache": fields["document_cache"],
                **ksr_figures(tab, word),
            }
            if ppl is not None:
                row["ppl"] = ppl["ppl"] if fields["document_cache"] else ppl["ppl_model"]
            rows.append(row)
        report = {
            "benchmark": "quality",
            "model": str(args.model),
            "model_name": engine.model_name,
            "threads": engine.n_threads,
            "chars": len(text),
            "fast": args.fast,
            "rows": rows,
            "ppl": ppl,
            "seconds": round(time.perf_counter() - t0, 1),
        }
    print(markdown_table(rows), file=sys.stderr)
    return report


def markdown_table(rows: list[dict]) -> str:
    """Return the quality rows as a Markdown table (for the README)."""
    columns = [
        ("setting", "setting"),
        ("ksr_word", "ksr_word"),
        ("ksr_tab", "ksr_tab"),
        ("shown", "shown"),
        ("acceptance_rate", "acceptance"),
        ("words_shown", "words shown"),
        ("words_accepted", "words accepted"),
        ("mean_accepted_chars", "chars/accept"),
        ("ppl", "ppl"),
    ]
    columns = [(key, title) for key, title in columns if key in rows[0]]
    lines = [
        "| " + " | ".join(title for _, title in columns) + " |",
        "|" + "|".join("---" if key == "setting" else "---:" for key, _ in columns) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(str(row[key]) for key, _ in columns) + " |")
    return "\n".join(lines)


# ----- CLI ---------------------------------------------------------------------------------
def add_commands(sub) -> None:
    """Add the ppl and quality subcommands to writer-bench's subparsers."""
    from writer_app.bench import _add_common

    ppl = sub.add_parser("ppl", help="perplexity of the engine's distribution, cache included")
    _add_common(ppl)
    ppl.add_argument(
        "--no-cache", action="store_true", help="the model alone (default: with the cache)"
    )
    _add_window(ppl)
    quality = sub.add_parser(
        "quality", help="ksr, acceptance and ppl for off, gate only, cache only and both"
    )
    _add_common(quality)
    quality.set_defaults(no_cache=False)
    quality.add_argument(
        "--confidence",
        type=float,
        default=EngineConfig.confidence,
        help="the gate's threshold in the gated settings (default %(default)s)",
    )
    quality.add_argument(
        "--fast", action="store_true", help="as for ksr: stop suggestions once they disagree"
    )
    quality.add_argument("--no-ppl", action="store_true", help="skip the perplexity")
    _add_window(quality)


def _add_window(p: argparse.ArgumentParser) -> None:
    p.add_argument("--window", type=int, default=512, help="tokens per window (default 512)")
    p.add_argument("--stride", type=int, default=256, help="tokens between windows (default 256)")


def report(args: argparse.Namespace) -> dict:
    """Run the parsed ppl or quality command; return its report."""
    from writer_app.bench import _read_text

    text = _read_text(args.text)
    return ppl_report(args, text) if args.command == "ppl" else quality_report(args, text)
