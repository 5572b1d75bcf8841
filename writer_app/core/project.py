"""A novel as a folder of plain files: its chapters, its story notes, and the names they define.

As in novelWriter, the project is the writer's folder and the files in it;
what the app knows of it (this index) is rebuilt from them at any time and
can be thrown away. Chapters are the `.md` and `.txt` files, in natural
name order ("Chapter 2" before "Chapter 10"). The story notes are
`notes.md` at the top, or any file under `notes/`; they are not manuscript.

Qt-free, so the engine, writer-bench and tests use it headless.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

TEXT_SUFFIXES = (".md", ".txt")
NOTES_FILE = "notes.md"
NOTES_DIR = "notes"
MAX_FILES = 5000  # a folder of thousands of files is not a novel: index the first, say so
MAX_FILE_BYTES = 20 * 2**20  # a chapter larger than this is not read for counts or names

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """Return a sort key that orders "Chapter 2" before "Chapter 10", ignoring case."""
    return tuple(int(p) if p.isdigit() else p.casefold() for p in _DIGITS.split(name))


@dataclass(frozen=True)
class ProjectFile:
    """One chapter or notes file: its path, its name relative to the project, its kind."""

    path: Path
    relative: str
    is_notes: bool


@dataclass
class ProjectIndex:
    """The files of one project folder, and what could not be indexed (with why)."""

    root: Path
    chapters: list[ProjectFile] = field(default_factory=list)
    notes: list[ProjectFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (relative name, why)
    case_clashes: list[tuple[str, str]] = field(default_factory=list)  # same name but for case


def is_notes(relative: Path) -> bool:
    """Whether a file (relative to the project) is story notes rather than a chapter."""
    parts = relative.parts
    return (len(parts) == 1 and parts[0].casefold() == NOTES_FILE) or (
        len(parts) > 1 and parts[0].casefold() == NOTES_DIR
    )


def scan_project(root: str | os.PathLike, *, max_files: int = MAX_FILES) -> ProjectIndex:
    """Return the index of the project folder `root`.

    Hidden files and folders are left out, symlinked folders are not followed
    (so a symlink loop can't trap the scan), and a file that can't be read is
    listed in `skipped` with the reason, never raised. Raises NotADirectoryError
    or FileNotFoundError, in words, when `root` is not a folder.
    """
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"The folder {root} does not exist.")
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is a file, not a folder: open it as a file instead.")
    index = ProjectIndex(root=root)
    found: list[ProjectFile] = []
    seen: dict[str, str] = {}

    def on_error(err: OSError) -> None:
        index.skipped.append((_relative(root, err.filename), f"can't be read ({err.strerror})"))

    for folder, dirs, files in os.walk(root, onerror=on_error, followlinks=False):
        dirs[:] = sorted((d for d in dirs if not d.startswith(".")), key=natural_key)
        for name in sorted(files, key=natural_key):
            path = Path(folder) / name
            if name.startswith(".") or path.suffix.casefold() not in TEXT_SUFFIXES:
                continue
            rel = path.relative_to(root)
            if len(found) >= max_files:
                index.skipped.append((str(rel), f"more than {max_files} files in the folder"))
                continue
            if not path.is_file():  # a dangling link, a FIFO named .txt...
                index.skipped.append((str(rel), "not a regular file"))
                continue
            key = str(rel).casefold()
            if key in seen:
                index.case_clashes.append((seen[key], str(rel)))
            seen[key] = str(rel)
            found.append(ProjectFile(path, str(rel), is_notes(rel)))
    found.sort(key=lambda f: natural_key(f.relative))
    index.chapters = [f for f in found if not f.is_notes]
    index.notes = [f for f in found if f.is_notes]
    return index


def _relative(root: Path, name: str | None) -> str:
    try:
        return str(Path(name).relative_to(root)) if name else "?"
    except ValueError:
        return str(name)


# --- names from the story notes ---------------------------------------------

# Words that start a name's line but are not what a writer types to mean the
# character: titles and articles never become an alias on their own.
NOT_ALIASES = frozenset(
    "the a an of and de la le von van mr mrs ms miss dr sir lady lord king queen prince "
    "princess captain master mistress saint st".split()
)
# Headings that organise notes rather than name anything in the story.
SECTION_WORDS = frozenset(
    "characters character cast people places place locations location setting settings world "
    "plot outline timeline themes theme notes items objects factions groups chapters chapter "
    "scenes scene ideas research glossary terms names story summary".split()
)
_NAME = r"[A-Z][\w'’-]*(?:\s+(?:[A-Z][\w'’-]*|of|the|de|la|le|von|van)){0,4}"
# Where the notes define a name: a heading, a bold phrase, or the start of a list entry.
NAME_PATTERNS = (
    re.compile(rf"^#{{1,6}}\s+({_NAME})\s*$", re.MULTILINE),
    re.compile(rf"\*\*({_NAME})\*\*"),
    re.compile(rf"^\s*[-*+]\s+(?:\*\*)?({_NAME})(?:\*\*)?\s*(?:[:—–(,-]|$)", re.MULTILINE),
)
MAX_NAME_WORDS = 5


@dataclass(frozen=True)
class StoryName:
    """A name the notes define, and the shorter forms a writer uses for it."""

    full: str
    aliases: tuple[str, ...]  # its parts, e.g. "Mara" and "Quenby" for "Mara Quenby"


def extract_names(notes: str) -> list[StoryName]:
    """Return the names `notes` defines (headings, bold names, list entries), in order of
    first appearance, each once, with its capitalised parts as aliases."""
    spans: list[tuple[int, str]] = []
    for pattern in NAME_PATTERNS:
        spans.extend((m.start(1), m.group(1)) for m in pattern.finditer(notes))
    names: list[StoryName] = []
    seen: set[str] = set()
    for _, raw in sorted(spans):
        full = " ".join(raw.split()).strip("-'’")
        words = full.split()
        folded = full.casefold()
        if not words or len(words) > MAX_NAME_WORDS:
            continue
        if folded in NOT_ALIASES or folded in SECTION_WORDS:
            continue
        if folded in seen:
            continue
        seen.add(folded)
        aliases = tuple(
            w for w in words if len(w) >= 2 and w[0].isupper() and w.casefold() not in NOT_ALIASES
        )
        names.append(StoryName(full, aliases if len(words) > 1 else ()))
    return names
