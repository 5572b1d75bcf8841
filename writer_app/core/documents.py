"""Reading and writing the writer's text files without ever losing a word.

Reading follows the app's one text policy (core/text_io.py): bad bytes give
a warning, not a crash; binary files and non-regular files (a FIFO, a
device, a folder) are refused. Writes are atomic (gpt2gguf.files.atomic_write):
a crash or a full disk leaves either the old file or the new one, never half
of each; the file keeps its mode, owner, hard links and UTF-8 byte order mark.

Each read and save returns a FileStamp (mtime, size, hash of the bytes), so
the app can tell, before the next save, whether another program changed the
file meanwhile (`changed_on_disk`).
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from gpt2gguf.files import atomic_write
from writer_app.core.text_io import (
    UTF8_BOM,
    FileStamp,
    NotRegularFileError,
    NotTextError,
    TextFile,
    TextFileError,
    UnreadableFileError,
    decode_text,
    read_text_file,
    regular_file_problem,
    stamp_of,
)

__all__ = [
    "FileStamp",
    "NotRegularFileError",
    "NotTextError",
    "TextFile",
    "TextFileError",
    "UnreadableFileError",
    "changed_on_disk",
    "decode_text",
    "encode_text",
    "new_file_problem",
    "read_text_file",
    "save_text_file",
    "text_diff",
]

MAX_DIFF_LINES = 5_000  # a diff longer than this is cut: it is for reading, not for patching


def new_file_problem(path: str | os.PathLike) -> str | None:
    """Return why a file cannot be created at `path` (which does not exist yet), or None.

    Worded for the writer, so the app can say it when the file is opened
    rather than at the first save, minutes or hours of writing later.
    """
    path = Path(path)
    folder = path.parent
    if not folder.exists():
        return (
            f"The folder {folder} does not exist, so {path.name} cannot be saved there. "
            "Create the folder first, or use File → Save As… to choose another place."
        )
    if not folder.is_dir():
        return f"{folder} is a file, not a folder, so {path.name} cannot be saved there."
    if not os.access(folder, os.W_OK | os.X_OK):
        return (
            f"You cannot create files in {folder}, so {path.name} cannot be saved there. "
            "Use File → Save As… to choose another place."
        )
    return None


def encode_text(text: str, newline: str = "\n", bom: bool = False) -> bytes:
    """Return `text` as the bytes save_text_file writes: UTF-8, `newline` line ends,
    a UTF-8 byte order mark first when `bom`."""
    if newline != "\n":
        text = text.replace("\n", newline)
    return (UTF8_BOM if bom else b"") + text.encode("utf-8")


def save_text_file(
    path: str | os.PathLike, text: str, newline: str = "\n", bom: bool = False
) -> FileStamp:
    """Write `text` to `path` (see encode_text) atomically; return the file's new FileStamp.

    Raises NotRegularFileError when `path` is a FIFO, device or folder, and
    OSError when the file cannot be written; the old file is then intact.
    """
    what = regular_file_problem(path)
    if what is not None:
        raise NotRegularFileError(f"{path} is {what}, not a text file; nothing was written.", what)
    data = encode_text(text, newline, bom)
    atomic_write(path, data)
    return FileStamp.of_bytes(data, os.stat(path))


def changed_on_disk(path: str | os.PathLike, stamp: FileStamp | None) -> bool:
    """Return whether the file at `path` is no longer what `stamp` recorded.

    A file that is gone counts as changed when it existed (`stamp` not None);
    mtime and size equal with different bytes count too (the hash decides).
    """
    now = stamp_of(path)
    if stamp is None or now is None:
        return (stamp is None) != (now is None)
    return now.digest != stamp.digest


def text_diff(old: str, new: str, old_name: str, new_name: str) -> str:
    """Return the unified diff of two texts, a paragraph a line, cut at MAX_DIFF_LINES
    ("" when they are the same)."""
    lines = list(
        difflib.unified_diff(old.splitlines(), new.splitlines(), old_name, new_name, lineterm="")
    )
    if len(lines) > MAX_DIFF_LINES:
        lines = lines[:MAX_DIFF_LINES] + [f"… {len(lines) - MAX_DIFF_LINES:,} more lines"]
    return "\n".join(lines)
