"""The confidence gate: a suggestion ends where the model stops being sure, at a word boundary.

`trained_gguf` has memorised TRAIN_TEXT, so it is sure of most of it; the
random `tiny_gguf_f32` is sure of nothing.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from tests.fixtures_text import TRAIN_TEXT
from writer_app.engine import Engine, EngineConfig

BASE = {"n_threads": 1}


@pytest.fixture(scope="module")
def engine(trained_gguf):
    with Engine(EngineConfig(model_path=trained_gguf, **BASE)) as eng:
        yield eng


def with_config(engine: Engine, **changes) -> Engine:
    return Engine(dataclasses.replace(engine.config, **changes))


def test_below_the_threshold_the_engine_returns_none(tiny_gguf_f32):
    text = "Once upon a time, in a land far"
    with Engine(EngineConfig(model_path=tiny_gguf_f32, confidence=0.25, **BASE)) as eng:
        assert eng.suggest(text) is None
        assert eng.alternatives(text) == []  # alternatives pass the same gate
        eng.update_config(dataclasses.replace(eng.config, confidence=0.0))
        assert eng.suggest(text) is not None  # the gate, not the model, said no


def test_a_suggestion_is_as_sure_as_the_threshold_and_a_higher_one_cuts_it(engine):
    s = engine.suggest("The dragon")
    assert s.text == " flew over the mountain."
    sure = s.extra.confidence
    assert engine.confidence <= sure < 1
    with with_config(engine, confidence=min(0.999, sure * 1.01)) as stricter:
        t = stricter.suggest("The dragon")
    # The last boundary (after the full stop) no longer passes: the cut moves back a word end.
    assert t is not None and s.text.startswith(t.text)
    assert t.text == " flew over the mountain"


@pytest.mark.parametrize("confidence", [0.2, 0.5, 0.9])
def test_a_suggestion_never_ends_mid_word(engine, confidence):
    """At every 5th cursor position of the story (mid-word ones included), a
    suggestion that the story goes on with ends where the story's word ends."""
    checked = 0
    with with_config(engine, confidence=confidence, max_words=40, max_sentences=3) as eng:
        for pos in range(5, len(TRAIN_TEXT) - 1, 5):
            s = eng.suggest(TRAIN_TEXT[:pos])
            if s is None or not TRAIN_TEXT[pos:].startswith(s.text):
                continue
            after = TRAIN_TEXT[pos + len(s.text) :]
            assert not (re.match(r"\w", after) and re.search(r"\w$", s.text)), (pos, s.text)
            checked += 1
    assert checked >= 20


def test_mid_word_the_gate_still_completes_the_word(engine):
    s = engine.suggest("The dra")
    assert s is not None and s.text.startswith("gon")
