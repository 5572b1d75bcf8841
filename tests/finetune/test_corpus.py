"""Corpus: cleaning keeps every word and mark, fixes only layout, and bad files fail in words."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from finetune import corpus
from finetune.cli import main as cli_main
from finetune.corpus import CleanStats, clean_document, load_documents, read_file, split_train_val
from finetune.errors import CorpusError

PUNCTUATION = [
    "?",
    "!",
    ";",
    ":",
    '"',
    "'",
    "\u201c",
    "\u201d",
    "\u2014",
    "\u2026",
    ",",
    ".",
    "(",
    ")",
    "-",
]

WRAPPED = (
    "The road wound down from the pass between walls of grey stone, and the\n"
    "travellers walked in silence, each of them thinking of the warm inn that\n"
    "waited below, where the fire would be lit and the soup would be hot.\n"
    "Nobody spoke."
)
VERSE = "The wind is cold,\nthe night is long;\nsing me, sing me\nthe old song."

GUTENBERG = """\
The Project Gutenberg eBook of The Dragon, by Someone

This eBook is for the use of anyone anywhere in the United States and
most other parts of the world at no cost and with almost no restrictions.

*** START OF THE PROJECT GUTENBERG EBOOK THE DRAGON ***

CHAPTER I

The dragon flew over the mountain.

*** END OF THE PROJECT GUTENBERG EBOOK THE DRAGON ***

Section 1. General Terms of Use and Redistributing Project Gutenberg-tm
electronic works. By reading or using any part of this Project Gutenberg-tm
"""


def _clean(text: str) -> tuple[str, CleanStats]:
    stats = CleanStats()
    return clean_document(text, stats), stats


def test_every_punctuation_mark_and_quote_survives_cleaning():
    text = (
        "\u201cWho goes there?\u201d she cried; nobody answered: silence\u2014then \u2026 a cough!\n\n"
        "'It's only me,' said Tom (the baker's boy). \"Really - only me.\""
    )
    cleaned, _ = _clean(text)
    assert cleaned == text
    for mark in PUNCTUATION:
        assert cleaned.count(mark) == text.count(mark) > 0, mark


def test_crlf_and_lone_cr_become_newlines():
    cleaned, _ = _clean("First line.\r\nSecond line.\rThird line.\r\n")
    assert cleaned == "First line.\nSecond line.\nThird line."


def test_runs_of_blank_lines_collapse_to_one_blank_line():
    cleaned, _ = _clean("One.\n\n\n\n\nTwo.\n   \n\n\t\nThree.")
    assert cleaned == "One.\n\nTwo.\n\nThree."


def test_hard_wrapped_paragraph_is_unwrapped_but_verse_keeps_its_lines():
    cleaned, stats = _clean(WRAPPED + "\n\n" + VERSE)
    prose, verse = cleaned.split("\n\n")
    assert "\n" not in prose
    assert prose == " ".join(WRAPPED.split("\n"))
    assert verse == VERSE
    assert stats.paragraphs_unwrapped == 1


def test_gutenberg_header_footer_and_license_are_stripped():
    cleaned, stats = _clean(GUTENBERG)
    assert cleaned == "CHAPTER I\n\nThe dragon flew over the mountain."
    assert stats.gutenberg_stripped == 1


def test_exact_duplicate_documents_are_dropped_and_counted(tmp_path):
    (tmp_path / "a.txt").write_text("A story about a fox.\n<|endoftext|>\nA story about a hen.\n")
    (tmp_path / "b.txt").write_text("A story about a fox.\r\n")  # same after cleaning
    (tmp_path / "c.md").write_text("A story about an owl.\n<|endoftext|>\n\n")
    docs, stats = load_documents([tmp_path])
    assert docs == ["A story about a fox.", "A story about a hen.", "A story about an owl."]
    assert stats.files == 3
    assert stats.documents == 3
    assert stats.duplicates_dropped == 1
    assert stats.empty_dropped == 1
    assert "1 duplicate" in stats.summary()


def test_latin1_file_is_read_with_a_warning(tmp_path, capsys):
    path = tmp_path / "old.txt"
    path.write_bytes("Caf\u00e9 cr\u00e8me, na\u00efve ma\u00f1ana.\n".encode("latin-1"))
    stats = CleanStats()
    text = read_file(path, stats)
    assert text == "Caf\u00e9 cr\u00e8me, na\u00efve ma\u00f1ana.\n"
    assert stats.latin1_files == [str(path)]
    err = capsys.readouterr().err
    assert "warning" in err and "latin-1" in err and str(path) in err


def test_xz_files_are_read(tmp_path):
    import lzma

    path = tmp_path / "book.txt.xz"
    path.write_bytes(lzma.compress(b"Packed tale!\n"))
    assert read_file(path) == "Packed tale!\n"


def _many_documents(n: int) -> list[str]:
    return [f"Story number {i}. The fox met the hen {i % 7} times; why?" for i in range(n)]


def test_split_holds_out_about_two_percent_deterministically_without_overlap():
    docs = _many_documents(2000)
    train, val = split_train_val(docs, 0.02)
    assert 0.01 <= len(val) / len(docs) <= 0.03
    assert sorted(train + val) == sorted(docs)
    assert not set(train) & set(val)
    assert split_train_val(list(docs), 0.02) == (train, val)  # stable between calls
    # Membership depends on the document, not on its neighbours or order.
    train_r, val_r = split_train_val(list(reversed(docs)), 0.02)
    assert set(val_r) == set(val)


def test_split_of_a_single_book_holds_out_paragraphs():
    book = "\n\n".join(f"Paragraph {i} of the only book." for i in range(300))
    train, val = split_train_val([book], 0.02)
    assert val and train
    assert not set(train) & set(val)


# --------------------------------------------------------------------- bad input, through the CLI


def _empty(path: Path) -> None:
    path.write_text("  \n\n\t\n")


def _binary(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 64)


def _zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("story.txt", "Once upon a time.")


def _one_long_line(path: Path) -> None:
    path.write_text("word " * 400_000)  # 2 MB, no line break


BAD_FILES = {
    "empty": (_empty, "empty"),
    "binary": (_binary, "binary"),
    "zip_renamed_txt": (_zip, "zip"),
    "one_2mb_line": (_one_long_line, "characters long"),
}


@pytest.mark.parametrize("kind", BAD_FILES)
def test_bad_file_gives_one_line_error_naming_it_and_exit_code_1(kind, tmp_path, capsys):
    write, words = BAD_FILES[kind]
    bad = tmp_path / "books" / f"{kind}.txt"
    bad.parent.mkdir()
    write(bad)
    rc = cli_main(
        [
            "train",
            "--data",
            str(bad.parent),
            "--init",
            "tiny",
            "--out",
            str(tmp_path / "out"),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--no-export",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1
    assert err.strip().splitlines() == [err.strip()]
    assert err.startswith("error: ")
    assert str(bad) in err and words in err
    assert "Traceback" not in err


def test_line_limit_is_what_rejects_a_long_line(tmp_path, monkeypatch):
    path = tmp_path / "long.txt"
    path.write_text("short line\n" + "x" * 5000 + "\n")
    assert read_file(path)  # fine under the real limit
    monkeypatch.setattr(corpus, "MAX_LINE_CHARS", 1000)
    with pytest.raises(CorpusError, match="5,000 characters long"):
        read_file(path)


def test_missing_path_gives_an_error_naming_it(tmp_path, capsys):
    missing = tmp_path / "no-such-books"
    rc = cli_main(
        [
            "train",
            "--data",
            str(missing),
            "--init",
            "tiny",
            "--out",
            str(tmp_path / "out"),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--no-export",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1
    assert err.startswith("error: ") and str(missing) in err
    assert len(err.strip().splitlines()) == 1


def test_folder_without_text_files_is_an_error(tmp_path):
    (tmp_path / "cover.png").write_bytes(b"\x89PNG")
    with pytest.raises(CorpusError, match="no .txt/.md/.xz files"):
        corpus.find_files([tmp_path])


def test_a_path_that_does_not_exist_is_named_as_missing(tmp_path):
    with pytest.raises(CorpusError) as info:
        corpus.find_files([tmp_path / "no-such-books"])
    assert str(info.value) == f"{tmp_path / 'no-such-books'}: no such file or folder"


def test_a_folder_without_text_files_is_not_called_missing(tmp_path):
    (tmp_path / "cover.png").write_bytes(b"\x89PNG")
    with pytest.raises(CorpusError) as info:
        corpus.find_files([tmp_path])
    assert "no such file" not in str(info.value)
    assert "the folder has no .txt/.md/.xz files in it" in str(info.value)


def test_a_pattern_that_matches_nothing_says_so(tmp_path):
    with pytest.raises(CorpusError, match="no .txt/.md/.xz files match this pattern"):
        corpus.find_files([str(tmp_path / "*.txt")])
