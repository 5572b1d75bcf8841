"""The suggestion memo: answers by text, least recently used forgotten first."""

import pytest

from writer_app.engine.config import Suggestion
from writer_app.engine.memo import SuggestionMemo


def test_the_memo_recalls_answers_and_forgets_the_least_recently_used():
    memo = SuggestionMemo(size=2)
    memo.remember("a", Suggestion("1"))
    memo.remember("b", None)  # "no suggestion" is an answer too
    assert memo.recall("a").text == "1"  # now "b" is the oldest
    memo.remember("c", Suggestion("3"))
    assert "b" not in memo and "a" in memo and "c" in memo
    assert memo.recall("c").text == "3"
    memo.forget()
    assert "a" not in memo
    with pytest.raises(KeyError):
        memo.recall("a")
