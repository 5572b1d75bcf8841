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

from writer_app.core.text_io import TextFileError, read_text_file

TEXT_SUFFIXES = (".md", ".txt")
NOTES_FILE = "notes.md"
NOTES_DIR = "notes"
MAX_FILES = 5000  # a folder of thousands of files is not a novel: index the first, say so
MAX_FILE_BYTES = 20 * 2**20  # a chapter larger than this is not read for counts or names
NEW_CHAPTER = "Chapter {n}.md"
_CHAPTER_NUMBER = re.compile(r"^chapter\s*(\d+)", re.IGNORECASE)

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """Return a sort key that orders "Chapter 2" before "Chapter 10", ignoring case."""
    return tuple(int(p) if p.isdigit() else p.casefold() for p in _DIGITS.split(name))


class ProjectError(Exception):
    """A chapter name that cannot be used, or a file that cannot be made; worded for the writer."""


@dataclass(frozen=True)
class ProjectFile:
    """One chapter or notes file: its path, its name relative to the project, its kind, and
    its words (as read at the scan)."""

    path: Path
    relative: str
    is_notes: bool
    words: int = 0


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


def scan_project(
    root: str | os.PathLike,
    *,
    max_files: int = MAX_FILES,
    counts: dict[Path, tuple[int, int, int]] | None = None,
) -> ProjectIndex:
    """Return the index of the project folder `root`, each file's words counted.

    Hidden files and folders are left out, symlinked folders are not followed
    (so a symlink loop can't trap the scan), and a file that can't be read
    (no permission, binary, too large) is listed in `skipped` with the reason,
    never raised. `counts`, kept by the caller between scans, remembers each
    file's (mtime_ns, size, words) so that a rescan reads only changed files.
    Raises NotADirectoryError or FileNotFoundError, in words, when `root` is
    not a folder.
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
            words, why = _words_of(path, counts)
            if why is not None:
                index.skipped.append((str(rel), why))
                continue
            key = str(rel).casefold()
            if key in seen:
                index.case_clashes.append((seen[key], str(rel)))
            seen[key] = str(rel)
            found.append(ProjectFile(path, str(rel), is_notes(rel), words))
    found.sort(key=lambda f: (natural_key(f.relative), f.relative))  # case ties: stable
    index.chapters = [f for f in found if not f.is_notes]
    index.notes = [f for f in found if f.is_notes]
    return index


def _words_of(path: Path, counts: dict | None) -> tuple[int, str | None]:
    # (words, None), or (0, why the file is skipped). Unchanged files come from `counts`.
    try:
        st = path.stat()
    except OSError as err:
        return 0, f"can't be read ({err.strerror})"
    known = counts.get(path) if counts is not None else None
    if known is not None and known[:2] == (st.st_mtime_ns, st.st_size):
        return known[2], None
    try:
        text = read_text_file(path, max_bytes=MAX_FILE_BYTES).text
    except TextFileError as err:
        return 0, err.reason
    words = len(text.split())
    if counts is not None:
        counts[path] = (st.st_mtime_ns, st.st_size, words)
    return words, None


def _relative(root: Path, name: str | None) -> str:
    try:
        return str(Path(name).relative_to(root)) if name else "?"
    except ValueError:
        return str(name)


# --- new and renamed chapters -------------------------------------------------


def next_chapter_name(index: ProjectIndex) -> str:
    """Return "Chapter N.md" for the first N above every chapter number in the project's
    top folder whose name is free there (whatever the case)."""
    taken = _names_in(index.root)
    numbers = [int(m.group(1)) for c in index.chapters if (m := _CHAPTER_NUMBER.match(c.path.stem))]
    n = max(numbers, default=0) + 1
    while NEW_CHAPTER.format(n=n).casefold() in taken:
        n += 1
    return NEW_CHAPTER.format(n=n)


def chapter_path(
    folder: Path, name: str, suffix: str = ".md", *, renaming: Path | None = None
) -> Path:
    """Return the path of a chapter called `name` in `folder` (`suffix` added unless the
    name ends in .md or .txt).

    Raises ProjectError when the name is empty, hidden, has a folder separator,
    or is taken in `folder`, also when only its case differs (two such files
    are one on Windows and macOS); `renaming`, the file being renamed, may
    keep its own name in another case.
    """
    name = name.strip()
    if not name or name in (".", ".."):
        raise ProjectError("A chapter needs a name.")
    if "/" in name or "\\" in name or (os.altsep and os.altsep in name):
        raise ProjectError(f"“{name}” has a slash in it; a chapter's name can't name a folder.")
    if name.startswith("."):
        raise ProjectError(f"“{name}” starts with a dot, which hides the file: choose another.")
    if Path(name).suffix.casefold() not in TEXT_SUFFIXES:
        name += suffix
    path = folder / name
    clash = _names_in(folder).get(name.casefold())
    if clash is not None and (renaming is None or clash != renaming.name):
        same = "" if clash == name else f" (as “{clash}”: names that differ only in case clash)"
        raise ProjectError(f"There is already a file called {name} here{same}.")
    return path


def create_chapter(folder: Path, name: str) -> Path:
    """Create the empty chapter `name` in `folder` and return its path.

    Raises ProjectError for a name chapter_path refuses or a file that can't be made.
    """
    path = chapter_path(folder, name)
    try:
        with open(path, "x", encoding="utf-8"):
            pass
    except OSError as err:
        raise ProjectError(f"Could not create {path.name}: {err.strerror or err}.") from err
    return path


def rename_chapter(path: Path, name: str) -> Path:
    """Rename the chapter file `path` to `name` (in its folder, keeping its suffix when
    `name` has none); return the new path.

    Raises ProjectError for a name chapter_path refuses, or when the rename fails.
    """
    new = chapter_path(path.parent, name, path.suffix, renaming=path)
    if new == path:
        return path
    try:
        if path.exists():
            os.rename(path, new)
    except OSError as err:
        raise ProjectError(f"Could not rename {path.name}: {err.strerror or err}.") from err
    return new


def _names_in(folder: Path) -> dict[str, str]:
    # casefolded name -> the name on disk, for the clash checks.
    try:
        return {n.casefold(): n for n in os.listdir(folder)}
    except OSError:
        return {}


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


def project_names(index: ProjectIndex) -> list[StoryName]:
    """Return the names of all the project's notes files (notes.md first, then notes/ in
    order), each once; a notes file that can't be read gives none (the scan said why)."""
    names: list[StoryName] = []
    seen: set[str] = set()
    for notes in index.notes:
        try:
            text = read_text_file(notes.path, max_bytes=MAX_FILE_BYTES).text
        except TextFileError:
            continue
        for name in extract_names(text):
            if name.full.casefold() not in seen:
                seen.add(name.full.casefold())
                names.append(name)
    return names


def name_words(names: list[StoryName]) -> set[str]:
    """Return every word of `names` (their parts), for a spell checker never to flag."""
    return {word for name in names for word in name.full.split()}
