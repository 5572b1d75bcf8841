"""The library of trained models: cards, listing and the rules of deleting (no Qt)."""

from __future__ import annotations

import json

import pytest

from gpt2gguf.constants import default_model_path
from writer_app.core.paths import DATA_DIR_ENV
from writer_app.training import library
from writer_app.training.errors import TrainingError
from writer_app.training.library import (
    ModelCard,
    delete_model,
    list_models,
    models_dir,
    new_run_dir,
    read_card,
    write_card,
)


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    return tmp_path / "data"


def make_model(name: str, before=100.0, after=80.0) -> ModelCard:
    run = models_dir() / name
    (run / "train").mkdir(parents=True)
    (run / "train" / "my-writing-q8_0.gguf").write_bytes(b"GGUF")
    card = ModelCard(
        gguf="train/my-writing-q8_0.gguf",
        created=name,
        base="/models/base-q8_0.gguf",
        train_words=18_000,
        val_words=2_000,
        minutes=15,
        ppl_before=before,
        ppl_after=after,
    )
    write_card(run, card)
    return read_card(run)


def test_models_live_under_the_user_data_dir(data_dir):
    assert models_dir() == data_dir / "models"
    assert new_run_dir().parent == data_dir / "models"


def test_new_run_dirs_never_collide():
    first = new_run_dir(now=0)
    first.mkdir(parents=True)
    assert new_run_dir(now=0) != first


def test_cards_round_trip_and_list_newest_first():
    make_model("2026-01-01-1000")
    make_model("2026-02-01-1000", before=50.0, after=60.0)
    (models_dir() / "2026-03-01-1000").mkdir()  # an unfinished run: no card
    cards = list_models()
    assert [c.created for c in cards] == ["2026-02-01-1000", "2026-01-01-1000"]
    assert cards[1].better and not cards[0].better
    assert "20,000 words" in cards[1].summary() and "100.0 → 80.0" in cards[1].summary()
    assert json.loads((cards[0].folder / "card.json").read_text())["base"].endswith("q8_0.gguf")


def test_a_card_whose_model_file_is_gone_is_not_listed():
    card = make_model("2026-01-01-1000")
    card.gguf_path.unlink()
    assert list_models() == []


def test_delete_removes_the_model_folder():
    card = make_model("2026-01-01-1000")
    delete_model(card, in_use=None)
    assert not card.folder.exists()
    assert list_models() == []


def test_the_model_in_use_is_never_deleted():
    card = make_model("2026-01-01-1000")
    with pytest.raises(TrainingError, match="in use"):
        delete_model(card, in_use=card.gguf_path)
    assert card.gguf_path.is_file()


def test_the_bundled_default_is_never_deleted(monkeypatch):
    card = make_model("2026-01-01-1000")
    monkeypatch.setattr(library, "default_model_path", lambda: card.gguf_path)
    with pytest.raises(TrainingError, match="bundled default"):
        delete_model(card, in_use=None)
    assert card.gguf_path.is_file()


def test_nothing_outside_the_library_is_deleted(tmp_path):
    outside = tmp_path / "elsewhere"
    (outside / "train").mkdir(parents=True)
    (outside / "train" / "m.gguf").write_bytes(b"GGUF")
    card = ModelCard("train/m.gguf", "today", "base", 1, 1, 1.0, folder=outside)
    with pytest.raises(TrainingError, match="not in the library"):
        delete_model(card, in_use=None)
    assert outside.is_dir()


def test_the_real_bundled_model_is_refused_too():
    bundled = default_model_path()
    if bundled is None:
        pytest.skip("no bundled model in this checkout")
    card = ModelCard(bundled.name, "today", "base", 1, 1, 1.0, folder=bundled.parent)
    with pytest.raises(TrainingError, match="bundled default"):
        delete_model(card, in_use=None)
    assert bundled.is_file()
