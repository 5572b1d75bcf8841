"""The spell checker: the dictionary, the project's names, the writer's own words."""

import stat
from pathlib import Path

import pytest

from tests.conftest import needs_en_us_dictionary
from writer_app.core.spelling import SpellChecker, self_check


@pytest.fixture(autouse=True)
def _en_us():
    needs_en_us_dictionary()


def words_flagged(checker, text):
    return [text[s:e] for s, e in checker.misspelled(text)]


def test_misspellings_are_found_and_ordinary_prose_is_not(tmp_path):
    checker = SpellChecker("en_US", tmp_path / "dict.txt")
    assert checker.available, checker.problem
    text = "Teh cat didn’t sit on the 3rd mat at NASA; it sat on the mat’s edge, aloen."
    assert words_flagged(checker, text) == ["Teh", "aloen"]


def test_project_names_and_their_possessives_are_never_flagged(tmp_path):
    checker = SpellChecker("en_US", tmp_path / "dict.txt")
    text = "Mara Quenby met Tobin. Quenby’s forge was cold."
    assert "Quenby" in words_flagged(checker, text)
    checker.set_project_words(["Mara", "Quenby", "Tobin"])
    assert words_flagged(checker, text) == []


def test_added_words_are_kept_privately_for_the_next_run(tmp_path):
    personal = tmp_path / "data" / "dict.txt"
    checker = SpellChecker("en_US", personal)
    assert words_flagged(checker, "The glimmerfen glowed.") == ["glimmerfen"]
    checker.add_to_dictionary("glimmerfen")
    assert words_flagged(checker, "The glimmerfen glowed.") == []
    assert stat.S_IMODE(personal.stat().st_mode) == 0o600
    assert stat.S_IMODE(personal.parent.stat().st_mode) == 0o700
    again = SpellChecker("en_US", personal)
    assert words_flagged(again, "Glimmerfen glowed.") == []


def test_a_missing_dictionary_flags_nothing_and_says_what_to_install(tmp_path):
    checker = SpellChecker("xx_NOPE", tmp_path / "dict.txt")
    assert not checker.available
    assert "xx_NOPE" in checker.problem and "install" in checker.problem
    assert checker.misspelled("Teh aloen") == []


def test_self_check_flags_the_misspelling_and_names_the_enchant_that_answered():
    passed, report = self_check()
    assert passed, report
    assert report["spelling"] == "en_US (system)"  # not a bundle
    assert "libenchant" in Path(report["library"]).name and Path(report["library"]).is_file()
    assert Path(report["provider"].split(" ", 1)[1]).is_file()
    assert "'necessary' right, 'neccessary' flagged" in report["check"]


def test_self_check_without_the_dictionary_fails_and_says_why():
    passed, report = self_check("xx_NOPE")
    assert not passed
    assert report["spelling"].startswith("off (No xx_NOPE spelling dictionary")
