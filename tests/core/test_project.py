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


# --- word counts, new and renamed chapters, the project's names (issue 23) ------------------


def test_each_file_is_counted_once_and_binary_or_unreadable_ones_are_skipped(tmp_path):
    write(tmp_path, "Chapter 1.md", "one two three")
    (tmp_path / "cover.md").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    counts = {}
    index = scan_project(tmp_path, counts=counts)
    assert [(c.relative, c.words) for c in index.chapters] == [("Chapter 1.md", 3)]
    assert index.skipped == [("cover.md", "a PNG image")]
    counts[tmp_path / "Chapter 1.md"] = counts[tmp_path / "Chapter 1.md"][:2] + (99,)
    assert scan_project(tmp_path, counts=counts).chapters[0].words == 99  # unchanged: not read


def test_a_new_chapter_takes_the_next_free_number(tmp_path):
    from writer_app.core.project import create_chapter, next_chapter_name

    assert next_chapter_name(scan_project(tmp_path)) == "Chapter 1.md"
    write(tmp_path, "Chapter 2.md")
    write(tmp_path, "chapter 10.txt")
    write(tmp_path, "Prologue.md")
    assert next_chapter_name(scan_project(tmp_path)) == "Chapter 11.md"
    assert create_chapter(tmp_path, "Chapter 11") == tmp_path / "Chapter 11.md"
    assert (tmp_path / "Chapter 11.md").read_text() == ""


@pytest.mark.parametrize(
    "name, why",
    [
        ("", "needs a name"),
        ("part/one", "slash"),
        (".secret", "starts with a dot"),
        ("Chapter 2", "already a file called Chapter 2.md"),
        ("CHAPTER 2.MD", "only in case"),
    ],
)
def test_a_chapter_name_that_cannot_be_used_is_refused_in_words(tmp_path, name, why):
    from writer_app.core.project import ProjectError, create_chapter, rename_chapter

    write(tmp_path, "Chapter 2.md", "kept")
    one = write(tmp_path, "Chapter 1.md", "mine")
    with pytest.raises(ProjectError, match=why):
        create_chapter(tmp_path, name)
    with pytest.raises(ProjectError, match=why):
        rename_chapter(one, name)
    assert one.read_text() == "mine" and (tmp_path / "Chapter 2.md").read_text() == "kept"


def test_rename_keeps_the_suffix_and_may_change_only_the_case(tmp_path):
    from writer_app.core.project import rename_chapter

    one = write(tmp_path, "chapter 1.txt", "words")
    moved = rename_chapter(one, "Opening")
    assert moved == tmp_path / "Opening.txt" and moved.read_text() == "words"
    assert rename_chapter(moved, "OPENING") == tmp_path / "OPENING.txt"
    assert sorted(os.listdir(tmp_path)) == ["OPENING.txt"]


def test_the_project_names_come_from_every_notes_file_once(tmp_path):
    from writer_app.core.project import name_words, project_names

    write(tmp_path, "notes.md", NOTES)
    write(tmp_path, "notes/ships.md", "- **The Gull**: her boat\n## Mara Quenby\n")
    (tmp_path / "notes" / "map.md").write_bytes(b"\x00" * 400)
    names = project_names(scan_project(tmp_path))
    assert [n.full for n in names][-1] == "The Gull"
    assert sum(n.full == "Mara Quenby" for n in names) == 1
    assert {"Mara", "Quenby", "Gull"} <= name_words(names)
