"""Write MODEL_CARD.md for a default-model recipe run, from the JSON it left in OUT/results.

Every figure in the card is read from a file the recipe wrote, so the card
cannot disagree with the files it describes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

QUANTS = ("f32", "q8_0", "q4_k_m")
# The recipes A/B'd from a shipped model (ab.sh's tables, with what they started from).
AB_RESULTS = Path(__file__).resolve().parent / "ab-results.tsv"
# ksr.json's confidence_source -> whose suggestion confidence it typed with.
CONFIDENCE_WORDS = {
    "model": "model's calibrated",
    "setting": "given",
    "default": "app's default",
}
PROFILE_WORDS = {
    "smoke": "the `smoke` profile (a tiny end-to-end check, not a usable model)",
    "cpu": "the `cpu` profile, trained on a 2-core CPU: the CPU-trained default",
    "gpu": "the `gpu` profile, trained on one GPU",
    "cpu-bf16": "the `cpu-bf16` profile, trained on a 2-core CPU with bf16",
    "continue": "a `continue` round (training continued from the previous default on a 2-core CPU)",
}


def load(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def genre_table(corpus: Path) -> list[str]:
    """Books and characters by split and genre, from the corpus manifest."""
    manifest = corpus / "MANIFEST.tsv"
    if not manifest.is_file():
        return ["(no MANIFEST.tsv beside the corpus)"]
    counts: dict[tuple[str, str], list[int]] = {}
    # Split rows on "\n" only: a few source paths hold a carriage return, and
    # titles hold quotation marks, so neither universal newlines nor CSV quoting apply.
    header, *rows = manifest.read_bytes().decode("utf-8").split("\n")
    columns = header.rstrip("\r").split("\t")
    for line in rows:
        if not line.strip():
            continue
        row = dict(zip(columns, line.split("\t"), strict=False))
        books_chars = counts.setdefault((row["split"], row["genre"]), [0, 0])
        books_chars[0] += 1
        books_chars[1] += int(row["chars"] or 0)
    lines = ["| split | genre | books | characters |", "| --- | --- | ---: | ---: |"]
    for (split, genre), (books, chars) in sorted(counts.items()):
        lines.append(f"| {split} | {genre} | {books} | {chars:,} |")
    return lines


def card(out: Path, name: str, profile: str, corpus: Path) -> str:
    res = out / "results"
    summary = load(out / "train" / "training_summary.json")
    evals = {q: load(res / f"eval-{q}.json") for q in QUANTS}
    exports = {q: load(res / f"export-{q}.json") for q in QUANTS}
    latency, ksr = load(res / "latency.json"), load(res / "ksr.json")
    calibration = load(res / "calibrate.json")
    m = summary.get("model", {})
    ppl = {q: evals[q].get("ppl") for q in QUANTS}
    q8_vs_f32 = 100 * (ppl["q8_0"] / ppl["f32"] - 1) if ppl["f32"] and ppl["q8_0"] else None

    windows = evals["f32"].get("windows", 60)
    window_tokens = evals["f32"].get("window_tokens", 512)
    lines = [
        f"# {name}",
        "",
        f"The model the app suggests with by default. It was made by {PROFILE_WORDS.get(profile, profile)} "
        "of the recipe in `recipes/default-model/`, with this project's own `writer-finetune train`.",
        "",
        "- Architecture: GPT-2, "
        f"{m.get('parameters', 0) / 1e6:.1f}M parameters ({m.get('n_layer')} layers, width {m.get('n_embd')}, "
        f"{m.get('n_head')} heads, context {m.get('n_ctx')}, GPT-2 BPE vocabulary of {m.get('vocab_size')}).",
        "- License: the weights are MIT; the training text is in the public domain.",
        "",
        "## How it was made",
        "",
        "```",
        f"bash recipes/default-model/run.sh --corpus {corpus} --out OUT --profile {profile}"
        + (
            " --from resources/models/writer-default-q8_0.gguf --ship"
            if profile == "continue"
            else ""
        ),
        "```",
        "",
        f"Settings: `recipes/default-model/{profile}.json`. "
        + (
            "A lent GPU replaces this CPU-trained default by the same command with `--profile gpu` "
            "(about 8 minutes on one H100); copy OUT/*-q8_0.gguf and this card into resources/models/."
            if profile != "gpu"
            else ""
        ),
        "",
        f"- Steps: {summary.get('steps', 0):,}; tokens seen: {summary.get('tokens', 0):,}; "
        f"wall time: {summary.get('wall_seconds', 0) / 60:.1f} min on {summary.get('device')} ({summary.get('precision')})",
        f"- Best validation perplexity while training (PyTorch, sampled windows): {summary.get('best_val_ppl')}",
        "- Loss curve: `loss_curve.png` beside this card (the run's `train/loss_curve.png`); "
        "every step's figures are in the run's `train/metrics.jsonl`.",
        "",
        "## Corpus",
        "",
        "English public-domain fiction from Project Gutenberg (works first published before 1929), "
        "leaning on fantasy, fairy tales, myth and adventure. `MANIFEST.tsv` in the corpus names every "
        "book, its Gutenberg number and source; the corpus README says how it was cleaned and how to "
        "rebuild it. Validation books are by authors absent from training, and are never trained on.",
        "",
        *genre_table(corpus),
        "",
        f"Cleaning by writer-finetune: {summary.get('data', {}).get('cleaning_summary')}",
        "",
        "## Perplexity on val",
        "",
        f"Protocol: llama.cpp on the GGUF, {windows} windows of {window_tokens} tokens spread evenly across "
        "`val.txt.xz` (document separators dropped), every token with context scored. Command: "
        f"`writer-finetune eval MODEL.gguf --text val.txt.xz --windows {windows} --window-tokens {window_tokens}`.",
        "",
        "| file | size (MB) | perplexity | verify: rel. L2 of logits vs PyTorch | top-1 agreement |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for q in QUANTS:
        e = exports[q]
        v = e.get("verify", {}) or {}
        path = out / f"{name}-{q}.gguf"
        # A GPU run brings back only the q8_0 file: the others' sizes come from their export.
        size = (path.stat().st_size if path.is_file() else e.get("size_bytes", 0)) / 1e6
        lines.append(
            f"| {name}-{q}.gguf | {size:.1f} | {_fmt(ppl[q])} | {_fmt(v.get('rel_l2'), '.2e')} | {_fmt(v.get('top1_agreement'), '.4f')} |"
        )
    if q8_vs_f32 is not None:
        lines += ["", f"q8_0 is {q8_vs_f32:+.2f}% from f32 in perplexity."]
    lines += [
        "",
        "## Speed and usefulness (writer-bench, q8_0)",
        "",
        f"On a {latency.get('chars', 0):,}-character val passage, {latency.get('threads')} threads, "
        f"context {latency.get('n_ctx', 512)}, {latency.get('requests')} requests, with the "
        f"{CONFIDENCE_WORDS.get(ksr.get('confidence_source'), 'app default')} suggestion "
        f"confidence ({ksr.get('confidence', 'n/a')}) and document cache "
        f"({'on' if ksr.get('document_cache', True) else 'off'}):",
        "",
        f"- first token: p50 {_fmt(_get(latency, 'first_token_ms', 'p50'), '.1f')} ms; "
        f"suggestion: p50 {_fmt(_get(latency, 'suggestion_ms', 'p50'), '.1f')} ms, "
        f"p95 {_fmt(_get(latency, 'suggestion_ms', 'p95'), '.1f')} ms",
        f"- prompt tokens evaluated per request (KV cache reuse): {_fmt(latency.get('prompt_tokens_evaluated_mean'), '.1f')}",
        f"- keystroke savings: ksr_tab {_fmt(ksr.get('ksr_tab'), '.3f')}, ksr_word {_fmt(ksr.get('ksr_word'), '.3f')} "
        f"({ksr.get('suggestions')} suggestions, {ksr.get('accepted')} accepted, {ksr.get('chars')} characters)",
        "",
        "Commands: `writer-bench latency --model MODEL --text PASSAGE --threads 2 --json` and "
        "`writer-bench ksr --model MODEL --text PASSAGE --json`.",
        "",
        *calibration_lines(calibration),
    ]
    lines += lineage_table(load_list(out / "lineage.json"))
    lines += ab_table(AB_RESULTS)
    samples = summary.get("samples") or []
    if samples:
        lines += ["## Sample continuations", "", "(PyTorch, top-k 40, temperature 0.8)", ""]
        for s in samples:
            lines += [f"> **{s['prompt']}**{s['continuation']}", ""]
    return "\n".join(lines)


def calibration_lines(report: dict) -> list[str]:
    """The suggestion confidence stored in the q8_0 file, and the table it was chosen from
    (results/calibrate.json, from writer-bench calibrate --write)."""
    if not report:
        return []
    met = (
        f"the most ksr_word with acceptance at least {report.get('min_acceptance')}"
        if report.get("met_min_acceptance")
        else f"no threshold reached acceptance {report.get('min_acceptance')}: the highest "
        "acceptance"
    )
    lines = [
        "## Suggestion confidence",
        "",
        f"**{report.get('confidence')}**, stored in the q8_0 file (GGUF key "
        "`writer.suggestion.confidence`): the app and writer-bench use it unless the writer "
        f"sets their own. Chosen on the {report.get('chars', 0):,}-character val passage as "
        f"{met} (ksr_word {_fmt(report.get('ksr_word'), '.3f')}, acceptance "
        f"{_fmt(report.get('acceptance_rate'), '.3f')}). Command: `writer-bench calibrate "
        "--model MODEL --text PASSAGE --write`.",
        "",
        "| confidence | ksr_word | acceptance | shown | chars/accept |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in report.get("rows", []):
        mark = " (chosen)" if r.get("confidence") == report.get("confidence") else ""
        lines.append(
            f"| {r.get('confidence')}{mark} | {_fmt(r.get('ksr_word'), '.3f')} | "
            f"{_fmt(r.get('acceptance_rate'), '.3f')} | {r.get('shown')} | "
            f"{_fmt(r.get('mean_accepted_chars'), '.2f')} |"
        )
    return [*lines, ""]


def load_list(path: Path) -> list:
    data = json.loads(path.read_text()) if path.is_file() else []
    return data if isinstance(data, list) else []


def lineage_table(rows: list[dict]) -> list[str]:
    """One row per training round (recipes/default-model/lineage.py writes them)."""
    if not rows:
        return []
    lines = [
        "## Lineage",
        "",
        "Each round continued from the model before it (`run.sh --profile continue --from FILE`), "
        "and was shipped only if val perplexity (the protocol above, q8_0) fell.",
        "",
        "| round | start | CPU (flags) | dtype | minutes | tokens | val ppl before | val ppl after |",
        "| ---: | --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for i, r in enumerate(rows, 1):
        flags = ", ".join(r.get("cpu_flags") or []) or "none"
        lines.append(
            f"| {i} | {r.get('start')} | {r.get('cpu')} ({flags}) | {r.get('dtype')} | "
            f"{_fmt(r.get('minutes'), '.1f')} | {r.get('tokens') or 0:,} | "
            f"{_fmt(r.get('val_ppl_before'))} | {_fmt(r.get('val_ppl_after'))} |"
        )
    return [*lines, ""]


def ab_table(path: Path) -> list[str]:
    """The A/B of training recipes at equal minutes (ab.sh's tables kept in `path`: its
    "# " lines say where they started, its rows are run, minutes, arm, steps, tokens, ppl)."""
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8").splitlines()
    notes = [line[2:] for line in text if line.startswith("# ")]
    header, *rows = [line.split("\t") for line in text if line and not line.startswith("#")]
    lines = [
        "## Recipes tried (A/B at equal minutes)",
        "",
        "`bash recipes/default-model/ab.sh --corpus CORPUS --out OUT --from MODEL.gguf "
        '--minutes "25 50"`: each arm continues from MODEL with the same data order, side by '
        "side, and is scored by the protocol above (q8_0).",
        *(f"- {note}" for note in notes),
        "",
        "| run | minutes | arm | steps | tokens | val ppl |",
        "| --- | ---: | --- | ---: | ---: | ---: |",
    ]
    for row in rows:
        r = dict(zip(header, row, strict=True))
        lines.append(
            f"| {r['run']} | {r['minutes']} | {r['arm']} | {int(r['steps']):,} | "
            f"{int(r['tokens']):,} | {float(r['val_ppl_q8_0']):.2f} |"
        )
    return [*lines, ""]


def _get(d: dict, key: str, stat: str):
    value = d.get(key)
    if isinstance(value, dict):
        return value.get(stat)
    return d.get(f"{key}_{stat}", d.get(f"{stat}_{key}"))


def _fmt(value, spec: str = ".2f") -> str:
    return "n/a" if value is None else format(value, spec)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--profile", required=True)
    ap.add_argument("--corpus", type=Path, required=True)
    args = ap.parse_args()
    (args.out / "MODEL_CARD.md").write_text(card(args.out, args.name, args.profile, args.corpus))


if __name__ == "__main__":
    main()
