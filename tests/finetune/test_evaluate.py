"""eval: perplexity through llama.cpp by THE PROTOCOL agrees with PyTorch on the same windows."""

from __future__ import annotations

import json
import lzma
import math

import numpy as np
import pytest

from finetune.cli import main as cli_main
from finetune.errors import FinetuneError
from finetune.evaluate import gguf_perplexity, read_eval_text, strip_separators, window_starts
from finetune.tokenizer import load_tokenizer
from tests.conftest import TRAIN_TEXT

# A text the trained model has never seen, so its perplexity is far from 1.
OTHER_TEXT = (
    "In the harbour town the fishermen mended their nets at dawn, arguing about the weather. "
    "A gull stole a sardine from the baker's cart; nobody laughed except the baker himself. "
) * 3


def _torch_ppl(checkpoint, token_ids: list[int], starts: list[int], window: int) -> float:
    import torch
    import torch.nn.functional as F
    from transformers import GPT2LMHeadModel

    model = GPT2LMHeadModel.from_pretrained(str(checkpoint)).eval()
    nll, count = 0.0, 0
    with torch.no_grad():
        for start in starts:
            ids = torch.tensor([token_ids[start : start + window]])
            logits = model(ids).logits[0, :-1]
            nll += F.cross_entropy(logits, ids[0, 1:], reduction="sum").item()
            count += ids.shape[1] - 1
    return math.exp(nll / count)


def test_window_starts_spread_evenly_over_the_stream():
    assert window_starts(1000, 5, 100) == [0, 225, 450, 675, 900]
    assert window_starts(100, 60, 100) == [0]  # one window fits: no duplicates
    assert window_starts(150, 3, 100) == [0, 25, 50]


def test_separator_lines_are_dropped():
    text = "First story ends.\n<|endoftext|>\nSecond story begins.\n  <|endoftext|>  \nThe end."
    assert strip_separators(text) == "First story ends.\nSecond story begins.\nThe end."


def test_perplexity_matches_pytorch_on_the_same_windows(trained_checkpoint, trained_gguf_f32):
    text = TRAIN_TEXT + OTHER_TEXT
    result = gguf_perplexity(trained_gguf_f32, text, windows=4, window_tokens=64)
    ids = load_tokenizer().encode(text).ids  # llama.cpp's GPT-2 tokenizer gives the same ids
    starts = np.linspace(0, len(ids) - 64, 4).round().astype(int).tolist()
    assert result["windows"] == 4
    assert result["tokens_scored"] == 4 * 63
    assert result["tokens_total"] == len(ids)
    expected = _torch_ppl(trained_checkpoint, ids, starts, 64)
    assert result["ppl"] == pytest.approx(expected, rel=0.01)
    assert result["nll"] == pytest.approx(math.log(result["ppl"]))
    assert result["note"] is None


def test_memorised_text_scores_lower_than_unseen_text(trained_gguf):
    # One window from the start: the model memorised the text at its absolute positions.
    seen = gguf_perplexity(trained_gguf, TRAIN_TEXT, windows=1, window_tokens=256)["ppl"]
    unseen = gguf_perplexity(trained_gguf, OTHER_TEXT, windows=1, window_tokens=256)["ppl"]
    assert seen < 1.5 < 10 < unseen


def test_separators_do_not_change_the_score(trained_gguf):
    paragraphs = TRAIN_TEXT.split("\n\n")
    joined = "\n\n".join(paragraphs)
    with_separators = "\n<|endoftext|>\n".join(paragraphs)
    a = gguf_perplexity(trained_gguf, joined.replace("\n\n", "\n"), windows=2, window_tokens=128)
    b = gguf_perplexity(trained_gguf, with_separators, windows=2, window_tokens=128)
    assert a["ppl"] == pytest.approx(b["ppl"], rel=1e-6)


def test_text_shorter_than_a_window_is_one_short_window_with_a_note(trained_gguf):
    result = gguf_perplexity(
        trained_gguf, "The dragon flew over the mountain.", windows=60, window_tokens=128
    )
    assert result["windows"] == 1
    assert result["tokens_scored"] == 6  # 7 tokens, the first has no context
    assert "shorter than one window" in result["note"]


def test_window_longer_than_the_model_context_is_shortened(trained_gguf):
    result = gguf_perplexity(trained_gguf, TRAIN_TEXT * 3, windows=2, window_tokens=512)
    assert result["window_tokens"] == 256  # the fixture model's n_positions
    assert "context is 256" in result["note"]


def test_one_token_text_is_refused(trained_gguf):
    with pytest.raises(FinetuneError, match="too short"):
        gguf_perplexity(trained_gguf, "The", windows=1, window_tokens=16)


def test_xz_and_plain_text_read_the_same(tmp_path):
    (tmp_path / "t.txt").write_text(TRAIN_TEXT, encoding="utf-8")
    with lzma.open(tmp_path / "t.txt.xz", "wt", encoding="utf-8") as f:
        f.write(TRAIN_TEXT)
    assert read_eval_text(tmp_path / "t.txt.xz") == read_eval_text(tmp_path / "t.txt") == TRAIN_TEXT
    with pytest.raises(FinetuneError, match="does not exist"):
        read_eval_text(tmp_path / "missing.txt")


def test_cli_eval_prints_json(trained_gguf, tmp_path, capsys):
    with lzma.open(tmp_path / "val.txt.xz", "wt", encoding="utf-8") as f:
        f.write(TRAIN_TEXT + "\n<|endoftext|>\n" + OTHER_TEXT)
    argv = [
        "eval",
        str(trained_gguf),
        "--text",
        str(tmp_path / "val.txt.xz"),
        "--windows",
        "3",
        "--window-tokens",
        "100",
        "--json",
    ]
    assert cli_main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["windows"] == 3 and result["tokens_scored"] == 3 * 99
    assert result["model"] == str(trained_gguf)
    assert set(result) >= {"ppl", "nll", "windows", "tokens_scored", "model", "seconds"}


def test_cli_eval_of_a_non_gguf_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "fake.gguf").write_text("not a model")
    (tmp_path / "t.txt").write_text(TRAIN_TEXT)
    assert cli_main(["eval", str(tmp_path / "fake.gguf"), "--text", str(tmp_path / "t.txt")]) == 1
    assert "not a GGUF model file" in capsys.readouterr().err
