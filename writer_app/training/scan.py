"""The writer's texts: find them, count their words, and split off a held-out part.

Validation is the last part of *each* text (about a tenth, cut at a paragraph
break), so even a single file has a held-out part, and the model is scored on
the writer's own prose it never trained on. The two parts are written to
separate files and only the training part is passed as `--data`, so no
held-out sentence can reach training.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from finetune.corpus import binary_kind  # finetune.corpus loads no torch
from writer_app.training.errors import TrainingError

TEXT_SUFFIXES = (".txt", ".md")
LOW_WORDS = 20_000  # below this, warn: the model will learn little
MIN_WORDS = 2_000  # below this, refuse: too little for a training part and a held-out part
VAL_SHARE = 0.10
# The trainer evaluates windows of up to 512 tokens (about 1.3 tokens a word in
# English prose): the held-out part must hold at least one, whatever the share.
MIN_VAL_WORDS = 800
CURRENT_DOCUMENT = "current document"
_WORD = re.compile(r"\S+")


@dataclass
class Text:
    """One usable text: where it came from, its content and its word count."""

    name: str  # the file's path relative to the folder, or CURRENT_DOCUMENT
    text: str
    words: int


@dataclass
class Scan:
    """What a folder (and the current document) holds for training."""

    texts: list[Text] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, why)

    @property
    def words(self) -> int:
        """Return the total number of words of the usable texts."""
        return sum(t.words for t in self.texts)

    @property
    def low(self) -> bool:
        """Whether there is so little text that the writer should be warned."""
        return self.words < LOW_WORDS


@dataclass
class Split:
    """The texts cut into a training part and a held-out part, with their word counts."""

    train: list[tuple[str, str]]  # (name, text)
    val: str
    train_words: int
    val_words: int


def count_words(text: str) -> int:
    """Return the number of whitespace-separated words in `text`."""
    return sum(1 for _ in _WORD.finditer(text))


def read_text(path: Path) -> str:
    """Return the text of a UTF-8 file.

    Raises TrainingError, saying why, for a file that is binary, not UTF-8,
    empty or unreadable.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TrainingError(f"cannot be read ({exc.strerror or exc})") from exc
    what = binary_kind(raw)
    if what is not None:
        raise TrainingError(f"{what}, not text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TrainingError(f"not UTF-8 text (undecodable byte at {exc.start})") from exc
    if not text.strip():
        raise TrainingError("empty")
    return text


def scan(folder: Path | None, current_document: str | None = None) -> Scan:
    """Return the usable .txt and .md texts under `folder` (recursively), plus the
    current document when given and not empty; unusable files are listed in
    `skipped` with the reason.

    Raises TrainingError when the folder does not exist.
    """
    result = Scan()
    if folder is not None:
        folder = Path(folder)
        if not folder.is_dir():
            raise TrainingError(f"The folder {folder} does not exist.")
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            name = str(path.relative_to(folder))
            if path.suffix.lower() not in TEXT_SUFFIXES:
                continue
            try:
                text = read_text(path)
            except TrainingError as why:
                result.skipped.append((name, str(why)))
                continue
            result.texts.append(Text(name, text, count_words(text)))
    if current_document and current_document.strip():
        result.texts.append(Text(CURRENT_DOCUMENT, current_document, count_words(current_document)))
    return result


def _cut_point(text: str, target: int) -> int:
    """The paragraph break nearest to `target` (else a line break, else a space)."""
    for sep in ("\n\n", "\n", " "):
        before = text.rfind(sep, 0, target)
        after = text.find(sep, target)
        found = [i for i in (before, after) if 0 < i < len(text) - len(sep)]
        if found:
            return min(found, key=lambda i: abs(i - target)) + len(sep)
    return target


def split(scanned: Scan, share: float = VAL_SHARE, min_val_words: int = MIN_VAL_WORDS) -> Split:
    """Cut the last part of every text off for validation: `share` of it, more when
    the whole would give the held-out part fewer than `min_val_words` words (up to half).

    Raises TrainingError when there is too little text for both parts.
    """
    total = scanned.words
    if total < MIN_WORDS:
        raise TrainingError(
            f"There are only {total:,} words here: training needs at least {MIN_WORDS:,} "
            "(and does well with 20,000 or more)."
        )
    share = min(0.5, max(share, min_val_words / total))
    train: list[tuple[str, str]] = []
    val_parts: list[str] = []
    for t in scanned.texts:
        cut = _cut_point(t.text, round(len(t.text) * (1 - share)))
        head, tail = t.text[:cut].strip(), t.text[cut:].strip()
        if head:
            train.append((t.name, head))
        if tail:
            val_parts.append(tail)
    val = "\n\n".join(val_parts)
    return Split(
        train=train,
        val=val,
        train_words=sum(count_words(text) for _, text in train),
        val_words=count_words(val),
    )


def write_split(parts: Split, folder: Path) -> tuple[Path, Path]:
    """Write the training texts into folder/train/ and the held-out text to
    folder/val.txt; return (the training folder, the val file).

    Raises OSError when the folder cannot be written.
    """
    train_dir = folder / "train"
    train_dir.mkdir(parents=True, exist_ok=True)
    for i, (name, text) in enumerate(parts.train):
        safe = re.sub(r"[^\w.-]+", "_", Path(name).stem)[:60] or "text"
        (train_dir / f"{i:04d}-{safe}.txt").write_text(text + "\n", encoding="utf-8")
    val_file = folder / "val.txt"
    val_file.write_text(parts.val + "\n", encoding="utf-8")
    return train_dir, val_file
