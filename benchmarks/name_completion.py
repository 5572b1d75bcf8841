"""Name completion on projects made from books, with the sentence-start rule and without it,
in one run. Prints one JSON line per book.

    .venv/bin/python benchmarks/name_completion.py "PETER PAN@../shared/corpus/train-05.txt.xz" \
        ["TITLE@CORPUS" ...] [--threads 1]

Each book's first 8 chapters and a notes file of its names are the project
(benchmarks/project_gain.py's write_project); bench.project.name_report then
types the next 20,000 characters, asking for a suggestion after the first two
letters of every capitalised word. "without" offers a name at a sentence start
whatever starts the project's sentences (names.START_SHARE = 0, as before the
rule); "with" waits where those letters mostly start another word.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.project_gain import find_book, write_project  # noqa: E402
from gpt2gguf.constants import default_model_path  # noqa: E402
from writer_app.bench.project import known_words, load_project, name_report  # noqa: E402
from writer_app.engine import Engine, EngineConfig, names  # noqa: E402

FIELDS = ("known_name_occurrences", "completed_correctly", "name_completions", "wrong_completions")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("books", nargs="+", metavar="TITLE@CORPUS")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    rule = names.START_SHARE
    for spec in args.books:
        title, corpus = spec.rsplit("@", 1)
        book = find_book(Path(corpus), title)
        with tempfile.TemporaryDirectory(prefix="names-") as tmp:
            folder = Path(tmp) / "project"
            made = write_project(book, 8, 4000, 20000, folder)
            config = EngineConfig(model_path=default_model_path(), n_threads=args.threads)
            row: dict = {"book": title}
            with Engine(config) as engine:
                load_project(engine, folder)
                for label, share in (("without", 0.0), ("with", rule)):
                    names.START_SHARE = share  # read by NameIndex.match at each call
                    engine.set_document("")
                    report = name_report(engine, made["name_text"], known_words(folder))
                    row[label] = {k: report[k] for k in FIELDS}
                    row[f"{label}_wrong"] = report["wrong"]
            names.START_SHARE = rule
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
