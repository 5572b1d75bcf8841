"""What a generated token costs in the engine, against llama-cpp-python's own create_completion.

One run types the first --words words of a text; after each word it asks for
--tokens tokens from (a) llama-cpp-python's create_completion (through
gpt2gguf.llama.LlamaRunner.complete, greedy), (b) the engine with the gate off
and the document n-grams off, (c) the engine with the gate off and the
document n-grams on, fed the text typed so far. The three are asked in turn
after every word, so a busy machine slows them alike; --rounds types the text
again, for more samples where the machine is noisy. Prints one JSON object
(per-request and per-token p50/p95 in ms, the ratios to create_completion)
and the command that made it.

    .venv/bin/python benchmarks/token_cost.py [--model M.gguf] [--text FILE] [--threads 1] [--rounds 1] [--stages]

The engine's stop rules are set so that it, too, stops only at --tokens or
at <|endoftext|>; ratios are of the per-token medians.

The engine's softmax takes its exp pass from ggml where it can
(writer_app/engine/vecmath.py); "engine_ngrams_numpy" is the same engine
with numpy's pass, its calls taking turns with the others, for the ratio
between the two.

--stages then times, apart from the model, what the n-gram path adds per
token (sampling.py, ngrams.py), one stage after another on the model's real
distribution after each typed prefix with the document counted so far: the
exact softmax (and, within it, its exp pass alone), the blend's weights
(NgramWeights.blend), blend_into, the greedy pick, and the logits-only pick
of the engine without the n-grams. Each is the fastest of --stage-repeats
runs, so a busy machine inflates them less than the ratios; "share" is each
stage's part of the n-gram path (softmax + blend + blend_into + greedy_pick).
"""

from __future__ import annotations

import argparse
import itertools
import json
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.engine_latency import STORY  # noqa: E402
from gpt2gguf.constants import default_model_path  # noqa: E402
from gpt2gguf.llama import LlamaRunner  # noqa: E402
from writer_app.engine import Engine, EngineConfig, vecmath  # noqa: E402
from writer_app.engine.ngrams import Blend, DocumentNgrams, NgramWeights  # noqa: E402
from writer_app.engine.sampling import (  # noqa: E402
    Softmax,
    blend_into,
    greedy_from_logits,
    greedy_pick,
)


def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile (0..100) of `values`, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def summary(ms: list[float], tokens: list[int]) -> dict:
    """Return p50/p95 per request and per generated token, and the mean token count."""
    per_token = [m / max(1, t) for m, t in zip(ms, tokens, strict=True)]
    return {
        "request_ms_p50": round(statistics.median(ms), 3),
        "request_ms_p95": round(percentile(ms, 95), 3),
        "token_ms_p50": round(statistics.median(per_token), 4),
        "token_ms_p95": round(percentile(per_token, 95), 4),
        "tokens_mean": round(statistics.mean(tokens), 2),
    }


def fastest_us(run: Callable[[], object], repeats: int) -> float:
    """Return the fastest of `repeats` runs of `run`, in microseconds."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return best * 1e6


def stage_costs(runner: LlamaRunner, words: list[str], repeats: int) -> dict:
    """Return the median per-token cost (µs) of each stage of the n-gram path (module
    docstring), over the distributions after each prefix of `words`."""
    document = DocumentNgrams(runner.tokenize, runner.n_vocab)
    times: dict[str, list[float]] = {}
    for i in range(1, len(words) + 1):
        typed = " ".join(words[:i])
        document.set_text(typed)
        tokens = runner.tokenize(typed)
        cached = runner.cached_tokens()
        common = 0  # the KV cache keeps the common prefix; at least one token is decoded
        while common < min(len(cached), len(tokens) - 1) and cached[common] == tokens[common]:
            common += 1
        runner.rewind(common)
        runner.decode(tokens[common:])
        for name, us in _stages_at(runner.last_logits(), tokens, document, repeats).items():
            times.setdefault(name, []).append(us)
    medians = {name: round(statistics.median(values), 1) for name, values in times.items()}
    path = sum(medians[name] for name in ("softmax", "blend", "blend_into", "greedy_pick"))
    return {
        "us_p50": medians,
        "ngram_path_us": round(path, 1),
        "share": {name: round(value / path, 3) for name, value in medians.items()},
    }


def _stages_at(
    logits: np.ndarray, context: list[int], document: DocumentNgrams, repeats: int
) -> dict[str, float]:
    """Return the fastest time (µs) of each stage on one distribution."""
    weights, model = NgramWeights(), Softmax(len(logits))(logits)
    out, shifted, top = np.empty_like(logits), logits - logits.max(), float(logits.max())
    blends = (Blend(), weights.blend(document.counts, context, model.entropy))
    stages = {
        "softmax": lambda: model(logits),
        "softmax_numpy_exp_pass": lambda: vecmath.exp_shifted_numpy(logits, top, out),
        "softmax_exp_pass": lambda: vecmath.exp_shifted(logits, top, out),
        "softmax_exp_alone": lambda: np.exp(shifted, out=out),
        "blend": lambda: weights.blend(document.counts, context, model.entropy),
        "blend_into": lambda: blend_into(model, blends, out),
        "greedy_pick": lambda: greedy_pick(out, None),
        "without_ngrams_greedy_from_logits": lambda: greedy_from_logits(logits, None),
    }
    return {name: fastest_us(run, repeats) for name, run in stages.items()}


def main() -> int:
    """Run the comparison; print its JSON report and the command; return 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="GGUF to measure (default: the bundled model)")
    parser.add_argument("--text", help="text to type (default: the engine_latency story)")
    parser.add_argument("--words", type=int, default=120)
    parser.add_argument("--tokens", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--n-ctx", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=1, help="times the text is typed")
    parser.add_argument(
        "--stages", action="store_true", help="then time the n-gram path's stages (docstring)"
    )
    parser.add_argument("--stage-repeats", type=int, default=20)
    args = parser.parse_args()

    model = Path(args.model) if args.model else default_model_path()
    text = Path(args.text).read_text(encoding="utf-8") if args.text else STORY
    words = text.split(" ")[: args.words]
    config = EngineConfig(
        model_path=model,
        n_threads=args.threads,
        n_ctx=args.n_ctx,
        max_tokens=args.tokens,
        confidence=0.0,  # the gate off: every token counts
        max_words=0,  # no stop rule ends a suggestion before --tokens
        max_sentences=0,
        stop_at_paragraph=False,
    )
    engines = ("engine", "engine_ngrams", "engine_ngrams_numpy")
    runs = {name: ([], []) for name in ("create_completion", *engines)}
    backend = vecmath.backend()
    with (
        LlamaRunner(model, n_ctx=args.n_ctx, n_threads=args.threads) as runner,
        Engine(EngineConfig(**{**config.__dict__, "document_cache": False})) as plain,
        Engine(config) as ngrams,
        Engine(config) as ngrams_numpy,
    ):
        for _, i in itertools.product(range(args.rounds), range(1, len(words) + 1)):
            typed = " ".join(words[:i])
            for engine in (ngrams, ngrams_numpy):  # the app reports edits as they happen
                engine.set_document(typed)

            t0 = time.perf_counter()
            _, n = runner.complete(typed, args.tokens)
            runs["create_completion"][0].append((time.perf_counter() - t0) * 1000)
            runs["create_completion"][1].append(n)
            for name, engine in zip(engines, (plain, ngrams, ngrams_numpy), strict=True):
                vecmath.use("numpy" if name == "engine_ngrams_numpy" else backend)
                t0 = time.perf_counter()
                engine.suggest(typed)
                runs[name][0].append((time.perf_counter() - t0) * 1000)
                runs[name][1].append(engine.last_stats.generated_tokens)
            vecmath.use(backend)
        stages = stage_costs(runner, words, args.stage_repeats) if args.stages else None
    report = {name: summary(ms, tokens) for name, (ms, tokens) in runs.items()}
    base = report["create_completion"]["token_ms_p50"]
    report["ratio_token_p50"] = {
        name: round(report[name]["token_ms_p50"] / base, 3) for name in engines
    }
    base_request = report["create_completion"]["request_ms_p50"]
    report["ratio_request_p50"] = {
        name: round(report[name]["request_ms_p50"] / base_request, 3) for name in engines
    }
    report["settings"] = {
        "model": model.name,
        "words": len(words),
        "tokens": args.tokens,
        "threads": args.threads,
        "rounds": args.rounds,
        "n_ctx": args.n_ctx,
        "softmax_exp_pass": backend,
    }
    if stages is not None:
        report["stages"] = stages
    report["command"] = shlex.join([sys.executable, *sys.argv])
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
