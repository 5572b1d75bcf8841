"""The files read at start go through one guard: a damaged one is moved aside, the app starts."""

from __future__ import annotations

import json

import pytest

from writer_app.core import state_files
from writer_app.core.stats import Counts, SuggestionStats
from writer_app.training.library import ModelCard, list_models, write_card


@pytest.fixture(autouse=True)
def no_left_notices():
    state_files.take_notices()
    yield
    state_files.take_notices()


def test_deeply_nested_statistics_start_from_zero_and_are_moved_aside(tmp_path):
    path = tmp_path / "suggestion-stats.json"
    path.write_text("[" * 200_000 + "]" * 200_000)  # RecursionError in json.loads
    stats = SuggestionStats.load(path)
    assert stats.total == Counts()
    assert not path.exists()
    moved = list(tmp_path.glob("suggestion-stats.json.bad-*"))
    assert len(moved) == 1 and moved[0].stat().st_size == 400_000
    notices = state_files.take_notices()
    assert len(notices) == 1 and "statistics" in notices[0] and moved[0].name in notices[0]
    assert "nested too deeply" in notices[0]


def test_a_number_out_of_range_in_the_statistics_does_not_stop_the_start(tmp_path):
    path = tmp_path / "s.json"
    total = {"shown": 1e400}  # json reads Infinity; int() of it raises OverflowError
    path.write_text(json.dumps({"total": total, "documents": {}, "today": {"date": "x"}}))
    assert SuggestionStats.load(path).total == Counts()
    assert state_files.take_notices()


def test_a_bad_model_card_is_moved_aside_and_the_good_ones_are_listed(tmp_path, monkeypatch):
    monkeypatch.setenv("WRITER_APP_DATA_DIR", str(tmp_path))
    models = tmp_path / "models"
    good = models / "2026-11-01-1000"
    good.mkdir(parents=True)
    (good / "m.gguf").write_bytes(b"GGUF")
    write_card(good, ModelCard("m.gguf", "2026-11-01 10:00", "base.gguf", 10, 2, 1.0))
    bad_cards = {
        "2026-11-02-1000": "[" * 100_000,  # RecursionError
        "2026-11-03-1000": json.dumps(
            {"gguf": 5, "created": "", "base": "", "train_words": 1, "val_words": 1, "minutes": 1}
        ),
        "2026-11-04-1000": json.dumps(
            {
                "gguf": "m.gguf",
                "created": "",
                "base": "",
                "train_words": 1,
                "val_words": 1,
                "minutes": 1,
                "ppl_before": "high",
                "ppl_after": 3,
            }
        ),
    }
    for name, text in bad_cards.items():
        (models / name).mkdir()
        (models / name / "m.gguf").write_bytes(b"GGUF")
        (models / name / "card.json").write_text(text)
    cards = list_models()
    assert [c.folder.name for c in cards] == [good.name]
    for card in cards:
        card.summary()  # what the Settings dialog shows for each
    for name in bad_cards:
        assert len(list((models / name).glob("card.json.bad-*"))) == 1
    assert len(state_files.take_notices()) == 3
