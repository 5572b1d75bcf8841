"""The folder scan and the held-out split of the writer's texts (no Qt)."""

from __future__ import annotations

import os
import stat

import pytest

from writer_app.training.errors import TrainingError
from writer_app.training.scan import (
    CURRENT_DOCUMENT,
    LOW_WORDS,
    MAX_FILE_BYTES,
    count_words,
    scan,
    split,
    write_split,
)


def prose(tag: str, paragraphs: int, words: int = 50) -> str:
    """Unique paragraphs: each word names its text, paragraph and place."""
    return "\n\n".join(" ".join(f"{tag}p{p}w{w}" for w in range(words)) for p in range(paragraphs))


def test_scan_counts_words_and_skips_binary_and_empty_files(tmp_path):
    (tmp_path / "one.txt").write_text(prose("a", 10), encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "two.md").write_text(prose("b", 4), encoding="utf-8")
    (tmp_path / "controls.txt").write_bytes(bytes(range(32)) * 40)
    (tmp_path / "zip.txt").write_bytes(b"PK\x03\x04rest of an archive")
    (tmp_path / "empty.txt").write_text("  \n")
    (tmp_path / "picture.png").write_bytes(b"\x89PNG not a text file at all")

    result = scan(tmp_path)

    assert sorted(t.name for t in result.texts) == ["one.txt", "sub/two.md"]
    assert result.words == 10 * 50 + 4 * 50
    skipped = dict(result.skipped)
    assert set(skipped) == {"controls.txt", "zip.txt", "empty.txt"}
    assert "zip archive" in skipped["zip.txt"]
    assert "binary" in skipped["controls.txt"]


def test_scan_reads_files_as_the_editor_opens_them(tmp_path):
    # One policy (writer_app/core/text_io.py): a Windows-1252 file and a stray
    # control byte open in the editor, so they train too.
    (tmp_path / "latin.md").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (tmp_path / "nul.txt").write_bytes(b"text\x00 more")
    texts = {t.name: t.text for t in scan(tmp_path).texts}
    assert texts == {"latin.md": "café au lait", "nul.txt": "text more"}


def test_a_huge_file_is_skipped_unread_and_named(tmp_path):
    (tmp_path / "one.txt").write_text(prose("a", 10))
    with open(tmp_path / "server.log.txt", "wb") as f:
        f.truncate(200 * 2**20)  # sparse: 200 MB of NUL bytes that take no disk
    result = scan(tmp_path)
    assert [t.name for t in result.texts] == ["one.txt"]
    assert dict(result.skipped) == {"server.log.txt": "too large: 200 MB, over 50 MB"}
    # At the limit itself, a file is read.
    with open(tmp_path / "big.txt", "wb") as f:
        f.truncate(MAX_FILE_BYTES)
    assert "too large" not in dict(scan(tmp_path).skipped).get("big.txt", "")


def test_the_apps_own_data_folder_is_refused_and_never_scanned(tmp_path):
    home = tmp_path / "home"
    app_data = home / "app-data"
    copies = app_data / "models" / "2026-01-01-1200" / "data" / "train"
    copies.mkdir(parents=True)
    (copies / "0000-book.txt").write_text(prose("copy", 10))
    (home / "book.txt").write_text(prose("mine", 10))

    for inside in (app_data, copies):
        with pytest.raises(TrainingError, match="the app's own data folder"):
            scan(inside, app_data=app_data)
    # A folder that holds the data folder: the writer's texts, not the app's copies.
    assert [t.name for t in scan(home, app_data=app_data).texts] == ["book.txt"]
    link = tmp_path / "link"
    link.symlink_to(app_data)
    with pytest.raises(TrainingError, match="the app's own data folder"):
        scan(link, app_data=app_data)


def test_scan_adds_the_current_document_and_warns_under_20000_words(tmp_path):
    (tmp_path / "one.txt").write_text(prose("a", 10))
    result = scan(tmp_path, current_document="My chapter begins here.")
    assert [t.name for t in result.texts][-1] == CURRENT_DOCUMENT
    assert result.words == 504
    assert result.low

    (tmp_path / "big.txt").write_text(prose("c", LOW_WORDS // 50))
    assert not scan(tmp_path).low


def test_scan_of_a_missing_folder_says_so(tmp_path):
    with pytest.raises(TrainingError, match="does not exist"):
        scan(tmp_path / "nowhere")


def test_split_holds_out_the_end_of_every_text_and_never_overlaps_training(tmp_path):
    (tmp_path / "a.txt").write_text(prose("a", 300))
    (tmp_path / "b.txt").write_text(prose("b", 100))
    parts = split(scan(tmp_path))

    train_words = {w for _, text in parts.train for w in text.split()}
    val_words = set(parts.val.split())
    assert train_words and val_words
    assert not train_words & val_words
    # Every text gives its last part to validation, and nothing is lost.
    assert "ap299w49" in val_words and "bp99w49" in val_words
    assert "ap0w0" in train_words and "bp0w0" in train_words
    assert len(train_words | val_words) == 400 * 50
    assert parts.val_words == pytest.approx(0.1 * 400 * 50, rel=0.05)
    # Cut at paragraph breaks: whole paragraphs on each side.
    assert all(len(p.split()) == 50 for p in parts.val.split("\n\n"))


def test_a_single_short_file_still_gets_a_held_out_part_big_enough_to_score(tmp_path):
    (tmp_path / "only.txt").write_text(prose("a", 50))  # 2,500 words: a tenth is too few
    parts = split(scan(tmp_path))
    assert parts.val_words >= 800
    assert parts.train_words + parts.val_words == 2500
    assert not set(parts.val.split()) & {w for _, t in parts.train for w in t.split()}


def test_a_text_without_paragraph_breaks_is_cut_between_words(tmp_path):
    (tmp_path / "one-line.txt").write_text(" ".join(f"w{i}" for i in range(5000)))
    parts = split(scan(tmp_path))
    assert parts.train_words + parts.val_words == 5000
    assert parts.val.split()[0] == f"w{parts.train_words}"


def test_too_little_text_is_refused_with_the_figure(tmp_path):
    (tmp_path / "short.txt").write_text(prose("a", 10))
    with pytest.raises(TrainingError, match="only 500 words"):
        split(scan(tmp_path))


def test_write_split_puts_held_out_text_only_in_the_val_file(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(prose("a", 100))
    parts = split(scan(tmp_path / "in", current_document=prose("d", 20)))
    train_dir, val_file = write_split(parts, tmp_path / "out")
    written = " ".join(p.read_text() for p in sorted(train_dir.iterdir()))
    assert len(list(train_dir.iterdir())) == 2
    assert not set(written.split()) & set(val_file.read_text().split())
    assert count_words(written) == parts.train_words


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_the_training_copies_are_private(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(prose("a", 100))
    old = os.umask(0o022)  # the usual umask: new files 0644 unless made private
    try:
        train_dir, val_file = write_split(split(scan(tmp_path / "in")), tmp_path / "run" / "data")
    finally:
        os.umask(old)
    for folder in (tmp_path / "run", tmp_path / "run" / "data", train_dir):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for file in (val_file, *train_dir.iterdir()):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
