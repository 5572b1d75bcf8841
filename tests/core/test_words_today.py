"""Words written today (core/words_today.py): each document's words now less its words
when first counted today, never below zero, summed; a new day starts again; kept across
a restart the same day; a damaged file starts the count again and is set aside."""

from __future__ import annotations

from datetime import date

from writer_app.core.state_files import take_notices
from writer_app.core.words_today import WordsToday

DAY = date(2026, 12, 3)


class Clock:
    def __init__(self, day: date = DAY):
        self.day = day

    def __call__(self) -> date:
        return self.day


def test_only_the_words_added_since_the_first_count_today_are_counted(tmp_path):
    words = WordsToday(tmp_path / "today.json", Clock())
    words.count("a.md", 50_000)  # a finished chapter opened: nothing written yet
    assert words.total == 0
    words.count("a.md", 50_120)
    words.count("b.md", 10)
    words.count("b.md", 40)
    assert words.total == 150
    words.count("b.md", 0)  # a chapter cut down is not writing backwards
    assert words.total == 120
    words.rename("a.md", "c.md")  # Save As: the count goes with it
    words.count("c.md", 50_130)
    assert words.total == 130 and "a.md" not in words.now


def test_a_new_day_starts_every_document_again_where_it_stands(tmp_path):
    clock = Clock()
    words = WordsToday(tmp_path / "today.json", clock)
    words.count("a.md", 100)
    words.count("a.md", 400)
    assert words.total == 300
    clock.day = date(2026, 12, 4)
    assert words.total == 0
    words.count("a.md", 450)
    words.count("a.md", 470)
    assert words.total == 20


def test_a_restart_the_same_day_goes_on_and_another_day_starts_afresh(tmp_path):
    path = tmp_path / "data" / "today.json"
    words = WordsToday(path, Clock())
    words.count("a.md", 100)
    words.count("a.md", 160)
    words.save()
    assert not words.changed_since_save
    again = WordsToday.load(path, Clock())
    again.count("a.md", 170)
    assert again.total == 70
    assert WordsToday.load(path, Clock(date(2026, 12, 4))).total == 0
    assert (path.stat().st_mode & 0o777) == 0o600


def test_a_damaged_file_starts_the_count_again_and_is_set_aside(tmp_path):
    path = tmp_path / "today.json"
    path.write_text('{"date": "2026-12-03", "start": {"a.md": "many"}}')
    take_notices()
    words = WordsToday.load(path, Clock())
    assert words.total == 0 and words.now == {}
    assert not path.exists() and list(tmp_path.glob("today.json.bad-*"))
    assert any("written today" in notice for notice in take_notices())
