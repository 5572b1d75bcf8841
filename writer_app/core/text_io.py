"""How a writer's text file is read: the one decoding policy of the app (issue 26).

The editor (core/documents.py) and the training scan read the writer's files
through `read_text_file`, so a file that opens in the editor is a file the
training can use, and both say the same thing about one that is not.

The policy, in order:

1. Only regular files are read. A FIFO, a socket, a device (/dev/zero) or a
   folder is refused before a byte is read: reading one could block forever
   or never end. The file is opened non-blocking and checked with fstat, so a
   file swapped for a FIFO after a stat cannot hang the app either.
2. `max_bytes` (when given) refuses a larger file before reading it.
3. Binary files are refused, by two rules (see `binary_kind`): a magic number
   of a known binary format at the start (zip and so .docx/.odt/.epub, PNG,
   JPEG, GIF, PDF, ELF, Mach-O, gzip, xz, ...); or control
   bytes that are more than a trace: NUL and other C0 controls making up more
   than 1% of the first 64 KiB (and more than 16 of them), or any NUL in bytes
   that are not UTF-8. A single stray NUL in prose is not binary: text this
   app wrote (always UTF-8) must always open again.
4. A UTF-16 byte order mark means UTF-16 (Notepad's "Unicode"); a UTF-8 one
   is dropped and remembered (`TextFile.bom`) so that saving writes it back.
5. UTF-8, else Windows-1252, else Latin-1 (which maps every byte), with a
   warning that says so.
6. Stray control characters (C0 other than tab, line feed and carriage
   return: NUL, form feed, escape...) are removed, with a warning that counts them.
7. Line ends become "\\n"; the file's own ("\\r\\n" or "\\n") is kept in
   `TextFile.newline` for saving.

Every refusal is a TextFileError whose str() is a sentence for the writer
naming the file, and whose `reason` is the short why ("a PNG image"), for lists.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

# Tried in order after UTF-8; Latin-1 maps every byte, so the last one always succeeds.
FALLBACK_ENCODINGS = ("cp1252", "latin-1")
ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-16": "UTF-16",
    "cp1252": "Windows-1252",
    "latin-1": "Latin-1",
}
UTF8_BOM = b"\xef\xbb\xbf"
# Byte order marks of the text encodings that legitimately contain NUL bytes.
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# Magic numbers of binary formats that people rename or pick by mistake. Only
# ones a line of prose cannot start with: a plain-letter magic such as "MZ"
# (Windows programs) or "GGUF" would refuse a chapter that begins so, and
# those formats are caught by their control bytes anyway.
BINARY_MAGIC = {
    b"PK\x03\x04": "a zip archive (or a .docx, .odt or .epub, which are zip archives)",
    b"%PDF": "a PDF",
    b"\x89PNG\r\n\x1a\n": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF87a": "a GIF image",
    b"GIF89a": "a GIF image",
    b"\x7fELF": "a program",
    b"\xcf\xfa\xed\xfe": "a program",  # Mach-O, 64-bit
    b"\xce\xfa\xed\xfe": "a program",  # Mach-O, 32-bit
    b"\xca\xfe\xba\xbe": "a program",  # Mach-O universal, or a Java class
    b"\x1f\x8b": "a gzip archive",
    b"\xfd7zXZ\x00": "an xz archive",
    b"7z\xbc\xaf\x27\x1c": "a 7-Zip archive",
    b"Rar!\x1a\x07": "a RAR archive",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "a Word (.doc) or other Office document",
    b"{\\rtf": "an RTF document",
    b"SQLite format 3\x00": "a database",
}
SAMPLE_BYTES = 65_536  # the part of a file the control-byte share is measured on
MAX_CONTROL_SHARE = 0.01  # more control bytes than this (and than MIN_BINARY_CONTROLS): binary
MIN_BINARY_CONTROLS = 16
# C0 controls other than tab, line feed and carriage return: never meant in prose.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b-\x0c\x0e-\x1f]")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f]")
_NOT_WHAT = {  # file type (stat.S_IFMT) -> what it is, for the writer
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a pipe (FIFO)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a disk device",
}


class TextFileError(Exception):
    """A writer's file that cannot be read as text; str() is a sentence for the writer.

    `reason` is the short why, without the file's name ("a PNG image",
    "cannot be read (Permission denied)"), for lists such as the training scan's.
    """

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class NotTextError(TextFileError, ValueError):
    """The file holds binary data, not text: opening it as text would corrupt it on save."""


class NotRegularFileError(TextFileError):
    """The path is a folder, a pipe, a socket or a device, not a file with text in it."""


class FileTooLargeError(TextFileError):
    """The file is larger than the caller's `max_bytes`."""


class UnreadableFileError(TextFileError):
    """The file could not be read (missing, no permission, an I/O error); `errno` as OSError's."""

    def __init__(self, message: str, reason: str, errno: int | None = None):
        super().__init__(message, reason)
        self.errno = errno


@dataclass(frozen=True)
class FileStamp:
    """What a file on disk was when it was read or written: to notice another program's change."""

    mtime_ns: int
    size: int
    digest: str  # blake2b of the bytes; mtime alone misses changes within its resolution

    @classmethod
    def of_bytes(cls, data: bytes, st: os.stat_result) -> FileStamp:
        """Return the stamp of `data` as stored in a file whose stat is `st`."""
        return cls(st.st_mtime_ns, st.st_size, hashlib.blake2b(data, digest_size=16).hexdigest())


@dataclass
class TextFile:
    """A decoded text file: the text with "\\n" line ends, and how it was stored."""

    text: str
    encoding: str = "utf-8"  # what the bytes were decoded as
    newline: str = "\n"  # the file's line ending, written back on save
    warning: str | None = None  # for the writer: a fallback encoding, removed control characters
    bom: bool = False  # it began with a UTF-8 byte order mark, written back on save
    stamp: FileStamp | None = None  # set by read_text_file: the file as it was read


def binary_kind(data: bytes) -> str | None:
    """Return what `data` is when it is binary rather than text ("a PNG image"), else None.

    Binary: a known magic number at the start; or, without a UTF-16 byte
    order mark, control bytes (NUL and the other C0 controls but tab, line
    feed and carriage return) beyond a trace in the first SAMPLE_BYTES (more
    than MAX_CONTROL_SHARE of them and more than MIN_BINARY_CONTROLS); or any
    NUL in bytes that are not UTF-8. A share, not "any NUL": one stray NUL
    in a novel is damage to strip, not a sign of a program.
    """
    for magic, what in BINARY_MAGIC.items():
        if data.startswith(magic):
            return what
    if data.startswith(UTF16_BOMS):
        return None
    sample = data[:SAMPLE_BYTES]
    controls = len(_CONTROL_BYTES.findall(sample))
    if controls > MIN_BINARY_CONTROLS and controls > MAX_CONTROL_SHARE * len(sample):
        return "binary data (full of control bytes, as programs and images are)"
    if b"\x00" in data and not _is_utf8(data):
        return "binary data (NUL bytes in text that is not UTF-8)"
    return None


def decode_text(data: bytes, name: str = "The file") -> TextFile:
    """Return `data` decoded as a TextFile by the policy above; bad bytes give a warning.

    Raises NotTextError (its message names `name`) for binary data.
    """
    what = binary_kind(data)
    if what is not None:
        raise NotTextError(
            f"{name} is not a text file (it is {what}). "
            "It was not opened, because saving it as text would destroy it.",
            what,
        )
    if data.startswith(UTF16_BOMS):
        return _decode_utf16(data, name)
    bom = data.startswith(UTF8_BOM)
    if bom:
        data = data[len(UTF8_BOM) :]
    encoding, warnings = "utf-8", []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        for encoding in FALLBACK_ENCODINGS:
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        warnings.append(
            f"{name} is not valid UTF-8 (bad byte at offset {err.start}), so it was opened "
            f"as {ENCODING_NAMES[encoding]}. Check accented letters and quotes; "
            "saving will write it as UTF-8."
        )
    text, removed = _CONTROL_CHARS.subn("", text)
    if removed:
        what = (
            "a stray control character" if removed == 1 else f"{removed} stray control characters"
        )
        warnings.append(
            f"{name} had {what} (such as a NUL byte), which is not text: removed here, "
            "and saving will leave it out."
        )
    return _text_file(text, encoding, " ".join(warnings) or None, bom)


def read_text_file(path: str | os.PathLike, *, max_bytes: int | None = None) -> TextFile:
    """Return the file at `path` decoded by the policy above, with its FileStamp.

    Raises NotRegularFileError (a folder, FIFO, socket, device: never read,
    never blocks), FileTooLargeError (over `max_bytes`), UnreadableFileError
    (missing, no permission, I/O error) or NotTextError (binary); all are
    TextFileError with a sentence for the writer and a short `reason`.
    """
    path = Path(path)
    data, st = _read_regular(path, max_bytes)
    doc = decode_text(data, name=path.name)
    doc.stamp = FileStamp.of_bytes(data, st)
    return doc


def stamp_of(path: str | os.PathLike) -> FileStamp | None:
    """Return the FileStamp of the regular file at `path` now, or None when there is none
    (missing, not a regular file, unreadable)."""
    try:
        data, st = _read_regular(Path(path), None)
    except TextFileError:
        return None
    return FileStamp.of_bytes(data, st)


def regular_file_problem(path: str | os.PathLike) -> str | None:
    """Return why `path` is not a regular file ("a pipe (FIFO)"), or None (a file, or nothing)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return None if stat.S_ISREG(mode) else _NOT_WHAT.get(stat.S_IFMT(mode), "not a regular file")


def _read_regular(path: Path, max_bytes: int | None) -> tuple[bytes, os.stat_result]:
    what = regular_file_problem(path)  # first: a FIFO must not even be opened
    if what is not None:
        raise _not_regular(path, what)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        why = err.strerror or str(err)
        raise UnreadableFileError(
            f"Could not open {path}: {why}.", f"cannot be read ({why})", err.errno
        ) from err
    try:
        st = os.fstat(fd)  # the file actually opened, whatever happened since the stat
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(path, _NOT_WHAT.get(stat.S_IFMT(st.st_mode), "not a regular file"))
        if max_bytes is not None and st.st_size > max_bytes:
            raise FileTooLargeError(
                f"{path.name} is too large ({st.st_size:,} bytes; at most {max_bytes:,}).",
                f"too large ({st.st_size:,} bytes)",
            )
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read() if max_bytes is None else file.read(max_bytes + 1)
    except OSError as err:
        why = err.strerror or str(err)
        raise UnreadableFileError(
            f"Could not read {path}: {why}.", f"cannot be read ({why})", err.errno
        ) from err
    finally:
        os.close(fd)
    if max_bytes is not None and len(data) > max_bytes:  # it grew while being read
        raise FileTooLargeError(
            f"{path.name} is too large (more than {max_bytes:,} bytes).", "too large"
        )
    return data, st


def _not_regular(path: Path, what: str) -> NotRegularFileError:
    return NotRegularFileError(
        f"{path} is {what}, not a text file, so it was not opened.", f"{what}, not a file"
    )


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode_utf16(data: bytes, name: str) -> TextFile:
    # Notepad's "Unicode": legitimate text full of NUL bytes, kept readable.
    try:
        text = data.decode("utf-16")  # reads and drops the byte order mark
    except UnicodeDecodeError:
        text = "\x00"
    if "\x00" in text:  # binary data that happens to start with a byte order mark
        raise NotTextError(
            f"{name} starts like UTF-16 text but is not text. "
            "It was not opened, because saving it as text would destroy it.",
            "binary data behind a UTF-16 byte order mark",
        )
    return _text_file(
        _CONTROL_CHARS.sub("", text),
        "utf-16",
        f"{name} is UTF-16 text; saving will write it as UTF-8.",
        False,
    )


def _text_file(text: str, encoding: str, warning: str | None, bom: bool) -> TextFile:
    newline = "\r\n" if "\r\n" in text else "\n"
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return TextFile(text=text, encoding=encoding, newline=newline, warning=warning, bom=bom)
