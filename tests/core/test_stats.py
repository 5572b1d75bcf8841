"""The suggestion statistics' core: the definitions in writer_app/core/stats.py, and its file."""

from __future__ import annotations

import json
from datetime import date

import pytest

from writer_app.core.stats import MAX_TIMES, UNTITLED, Counts, SuggestionStats, stats_path


def session(stats: SuggestionStats) -> None:
    """Four suggestions in two documents, every way of taking or leaving one."""
    stats.shown("/a.txt")  # 1: two words with Ctrl+Right, then the rest with Tab
    stats.timed(10.0)
    stats.took_word(5)
    stats.took_word(4)
    stats.took_whole(20)
    stats.shown("/a.txt")  # 2: dismissed untouched
    stats.timed(30.0)
    stats.dismissed()
    stats.shown(UNTITLED)  # 3: one word taken, then replaced by a new request
    stats.timed(20.0)
    stats.took_word(3)
    stats.shown(UNTITLED)  # 4: ignored (no time: an alternative cycled from memory)


def test_a_session_counts_exactly_what_the_definitions_say():
    stats = SuggestionStats()
    session(stats)
    t = stats.total
    assert (t.shown, t.accepted_whole, t.accepted_partly, t.accepted) == (4, 1, 1, 2)
    assert (t.words_accepted, t.dismissed) == (3, 1)
    assert t.chars_saved == 5 + 4 + 20 + 3
    assert t.accept_keys == 4 and t.keys_saved == 32 - 4
    assert t.acceptance_rate == 0.5
    assert t.times_ms == [10.0, 30.0, 20.0] and t.median_ms == 20.0

    a, untitled = stats.document("/a.txt"), stats.document(UNTITLED)
    assert (a.shown, a.accepted_whole, a.accepted_partly, a.dismissed) == (2, 1, 0, 1)
    assert (a.chars_saved, a.keys_saved, a.median_ms) == (29, 26, 20.0)
    assert (untitled.shown, untitled.accepted_partly, untitled.chars_saved) == (2, 1, 3)
    assert stats.today == t
    assert stats.document("/never.txt") == Counts()


def test_taking_nothing_or_after_the_end_counts_nothing():
    stats = SuggestionStats()
    stats.took_whole(5)  # no suggestion showing
    stats.shown(UNTITLED)
    stats.took_whole(7)
    stats.took_whole(7)  # Tab ended it: a second Tab has nothing to take
    stats.dismissed()
    assert (stats.total.accepted_whole, stats.total.chars_saved, stats.total.dismissed) == (
        1,
        7,
        0,
    )


def test_only_the_recent_times_are_kept_for_the_median():
    stats = SuggestionStats()
    for ms in range(MAX_TIMES + 50):
        stats.shown(UNTITLED)
        stats.timed(float(ms))
    assert len(stats.total.times_ms) == MAX_TIMES
    assert stats.total.times_ms[0] == 50.0


def test_today_starts_again_on_a_new_day_and_the_total_goes_on(tmp_path):
    day = [date(2026, 3, 1)]
    stats = SuggestionStats(tmp_path / "s.json", today=lambda: day[0])
    stats.shown(UNTITLED)
    day[0] = date(2026, 3, 2)
    assert stats.today == Counts()
    stats.shown(UNTITLED)
    assert (stats.today.shown, stats.total.shown) == (1, 2)
    stats.save()
    day[0] = date(2026, 3, 3)
    again = SuggestionStats.load(tmp_path / "s.json", today=lambda: day[0])
    assert again.today == Counts() and again.total.shown == 2


def test_the_figures_survive_a_save_and_load_and_reset_clears_them(tmp_path):
    stats = SuggestionStats(tmp_path / "folder" / "stats.json")
    session(stats)
    stats.save()
    assert not stats.changed_since_save
    loaded = SuggestionStats.load(tmp_path / "folder" / "stats.json")
    assert loaded.total == stats.total and loaded.today == stats.today
    assert loaded.documents == stats.documents
    loaded.reset()
    assert loaded.total == Counts() and loaded.documents == {} and loaded.today == Counts()
    loaded.save()
    data = json.loads((tmp_path / "folder" / "stats.json").read_text())
    assert data["total"]["shown"] == 0 and data["documents"] == {}


@pytest.mark.parametrize("content", ["{not json", '{"total": {"shown": "many"}}', "[]"])
def test_a_damaged_file_starts_from_zero_instead_of_failing(tmp_path, content):
    path = tmp_path / "stats.json"
    path.write_text(content)
    assert SuggestionStats.load(path).total == Counts()


def test_an_unwritable_folder_raises_oserror_on_save(tmp_path):
    (tmp_path / "blocker").write_text("a file where the folder should be")
    stats = SuggestionStats(tmp_path / "blocker" / "stats.json")
    stats.shown(UNTITLED)
    with pytest.raises(OSError):
        stats.save()
    assert stats.changed_since_save


def test_the_file_lives_in_the_data_dir_named_by_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("WRITER_APP_DATA_DIR", str(tmp_path / "data"))
    assert stats_path() == tmp_path / "data" / "suggestion-stats.json"
