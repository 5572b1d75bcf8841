"""The gate follows the model (issue 24): writer-bench calibrate chooses a confidence by the
rule, --write stores it in the GGUF without changing what llama.cpp computes, and the
engine and writer-bench use it unless a confidence is given."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from gpt2gguf.metadata import (
    CALIBRATION_KEYS,
    CONFIDENCE_KEY,
    model_confidence,
    write_metadata,
)
from gpt2gguf.validate import validate_gguf
from tests.fixtures_text import TRAIN_TEXT
from writer_app.bench import main as bench_main
from writer_app.bench.calibrate import COARSE_GRID, choose, passage, refinements
from writer_app.engine import Engine, EngineConfig
from writer_app.engine.config import DEFAULT_CONFIDENCE, resolve_confidence

BASE = {"n_threads": 1, "n_gpu_layers": 0}
PROMPTS = (
    "The dragon flew",
    "The dragon flew over the mountain.",
    '"Did you see it?" asked',
    "Mira ran down the path: past the",
    "At the shore she",
)
STORED = 0.5  # where the trained model's suggestions differ from the default 0.2's


def row(confidence: float, ksr_word: float, acceptance: float) -> dict:
    return {"confidence": confidence, "ksr_word": ksr_word, "acceptance_rate": acceptance}


# ----- the choice: a pure function of the table ------------------------------------------
def test_the_choice_is_the_most_ksr_word_among_thresholds_with_acceptance_at_least_045():
    rows = [
        row(0.05, 0.40, 0.30),  # the most savings, but writers would reject most of it
        row(0.1, 0.33, 0.44),  # just under the floor
        row(0.2, 0.31, 0.45),  # on the floor: allowed
        row(0.3, 0.28, 0.60),
        row(0.5, 0.20, 0.80),
    ]
    choice = choose(rows)
    assert choice.confidence == 0.2 and choice.met
    assert "0.31" in choice.reason


def test_without_a_threshold_reaching_the_floor_the_highest_acceptance_is_chosen_and_said():
    rows = [row(0.05, 0.40, 0.20), row(0.3, 0.25, 0.41), row(0.6, 0.10, 0.38)]
    choice = choose(rows)
    assert choice.confidence == 0.3 and not choice.met
    assert "no threshold reached acceptance 0.45" in choice.reason


def test_ties_go_to_the_higher_acceptance_then_the_lower_threshold():
    assert choose([row(0.2, 0.3, 0.5), row(0.3, 0.3, 0.7)]).confidence == 0.3
    assert choose([row(0.3, 0.3, 0.5), row(0.2, 0.3, 0.5)]).confidence == 0.2
    with pytest.raises(ValueError):
        choose([])


def test_refinement_measures_the_midpoints_beside_the_best_once():
    assert refinements(COARSE_GRID, 0.2) == [0.175, 0.25]
    assert refinements(COARSE_GRID, 0.05) == [0.075]  # the grid's end: one side
    assert refinements([*COARSE_GRID, 0.175, 0.25], 0.2) == [0.188, 0.225]
    assert refinements([0.2, 0.205], 0.2) == []  # finer than FINEST_STEP: done


def test_the_passage_is_cut_at_a_space_near_the_length_asked():
    text = "word " * 1000
    cut = passage(text, 3000)
    assert 2990 <= len(cut) <= 3000 and text.startswith(cut) and not cut.endswith("wo")
    assert passage("short text", 3000) == "short text"


# ----- stored with the model ---------------------------------------------------------------
@pytest.fixture
def calibrated(trained_gguf, tmp_path):
    """A copy of the trained model with confidence STORED written into it (mode 0640)."""
    path = tmp_path / "calibrated.gguf"
    shutil.copyfile(trained_gguf, path)
    os.chmod(path, 0o640)
    write_metadata(path, {CONFIDENCE_KEY: STORED, CALIBRATION_KEYS["date"]: "2026-12-03"})
    return path


def test_write_stores_the_value_keeps_the_rest_and_the_mode(trained_gguf, calibrated):
    before, after = validate_gguf(trained_gguf), validate_gguf(calibrated)
    assert model_confidence(after.metadata) == STORED
    assert after.metadata[CALIBRATION_KEYS["date"]] == "2026-12-03"
    assert model_confidence(before.metadata) is None
    assert {k: v for k, v in after.metadata.items() if not k.startswith("writer.")} == {
        k: v for k, v in before.metadata.items() if not k.startswith("writer.")
    }
    assert after.tensor_types == before.tensor_types and after.n_tensors == before.n_tensors
    assert os.stat(calibrated).st_mode & 0o777 == 0o640
    assert [p.name for p in calibrated.parent.iterdir()] == ["calibrated.gguf"]  # no scratch


def test_writing_again_replaces_the_value(calibrated):
    write_metadata(calibrated, {CONFIDENCE_KEY: 0.35})
    info = validate_gguf(calibrated)
    assert model_confidence(info.metadata) == 0.35
    assert info.metadata[CALIBRATION_KEYS["date"]] == "2026-12-03"  # the others stay


def test_a_value_that_is_no_threshold_is_ignored():
    for bad in (1.5, -0.1, float("nan"), "0.3", True):
        assert model_confidence({CONFIDENCE_KEY: bad}) is None
    assert model_confidence({CONFIDENCE_KEY: 0.0}) == 0.0


def test_llama_cpp_loads_the_rewritten_model_and_suggests_the_same(trained_gguf, calibrated):
    def suggestions(path) -> list[str | None]:
        with Engine(EngineConfig(model_path=path, confidence=0.0, **BASE)) as engine:
            return [getattr(engine.suggest(p), "text", None) for p in PROMPTS]

    assert suggestions(calibrated) == suggestions(trained_gguf)
    assert any(suggestions(calibrated))


# ----- used: the model's unless set ---------------------------------------------------------
def suggest_all(config: EngineConfig) -> tuple[tuple[float, str], list[str | None]]:
    with Engine(config) as engine:
        used = (engine.confidence, engine.confidence_source)
        return used, [getattr(engine.suggest(p), "text", None) for p in PROMPTS]


def test_the_engine_gates_with_the_models_value_unless_one_is_set(trained_gguf, calibrated):
    own = suggest_all(EngineConfig(model_path=calibrated, **BASE))
    same = suggest_all(EngineConfig(model_path=calibrated, confidence=STORED, **BASE))
    writers = suggest_all(EngineConfig(model_path=calibrated, confidence=0.0, **BASE))
    unstored = suggest_all(EngineConfig(model_path=trained_gguf, **BASE))
    assert own[0] == (STORED, "model") and same[0] == (STORED, "setting")
    assert writers[0] == (0.0, "setting")
    assert unstored[0] == (DEFAULT_CONFIDENCE, "default")
    # The stored value is what gated: as if set, and unlike the writer's 0 or the default.
    assert own[1] == same[1]
    assert own[1] != writers[1] and own[1] != unstored[1]


def test_resolve_confidence_prefers_the_setting_then_the_model_then_the_default():
    stored = {CONFIDENCE_KEY: 0.3}
    assert resolve_confidence(0.1, stored) == (0.1, "setting")
    assert resolve_confidence(0.0, stored) == (0.0, "setting")  # 0 is a choice: show everything
    assert resolve_confidence(None, stored) == (0.3, "model")
    assert resolve_confidence(None, {}) == (DEFAULT_CONFIDENCE, "default")


# ----- writer-bench -----------------------------------------------------------------------
def run_bench(capsys, *argv: str) -> dict:
    assert bench_main([*argv, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_calibrate_chooses_by_the_rule_writes_it_and_ksr_then_uses_it(
    trained_gguf, tmp_path, capsys
):
    model, story = tmp_path / "model.gguf", tmp_path / "val.txt"
    shutil.copyfile(trained_gguf, model)
    story.write_text(TRAIN_TEXT, encoding="utf-8")
    common = ("--model", str(model), "--text", str(story), "--threads", "1")
    report = run_bench(capsys, "calibrate", *common, "--chars", "400", "--write")
    measured = [r["confidence"] for r in report["rows"]]
    assert set(COARSE_GRID) <= set(measured) and len(measured) > len(COARSE_GRID)
    assert report["confidence"] == choose(report["rows"]).confidence
    assert report["before"] == {"confidence": DEFAULT_CONFIDENCE, "source": "default"}
    assert report["chars"] <= 400
    info = validate_gguf(model)
    assert model_confidence(info.metadata) == report["confidence"]
    assert info.metadata[CALIBRATION_KEYS["chars"]] == report["chars"]

    ksr = run_bench(capsys, "ksr", *common, "--fast")
    assert (ksr["confidence"], ksr["confidence_source"]) == (report["confidence"], "model")
    given = run_bench(capsys, "ksr", *common, "--fast", "--confidence", "0.33")
    assert (given["confidence"], given["confidence_source"]) == (0.33, "setting")


def test_calibrate_without_write_leaves_the_model_file_alone(trained_gguf, tmp_path, capsys):
    model, story = tmp_path / "model.gguf", tmp_path / "val.txt"
    shutil.copyfile(trained_gguf, model)
    story.write_text(TRAIN_TEXT, encoding="utf-8")
    before = model.read_bytes()
    report = run_bench(
        capsys,
        "calibrate",
        *("--model", str(model), "--text", str(story), "--threads", "1"),
        *("--chars", "200", "--no-refine"),
    )
    assert [r["confidence"] for r in report["rows"]] == list(COARSE_GRID)
    assert report["written"] is None and model.read_bytes() == before
