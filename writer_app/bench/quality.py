"""How good the engine's suggestions are on one text: perplexity, and the settings table.

ppl: the perplexity of the engine's final next-token distribution (the
model's, blended with the document cache: engine.next_token_probs), reading
the text in order as a writer types it, so the cache holds only the text
before each token. The model reads sliding windows of `window` tokens, each
ending `stride` tokens after the one before: every token after the first is
scored once, with at least window - stride tokens of context once the first
window is done. The same pass gives the model alone (ppl_model), so the
cache's gain needs one run.

quality: the engine's two switches, the confidence gate and the document
cache, in their four combinations on the same text in one run, each a row of
the `rows` table: off, gate only, cache only, and both (the app's defaults).
Each row has the keystroke savings and acceptance figures of `writer-bench
ksr` and the perplexity of its distribution (the gate does not change it).
"""

from __future__ import annotations

import codecs
import dataclasses
import math
import statistics
import sys
import time

from writer_app.bench.errors import BenchError
from writer_app.bench.ksr import confidence_used, ksr_figures, type_both_ways
from writer_app.bench.project import known_words, load_project, name_report, paste_of
from writer_app.core.project import scan_project
from writer_app.engine import Engine, EngineConfig
from writer_app.engine.model import LlamaModel
from writer_app.engine.ngrams import DocumentNgrams, NgramCounts, NgramWeights
from writer_app.engine.project_memory import (
    PROJECT_WEIGHTS,
    ProjectMemory,
    fast_tokenizer,
    project_paths,
)
from writer_app.engine.sampling import next_token_probs, softmax

WINDOW = 512  # tokens the model reads per window
STRIDE = 256  # tokens between the ends of two windows

# name -> the EngineConfig fields that make the setting (confidence None: the one given,
# or the model's own when none was).
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
    window: int = WINDOW,
    stride: int = STRIDE,
    weights: NgramWeights | None = None,
    project: NgramCounts | None = None,
    prefix: str = "",
) -> dict:
    """Score `text` with the engine's distribution; return the JSON-ready figures.

    `weights` None: no cache (ppl equals ppl_model). `project`: the project
    memory's counts, blended first with PROJECT_WEIGHTS as the engine does;
    `prefix`: text the document n-grams hold before `text` (--paste). Needs a model loaded with
    logits_all=True. Raises BenchError if the text has fewer than 2 tokens.
    """
    tokens = model.tokenize(text)
    if len(tokens) < 2:
        raise BenchError("the text is too short to score: it needs at least two tokens")
    window = min(window, model.n_ctx)
    stride = max(1, min(stride, window - 1))
    document = DocumentNgrams(
        model.tokenize if weights is not None else None, model.n_vocab, prefix
    )
    weights = weights if weights is not None else NgramWeights()
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
            context = tokens[max(0, i - CONTEXT_TOKENS) : i]
            # The engine's own blend (Propose), project first, to the bit.
            pair = (PROJECT_WEIGHTS, project) if project is not None else None
            final, lam = next_token_probs(row, document, weights, context, project=pair)
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


def ppl_report(
    config: EngineConfig,
    text: str,
    *,
    window: int = WINDOW,
    stride: int = STRIDE,
    project: str | None = None,
    paste: bool = False,
) -> dict:
    """Score `text` with config's model, and its document cache if config.document_cache
    (with the memory of the `project` folder, or after its paste); return the
    `writer-bench ppl` report. Raises EngineError if the model cannot load."""
    # The engine's own model class, keeping every position's logits to score them all; its
    # context is capped at the model's (GPT-2 has learned positions).
    model = LlamaModel(
        config.model_path,
        n_ctx=window,
        n_threads=config.n_threads,
        n_gpu_layers=config.n_gpu_layers,
        use_extra_bufts=config.use_extra_bufts,
        logits_all=True,
    )
    try:
        weights = NgramWeights() if config.document_cache else None
        counts, prefix = None, ""
        if project is not None and paste:
            prefix = paste_of(project)
        elif project is not None and weights is not None:
            memory = ProjectMemory(fast_tokenizer(model.tokenize), model.n_vocab)
            memory.build(project_paths(scan_project(project)))
            counts = memory.counts
        return {
            "benchmark": "ppl",
            "model": str(config.model_path),
            "chars": len(text),
            "project": project,
            "paste": paste,
            **perplexity(
                model,
                text,
                window=window,
                stride=stride,
                weights=weights,
                project=counts,
                prefix=prefix,
            ),
        }
    finally:
        model.close()


# ----- the four settings -------------------------------------------------------------------
def quality_report(
    config: EngineConfig,
    text: str,
    *,
    fast: bool = False,
    with_ppl: bool = True,
    window: int = WINDOW,
    stride: int = STRIDE,
    project: str | None = None,
    paste: bool = False,
) -> dict:
    """Run ksr for each of SETTINGS (config.confidence, else the model's own, is the gated
    settings' threshold: gated_confidence says which),
    and ppl with and without the cache unless not `with_ppl`; return the table.
    `project`: TEXT is a new chapter of that folder, learnt as the app does (with
    `paste`: pasted before TEXT instead); the report then measures name completion too.
    Raises EngineError if the model cannot load."""
    t0 = time.perf_counter()
    ppl = None
    if with_ppl:
        ppl = ppl_report(
            dataclasses.replace(config, document_cache=True),
            text,
            window=window,
            stride=stride,
            project=project,
            paste=paste,
        )
    rows = []
    prefix = paste_of(project) if project is not None and paste else ""
    learnt = names = None
    with Engine(config) as engine:
        gated = confidence_used(engine)
        if project is not None and not paste:
            learnt = load_project(engine, project)
        for name, fields in SETTINGS.items():
            confidence = fields["confidence"]
            if confidence is None:
                confidence = gated["confidence"]
            engine.update_config(
                dataclasses.replace(
                    config, confidence=confidence, document_cache=fields["document_cache"]
                )
            )
            engine.wait_for_project()
            engine.set_document("")
            tab, word, _ = type_both_ways(
                engine, text, fast=fast, label=f"quality: {name}", prefix=prefix
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
        if project is not None:
            names = name_report(engine, text, known_words(project), prefix)
        report = {
            "benchmark": "quality",
            "model": str(config.model_path),
            "model_name": engine.model_name,
            "threads": engine.n_threads,
            "chars": len(text),
            "fast": fast,
            "gated_confidence": gated,
            "rows": rows,
            "ppl": ppl,
            "project": learnt,
            "paste": paste,
            "names": names,
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
