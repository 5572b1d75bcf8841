"""A small corpus the training tests write: three short "books" and a val file.

The books reuse the paragraphs of TRAIN_TEXT in different orders, so a tiny
model can learn them in a few dozen steps and its loss falls far below the
ln(50257) = 10.8 of an untrained one.
"""

from __future__ import annotations

from pathlib import Path

from tests.fixtures_text import TRAIN_TEXT

# Tiny enough that a step takes a fraction of a second on one busy core.
TINY_INIT = "n_layer=1,n_embd=64,n_head=2,n_ctx=64"


def write_corpus(folder: Path) -> tuple[Path, Path]:
    """Write books/book{0,1,2}.txt and val.txt under folder; return (books dir, val file)."""
    books = folder / "books"
    books.mkdir(parents=True, exist_ok=True)
    paras = TRAIN_TEXT.strip().split("\n\n")
    for i in range(3):
        order = paras[i:] + paras[:i]
        (books / f"book{i}.txt").write_text(f"Book {i}\n\n" + "\n\n".join(order) + "\n")
    val = folder / "val.txt"
    val.write_text(TRAIN_TEXT)
    return books, val


def tiny_args(books: Path, val: Path, out: Path, cache: Path, *extra: str) -> list[str]:
    """`writer-finetune train` arguments for a fast, single-threaded tiny run."""
    return [
        "train",
        "--data", str(books),
        "--val-data", str(val),
        "--init", TINY_INIT,
        "--out", str(out),
        "--cache-dir", str(cache),
        "--block-size", "32",
        "--micro-batch", "4",
        "--batch-tokens", "128",
        "--lr", "1e-2",
        "--warmup-steps", "2",
        "--eval-windows", "4",
        "--log-every", "1",
        "--threads", "1",
        "--dtype", "fp32",  # the same on every CPU (auto would probe this one)
        "--no-samples",
        *extra,
    ]  # fmt: skip
