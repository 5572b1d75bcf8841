"""Token healing on a hand-made vocabulary: which tokens to back up over, which may follow."""

from writer_app.engine.healing import MAX_HEAL_TOKENS, Vocabulary, consume, tokens_to_heal

PIECES = [
    b"",
    b"The",
    b" d",
    b" dr",
    b" dra",
    b" dragon",
    b" drama",
    b"gon",
    b" flew",
    b" ",
    b"fl",
    b".",
    b"'t",
    b" don",
    b"x",
]
ID = {p: i for i, p in enumerate(PIECES)}


def ids(*pieces: bytes) -> list[int]:
    return [ID[p] for p in pieces]


def test_a_partial_word_at_the_end_is_backed_up():
    assert tokens_to_heal(ids(b"The", b" dra"), PIECES) == 1


def test_a_word_split_into_tokens_is_backed_up_whole():
    assert tokens_to_heal(ids(b"The", b" dragon", b"fl"), PIECES) == 2


def test_a_trailing_space_token_is_backed_up():
    assert tokens_to_heal(ids(b"The", b" dragon", b" "), PIECES) == 1


def test_punctuation_does_not_pull_the_word_before_it():
    assert tokens_to_heal(ids(b"The", b" don", b"'t"), PIECES) == 1
    assert tokens_to_heal(ids(b"The", b" dragon", b"."), PIECES) == 1


def test_healing_never_eats_the_first_token_or_endoftext():
    assert tokens_to_heal(ids(b" dra"), PIECES) == 0
    assert tokens_to_heal(ids(b"", b" dra"), PIECES) == 1
    assert tokens_to_heal(ids(b"", b"x", b"x", b"x", b"x", b"x"), PIECES) == MAX_HEAL_TOKENS


def test_allowed_tokens_extend_or_prefix_the_removed_text():
    vocab = Vocabulary(PIECES)
    allowed = {PIECES[i] for i in vocab.allowed(b" dra")}
    assert allowed == {b" ", b" d", b" dr", b" dra", b" dragon", b" drama"}


def test_a_removed_space_allows_only_tokens_starting_with_a_space():
    vocab = Vocabulary(PIECES)
    allowed = {PIECES[i] for i in vocab.allowed(b" ")}
    assert allowed == {b" d", b" dr", b" dra", b" dragon", b" drama", b" flew", b" ", b" don"}


def test_consume_tracks_what_is_left_to_spell():
    assert consume(b" dra", b" dragon") == b""
    assert consume(b" dra", b" d") == b"ra"
    assert consume(b" dra", b" flew") is None
