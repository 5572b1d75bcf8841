"""Reading and writing the writer's text files without ever losing a word.

Reads never crash on bad bytes: invalid UTF-8 falls back to Windows-1252 (the
usual culprit for prose written on Windows) and then Latin-1, with a warning
for the writer. Writes are atomic: a temporary file in the same folder, fsync,
then rename over the target, so a crash or a full disk leaves either the old
file or the new one, never half of each.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Tried in order; Latin-1 maps every byte, so the last one always succeeds.
FALLBACK_ENCODINGS = ("cp1252", "latin-1")
ENCODING_NAMES = {"utf-8": "UTF-8", "cp1252": "Windows-1252", "latin-1": "Latin-1"}


@dataclass
class TextFile:
    """A decoded text file: the text with "\\n" line ends, and how it was stored."""

    text: str
    encoding: str = "utf-8"  # what the bytes were decoded as
    newline: str = "\n"  # the file's line ending, written back on save
    warning: str | None = None  # for the writer, when the bytes were not clean UTF-8


def decode_text(data: bytes, name: str = "The file") -> TextFile:
    """Return `data` decoded as a TextFile; never raises on bad bytes (see warning)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    encoding, warning = "utf-8", None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        for encoding in FALLBACK_ENCODINGS:
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        warning = (
            f"{name} is not valid UTF-8 (bad byte at offset {err.start}), so it was opened "
            f"as {ENCODING_NAMES[encoding]}. Check accented letters and quotes; "
            "saving will write it as UTF-8."
        )
    newline = "\r\n" if "\r\n" in text else "\n"
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return TextFile(text=text, encoding=encoding, newline=newline, warning=warning)


def read_text_file(path: str | os.PathLike) -> TextFile:
    """Return the file at `path` decoded (see decode_text). Raises OSError if unreadable."""
    path = Path(path)
    return decode_text(path.read_bytes(), name=path.name)


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Replace the file at `path` with `data` atomically (temp file, fsync, rename).

    A symlink is followed, so the link survives and its target is replaced; an
    existing file keeps its permission bits. Raises OSError (no permission,
    disk full, missing folder...) and then leaves the old file untouched.
    """
    target = Path(os.path.realpath(path))
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        if target.exists():
            os.chmod(tmp_name, target.stat().st_mode & 0o7777)
        os.replace(tmp_name, target)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise
    _fsync_dir(target.parent)


def save_text_file(path: str | os.PathLike, text: str, newline: str = "\n") -> None:
    """Write `text` to `path` as UTF-8 with `newline` line ends, atomically.

    Raises OSError when the file cannot be written; the old file is then intact.
    """
    if newline != "\n":
        text = text.replace("\n", newline)
    write_atomic(path, text.encode("utf-8"))


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable on POSIX; Windows cannot open folders.
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
