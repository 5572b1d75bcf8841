"""The project index: chapters in natural order, notes apart, bad files named; names from notes."""

import os

import pytest

from writer_app.core.project import extract_names, natural_key, scan_project


def write(root, rel, text="words here"):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_chapters_sort_naturally_and_notes_stand_apart(tmp_path):
    for rel in [
        "Chapter 10.md",
        "Chapter 2.md",
        "chapter 1.txt",
        "notes.md",
        "notes/places.md",
        "cover.png",
        ".hidden.md",
        ".git/HEAD.md",
        "drafts/Chapter 3.md",
    ]:
        write(tmp_path, rel)
    index = scan_project(tmp_path)
    assert [c.relative for c in index.chapters] == [
        "chapter 1.txt",
        "Chapter 2.md",
        "Chapter 10.md",
        os.path.join("drafts", "Chapter 3.md"),
    ]
    assert [n.relative for n in index.notes] == ["notes.md", os.path.join("notes", "places.md")]
    assert natural_key("Part 2 ch 9") < natural_key("part 2 ch 10")


def test_symlink_loop_case_clash_and_too_many_files_are_reported_not_raised(tmp_path):
    write(tmp_path, "One.md")
    write(tmp_path, "one.MD")
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "fifo.txt").parent.mkdir(exist_ok=True)
    os.mkfifo(tmp_path / "fifo.txt")
    index = scan_project(tmp_path)
    assert {c.relative for c in index.chapters} == {"One.md", "one.MD"}
    assert index.case_clashes and set(index.case_clashes[0]) == {"One.md", "one.MD"}
    assert ("fifo.txt", "not a regular file") in index.skipped
    many = tmp_path / "many"
    for i in range(12):
        write(many, f"c{i}.txt")
    small = scan_project(many, max_files=10)
    assert len(small.chapters) == 10
    assert [why for _, why in small.skipped] == ["more than 10 files in the folder"] * 2


def test_a_file_or_a_missing_folder_is_refused_in_words(tmp_path):
    with pytest.raises(NotADirectoryError, match="open it as a file"):
        scan_project(write(tmp_path, "a.md"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        scan_project(tmp_path / "nope")


NOTES = """# Characters

## Mara Quenby
The smith's daughter. Friends with **Tobin Ashe**.

- Lord Aldric of Venn: her uncle
- **Sela**: the cat
- the river is cold (not a name)

# Places
- Greyhaven — the port
## Mara Quenby
"""


def test_names_come_from_headings_bold_and_list_entries_with_parts_as_aliases():
    names = extract_names(NOTES)
    assert [n.full for n in names] == [
        "Mara Quenby",
        "Tobin Ashe",
        "Lord Aldric of Venn",
        "Sela",
        "Greyhaven",
    ]
    by_name = {n.full: n.aliases for n in names}
    assert by_name["Mara Quenby"] == ("Mara", "Quenby")
    assert by_name["Lord Aldric of Venn"] == ("Aldric", "Venn")  # no "Lord", no "of"
    assert by_name["Sela"] == ()


def test_a_notes_file_of_fifty_thousand_names_is_read_whole():
    notes = "\n".join(f"- **Name{i} Surname{i}**: someone" for i in range(50_000))
    names = extract_names(notes)
    assert len(names) == 50_000
    assert names[-1].aliases == ("Name49999", "Surname49999")
