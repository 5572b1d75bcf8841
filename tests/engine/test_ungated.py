"""Ctrl+Space's ungated request: the suggestion the confidence gate would cut, with the
stop rules and shaping still applied, and word of it when the gate hid one (issue 27).

The random `tiny_gguf_f32` is sure of nothing, so the gate hides all it has;
`trained_gguf` has memorised TRAIN_TEXT and is sure of most of it.
"""

from __future__ import annotations

import dataclasses

import pytest

from writer_app.engine import Engine, EngineConfig

TEXT = "Once upon a time, in a land far"
BASE = {"n_threads": 1}


@pytest.fixture(scope="module")
def unsure_engine(tiny_gguf_f32):
    with Engine(EngineConfig(model_path=tiny_gguf_f32, confidence=0.25, **BASE)) as eng:
        yield eng


def test_ungated_returns_the_text_the_gate_cut(unsure_engine):
    assert unsure_engine.suggest(TEXT) is None
    assert unsure_engine.last_stats.gate_hid  # the model had one; the gate said no
    shown = unsure_engine.suggest(TEXT, ungated=True)
    assert shown is not None and shown.text.strip()
    assert shown.extra.unsure  # past where the gate would cut: shown as less sure
    assert not unsure_engine.last_stats.gate_hid
    with Engine(dataclasses.replace(unsure_engine.config, confidence=0.0)) as open_gate:
        assert shown.text == open_gate.suggest(TEXT).text  # the same stop rules and shaping


def test_an_ungated_answer_is_not_remembered_for_the_gated_request(unsure_engine):
    with Engine(unsure_engine.config) as eng:  # a memo of its own
        assert eng.suggest(TEXT, ungated=True) is not None
        assert eng.suggest(TEXT) is None  # the automatic one stays gated
        assert eng.last_stats.gate_hid  # and says why, asked again too
        assert eng.suggest(TEXT) is None and eng.last_stats.gate_hid
        assert eng.suggest(TEXT, ungated=True) is not None  # not the other way either


def test_what_the_gate_lets_through_is_not_marked_unsure(trained_gguf):
    with Engine(EngineConfig(model_path=trained_gguf, **BASE)) as eng:
        gated = eng.suggest("The dragon")
        ungated = eng.suggest("The dragon", ungated=True)
    assert gated.text == ungated.text == " flew over the mountain."
    assert not gated.extra.unsure and not ungated.extra.unsure
