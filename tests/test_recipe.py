"""The default-model recipe's `smoke` profile runs end to end, and its card tells the truth."""

from __future__ import annotations

import json
import lzma
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gpt2gguf.validate import validate_gguf

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "recipes" / "default-model" / "run.sh"
NAME = "smoke-model"
QUANTS = ("f32", "q8_0", "q4_k_m")

_WORDS = (
    "the old king walked slowly across the hall and the queen watched him from her high window "
    "while a dragon slept beneath the hill and the children of the village told stories about "
    "silver rivers dark forests and a bright star that fell into the sea"
).split()


def _book(rng: random.Random, title: str, paragraphs: int) -> str:
    paras = [title.upper()]
    for _ in range(paragraphs):
        sentences = []
        for _ in range(rng.randint(2, 5)):
            words = [rng.choice(_WORDS) for _ in range(rng.randint(5, 14))]
            end = rng.choice([".", ".", "!", "?", ";"])
            sentences.append(" ".join(words).capitalize() + end)
        if rng.random() < 0.3:
            sentences.append(
                f'"{rng.choice(_WORDS).capitalize()}, {rng.choice(_WORDS)}?" she asked.'
            )
        paras.append(" ".join(sentences))
    return "\n\n".join(paras)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A corpus laid out like ../shared/corpus: xz shards, val and a manifest."""
    rng = random.Random(7)
    root = tmp_path_factory.mktemp("corpus")
    train = "\n<|endoftext|>\n".join(_book(rng, f"Book {i}", 80) for i in range(4))
    val = "\n<|endoftext|>\n".join(_book(rng, f"Val book {i}", 40) for i in range(2))
    with lzma.open(root / "train-00.txt.xz", "wt", encoding="utf-8") as f:
        f.write(train)
    with lzma.open(root / "val.txt.xz", "wt", encoding="utf-8") as f:
        f.write(val)
    (root / "MANIFEST.tsv").write_text(
        "split\tshard\tgutenberg_id\ttitle\tauthor\tyear\tgenre\tchars\tsource_repo\tsource_path\n"
        f"train\t00\t1\tBook\tAnon\t1900\tfantasy\t{len(train)}\tx\ty\n"
        f"val\tval\t2\tVal book\tAnon\t1900\tfairy\t{len(val)}\tx\ty\n"
    )
    return root


@pytest.fixture(scope="module")
def smoke_run(corpus, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("smoke-out")
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [
            "bash",
            str(RUN),
            "--corpus",
            str(corpus),
            "--out",
            str(out),
            "--profile",
            "smoke",
            "--name",
            NAME,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def test_smoke_profile_writes_every_promised_output(smoke_run):
    train = smoke_run / "train"
    for path in (
        "metrics.jsonl",
        "loss_curve.png",
        "training_summary.json",
        "model/model.safetensors",
        "model/tokenizer.json",
        "model/config.json",
    ):
        assert (train / path).is_file(), path
    for q in QUANTS:
        info = validate_gguf(smoke_run / f"{NAME}-{q}.gguf")
        assert info.architecture == "gpt2" and info.name == NAME
        assert _json(smoke_run / "results" / f"eval-{q}.json")["ppl"] > 1
        assert _json(smoke_run / "results" / f"export-{q}.json")["verify"]
    assert _json(smoke_run / "results" / "latency.json")
    assert "ksr_word" in _json(smoke_run / "results" / "ksr.json")
    assert (smoke_run / "MODEL_CARD.md").is_file()


def test_smoke_f32_export_matches_pytorch(smoke_run):
    verify = _json(smoke_run / "results" / "export-f32.json")["verify"]
    assert verify["rel_l2"] < 1e-3


def test_model_card_figures_match_the_files(smoke_run):
    card = (smoke_run / "MODEL_CARD.md").read_text()
    summary = _json(smoke_run / "train" / "training_summary.json")
    assert f"Steps: {summary['steps']:,}; tokens seen: {summary['tokens']:,}" in card
    for q in QUANTS:
        ppl = _json(smoke_run / "results" / f"eval-{q}.json")["ppl"]
        size = (smoke_run / f"{NAME}-{q}.gguf").stat().st_size / 1e6
        row = re.search(rf"^\| {NAME}-{q}\.gguf \| ([\d.]+) \| ([\d.]+) \|", card, re.M)
        assert row, f"no row for {q}"
        assert float(row.group(1)) == pytest.approx(size, abs=0.051)
        assert float(row.group(2)) == pytest.approx(ppl, abs=0.0051)
    ksr = _json(smoke_run / "results" / "ksr.json")
    assert f"ksr_word {ksr['ksr_word']:.3f}" in card
    assert "| train | fantasy | 1 |" in card


LINEAGE = ROOT / "recipes" / "default-model" / "lineage.py"


def _ship(out: Path, to: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(LINEAGE), "ship", "--out", str(out), "--name", "m", "--to", str(to)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def _round_outputs(out: Path, improved: bool) -> None:
    (out / "results").mkdir(parents=True)
    (out / "train").mkdir()
    row = {"val_ppl_before": 100.0, "val_ppl_after": 90.0 if improved else 110.0}
    (out / "results" / "round.json").write_text(json.dumps({**row, "improved": improved}))
    (out / "m-q8_0.gguf").write_bytes(b"new model")
    (out / "MODEL_CARD.md").write_text("new card")
    (out / "train" / "loss_curve.png").write_bytes(b"png")
    (out / "lineage.json").write_text("[]")


def test_ship_replaces_the_bundled_files_only_when_the_round_improved(tmp_path):
    to = tmp_path / "models"
    to.mkdir()
    (to / "m-q8_0.gguf").write_bytes(b"old model")
    worse, better = tmp_path / "worse", tmp_path / "better"
    _round_outputs(worse, improved=False)
    _round_outputs(better, improved=True)

    assert _ship(worse, to).returncode == 0
    assert (to / "m-q8_0.gguf").read_bytes() == b"old model"

    done = _ship(better, to)
    assert done.returncode == 0, done.stderr
    assert (to / "m-q8_0.gguf").read_bytes() == b"new model"
    assert (to / "MODEL_CARD.md").read_text() == "new card"
    assert sorted(p.name for p in to.iterdir()) == [
        "MODEL_CARD.md",
        "lineage.json",
        "loss_curve.png",
        "m-q8_0.gguf",
    ]  # no temporary file left behind


def test_each_round_counts_the_rounds_before_it_so_it_draws_new_windows(tmp_path):
    """run.sh offsets a continued round's seed by `lineage.py count`: a round with the
    seed of the round before would read the same windows again (batches.get_batch)."""

    def count(start: Path) -> str:
        cmd = [sys.executable, str(LINEAGE), "count", "--from", str(start)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout.strip()

    start = tmp_path / "m-q8_0.gguf"
    assert count(start) == "0"  # a model without a lineage: round 1 keeps the profile's seed
    (tmp_path / "lineage.json").write_text(json.dumps([{"start": "a"}, {"start": "b"}]))
    assert count(start) == "2"
    assert 'lineage.py" count --from' in RUN.read_text() and "+ ROUNDS" in RUN.read_text()
