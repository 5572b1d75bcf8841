import os

import pytest

from writer_app.core.documents import (
    NotTextError,
    decode_text,
    new_file_problem,
    read_text_file,
    save_text_file,
)


def test_utf8_file_reads_back_exactly(tmp_path):
    path = tmp_path / "story.txt"
    save_text_file(path, "Café — “quoted” 🐉\nsecond line")
    doc = read_text_file(path)
    assert doc.text == "Café — “quoted” 🐉\nsecond line"
    assert doc.warning is None


def test_invalid_utf8_opens_with_a_warning_instead_of_crashing(tmp_path):
    path = tmp_path / "windows.txt"
    path.write_bytes("caf\u00e9 \u201cquote\u201d".encode("cp1252"))
    doc = read_text_file(path)
    assert doc.text == "caf\u00e9 \u201cquote\u201d"
    assert doc.encoding == "cp1252"
    assert "not valid UTF-8" in doc.warning and "windows.txt" in doc.warning


def test_bytes_undefined_in_cp1252_still_decode():
    doc = decode_text(b"\x81\x8d\xff")
    assert doc.encoding == "latin-1" and len(doc.text) == 3 and doc.warning


def test_windows_line_endings_are_kept_on_save(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"one\r\ntwo\r\n")
    doc = read_text_file(path)
    assert doc.text == "one\ntwo\n" and doc.newline == "\r\n"
    save_text_file(path, doc.text + "three", newline=doc.newline)
    assert path.read_bytes() == b"one\r\ntwo\r\nthree"


def test_save_replaces_file_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "story.txt"
    path.write_text("old")
    os.chmod(path, 0o640)
    save_text_file(path, "new")
    assert path.read_text() == "new"
    assert oct(path.stat().st_mode & 0o777) == oct(0o640)
    assert [p.name for p in tmp_path.iterdir()] == ["story.txt"]


def test_save_through_symlink_replaces_the_target(tmp_path):
    target = tmp_path / "real.txt"
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    save_text_file(link, "new")
    assert link.is_symlink() and target.read_text() == "new"


def test_failed_save_raises_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "story.txt"
    path.write_text("precious")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(OSError):
        save_text_file(blocker / "story.txt", "new")
    with pytest.raises(OSError):
        save_text_file(tmp_path / "missing" / "story.txt", "new")
    assert path.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-folder", "story.txt"]


def test_a_binary_file_is_refused_with_the_reason(tmp_path):
    program = tmp_path / "ls-copy"
    program.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00\r\n" + bytes(range(256)) * 40)
    before = program.read_bytes()
    with pytest.raises(NotTextError) as err:
        read_text_file(program)
    assert "ls-copy is not a text file (it is a program)" in str(err.value)
    assert program.read_bytes() == before


def test_utf16_text_with_a_byte_order_mark_is_text_not_binary(tmp_path):
    path = tmp_path / "notepad.txt"
    path.write_bytes("Caf\u00e9\r\nna\u00efve".encode("utf-16"))
    doc = read_text_file(path)
    assert doc.text == "Caf\u00e9\nna\u00efve" and doc.newline == "\r\n"
    assert doc.encoding == "utf-16" and "UTF-16" in doc.warning


def test_binary_data_behind_a_byte_order_mark_is_still_refused():
    with pytest.raises(NotTextError):
        decode_text(b"\xff\xfe" + b"\x00\x00\x01\x00" * 10, "image.bmp")


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_a_new_file_follows_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        save_text_file(tmp_path / "new.txt", "fresh")
    finally:
        os.umask(old)
    assert oct((tmp_path / "new.txt").stat().st_mode & 0o777) == oct(0o666 & ~umask)


def test_a_new_file_in_a_missing_folder_is_named_before_any_writing(tmp_path):
    assert new_file_problem(tmp_path / "story.txt") is None
    problem = new_file_problem(tmp_path / "no-such-folder" / "story.txt")
    assert "no-such-folder does not exist" in problem and "story.txt" in problem
    (tmp_path / "a-file").write_text("")
    assert "is a file, not a folder" in new_file_problem(tmp_path / "a-file" / "story.txt")
