"""The writer's texts: find them, count their words, and split off a held-out part.

Validation is the last part of *each* text (about a tenth, cut at a paragraph
break), so even a single file has a held-out part, and the model is scored on
the writer's own prose it never trained on. The two parts are written to
separate files and only the training part is passed as `--data`, so no
held-out sentence can reach training.

Files are read by the editor's own policy (writer_app/core/text_io.py), so a
file that opens in the editor trains, and one that does not is skipped with
the same reason. A file over MAX_FILE_BYTES is skipped unread: a stray 200 MB
log would freeze the scan and swamp the writer's prose. The app's own data
folder is never scanned: training on its copies of earlier training texts
would count the writer's words twice.

The copies written for training are private (0600 files in 0700 folders):
they are the writer's unpublished text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from writer_app.core.paths import private_dir, private_file
from writer_app.core.text_io import TextFileError, read_text_file
from writer_app.training.errors import TrainingError

TEXT_SUFFIXES = (".txt", ".md")
LOW_WORDS = 20_000  # below this, warn: the model will learn little
MIN_WORDS = 2_000  # below this, refuse: too little for a training part and a held-out part
VAL_SHARE = 0.10
# The trainer evaluates windows of up to 512 tokens (about 1.3 tokens a word in
# English prose): the held-out part must hold at least one, whatever the share.
MIN_VAL_WORDS = 800
CURRENT_DOCUMENT = "current document"
MAX_FILE_BYTES = 50 * 2**20  # a novel is about 1 MB; far beyond this, it is not prose
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


def read_text(path: Path, max_bytes: int = MAX_FILE_BYTES) -> str:
    """Return the text of a writer's file, decoded as the editor decodes it.

    Raises TrainingError, saying why in a few words, for a file that is larger
    than `max_bytes` (not read), binary, empty or unreadable.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise TrainingError(f"cannot be read ({exc.strerror or exc})") from exc
    if size > max_bytes:
        raise TrainingError(f"too large: {size / 2**20:,.0f} MB, over {max_bytes / 2**20:g} MB")
    try:
        text = read_text_file(path, max_bytes=max_bytes).text
    except TextFileError as exc:
        raise TrainingError(exc.reason) from exc
    if not text.strip():
        raise TrainingError("empty")
    return text


def _inside(path: Path, folder: Path) -> bool:
    """Whether `path` is `folder` or inside it (symlinks resolved)."""
    return path.resolve().is_relative_to(folder.resolve())


def check_folder(folder: Path, app_data: Path | None) -> None:
    """Refuse a folder of texts that is, or is inside, the app's data folder.

    Raises TrainingError saying why, or when the folder does not exist.
    """
    if not folder.is_dir():
        raise TrainingError(f"The folder {folder} does not exist.")
    if app_data is not None and _inside(folder, app_data):
        raise TrainingError(
            f"{folder} is in the app's own data folder ({app_data}), which holds its copies "
            "of earlier training texts and its statistics, not your writing. Choose the "
            "folder where you keep your own texts."
        )


def scan(
    folder: Path | None, current_document: str | None = None, app_data: Path | None = None
) -> Scan:
    """Return the usable .txt and .md texts under `folder` (recursively), plus the
    current document when given and not empty; unusable files are listed in
    `skipped` with the reason. Nothing under `app_data` (the app's data folder) is read.

    Raises TrainingError when the folder does not exist or is in `app_data`.
    """
    result = Scan()
    if folder is not None:
        folder = Path(folder)
        check_folder(folder, app_data)
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            if path.suffix.lower() not in TEXT_SUFFIXES:
                continue
            if app_data is not None and _inside(path, app_data):
                continue  # the app's own copies, in a folder that holds its data folder
            name = str(path.relative_to(folder))
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
    folder/val.txt, private (0600 files, 0700 folders); return (the training
    folder, the val file).

    Raises OSError when the folder cannot be written.
    """
    train_dir = private_dir(Path(folder) / "train")
    for i, (name, text) in enumerate(parts.train):
        safe = re.sub(r"[^\w.-]+", "_", Path(name).stem)[:60] or "text"
        private_file(train_dir / f"{i:04d}-{safe}.txt", (text + "\n").encode("utf-8"))
    val_file = Path(folder) / "val.txt"
    private_file(val_file, (parts.val + "\n").encode("utf-8"))
    return train_dir, val_file
