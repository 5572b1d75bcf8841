"""Export: checkpoints become GGUFs that compute what PyTorch computes, or fail in words."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import gguf
import pytest

from finetune.cli import main as cli_main
from finetune.errors import CheckpointError, ExportError
from finetune.export import QUANT_TYPES, export_gguf
from finetune.llama_scoring import LlamaScorer
from finetune.verify import verify_gguf
from gpt2gguf.validate import validate_gguf
from tests.conftest import TRAIN_TEXT, save_checkpoint, tiny_gpt2_config


@pytest.fixture
def clean_tempdir(tmp_path, monkeypatch) -> Path:
    """Point tempfile at an empty folder, to check export leaves nothing behind in it."""
    folder = tmp_path / "system-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _copy(checkpoint: Path, dest: Path) -> Path:
    shutil.copytree(checkpoint, dest)
    return dest


def test_f32_matches_pytorch_logits(tiny_checkpoint, tiny_gguf_f32):
    result = verify_gguf(tiny_checkpoint, tiny_gguf_f32, TRAIN_TEXT)
    assert result["rel_l2"] < 1e-3
    assert abs(result["ppl_change_pct"]) < 0.1


def test_f16_matches_pytorch_logits_within_5e_3(tiny_checkpoint, tmp_path):
    out = tmp_path / "m-f16.gguf"
    summary = export_gguf(tiny_checkpoint, out, "f16", verify=False)
    assert summary["tensor_types"]["F16"] > 0
    assert verify_gguf(tiny_checkpoint, out, TRAIN_TEXT)["rel_l2"] < 5e-3


def test_q8_0_keeps_top1_on_trained_checkpoint(trained_checkpoint, trained_gguf):
    result = verify_gguf(trained_checkpoint, trained_gguf, TRAIN_TEXT)
    assert result["top1_agreement"] >= 0.98
    assert result["ppl_torch"] < 1.2  # the fixture really memorised the text
    assert validate_gguf(trained_gguf).tensor_types["Q8_0"] > 0


def test_export_runs_verify_by_default_and_reports_figures(
    trained_checkpoint, tmp_path, clean_tempdir
):
    summary = export_gguf(trained_checkpoint, tmp_path / "m.gguf", "f32")
    assert summary["verify"]["rel_l2"] < 1e-3
    assert summary["verify"]["top1_agreement"] == 1.0
    assert list(clean_tempdir.iterdir()) == []  # the intermediate dir is gone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.gguf", "system-tmp"]


@pytest.mark.parametrize("quant", ["q6_k", "q5_k_m", "q4_k_m"])
def test_k_quants_fall_back_on_narrow_rows_with_a_warning_and_still_load(
    trained_checkpoint, tmp_path, quant
):
    # n_embd = 64: rows are not a multiple of 256, so K-quants cannot apply to them.
    out = tmp_path / f"m-{quant}.gguf"
    summary = export_gguf(trained_checkpoint, out, quant, verify_text=TRAIN_TEXT)
    assert any("not a multiple of 256" in w for w in summary["warnings"])
    assert validate_gguf(out).file_type == QUANT_TYPES[quant]
    assert summary["verify"]["top1_agreement"] >= 0.9
    with LlamaScorer(out, 64) as scorer:
        assert scorer.n_vocab == 50257


def test_q8_0_on_wide_rows_has_no_fallback_warning(trained_checkpoint, tmp_path):
    summary = export_gguf(trained_checkpoint, tmp_path / "m.gguf", "q8_0", verify=False)
    assert summary["warnings"] == []


def test_odd_shape_three_layers_96_wide_exports_exactly(tmp_path):
    import torch
    from transformers import GPT2LMHeadModel

    torch.manual_seed(1)
    config = tiny_gpt2_config(n_layer=3, n_embd=96, n_head=3, n_positions=128, n_inner=200)
    checkpoint = save_checkpoint(GPT2LMHeadModel(config), tmp_path / "ckpt")
    summary = export_gguf(checkpoint, tmp_path / "m.gguf", "f32", verify_text=TRAIN_TEXT)
    assert summary["verify"]["rel_l2"] < 1e-3
    assert summary["verify"]["chunks"] == 2  # 227 tokens in a 128-token context
    info = validate_gguf(tmp_path / "m.gguf")
    assert (info.n_layer, info.n_embd, info.n_ctx) == (3, 96, 128)


def test_vocab_with_added_and_unnamed_tokens_exports_and_loads(tiny_checkpoint, tmp_path):
    from tokenizers import AddedToken
    from transformers import GPT2LMHeadModel

    from finetune.tokenizer import load_tokenizer

    tokenizer = load_tokenizer()
    tokenizer.add_special_tokens([AddedToken("<|scene|>", special=True)])  # id 50257
    tokenizer.add_tokens([AddedToken("Mira", special=False)])  # id 50258
    model = GPT2LMHeadModel.from_pretrained(str(tiny_checkpoint))
    model.resize_token_embeddings(50260, mean_resizing=False)  # row 50259 has no token at all
    checkpoint = save_checkpoint(model, tmp_path / "ckpt")
    tokenizer.save(str(checkpoint / "tokenizer.json"))

    out = tmp_path / "m.gguf"
    summary = export_gguf(
        checkpoint, out, "f32", verify_text="Mira saw the dragon.<|scene|>Then night fell."
    )
    assert summary["verify"]["rel_l2"] < 1e-3
    assert summary["n_placeholder_tokens"] == 1
    assert validate_gguf(out).n_vocab == 50260

    reader = gguf.GGUFReader(str(out))
    tokens = reader.fields["tokenizer.ggml.tokens"]
    types = reader.fields["tokenizer.ggml.token_type"]
    name = lambda i: bytes(tokens.parts[tokens.data[i]]).decode()  # noqa: E731
    kind = lambda i: int(types.parts[types.data[i]][0])  # noqa: E731
    assert (name(50257), kind(50257)) == ("<|scene|>", gguf.TokenType.CONTROL)
    assert (name(50258), kind(50258)) == ("Mira", gguf.TokenType.USER_DEFINED)
    assert (name(50259), kind(50259)) == ("<|extra_50259|>", gguf.TokenType.UNUSED)
    assert (name(50256), kind(50256)) == ("<|endoftext|>", gguf.TokenType.CONTROL)


def test_metadata_carries_name_license_config_and_training_summary(tiny_checkpoint, tmp_path):
    checkpoint = _copy(tiny_checkpoint, tmp_path / "my-novel-model")
    (checkpoint / "training_summary.json").write_text(json.dumps({"steps": 1200, "val_loss": 3.1}))
    out = tmp_path / "m.gguf"
    export_gguf(
        checkpoint,
        out,
        "q8_0",
        verify=False,
        description="Trained on my drafts",
        license="CC-BY-4.0",
    )
    meta = validate_gguf(out).metadata
    assert meta["general.name"] == "my-novel-model"
    assert meta["general.description"] == "Trained on my drafts"
    assert meta["general.license"] == "CC-BY-4.0"
    assert json.loads(meta["writer.checkpoint_config"])["n_embd"] == 64
    assert json.loads(meta["writer.training_summary"]) == {"steps": 1200, "val_loss": 3.1}
    assert meta["tokenizer.ggml.pre"] == "gpt-2"
    assert meta["tokenizer.ggml.bos_token_id"] == meta["tokenizer.ggml.eos_token_id"] == 50256


def test_missing_checkpoint_dir_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        export_gguf(tmp_path / "nowhere", tmp_path / "m.gguf")
    assert not (tmp_path / "m.gguf").exists()


def test_non_gpt2_config_is_refused(tiny_checkpoint, tmp_path):
    checkpoint = _copy(tiny_checkpoint, tmp_path / "ckpt")
    config = json.loads((checkpoint / "config.json").read_text())
    (checkpoint / "config.json").write_text(json.dumps({**config, "model_type": "llama"}))
    with pytest.raises(CheckpointError, match=r"not a GPT-2 checkpoint \(model_type: llama\)"):
        export_gguf(checkpoint, tmp_path / "m.gguf")


@pytest.fixture
def pickled_checkpoint(tiny_checkpoint, tmp_path) -> Path:
    """tiny_checkpoint with its weights as pytorch_model.bin (pickle) only."""
    import torch
    from safetensors.torch import load_file

    checkpoint = tmp_path / "ckpt"
    checkpoint.mkdir()
    shutil.copy(tiny_checkpoint / "config.json", checkpoint)
    torch.save(
        load_file(str(tiny_checkpoint / "model.safetensors")), checkpoint / "pytorch_model.bin"
    )
    return checkpoint


def test_pickled_weights_need_the_explicit_flag(pickled_checkpoint, tmp_path):
    checkpoint = pickled_checkpoint
    with pytest.raises(CheckpointError, match="--allow-pickle"):
        export_gguf(checkpoint, tmp_path / "m.gguf", "f32")
    assert not (tmp_path / "m.gguf").exists()
    summary = export_gguf(checkpoint, tmp_path / "m.gguf", "f32", allow_pickle=True)
    assert summary["verify"]["rel_l2"] < 1e-3


@pytest.mark.parametrize(
    "target,message",
    [
        ("missing-folder/m.gguf", "does not exist"),
        ("a-file/m.gguf", "is not a folder"),
        (".", "is a folder"),
    ],
)
def test_unwritable_output_is_named(tiny_checkpoint, tmp_path, target, message):
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(ExportError, match=message):
        export_gguf(tiny_checkpoint, tmp_path / target, "f32", verify=False)


def test_read_only_location_is_named(tiny_checkpoint):
    # /proc refuses new files even for root, so this holds wherever tests run.
    with pytest.raises(ExportError, match="cannot write"):
        export_gguf(tiny_checkpoint, Path("/proc/m.gguf"), "f32", verify=False)


def test_failed_export_leaves_the_target_untouched(tiny_checkpoint, tmp_path, clean_tempdir):
    import torch
    from transformers import GPT2LMHeadModel

    # A diverged training run: NaN weights. Conversion succeeds, verify must refuse.
    model = GPT2LMHeadModel.from_pretrained(str(tiny_checkpoint))
    with torch.no_grad():
        model.transformer.ln_f.weight[0] = float("nan")
    checkpoint = save_checkpoint(model, tmp_path / "ckpt")
    target = tmp_path / "out" / "MODEL.gguf"
    target.parent.mkdir()
    target.write_bytes(b"the previous good model")
    with pytest.raises(ExportError, match="NaN"):
        export_gguf(checkpoint, target, "f32")
    assert target.read_bytes() == b"the previous good model"
    assert [p.name for p in target.parent.iterdir()] == ["MODEL.gguf"]  # no partial file left
    assert list(clean_tempdir.iterdir()) == []


def test_cli_export_prints_json_summary(trained_checkpoint, tmp_path, capsys):
    out = tmp_path / "m.gguf"
    rc = cli_main(
        [
            "export",
            str(trained_checkpoint),
            "--out",
            str(out),
            "--quant",
            "q8_0",
            "--json",
            "--name",
            "Dragon",
        ]
    )
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["out"] == str(out)
    assert summary["verify"]["top1_agreement"] >= 0.98
    assert validate_gguf(out).name == "Dragon"


def test_cli_export_error_is_one_line_without_traceback(tmp_path, capsys):
    rc = cli_main(["export", str(tmp_path / "nowhere"), "--out", str(tmp_path / "m.gguf")])
    err = capsys.readouterr().err
    assert rc == 1
    assert "error:" in err and "does not exist" in err and "Traceback" not in err


def test_cli_verify_prints_the_figures_as_json(trained_checkpoint, trained_gguf, tmp_path, capsys):
    text = tmp_path / "text.txt"
    text.write_text(TRAIN_TEXT)
    assert (
        cli_main(["verify", str(trained_checkpoint), str(trained_gguf), "--text", str(text)]) == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert set(result) >= {"rel_l2", "top1_agreement", "ppl_torch", "ppl_gguf", "ppl_change_pct"}
    assert result["top1_agreement"] >= 0.98


@pytest.fixture
def tiny_disk(tmp_path):
    """A 3 MB tmpfs (root only; skipped where mounting is not allowed)."""
    import os
    import subprocess

    folder = tmp_path / "tiny-disk"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


@pytest.mark.parametrize("quant", ["f32", "q8_0"])
def test_disk_full_mid_write_is_named_and_leaves_nothing(tiny_checkpoint, tiny_disk, quant):
    # The tiny model is 15 MB in f32 and 5 MB in q8_0: both overflow 3 MB part-way.
    with pytest.raises(ExportError, match="disk full"):
        export_gguf(tiny_checkpoint, tiny_disk / "MODEL.gguf", quant, verify=False)
    assert list(tiny_disk.iterdir()) == []


def test_exporting_the_training_state_points_to_the_model_folder(tmp_path, capsys):
    state = tmp_path / "run" / "checkpoint"
    state.mkdir(parents=True)
    (state / "state.pt").write_bytes(b"training state")
    rc = cli_main(["export", str(state), "--out", str(tmp_path / "m.gguf")])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    assert "holds the training state" in err
    assert f"export {tmp_path / 'run' / 'model'} instead" in err


def test_every_loader_refuses_pickled_weights_without_the_flag(
    tiny_checkpoint, pickled_checkpoint, tmp_path
):
    from finetune.model_setup import load_base

    checkpoint = pickled_checkpoint
    gguf_path = tmp_path / "m.gguf"
    export_gguf(tiny_checkpoint, gguf_path, "f32", verify=False)
    for load in (
        lambda: load_base(str(checkpoint)),  # train --base DIR
        lambda: verify_gguf(checkpoint, gguf_path, TRAIN_TEXT),
    ):
        with pytest.raises(CheckpointError, match="--allow-pickle"):
            load()
    assert load_base(str(checkpoint), allow_pickle=True).config.n_layer == 2


def test_a_checkpoint_with_only_vocab_and_merges_keeps_its_own_tokenizer(tiny_checkpoint, tmp_path):
    from finetune.convert import build_vocab
    from finetune.tokenizer import load_tokenizer, tokenizer_dir
    from gpt2gguf.constants import TOKENIZER_DIR

    checkpoint = _copy(tiny_checkpoint, tmp_path / "ckpt")
    assert tokenizer_dir(checkpoint) == TOKENIZER_DIR  # none of its own: the bundled one
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(TOKENIZER_DIR / name, checkpoint / name)
    assert tokenizer_dir(checkpoint) == checkpoint
    text = 'The dragon\'s "hoard", 1923 -- and a question?'
    assert load_tokenizer(checkpoint).encode(text).ids == load_tokenizer().encode(text).ids
    # The export reads the same folder: an added token there lands in the GGUF.
    (checkpoint / "added_tokens.json").write_text(json.dumps({"<|scene|>": 50257}))
    assert build_vocab(checkpoint, 50258).tokens[50257] == "<|scene|>"
