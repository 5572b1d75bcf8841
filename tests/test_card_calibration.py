"""The default-model card shows the suggestion confidence stored in the q8_0 file (issue 24),
read from results/calibrate.json, and whose confidence ksr typed with."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_make_card():
    spec = importlib.util.spec_from_file_location(
        "make_card", ROOT / "recipes" / "default-model" / "make_card.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ROWS = [
    {"confidence": 0.1, "ksr_word": 0.31, "acceptance_rate": 0.41, "shown": 90},
    {"confidence": 0.2, "ksr_word": 0.29, "acceptance_rate": 0.48, "shown": 70},
    {"confidence": 0.3, "ksr_word": 0.22, "acceptance_rate": 0.6, "shown": 50},
]


def write_results(out: Path, calibration: dict | None) -> None:
    results = out / "results"
    results.mkdir(parents=True)
    (results / "ksr.json").write_text(
        json.dumps({"confidence": 0.2, "confidence_source": "model", "ksr_word": 0.29})
    )
    if calibration is not None:
        (results / "calibrate.json").write_text(json.dumps(calibration))


def test_the_card_shows_the_calibrated_confidence_and_its_table(tmp_path):
    write_results(
        tmp_path,
        {
            "confidence": 0.2,
            "rows": ROWS,
            "chars": 3000,
            "min_acceptance": 0.45,
            "met_min_acceptance": True,
            "ksr_word": 0.29,
            "acceptance_rate": 0.48,
        },
    )
    text = load_make_card().card(tmp_path, "m", "continue", tmp_path)
    assert "## Suggestion confidence" in text
    assert "**0.2**, stored in the q8_0 file" in text
    assert "the most ksr_word with acceptance at least 0.45" in text
    assert "| 0.2 (chosen) | 0.290 | 0.480 | 70 |" in text
    assert "with the model's calibrated suggestion confidence (0.2)" in text


def test_a_run_without_calibration_has_no_such_section(tmp_path):
    write_results(tmp_path, None)
    assert "## Suggestion confidence" not in load_make_card().card(tmp_path, "m", "cpu", tmp_path)
