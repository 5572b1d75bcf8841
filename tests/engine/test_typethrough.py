"""type_through: a shown suggestion survives typing that agrees with it."""

from writer_app.engine import type_through


def test_typing_the_start_of_the_suggestion_leaves_the_rest():
    assert type_through(" flew over the mountain.", " fl") == "ew over the mountain."


def test_typing_all_of_the_suggestion_leaves_an_empty_rest():
    assert type_through("gon", "gon") == ""


def test_typing_nothing_keeps_the_whole_suggestion():
    assert type_through("gon flew", "") == "gon flew"


def test_a_diverging_character_kills_the_suggestion():
    assert type_through(" flew over", " fr") is None


def test_typing_past_the_end_of_the_suggestion_kills_it():
    assert type_through("gon", "gone") is None


def test_type_through_is_case_sensitive():
    assert type_through("The dragon", "the") is None
