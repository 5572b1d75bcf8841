"""LlamaRunner: the project's one llama.cpp loader, and the one door to llama-cpp-python."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from finetune.llama_scoring import LlamaScorer
from gpt2gguf.cpu import default_use_extra_bufts, physical_cores
from gpt2gguf.errors import ModelError, ModelFileError
from gpt2gguf.llama import DecodeAborted, LlamaRunner
from tests.fixtures_text import TRAIN_TEXT

REPO = Path(__file__).resolve().parents[2]
ADAPTER = REPO / "gpt2gguf" / "llama.py"


@pytest.fixture(scope="module")
def runner(trained_gguf):
    with LlamaRunner(trained_gguf, n_ctx=4096, n_threads=1, logits_all=True) as r:
        yield r


def test_a_damaged_file_is_refused_before_llama_cpp_reads_it(trained_gguf, tmp_path):
    half = tmp_path / "half.gguf"
    half.write_bytes(trained_gguf.read_bytes()[:5000])
    with pytest.raises(ModelFileError, match="truncated"):
        LlamaRunner(half, n_ctx=64, n_threads=1)


def test_the_context_is_capped_at_the_models_own_for_the_engine_and_the_scorer(
    runner, trained_gguf
):
    assert runner.info.n_ctx == 256
    assert runner.n_ctx == 256  # 4096 asked
    with LlamaScorer(trained_gguf, 4096, n_threads=1) as scorer:
        assert scorer.n_ctx == 256


def test_automatic_settings_follow_the_projects_rules(trained_gguf):
    with LlamaRunner(trained_gguf, n_ctx=64) as r:
        assert r.n_threads == physical_cores()
        assert r.use_extra_bufts is default_use_extra_bufts()
    with LlamaScorer(trained_gguf, 64) as scorer:  # writer-finetune's scorer: the same rule
        assert scorer.runner.n_threads == physical_cores()


def test_token_pieces_spell_the_text_and_special_tokens_are_empty(runner):
    pieces = runner.token_pieces()
    assert len(pieces) == runner.n_vocab
    assert pieces[runner.eos] == b""
    text = "The dragon flew over the mountain. Ça va?"
    assert b"".join(pieces[t] for t in runner.tokenize(text)) == text.encode("utf-8")


def test_the_last_logits_are_the_last_row_of_every_positions_logits(runner):
    tokens = runner.tokenize(TRAIN_TEXT[:200])
    runner.rewind(0)
    runner.decode(tokens)
    assert list(runner.cached_tokens()) == tokens
    rows = runner.all_logits(len(tokens))
    assert rows.shape == (len(tokens), runner.n_vocab)
    np.testing.assert_allclose(runner.last_logits(), rows[-1], rtol=1e-5, atol=1e-5)
    runner.rewind(3)
    assert list(runner.cached_tokens()) == tokens[:3]


def test_tokens_past_the_context_are_a_model_error(runner):
    runner.rewind(0)
    with pytest.raises(ModelError, match="does not fit the 256-token context"):
        runner.decode([runner.eos] * 257)


def test_an_aborted_decode_raises_and_the_context_stays_usable(runner):
    tokens = runner.tokenize(TRAIN_TEXT[:400])
    runner.rewind(0)
    with pytest.raises(DecodeAborted):
        runner.decode(tokens, should_abort=lambda: True)
    runner.rewind(0)
    runner.decode(tokens)
    assert np.isfinite(runner.last_logits()).all()


def test_only_the_adapter_imports_llama_cpp_python():
    """Everything else reaches llama.cpp through gpt2gguf.llama, so its private
    attributes and raw bindings are used in that one file."""
    offenders = []
    packages = ("gpt2gguf", "writer_app", "finetune")
    for path in [p for package in packages for p in (REPO / package).rglob("*.py")]:
        if path == ADAPTER:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            if any(name.split(".")[0] == "llama_cpp" for name in names):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not offenders
