"""Earlier versions (core/versions.py): the bytes a save replaces are kept, privately, in
the app's data folder; the same bytes are not kept twice; old ones are thinned to the
newest ten and one a day; a version that cannot be written is an error for the caller
to say, never a change to the file."""

from __future__ import annotations

import stat
from datetime import datetime, timedelta

import pytest

from writer_app.core import versions
from writer_app.core.paths import DATA_DIR_ENV
from writer_app.core.versions import (
    KEEP_RECENT,
    MAX_FILE_BYTES,
    MAX_VERSIONS,
    folder_for,
    follow_rename,
    keep_version,
    list_versions,
    versions_root,
)

T0 = datetime(2026, 12, 3, 9, 0, 0)


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    return tmp_path / "data"


def test_the_replaced_bytes_are_kept_privately_and_read_back_as_text(tmp_path):
    story = tmp_path / "story.md"
    assert keep_version(story, b"first") is None  # no file yet: nothing replaced
    story.write_bytes("Café, first draft.\r\n".encode("cp1252"))
    kept = keep_version(story, b"second draft", now=T0)
    assert kept is not None and kept.when == T0
    assert kept.path.read_bytes() == "Café, first draft.\r\n".encode("cp1252")  # as it was
    assert kept.read().text == "Café, first draft.\n"  # decoded as the editor would
    assert list_versions(story) == [kept]
    assert (folder_for(story) / "source").read_text() == str(story)
    assert story.read_bytes() == "Café, first draft.\r\n".encode("cp1252")  # untouched
    for folder in (versions_root(), folder_for(story)):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(kept.path.stat().st_mode) == 0o600
    assert folder_for(tmp_path / "other.md") != folder_for(story)


def test_the_same_bytes_are_not_kept_twice(tmp_path):
    story = tmp_path / "story.txt"
    story.write_bytes(b"one")
    assert keep_version(story, b"one") is None  # the save writes what is there
    assert keep_version(story, b"two", now=T0) is not None
    assert keep_version(story, b"three", now=T0 + timedelta(seconds=1)) is None  # still "one"
    story.write_bytes(b"two")
    assert keep_version(story, b"three", now=T0 + timedelta(seconds=2)) is not None
    assert [v.read().text for v in list_versions(story)] == ["two", "one"]


def test_old_versions_are_thinned_to_the_recent_ones_and_one_a_day(tmp_path):
    story = tmp_path / "story.txt"
    # Three saves a day for 40 days, oldest first.
    for day in range(40):
        for n in range(3):
            story.write_bytes(f"day {day} save {n}".encode())
            when = T0 + timedelta(days=day, hours=n)
            keep_version(story, b"next", now=when)
    kept = list_versions(story)
    texts = [v.read().text for v in kept]
    recent = [f"day 39 save {n}" for n in (2, 1, 0)] + [f"day 38 save {n}" for n in (2, 1, 0)]
    recent += [f"day 37 save {n}" for n in (2, 1, 0)] + ["day 36 save 2"]
    assert texts[:KEEP_RECENT] == recent
    older = texts[KEEP_RECENT:]
    assert older == [f"day {d} save 2" for d in range(35, -1, -1)]  # the newest of each day
    assert len(kept) == KEEP_RECENT + 36 <= MAX_VERSIONS


def test_a_huge_file_is_not_copied(tmp_path):
    big = tmp_path / "data.txt"
    with big.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)
    assert keep_version(big, b"small") is None and list_versions(big) == []


def test_an_unwritable_data_folder_raises_and_leaves_the_file_alone(tmp_path, data_dir):
    data_dir.parent.mkdir(exist_ok=True)
    data_dir.write_text("a file where the data folder should be")
    story = tmp_path / "story.txt"
    story.write_bytes(b"words")
    with pytest.raises(OSError):
        keep_version(story, b"other words")
    assert story.read_bytes() == b"words"


def test_no_more_than_max_versions_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(versions, "MAX_VERSIONS", KEEP_RECENT + 2)
    story = tmp_path / "story.txt"
    for day in range(8):
        story.write_bytes(f"day {day}".encode())
        keep_version(story, b"next", now=T0 + timedelta(days=day))
    assert len(list_versions(story)) == 8  # all of them recent
    for day in range(8, 20):
        story.write_bytes(f"day {day}".encode())
        keep_version(story, b"next", now=T0 + timedelta(days=day))
    texts = [v.read().text for v in list_versions(story)]
    assert len(texts) == KEEP_RECENT + 2 and texts[0] == "day 19"  # the oldest went first


def test_a_renamed_file_takes_its_versions_along(tmp_path):
    old, new = tmp_path / "Chapter 1.md", tmp_path / "Prologue.md"
    old.write_bytes(b"draft one")
    keep_version(old, b"draft two", now=T0)
    follow_rename(old, new)
    assert list_versions(old) == []
    assert [v.read().text for v in list_versions(new)] == ["draft one"]
    assert (folder_for(new) / "source").read_text() == str(new)
    other = tmp_path / "other.md"
    other.write_bytes(b"its own")
    keep_version(other, b"x", now=T0)
    follow_rename(new, other)  # a name with versions of its own keeps them
    assert [v.read().text for v in list_versions(other)] == ["its own"]
    assert [v.read().text for v in list_versions(new)] == ["draft one"]
