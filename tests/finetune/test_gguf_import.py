"""`--base FILE.gguf` and `--base default`: a GGUF becomes a PyTorch model that training continues.

The round trip GGUF -> PyTorch -> GGUF must keep what the model computes, and
files that are not GPT-2 GGUFs must be refused in words that name them.
"""

from __future__ import annotations

import re
from pathlib import Path

import gguf
import numpy as np
import pytest

from finetune.cli import main as cli_main
from finetune.errors import CheckpointError
from finetune.evaluate import gguf_perplexity
from finetune.export import export_gguf
from finetune.gguf_import import load_gguf_model, resolve_base
from finetune.tokenizer import load_tokenizer
from finetune.verify import verify_gguf
from tests.conftest import TRAIN_TEXT, one_torch_thread, save_checkpoint
from tests.finetune.training_corpus import write_corpus


def _perplexity(gguf_path: Path, text: str) -> float:
    return gguf_perplexity(gguf_path, text, windows=1, window_tokens=256, n_threads=1)["ppl"]


def _reimport(gguf_path: Path, folder: Path) -> Path:
    """GGUF -> GPT2LMHeadModel -> save_pretrained folder (with the bundled tokenizer)."""
    with one_torch_thread():
        model = load_gguf_model(str(gguf_path))
    return save_checkpoint(model, folder)


def test_f32_gguf_imports_to_the_same_logits(trained_gguf_f32, tmp_path):
    checkpoint = _reimport(trained_gguf_f32, tmp_path / "imported")
    result = verify_gguf(checkpoint, trained_gguf_f32, TRAIN_TEXT)
    assert result["rel_l2"] < 1e-3  # the export's own f32 tolerance
    assert result["top1_agreement"] == 1.0


def test_q8_0_round_trip_keeps_perplexity_within_half_a_percent(trained_gguf, tmp_path):
    checkpoint = _reimport(trained_gguf, tmp_path / "imported")
    again = tmp_path / "again-q8_0.gguf"
    export_gguf(checkpoint, again, "q8_0", verify=False)
    before, after = _perplexity(trained_gguf, TRAIN_TEXT), _perplexity(again, TRAIN_TEXT)
    assert before < 1.5  # the fixture memorised the text, so the figure means something
    assert abs(after / before - 1) < 0.005
    # The imported weights are the q8_0 values themselves: PyTorch agrees with llama.cpp.
    assert verify_gguf(checkpoint, trained_gguf, TRAIN_TEXT)["top1_agreement"] >= 0.98


def test_imported_model_keeps_shape_and_tied_head(trained_gguf):
    with one_torch_thread():
        model = load_gguf_model(str(trained_gguf))
    c = model.config
    assert (c.n_layer, c.n_embd, c.n_head, c.n_positions, c.vocab_size) == (2, 64, 2, 256, 50257)
    assert model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr()


def test_base_default_names_the_bundled_model():
    path = resolve_base("default")
    assert path.name.endswith("-q8_0.gguf") and path.is_file()


def test_train_from_the_bundled_model_runs_and_starts_from_its_weights(tmp_path):
    """The README's first "train your own" command, shortened to a few tiny steps."""
    from transformers import GPT2LMHeadModel

    books, val = write_corpus(tmp_path)
    out = tmp_path / "out"
    args = ["train", "--data", str(books), "--val-data", str(val), "--base", "default",
            "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--max-steps", "3",
            "--block-size", "32", "--micro-batch", "2", "--batch-tokens", "64",
            "--eval-windows", "2", "--threads", "1", "--dtype", "fp32", "--lr", "1e-5",
            "--no-export", "--no-samples"]  # fmt: skip
    with one_torch_thread():
        assert cli_main(args) == 0
        tuned = GPT2LMHeadModel.from_pretrained(out / "model")
        start = load_gguf_model("default")
    # Three steps at lr 1e-5 move the weights a little, not away from the bundled model.
    delta = (tuned.transformer.wte.weight - start.transformer.wte.weight).abs().max().item()
    assert 0 < delta < 1e-2
    assert tuned.config.n_layer == start.config.n_layer


def _copy_with(src: Path, dest: Path, **overrides) -> Path:
    """Rewrite a GGUF with some metadata replaced (architecture, token list)."""
    reader = gguf.GGUFReader(str(src))
    arch = overrides.get("arch", "gpt2")
    writer = gguf.GGUFWriter(str(dest), arch=arch)
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        if name.startswith("gpt2."):
            name = arch + name[4:]
        vtype = field.types[0]
        if name == "tokenizer.ggml.tokens":
            tokens = [bytes(field.parts[i]).decode() for i in field.data]
            writer.add_token_list(overrides.get("tokens", tokens))
        elif vtype == gguf.GGUFValueType.ARRAY:
            sub = field.types[-1]
            if sub == gguf.GGUFValueType.STRING:
                writer.add_array(name, [bytes(field.parts[i]).decode() for i in field.data])
            else:
                writer.add_array(name, [field.parts[i].tolist()[0] for i in field.data])
        elif vtype == gguf.GGUFValueType.STRING:
            writer.add_string(name, bytes(field.parts[field.data[0]]).decode())
        else:
            writer.add_key_value(name, field.parts[field.data[0]].tolist()[0], vtype)
    for t in reader.tensors:
        writer.add_tensor(t.name, np.asarray(t.data), raw_dtype=t.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return dest


def test_a_gguf_with_another_vocabulary_is_refused_by_name(trained_gguf_f32, tmp_path):
    tokens = load_tokenizer().get_vocab()
    by_id = sorted(tokens, key=tokens.get)
    by_id[100], by_id[101] = by_id[101], by_id[100]  # same size, different vocabulary
    bad = _copy_with(trained_gguf_f32, tmp_path / "other-vocab.gguf", tokens=by_id)
    with pytest.raises(CheckpointError, match="other-vocab.gguf.*not GPT-2's"):
        load_gguf_model(str(bad))


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda src, d: _copy_with(src, d / "llama.gguf", arch="llama"), "llama.gguf"),
        (lambda src, d: d / "missing.gguf", "missing.gguf.*does not exist"),
        (
            lambda src, d: (
                (d / "cut.gguf").write_bytes(src.read_bytes()[:50_000]) and d / "cut.gguf"
            ),
            "cut.gguf",
        ),
    ],
    ids=["other-architecture", "missing", "truncated"],
)
def test_bad_gguf_bases_get_a_clear_error_and_no_traceback(
    make, words, trained_gguf_f32, tmp_path, capsys
):
    base = make(trained_gguf_f32, tmp_path)
    books, val = write_corpus(tmp_path)
    code = cli_main(["train", "--data", str(books), "--base", str(base),
                     "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")])  # fmt: skip
    err = capsys.readouterr().err
    assert code != 0
    assert "Traceback" not in err
    assert re.search(words, err), err


def test_a_quant_type_we_cannot_dequantize_is_refused(trained_checkpoint, tmp_path, monkeypatch):
    from finetune import gguf_import

    export_gguf(trained_checkpoint, tmp_path / "m.gguf", "q8_0", verify=False)
    monkeypatch.setattr(
        gguf_import, "DEQUANTIZABLE", gguf_import.DEQUANTIZABLE - {gguf.GGMLQuantizationType.Q8_0}
    )
    with pytest.raises(CheckpointError, match="m.gguf: tensor .* is Q8_0"):
        load_gguf_model(str(tmp_path / "m.gguf"))


def test_copy_helper_keeps_a_loadable_gpt2(trained_gguf_f32, tmp_path):
    """Guard for the tests above: an unmodified copy imports fine."""
    copy = _copy_with(trained_gguf_f32, tmp_path / "copy.gguf")
    with one_torch_thread():
        assert load_gguf_model(str(copy)).config.n_layer == 2
