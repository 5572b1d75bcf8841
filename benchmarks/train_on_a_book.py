"""What "Train on My Writing" does for a writer, measured on one book. Prints one JSON object.

    .venv/bin/python benchmarks/train_on_a_book.py --corpus ../shared/corpus \
        --book "The Princess and the Goblin" --minutes 15 --out runs/own-book

The book (from the corpus's val.txt.xz, which no shipped model trained on)
plays the writer's manuscript: its first 80% is the writer's folder, its last
20% is what they write next. The run goes exactly as the app starts it
(writer_app.training: the same held-out cut of the folder, the same command,
threads, nice and environment), from the bundled model. Then, for the model
before and after, on the last 20%:
- perplexity by the project's protocol (`writer-finetune eval`),
- `writer-bench ksr` on a ~2,800-character passage from its middle.
Run it on an otherwise idle machine: the time budget is wall-clock.
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from finetune.corpus import split_documents  # noqa: E402
from gpt2gguf.constants import default_model_path  # noqa: E402
from writer_app.training.job import JobSpec, command, core_split, environment  # noqa: E402
from writer_app.training.scan import scan, split, write_split  # noqa: E402

HELD_OUT_SHARE = 0.20
PASSAGE_CHARS = 2_800


def book_text(corpus: Path, title: str) -> str:
    """Return the book of val.txt.xz whose first line holds `title` (case-insensitive)."""
    raw = lzma.open(corpus / "val.txt.xz", "rt", encoding="utf-8").read()
    books = [b.strip() for b in split_documents(raw)]
    for book in books:
        if title.lower() in book[:300].lower():
            return book
    raise SystemExit(f"no book titled {title!r} in {corpus / 'val.txt.xz'}")


def cut_at_paragraph(text: str, share: float) -> int:
    """The paragraph break before `share` of the text."""
    return text.rfind("\n\n", 0, round(len(text) * share))


def passage(text: str, chars: int) -> str:
    """About `chars` characters of whole paragraphs from the middle of `text`."""
    start = text.find("\n\n", len(text) // 2) + 2
    end = text.find("\n\n", start + chars)
    return text[start : end if end > 0 else len(text)].strip() + "\n"


def run_json(cmd: list[str]) -> dict:
    """Run a command that prints JSON on stdout; return it."""
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def scores(model: Path, held_out: Path, text: Path) -> dict:
    """Perplexity on the held-out part and KSR on the passage, with their commands."""
    eval_cmd = [sys.executable, "-m", "finetune.cli", "eval", str(model), "--text", str(held_out)]
    eval_cmd += ["--windows", "26", "--json"]
    ksr_cmd = [sys.executable, "-m", "writer_app.bench", "ksr", "--model", str(model)]
    ksr_cmd += ["--text", str(text), "--json", "--fast"]
    ppl, ksr = run_json(eval_cmd), run_json(ksr_cmd)
    return {
        "ppl": round(ppl["ppl"], 2),
        "ksr_word": ksr["ksr_word"],
        "ksr_tab": ksr["ksr_tab"],
        "acceptance_rate": ksr["acceptance_rate"],
        "words_shown": ksr["words_shown"],
        "words_accepted": ksr["words_accepted"],
        "eval_command": shlex.join(eval_cmd),
        "ksr_command": shlex.join(ksr_cmd),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, required=True, help="the folder of val.txt.xz")
    p.add_argument("--book", default="The Princess and the Goblin", help="a val book's title")
    p.add_argument("--minutes", type=float, default=15.0)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--base", type=Path, default=default_model_path())
    p.add_argument("--threads", type=int, help="training threads (default: the app's split)")
    p.add_argument("--train-args", default="", help="more writer-finetune train flags, to try")
    args = p.parse_args()

    book = book_text(args.corpus, args.book)
    cut = cut_at_paragraph(book, 1 - HELD_OUT_SHARE)
    folder, data = args.out / "folder", args.out / "data"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manuscript.txt").write_text(book[:cut].strip() + "\n", encoding="utf-8")
    held_out = args.out / "next-20pct.txt"
    held_out.write_text(book[cut:].strip() + "\n", encoding="utf-8")
    text = args.out / "passage.txt"
    text.write_text(passage(book[cut:], PASSAGE_CHARS), encoding="utf-8")

    scanned = scan(folder)
    parts = split(scanned)
    train_dir, val_file = write_split(parts, data)
    threads = args.threads or core_split()[0]
    spec = JobSpec(args.base, train_dir, val_file, args.out / "run", args.minutes, threads)
    spec.extra_args = shlex.split(args.train_args)
    cmd = command(spec)
    t0 = time.time()
    subprocess.run(cmd, env=environment(threads=threads), check=True)
    seconds = time.time() - t0
    trained = sorted((args.out / "run").glob("*-q8_0.gguf"))[-1]
    rows = [json.loads(line) for line in (args.out / "run" / "metrics.jsonl").open()]

    result = {
        "book": args.book,
        "words": {
            "folder": scanned.words,
            "trained_on": parts.train_words,
            "held_out_by_the_app": parts.val_words,
            "next_20pct": len(book[cut:].split()),
        },
        "training": {
            "command": shlex.join(cmd),
            "threads": threads,
            "seconds": round(seconds, 1),
            "steps": rows[-1]["step"],
            "tokens": rows[-1]["tokens"],
            "held_out_ppl_by_step": {r["step"]: r["val_ppl"] for r in rows if "val_ppl" in r},
            "cpu": os.cpu_count(),
        },
        "before": scores(args.base, held_out, text),
        "after": scores(trained, held_out, text),
        "command": shlex.join([sys.executable, *sys.argv]),
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
