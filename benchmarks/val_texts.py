"""Cut the texts the suggestion-quality table is measured on from the corpus's val.txt.xz.

    python benchmarks/val_texts.py --corpus ../shared/corpus --out runs/quality

Writes, and prints one JSON object naming them:
  val-passage.txt      about 3,000 characters from the middle of val, cut at paragraph
                       starts (the cut recipes/default-model/run.sh benchmarks on);
  val-stretch-30k.txt  about 30,000 characters of the same book from the same start:
                       the passage and what follows it, one book's contiguous text.
val is never trained on; these only measure.
"""

from __future__ import annotations

import argparse
import json
import lzma
import sys
from pathlib import Path

from gpt2gguf.constants import EOS_TEXT as SEPARATOR  # between the books of the corpus files


def cut(text: str, start: int, n: int) -> str:
    """Return about `n` characters of `text` from `start`, ending at a paragraph break."""
    end = text.rfind("\n\n", start, start + n)
    return text[start : end if end > start else start + n]


def main(argv: list[str] | None = None) -> int:
    """Cut the passage and the stretch, write them, print the JSON; return 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", required=True, help="folder holding val.txt.xz")
    parser.add_argument("--out", required=True, help="folder to write the texts to")
    args = parser.parse_args(argv)
    with lzma.open(Path(args.corpus) / "val.txt.xz", "rt", encoding="utf-8") as f:
        raw = f.read()
    text = raw.replace(SEPARATOR, "")
    start = text.find("\n\n", len(text) // 2) + 2  # as in recipes/default-model/run.sh
    passage, stretch = cut(text, start, 3000), cut(text, start, 30000)
    if stretch not in raw:
        raise SystemExit("val_texts: the stretch crosses a book boundary")
    book = raw[: raw.index(stretch)].rsplit(SEPARATOR, 1)[-1].strip().split("\n", 1)[0]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "val-passage.txt").write_text(passage, encoding="utf-8")
    (out / "val-stretch-30k.txt").write_text(stretch, encoding="utf-8")
    report = {
        "passage": str(out / "val-passage.txt"),
        "passage_chars": len(passage),
        "stretch": str(out / "val-stretch-30k.txt"),
        "stretch_chars": len(stretch),
        "book": book,
        "command": " ".join(["python", "benchmarks/val_texts.py", *(argv or sys.argv[1:])]),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
