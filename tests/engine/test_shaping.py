"""Stop rules, leading whitespace and the degenerate-output filter, on plain strings."""

from writer_app.engine.shaping import (
    find_stop,
    finish,
    fix_leading_whitespace,
    sentence_ends,
    trim_degenerate,
    trim_partial_word,
)

RULES = {"max_words": 12, "max_sentences": 1, "stop_at_paragraph": True}


def cut(text: str, **rules) -> str:
    at = find_stop(text, **{**RULES, **rules})
    return text if at is None else text[:at]


def test_generation_goes_on_while_no_rule_applies():
    assert find_stop(" flew over the", **RULES) is None


def test_stops_at_the_end_of_the_sentence_once_the_next_word_starts():
    assert find_stop(" flew over the mountain.", **RULES) is None  # maybe "mountain..." or ".\""
    assert cut(" flew over the mountain. Below") == " flew over the mountain."


def test_closing_quote_stays_with_its_sentence():
    assert cut(' he said, "Run!" Then') == ' he said, "Run!"'


def test_abbreviations_and_decimals_do_not_end_a_sentence():
    assert cut(" Mr. Hale paid 3.5 crowns. He") == " Mr. Hale paid 3.5 crowns."


def test_max_sentences_counts_sentences():
    assert cut(" One. Two. Three", max_sentences=2) == " One. Two."


def test_stops_after_max_words_words():
    assert cut(" a b c d e f", max_words=3).rstrip() == " a b c"


def test_stops_at_a_paragraph_break():
    assert cut(" the end\n\nChapter") == " the end"


def test_paragraph_rule_can_be_switched_off():
    assert cut(" the end\nmore", stop_at_paragraph=False, max_sentences=0) == " the end\nmore"


def test_sentence_end_at_the_very_end_counts_only_when_generation_ended():
    assert sentence_ends(" the mountain.") == []
    assert sentence_ends(" the mountain.", at_end=True) == [len(" the mountain.")]


def test_a_new_word_after_a_word_keeps_one_leading_space():
    assert fix_leading_whitespace("The dragon", " flew") == " flew"
    assert fix_leading_whitespace("The dragon", "   flew") == " flew"


def test_after_a_space_the_suggestion_starts_with_the_word():
    assert fix_leading_whitespace("The dragon ", " flew") == "flew"


def test_at_the_start_of_a_document_no_leading_space():
    assert fix_leading_whitespace("", " Once") == "Once"


def test_a_word_completion_has_no_space():
    assert fix_leading_whitespace("The dra", "gon flew") == "gon flew"


def test_whitespace_only_output_is_no_suggestion():
    assert finish("The dragon", "   ", hit_token_cap=False) is None
    assert finish("The dragon", "", hit_token_cap=False) is None


def test_trailing_whitespace_is_dropped():
    assert finish("The dragon", " flew ", hit_token_cap=False) == " flew"


def test_token_cap_drops_the_last_possibly_cut_word():
    assert trim_partial_word(" flew over the moun") == " flew over the"
    assert finish("The dragon", " flew over the moun", hit_token_cap=True) == " flew over the"


def test_token_cap_keeps_a_lone_word_and_finished_punctuation():
    assert trim_partial_word("gon") == "gon"
    assert trim_partial_word(" flew away.") == " flew away."


def test_a_phrase_repeated_back_to_back_is_cut():
    assert trim_degenerate("He ran", " and then and then and then").rstrip() == " and then"


def test_a_word_three_times_is_cut_but_twice_is_allowed():
    assert trim_degenerate("She", " had had enough") == " had had enough"
    assert trim_degenerate("It was very", " very very").strip() == "very"
    assert trim_degenerate("It was very very", " very").strip() == ""


def test_repeating_the_sentence_just_written_is_no_suggestion():
    before = "The dragon flew over the mountain. The dra"
    assert finish(before, "gon flew over the mountain.", hit_token_cap=False) is None


def test_copying_six_words_from_recent_text_is_cut():
    before = "Mira ran down the path past the well. Then she stopped. She"
    out = trim_degenerate(before, " smiled and ran down the path past the well")
    assert out.rstrip() == " smiled and"


def test_a_run_of_punctuation_is_cut():
    assert trim_degenerate("Wait", "!!!!!!!!!!") == ""
    assert trim_degenerate("Wait", "...") == "..."


def test_ordinary_prose_is_left_alone():
    before = "The dragon flew over the mountain."
    assert trim_degenerate(before, " Below, the village slept.") == " Below, the village slept."


# ----- fiction-aware stops -----------------------------------------------------------------
def test_a_suggestion_that_closes_a_line_of_dialogue_stops_after_the_closing_quote():
    assert cut(" a friend,” said the dragon.", text_before="“I am") == " a friend,”"
    assert cut(' a friend," said the dragon.', text_before='"I am') == ' a friend,"'
    # a quote opened and closed inside the suggestion counts too
    assert cut(' said, "Run," and they ran.', text_before="She") == ' said, "Run,"'


def test_a_closing_quote_counts_once_something_follows_it():
    assert find_stop(" a friend,”", text_before="“I am", **RULES) is None
    assert find_stop(" a friend,”", text_before="“I am", at_end=True, **RULES) == len(" a friend,”")


def test_an_opening_quote_is_not_a_closing_one():
    assert cut(" she said. “Come with", text_before="“Wait,” ", max_sentences=0) == (
        " she said. “Come with"
    )


def test_a_suggestion_stops_at_a_scene_break():
    assert cut(" he left.\n\n***\n\nMorning", max_sentences=0, stop_at_paragraph=False) == (
        " he left.\n\n"
    )
    assert cut(" he left. * * * Morning", max_sentences=0).rstrip() == " he left."
    assert cut("# Chapter Two", text_before="The end.\n\n") == ""
    assert cut(" the # key") == " the # key"  # not at a line start: not a scene break


def test_a_suggestion_stops_at_the_end_of_its_paragraph():
    assert cut(" and slept.\nThe next day", max_sentences=0) == " and slept."


def test_a_word_repeated_inside_itself_is_cut():
    assert trim_degenerate("It was", " a ChicagoChicagoChicago") == " a "
    assert trim_degenerate("It", " went riersriersriers") == " went "
