"""The one text policy (core/text_io.py): what opens, what is refused, and why, in words."""

from __future__ import annotations

import os
import zipfile

import pytest

from writer_app.core.documents import save_text_file
from writer_app.core.text_io import (
    FileTooLargeError,
    NotRegularFileError,
    NotTextError,
    TextFileError,
    UnreadableFileError,
    read_text_file,
)

PROSE = "The rain had not stopped for three days, and the river rose. " * 20
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


def test_a_file_with_one_nul_in_prose_opens_without_it_and_says_so(tmp_path):
    path = tmp_path / "chapter.md"
    path.write_bytes(PROSE[:200].encode() + b"\x00" + PROSE[200:].encode())
    doc = read_text_file(path)
    assert doc.text == PROSE
    assert "chapter.md" in doc.warning and "control character" in doc.warning


def test_text_the_app_saved_always_opens_again(tmp_path):
    path = tmp_path / "pasted.txt"
    save_text_file(path, "a\x00b\x1bc\x0cd")  # stray controls pasted into the editor
    assert read_text_file(path).text == "abcd"


@pytest.mark.parametrize(
    "name, data, what",
    [
        ("photo.txt", PNG, "a PNG image"),
        ("book.md", None, "zip archive"),
        ("prog.txt", b"\x7fELF\x02\x01\x01" + bytes(300), "a program"),
        ("noise.txt", bytes(range(32)) * 100, "control bytes"),
        ("latin.txt", "Café".encode("cp1252") + b"\x00 end", "NUL bytes"),
    ],
)
def test_binary_files_are_still_refused_with_what_they_are(tmp_path, name, data, what):
    path = tmp_path / name
    if data is None:  # a .docx is a zip archive
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("word/document.xml", "<w:document/>")
    else:
        path.write_bytes(data)
    with pytest.raises(NotTextError) as err:
        read_text_file(path)
    assert what in err.value.reason and f"{name} is not a text file" in str(err.value)


@pytest.mark.timeout(20)
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)  # no writer: reading it would wait forever
    with pytest.raises(NotRegularFileError) as err:
        read_text_file(fifo)
    assert "pipe" in str(err.value) and "not a text file" in str(err.value)


@pytest.mark.parametrize("path, what", [("/dev/zero", "a device"), (".", "a folder")])
def test_devices_and_folders_are_refused_before_reading(tmp_path, path, what):
    with pytest.raises(NotRegularFileError) as err:
        read_text_file(tmp_path if path == "." else path)
    assert what in err.value.reason


def test_size_limit_and_unreadable_files_are_text_file_errors_with_a_reason(tmp_path):
    big = tmp_path / "big.txt"
    big.write_text(PROSE)
    assert read_text_file(big, max_bytes=len(PROSE)).text == PROSE
    with pytest.raises(FileTooLargeError) as err:
        read_text_file(big, max_bytes=100)
    assert "too large" in err.value.reason
    with pytest.raises(UnreadableFileError) as err:
        read_text_file(tmp_path / "missing.txt")
    assert isinstance(err.value, TextFileError) and "No such file" in err.value.reason


def test_a_utf8_byte_order_mark_is_remembered_and_written_back(tmp_path):
    path = tmp_path / "notepad.txt"
    path.write_bytes(b"\xef\xbb\xbfFirst line\r\nSecond")
    doc = read_text_file(path)
    assert doc.text == "First line\nSecond" and doc.bom and doc.warning is None
    save_text_file(path, doc.text + "!", doc.newline, doc.bom)
    assert path.read_bytes() == b"\xef\xbb\xbfFirst line\r\nSecond!"


def test_the_stamp_changes_when_the_bytes_do_even_at_the_same_size_and_time(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("abc")
    first = read_text_file(path).stamp
    st = path.stat()
    path.write_text("abd")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    second = read_text_file(path).stamp
    assert (first.size, first.mtime_ns) == (second.size, second.mtime_ns)
    assert first.digest != second.digest
