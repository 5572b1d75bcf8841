"""`--grow n_layer=N`: a deeper model that starts out computing exactly what its base did.

The base is the session's trained_checkpoint (2 layers, 64 wide, memorised
TRAIN_TEXT), so equal perplexities mean equal predictions of real text.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from finetune.cli import main as cli_main
from finetune.errors import RefusedError
from finetune.grow import ZEROED, grow_depth, layer_plan, parse_grow
from finetune.outputs import ExitCode
from finetune.report import read_metrics
from tests.conftest import TRAIN_TEXT, one_torch_thread, save_checkpoint
from tests.finetune.training_corpus import tiny_args, write_corpus


def _load(folder: Path):
    from transformers import GPT2LMHeadModel

    return GPT2LMHeadModel.from_pretrained(folder, attn_implementation="sdpa").eval()


def _logits(model, ids):
    import torch

    with torch.no_grad(), one_torch_thread():
        return model(ids).logits


def _ppl(logits, ids) -> float:
    import torch.nn.functional as F

    return math.exp(F.cross_entropy(logits[0, :-1], ids[0, 1:]).item())


@pytest.fixture(scope="module")
def grown(trained_checkpoint, tmp_path_factory) -> Path:
    """trained_checkpoint grown from 2 to 5 layers (one new after layer 0, two after 1), saved."""
    model = grow_depth(_load(trained_checkpoint), "n_layer=5")
    return save_checkpoint(model, tmp_path_factory.mktemp("grown"))


def test_the_grown_model_computes_what_the_base_did(trained_checkpoint, grown):
    import torch

    from finetune.tokenizer import load_tokenizer

    base, deeper = _load(trained_checkpoint), _load(grown)
    assert (base.config.n_layer, deeper.config.n_layer) == (2, 5)
    ids = torch.tensor([load_tokenizer().encode(TRAIN_TEXT).ids])
    before, after = _logits(base, ids), _logits(deeper, ids)
    assert (after - before).abs().max().item() < 1e-5  # equal to float precision
    assert abs(_ppl(after, ids) / _ppl(before, ids) - 1) < 0.005


def test_new_layers_copy_the_layer_before_them_and_write_nothing_to_the_stream(
    trained_checkpoint, grown
):
    import torch

    base, deeper = _load(trained_checkpoint).state_dict(), _load(grown).state_dict()
    plan = layer_plan(2, 5)
    assert plan == [(0, False), (0, True), (1, False), (1, True), (1, True)]
    for i, (source, new) in enumerate(plan):
        for rest in ("ln_1.weight", "attn.c_attn.weight", "mlp.c_fc.weight", "mlp.c_fc.bias"):
            assert torch.equal(
                deeper[f"transformer.h.{i}.{rest}"], base[f"transformer.h.{source}.{rest}"]
            )
        for rest in ZEROED:
            value = deeper[f"transformer.h.{i}.{rest}"]
            if new:
                assert not value.any(), f"layer {i} {rest}"
            else:
                assert torch.equal(value, base[f"transformer.h.{source}.{rest}"])


def test_the_grown_model_exports_and_llama_cpp_scores_it_as_the_base(
    grown, trained_gguf_f32, tmp_path
):
    from finetune.evaluate import gguf_perplexity
    from finetune.export import export_gguf
    from gpt2gguf.validate import validate_gguf

    gguf = tmp_path / "grown-f32.gguf"
    summary = export_gguf(grown, gguf, "f32", verify_text=TRAIN_TEXT)
    assert summary["verify"]["top1_agreement"] >= 0.98  # llama.cpp agrees with PyTorch
    assert validate_gguf(gguf).n_layer == 5
    deeper = gguf_perplexity(gguf, TRAIN_TEXT, windows=2, window_tokens=64, n_threads=1)
    base = gguf_perplexity(trained_gguf_f32, TRAIN_TEXT, windows=2, window_tokens=64, n_threads=1)
    assert abs(deeper["ppl"] / base["ppl"] - 1) < 0.005


@pytest.mark.parametrize(
    "spec, words",
    [
        ("n_layer=1", "the base has 2 layers, and growing only adds layers"),
        ("n_embd=128", "only the depth can grow"),
        ("n_head=4", "only the depth can grow"),
        ("layers=4", "expected n_layer=N"),
        ("n_layer=four", "expected n_layer=N"),
    ],
)
def test_a_grow_that_cannot_keep_the_bases_outputs_is_refused_with_the_reason(spec, words):
    with pytest.raises(RefusedError, match=words):
        parse_grow(spec, base_layers=2)


def test_training_with_grow_starts_at_the_bases_validation_loss(trained_checkpoint, tmp_path):
    """End to end: the first evaluation of `--grow` is the base's; the best model is deeper."""
    books, val = write_corpus(tmp_path)
    runs = {}
    for name, extra in (("base", []), ("grown", ["--grow", "n_layer=3"])):
        args = tiny_args(
            books, val, tmp_path / name, tmp_path / "cache",
            "--max-steps", "1", "--eval-at-start", "--no-export", *extra,
        )  # fmt: skip
        i = args.index("--init")
        args[i : i + 2] = ["--base", str(trained_checkpoint)]
        assert cli_main(args) == 0
        runs[name] = read_metrics(tmp_path / name / "metrics.jsonl")
    start = {name: rows[0] for name, rows in runs.items()}
    assert start["base"]["step"] == start["grown"]["step"] == 0
    assert start["grown"]["val_loss"] == pytest.approx(start["base"]["val_loss"], abs=1e-4)
    assert _load(tmp_path / "grown" / "model").config.n_layer == 3


def test_grow_fewer_layers_on_the_command_line_is_one_line_in_words(
    trained_checkpoint, tmp_path, capsys
):
    books, val = write_corpus(tmp_path)
    args = tiny_args(books, val, tmp_path / "out", tmp_path / "cache", "--no-export")
    i = args.index("--init")
    args[i : i + 2] = ["--base", str(trained_checkpoint), "--grow", "n_layer=1"]
    assert cli_main(args) == ExitCode.REFUSED
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: --grow n_layer=1: the base has 2 layers")
