"""Reading and cleaning a writer's corpus: files in, clean documents out.

Cleaning keeps every punctuation mark and quote: a cleaner that strips all
but `. , '` teaches its model never to write a question mark. Only layout is
normalised, and Project Gutenberg boilerplate is removed.
"""

from __future__ import annotations

import glob
import hashlib
import lzma
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from finetune.errors import CorpusError
from gpt2gguf.constants import EOS_TEXT

TEXT_SUFFIXES = (".txt", ".md", ".xz")
# A single line longer than this is not prose: a minified dump or a file
# with no line breaks at all, and it would make one absurd "paragraph".
MAX_LINE_CHARS = 1_000_000
# Magic numbers of binary formats people rename by mistake.
BINARY_MAGIC = {
    b"PK\x03\x04": "a zip archive",
    b"%PDF": "a PDF",
    b"\x1f\x8b": "a gzip archive",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"{\\rtf": "an RTF document",
    b"\xd0\xcf\x11\xe0": "a Word (.doc) document",
}

_GUTENBERG_START = re.compile(r"^\*\*\*\s*START OF (THE|THIS) PROJECT GUTENBERG.*$", re.M | re.I)
_GUTENBERG_END = re.compile(
    r"^(\*\*\*\s*END OF (THE|THIS) PROJECT GUTENBERG.*|End of (the )?Project Gutenberg.*)$",
    re.M | re.I,
)
_SEPARATOR_LINE = re.compile(rf"^\s*{re.escape(EOS_TEXT)}\s*$", re.M)
_BLANK_RUN = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


@dataclass
class CleanStats:
    """What cleaning did, so the user can trust it."""

    files: int = 0
    documents: int = 0
    chars_in: int = 0
    chars_out: int = 0
    gutenberg_stripped: int = 0
    paragraphs_unwrapped: int = 0
    duplicates_dropped: int = 0
    empty_dropped: int = 0
    latin1_files: list[str] = field(default_factory=list)

    def summary(self) -> str:
        s = (
            f"{self.files} files, {self.documents} documents, "
            f"{self.chars_in:,} -> {self.chars_out:,} chars; "
            f"Gutenberg boilerplate stripped from {self.gutenberg_stripped}, "
            f"{self.paragraphs_unwrapped} hard-wrapped paragraphs unwrapped, "
            f"{self.duplicates_dropped} duplicate and {self.empty_dropped} empty documents dropped"
        )
        if self.latin1_files:
            s += f"; {len(self.latin1_files)} files read as latin-1"
        return s


def find_files(specs: Iterable[str | Path]) -> list[Path]:
    """Expand files, folders (recursively) and globs into a sorted list of text files.

    Raises CorpusError when a spec matches nothing or nothing usable is found.
    """
    found: list[Path] = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            matches = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix in TEXT_SUFFIXES
            )
        elif path.is_file():
            matches = [path]
        else:
            matches = sorted(
                Path(p) for p in glob.glob(str(spec), recursive=True) if Path(p).is_file()
            )
        if not matches:
            raise CorpusError(_nothing_found(spec, path))
        found.extend(matches)
    # Keep order stable and drop repeats (a file named twice is read once).
    return list(dict.fromkeys(p.resolve() for p in found))


def _nothing_found(spec: str | Path, path: Path) -> str:
    """Why a --data or --val-data entry gave no text files, in words."""
    suffixes = "/".join(TEXT_SUFFIXES)
    if path.is_dir():
        return f"{spec}: the folder has no {suffixes} files in it"
    if any(c in str(spec) for c in "*?["):
        return f"{spec}: no {suffixes} files match this pattern"
    return f"{spec}: no such file or folder"


def binary_kind(raw: bytes) -> str | None:
    """Return what `raw` is when it is not text ("a PDF file", "binary data (NUL bytes)"), else None."""
    for magic, what in BINARY_MAGIC.items():
        if raw.startswith(magic):
            return what
    if b"\x00" in raw[:65536]:
        return "binary data (NUL bytes)"
    return None


def read_file(path: Path, stats: CleanStats | None = None) -> str:
    """Return the text of one corpus file (.xz is decompressed).

    UTF-8 first; latin-1 as a fallback, with a warning. Raises CorpusError,
    naming the file, for unreadable, binary, empty or absurd input.
    """
    try:
        raw = lzma.open(path).read() if path.suffix == ".xz" else path.read_bytes()
    except lzma.LZMAError as exc:
        raise CorpusError(f"{path}: not a valid .xz file ({exc})") from exc
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    what = binary_kind(raw)
    if what is not None:
        raise CorpusError(f"{path}: this is {what}, not text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
        print(f"warning: {path} is not valid UTF-8; read it as latin-1", file=sys.stderr)
        if stats is not None:
            stats.latin1_files.append(str(path))
    control = sum(1 for c in text[:65536] if ord(c) < 32 and c not in "\n\r\t\f")
    if control > 0.01 * min(len(text), 65536):
        raise CorpusError(f"{path}: mostly control characters, not text")
    if not text.strip():
        raise CorpusError(f"{path}: the file is empty (no text)")
    longest = max(len(line) for line in text.splitlines())
    if longest > MAX_LINE_CHARS:
        raise CorpusError(
            f"{path}: one line is {longest:,} characters long; this does not look like prose "
            "(split it into paragraphs with line breaks)"
        )
    return text


def strip_gutenberg(text: str) -> tuple[str, bool]:
    """Return (text between the Gutenberg START/END markers, whether any was found)."""
    start = _GUTENBERG_START.search(text)
    end = _GUTENBERG_END.search(text, start.end() if start else 0)
    if not start and not end:
        return text, False
    begin = start.end() if start else 0
    return text[begin : end.start() if end else len(text)], True


def _looks_hard_wrapped(lines: list[str]) -> bool:
    # Hard-wrapped prose: several lines, all but the last long and of similar
    # width. Verse and dialogue-per-line have short, ragged lines: keep them.
    if len(lines) < 2:
        return False
    body = [len(line) for line in lines[:-1]]
    return min(body) >= 45 and max(body) <= 100


def unwrap_paragraphs(text: str) -> tuple[str, int]:
    """Join hard-wrapped lines within each paragraph. Returns (text, paragraphs joined)."""
    out, joined = [], 0
    for para in text.split("\n\n"):
        lines = [line.strip() for line in para.split("\n")]
        if _looks_hard_wrapped(lines):
            out.append(" ".join(line for line in lines if line))
            joined += 1
        else:
            out.append(para)
    return "\n\n".join(out), joined


def clean_document(text: str, stats: CleanStats) -> str:
    """Normalise one document's layout; words and punctuation are unchanged."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    text, stripped = strip_gutenberg(text)
    stats.gutenberg_stripped += stripped
    text = _TRAILING_SPACE.sub("\n", text)
    text = _BLANK_RUN.sub("\n\n", text.strip("\n"))
    text, joined = unwrap_paragraphs(text)
    stats.paragraphs_unwrapped += joined
    return text.strip()


def split_documents(text: str) -> list[str]:
    """Split a file on lines holding only <|endoftext|> (the corpus's book separator)."""
    return _SEPARATOR_LINE.split(text)


def load_documents(specs: Iterable[str | Path]) -> tuple[list[str], CleanStats]:
    """Read, clean and de-duplicate every document under `specs`.

    Returns (documents, stats). Raises CorpusError for bad files, or when
    nothing remains after cleaning.
    """
    stats = CleanStats()
    docs: list[str] = []
    seen: set[bytes] = set()
    for path in find_files(specs):
        text = read_file(path, stats)
        stats.files += 1
        stats.chars_in += len(text)
        for doc in split_documents(text):
            doc = clean_document(doc, stats)
            if not doc:
                stats.empty_dropped += 1
                continue
            digest = hashlib.blake2b(doc.encode("utf-8"), digest_size=16).digest()
            if digest in seen:
                stats.duplicates_dropped += 1
                continue
            seen.add(digest)
            docs.append(doc)
    stats.documents = len(docs)
    stats.chars_out = sum(len(d) for d in docs)
    if not docs:
        raise CorpusError("no text left after cleaning: every file was empty or a duplicate")
    return docs, stats


def split_train_val(docs: list[str], val_fraction: float = 0.02) -> tuple[list[str], list[str]]:
    """Hold out about `val_fraction` of the documents, deterministically by content hash.

    With few documents (a small corpus, or one long book), the unit of the split
    is a run of paragraphs instead, so that validation is never empty.
    """
    units = docs
    if len(docs) < 50:
        units = []
        for doc in docs:
            paras = doc.split("\n\n")
            step = max(1, len(paras) // 50)
            units.extend("\n\n".join(paras[i : i + step]) for i in range(0, len(paras), step))
    modulus = max(2, round(1 / val_fraction))
    train, val = [], []
    for unit in units:
        h = int.from_bytes(hashlib.blake2b(unit.encode("utf-8"), digest_size=8).digest(), "little")
        (val if h % modulus == 0 else train).append(unit)
    if not val and len(train) > 1:
        val.append(train.pop())
    if not train:
        raise CorpusError("the corpus is too small to hold out a validation split; pass --val-data")
    return train, val
