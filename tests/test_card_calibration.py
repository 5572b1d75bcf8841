"""The default-model card shows the suggestion confidence stored in the q8_0 file (issue 24),
read from results/calibrate.json, and whose confidence ksr typed with; and the recipes'
A/B as ab.sh recorded it."""

from __future__ import annotations

import importlib.util
import json
import re
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


def test_the_card_shows_the_recipes_ab_as_recorded(tmp_path):
    make_card = load_make_card()
    tsv = tmp_path / "ab.tsv"
    tsv.write_text(
        "# start: a model at 91.70\n"
        "run\tminutes\tarm\tsteps\ttokens\tval_ppl_q8_0\n"
        "first\t25\tadamw-8-cosine\t93\t190464\t100.844\n"
        "first\t25\tmuon-8-cosine\t23\t47104\t111.78\n",
        encoding="utf-8",
    )
    lines = make_card.ab_table(tsv)
    assert "- start: a model at 91.70" in lines
    assert "| first | 25 | adamw-8-cosine | 93 | 190,464 | 100.84 |" in lines
    assert "| first | 25 | muon-8-cosine | 23 | 47,104 | 111.78 |" in lines
    assert make_card.ab_table(tmp_path / "none.tsv") == []
    # The recorded A/B: every row renders, steps x 2,048 tokens (the continue profile's batch).
    recorded = make_card.ab_table(make_card.AB_RESULTS)
    rows = [line for line in recorded if re.match(r"\| (first|again) \|", line)]
    assert len(rows) == 12
    for row in rows:
        steps, tokens = (int(c.replace(",", "")) for c in row.split("|")[4:6])
        assert tokens == steps * 2048
