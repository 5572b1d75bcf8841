"""What the project memory and name completion add, on a project made from a book. Prints one JSON object.

Issue 23's "Measure": a book's first chapters are the project, its next
chapter is the TEXT the simulated writer types as a new chapter.

    .venv/bin/python benchmarks/project_gain.py --book "THE PRINCESS AND CURDIE"
        [--corpus ../shared/corpus/val.txt.xz] [--chapters 8] [--chars 4000]
        [--name-chars 20000] [--model M.gguf] [--threads 2] [--no-ppl] [--folder F]

--book picks the book whose first 300 characters hold that text (case
ignored). The project (in --folder, else a temporary folder) is its first
--chapters chapters (headings "CHAPTER IV", "Chapter 12. ...") and a
notes.md listing its main characters, found without a reader: two
capitalised words that recur together mid-sentence ("Dejah Thoris"), and
single capitalised words that recur mid-sentence and are almost never
written in lower case ("Curdie"). The typed TEXT is the next chapter's
first --chars characters.

Three ways, each with the app's defaults (the gate at the model's own
confidence, the document n-grams on: writer-bench quality's "both" row):
- none: TEXT typed into an empty document, no project;
- project: the engine learns the folder as the app does (writer-bench --project);
- paste: the notes and chapters pasted before TEXT as one document (--paste,
  the baseline the issue compares with).
For each: ksr_word, acceptance and shown (writer-bench ksr --fast), the
perplexity of the engine's distribution (writer-bench ppl), and name
completion (bench.project.name_report) over the first --name-chars
characters from the next chapter on, so the sample holds enough names.
`writer-bench quality --project FOLDER [--paste]` gives the whole table of
settings for the same folder and TEXT (kept with --folder).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import lzma
import re
import shlex
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from finetune.corpus import split_documents  # noqa: E402
from writer_app.bench.ksr import ksr_figures, type_both_ways  # noqa: E402
from writer_app.bench.project import known_words, load_project, name_report, paste_of  # noqa: E402
from writer_app.bench.quality import ppl_report  # noqa: E402
from writer_app.core.project import NOT_ALIASES  # noqa: E402
from writer_app.engine import Engine, EngineConfig  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "val.txt.xz"
DEFAULT_MODEL = ROOT / "resources" / "models" / "writer-default-q8_0.gguf"
HEADING = re.compile(r"^(?:CHAPTER|Chapter) [IVXLC\d]+\b.*$", re.MULTILINE)
# Mid-sentence (after a lower-case letter, a comma or a semicolon): a sentence's first
# word says nothing about names.
SINGLE = re.compile(r"(?<=[a-z,;] )([A-Z][a-z]{2,})\b")
PAIR = re.compile(r"(?<=[a-z,;] )([A-Z][a-z]{2,} [A-Z][a-z]{2,})\b")
LOWER = re.compile(r"\b[a-z]{3,}\b")
MIN_SINGLE, MIN_PAIR = 5, 3  # times a name is met mid-sentence in the project
MAX_LOWER_SHARE = 0.05  # of those, at most this share in lower case
MAX_PAIRS, MAX_NAMES = 10, 20  # notes entries: full names, all


def find_book(corpus: Path, wanted: str) -> str:
    """Return the book of `corpus` whose first 300 characters hold `wanted` (case ignored)."""
    with lzma.open(corpus, "rt", encoding="utf-8") as f:
        books = split_documents(f.read())
    for book in books:
        if wanted.casefold() in book.strip()[:300].casefold():
            return book
    raise SystemExit(f"no book of {corpus} starts with {wanted!r}")


def chapters_of(book: str) -> list[str]:
    """Return the book's chapters, each from its heading to the next one."""
    heads = [m.start() for m in HEADING.finditer(book)]
    return [book[a:b] for a, b in zip(heads, [*heads[1:], len(book)], strict=True)]


def main_names(text: str) -> list[str]:
    """Return the names `text` uses most: recurring pairs of capitalised words first
    ("Dejah Thoris"), then single words not part of one (module docstring)."""
    lower = Counter(LOWER.findall(text))
    single = Counter(SINGLE.findall(text))

    def named(word: str, n: int) -> bool:
        return lower[word.lower()] <= MAX_LOWER_SHARE * max(n, single[word])

    pairs = [
        pair
        for pair, n in Counter(PAIR.findall(text)).most_common()
        if n >= MIN_PAIR and all(named(w, n) for w in pair.split())
    ][:MAX_PAIRS]
    in_pairs = {w for pair in pairs for w in pair.split()}
    singles = [
        w
        for w, n in single.most_common()
        if n >= MIN_SINGLE and named(w, n) and w not in in_pairs and w.lower() not in NOT_ALIASES
    ]
    return (pairs + singles)[:MAX_NAMES]


def write_project(book: str, chapters: int, chars: int, name_chars: int, folder: Path) -> dict:
    """Write the first `chapters` chapters of `book` and a notes.md of its names in
    `folder`; return the typed TEXT, the name-report text and the names."""
    parts = chapters_of(book)
    if len(parts) <= chapters:
        raise SystemExit(f"the book has {len(parts)} chapters: none left to type after {chapters}")
    folder.mkdir(parents=True, exist_ok=True)
    for k, part in enumerate(parts[:chapters]):
        (folder / f"Chapter {k + 1}.md").write_text(part.strip() + "\n", encoding="utf-8")
    names = main_names("".join(parts[:chapters]))
    notes = "# Characters\n\n" + "".join(f"- **{name}**\n" for name in names)
    (folder / "notes.md").write_text(notes, encoding="utf-8")
    rest = "".join(HEADING.sub("", p, count=1).strip() + "\n\n" for p in parts[chapters:])
    return {"text": _cut(rest, chars), "name_text": _cut(rest, name_chars), "names": names}


def _cut(text: str, chars: int) -> str:
    """Return `text`'s first `chars` characters, ending at the last space before the limit."""
    if len(text) <= chars:
        return text
    return text[: text.rfind(" ", 0, chars)]


def measure(config: EngineConfig, way: str, folder: Path, text: str, name_text: str, ppl: bool):
    """Type `text` one `way` (none, project, paste); return its figures (module docstring)."""
    project = None if way == "none" else str(folder)
    prefix = paste_of(folder) if way == "paste" else ""
    with Engine(config) as engine:
        learnt = load_project(engine, folder) if way == "project" else None
        engine.set_document("")
        tab, word, _ = type_both_ways(engine, text, fast=True, label=way, prefix=prefix)
        figures = ksr_figures(tab, word)
        engine.set_document("")
        names = name_report(engine, name_text, known_words(folder), prefix)
    row = {
        "way": way,
        "ksr_word": figures["ksr_word"],
        "acceptance": figures["acceptance_rate"],
        "shown": figures["shown"],
        "names": names,
    }
    if ppl:
        cached = dataclasses.replace(config, document_cache=True)
        scored = ppl_report(cached, text, project=project, paste=way == "paste")
        row["ppl"], row["ppl_model"] = scored["ppl"], scored["ppl_model"]
    if learnt is not None:
        row["project"] = learnt
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--book", required=True, help="text the book's first 300 chars hold")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--chapters", type=int, default=8, help="chapters in the project")
    parser.add_argument("--chars", type=int, default=4000, help="characters typed")
    parser.add_argument("--name-chars", type=int, default=20000, help="for name completion")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-ppl", action="store_true", help="skip the perplexity")
    parser.add_argument("--ways", default="none,project,paste", help="comma-separated")
    parser.add_argument("--folder", type=Path, help="write the project here and keep it")
    args = parser.parse_args()
    config = EngineConfig(model_path=args.model, n_threads=args.threads)
    book = find_book(args.corpus, args.book)
    with tempfile.TemporaryDirectory(prefix="project-gain-") as tmp:
        folder = args.folder or Path(tmp) / "project"
        made = write_project(book, args.chapters, args.chars, args.name_chars, folder)
        if args.folder is not None:
            (folder.parent / f"{folder.name}-text.md").write_text(made["text"], encoding="utf-8")
        rows = [
            measure(config, way, folder, made["text"], made["name_text"], not args.no_ppl)
            for way in args.ways.split(",")
        ]
    base = next((r["ksr_word"] for r in rows if r["way"] == "none"), None)
    for row in rows:
        if base:
            row["ksr_word_gain"] = round(row["ksr_word"] / base - 1, 4)
    print(
        json.dumps(
            {
                "benchmark": "project_gain",
                "command": shlex.join([sys.executable, *sys.argv]),
                "book": args.book,
                "chapters": args.chapters,
                "chars_typed": len(made["text"]),
                "name_chars": len(made["name_text"]),
                "notes_names": made["names"],
                "rows": rows,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
