"""Reading and writing the writer's text files without ever losing a word.

Reads never crash on bad bytes: invalid UTF-8 falls back to Windows-1252 (the
usual culprit for prose written on Windows) and then Latin-1, with a warning
for the writer. Binary files (any NUL byte outside UTF-16) are refused, since
saving their decoded text back would destroy them. Writes are atomic: a
temporary file in the same folder, fsync, then rename over the target, so a
crash or a full disk leaves either the old file or the new one, never half of each.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gpt2gguf.files import atomic_write

# Tried in order; Latin-1 maps every byte, so the last one always succeeds.
FALLBACK_ENCODINGS = ("cp1252", "latin-1")
ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-16": "UTF-16",
    "cp1252": "Windows-1252",
    "latin-1": "Latin-1",
}
# Byte order marks of the text encodings that legitimately contain NUL bytes.
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class NotTextError(ValueError):
    """The file holds binary data, not text: opening it as text would corrupt it on save."""


@dataclass
class TextFile:
    """A decoded text file: the text with "\\n" line ends, and how it was stored."""

    text: str
    encoding: str = "utf-8"  # what the bytes were decoded as
    newline: str = "\n"  # the file's line ending, written back on save
    warning: str | None = None  # for the writer, when the bytes were not clean UTF-8


def decode_text(data: bytes, name: str = "The file") -> TextFile:
    """Return `data` decoded as a TextFile; bad bytes give a warning, not an error.

    Raises NotTextError when `data` holds a NUL byte and no UTF-16 byte order
    mark: text files never do, programs, images and .docx files always do.
    """
    if data.startswith(UTF16_BOMS):
        return _decode_utf16(data, name)
    nul = data.find(b"\x00")
    if nul >= 0:
        raise NotTextError(
            f"{name} is not a text file (it has a NUL byte at offset {nul}, as programs, "
            "images and word-processor files do, and text never does). "
            "It was not opened, because saving it as text would destroy it."
        )
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
    return _text_file(text, encoding, warning)


def _decode_utf16(data: bytes, name: str) -> TextFile:
    # Notepad's "Unicode": legitimate text full of NUL bytes, kept readable.
    try:
        text = data.decode("utf-16")  # reads and drops the byte order mark
    except UnicodeDecodeError:
        text = "\x00"
    if "\x00" in text:  # binary data that happens to start with a byte order mark
        raise NotTextError(
            f"{name} starts like UTF-16 text but is not text. "
            "It was not opened, because saving it as text would destroy it."
        )
    return _text_file(text, "utf-16", f"{name} is UTF-16 text; saving will write it as UTF-8.")


def _text_file(text: str, encoding: str, warning: str | None) -> TextFile:
    newline = "\r\n" if "\r\n" in text else "\n"
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return TextFile(text=text, encoding=encoding, newline=newline, warning=warning)


def read_text_file(path: str | os.PathLike) -> TextFile:
    """Return the file at `path` decoded (see decode_text).

    Raises OSError if unreadable and NotTextError for a binary file.
    """
    path = Path(path)
    return decode_text(path.read_bytes(), name=path.name)


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


def save_text_file(path: str | os.PathLike, text: str, newline: str = "\n") -> None:
    """Write `text` to `path` as UTF-8 with `newline` line ends, atomically.

    Raises OSError when the file cannot be written; the old file is then intact.
    """
    if newline != "\n":
        text = text.replace("\n", newline)
    atomic_write(path, text.encode("utf-8"))
