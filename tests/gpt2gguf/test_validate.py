"""validate_gguf: accepts real GPT-2 GGUFs, names every defect in words, survives hostile bytes."""

from __future__ import annotations

import math
import random
import struct
import subprocess
import sys
from pathlib import Path

import gguf
import numpy as np
import pytest

from gpt2gguf.constants import GGML_QUANT_SIZES, GGML_QUANT_SIZES_NEWER, GGML_TYPE_NAMES
from gpt2gguf.errors import ModelFileError
from gpt2gguf.validate import GGUFInfo, gpt2_tensor_shapes, validate_gguf

N_EMBD, N_FF, N_CTX, N_VOCAB, N_LAYER = 8, 32, 16, 6, 2
EPS_KEY = "gpt2.attention.layer_norm_epsilon"
# The hyperparameters our exports write (an int is written as uint32, a float as float32).
HPARAMS: dict[str, int | float] = {
    "gpt2.context_length": N_CTX,
    "gpt2.embedding_length": N_EMBD,
    "gpt2.feed_forward_length": N_FF,
    "gpt2.block_count": N_LAYER,
    "gpt2.attention.head_count": 2,
    EPS_KEY: 1e-5,
}


def _gpt2_tensors(n_layer: int = N_LAYER) -> dict[str, np.ndarray]:
    """numpy shapes (rows, cols): the reverse of ggml's (ne0, ne1)."""
    e, f = N_EMBD, N_FF
    rng = np.random.default_rng(0)
    shapes = {
        "token_embd.weight": (N_VOCAB, e),
        "position_embd.weight": (N_CTX, e),
        "output_norm.weight": (e,),
        "output_norm.bias": (e,),
    }
    for i in range(n_layer):
        shapes |= {
            f"blk.{i}.attn_norm.weight": (e,), f"blk.{i}.attn_norm.bias": (e,),
            f"blk.{i}.attn_qkv.weight": (3 * e, e), f"blk.{i}.attn_qkv.bias": (3 * e,),
            f"blk.{i}.attn_output.weight": (e, e), f"blk.{i}.attn_output.bias": (e,),
            f"blk.{i}.ffn_norm.weight": (e,), f"blk.{i}.ffn_norm.bias": (e,),
            f"blk.{i}.ffn_up.weight": (f, e), f"blk.{i}.ffn_up.bias": (f,),
            f"blk.{i}.ffn_down.weight": (e, f), f"blk.{i}.ffn_down.bias": (e,),
        }  # fmt: skip
    return {name: rng.standard_normal(shape).astype(np.float32) for name, shape in shapes.items()}


def write_small_gguf(
    path: Path,
    *,
    arch: str = "gpt2",
    tokenizer: bool = True,
    drop: str | None = None,
    reshape: tuple[str, tuple[int, ...]] | None = None,
    hparams: dict[str, int | float | None] | None = None,
) -> Path:
    """Write a tiny GGUF shaped like our GPT-2 exports (a few KB), with optional defects.

    `hparams` overrides or adds hyperparameters (None leaves a key out).
    """
    tensors = _gpt2_tensors()
    if drop:
        del tensors[drop]
    if reshape:
        tensors[reshape[0]] = np.zeros(reshape[1], dtype=np.float32)
    w = gguf.GGUFWriter(str(path), arch=arch)
    w.add_name("small")
    w.add_description("a fuzzing target")
    for key, value in (HPARAMS | (hparams or {})).items():
        if isinstance(value, float):
            w.add_float32(key, value)
        elif isinstance(value, int):
            (w.add_uint32 if 0 <= value < 2**32 else w.add_int64)(key, value)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    if tokenizer:
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre("gpt-2")
        w.add_token_list(["a", "b", "ab", "c", "Ġ", "<|endoftext|>"])
        w.add_token_types([1, 1, 1, 1, 1, 3])
        w.add_token_merges(["a b"])
        w.add_eos_token_id(N_VOCAB - 1)
    for name, array in tensors.items():
        w.add_tensor(name, array)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


@pytest.fixture(scope="module")
def small_gguf(tmp_path_factory) -> Path:
    return write_small_gguf(tmp_path_factory.mktemp("small") / "small.gguf")


def _message(path: Path) -> str:
    with pytest.raises(ModelFileError) as err:
        validate_gguf(path)
    return str(err.value)


def test_exported_gpt2_validates_with_its_shape(tiny_gguf_f32):
    info = validate_gguf(tiny_gguf_f32)
    assert isinstance(info, GGUFInfo)
    assert (info.architecture, info.version) == ("gpt2", 3)
    assert (info.n_layer, info.n_embd, info.n_ctx, info.n_vocab) == (2, 64, 256, 50257)
    assert info.n_tensors == 4 + 12 * 2
    assert info.name == "test model"
    assert info.metadata["general.description"] == "exported by the test fixtures"
    assert info.file_type == 0
    assert info.size == tiny_gguf_f32.stat().st_size
    assert "tokenizer.ggml.tokens" not in info.metadata  # giant arrays are not kept


def test_quantized_export_validates_and_reports_tensor_types(trained_gguf):
    info = validate_gguf(trained_gguf)
    assert info.file_type == 7  # LLAMA_FTYPE_MOSTLY_Q8_0
    assert info.tensor_types.get("Q8_0", 0) > 0


def test_missing_path_is_named(tmp_path):
    assert "does not exist" in _message(tmp_path / "nope.gguf")


def test_folder_is_not_a_model(tmp_path):
    assert "is a folder" in _message(tmp_path)


def test_empty_file_is_named(tmp_path):
    (tmp_path / "empty.gguf").write_bytes(b"")
    assert "is empty" in _message(tmp_path / "empty.gguf")


def test_bad_magic_is_not_a_gguf(tmp_path):
    (tmp_path / "story.gguf").write_text("Once upon a time, there was a file that was not a model.")
    assert "is not a GGUF model file" in _message(tmp_path / "story.gguf")


def test_unsupported_version_is_named(small_gguf, tmp_path):
    data = bytearray(small_gguf.read_bytes())
    data[4:8] = struct.pack("<I", 99)
    (tmp_path / "v99.gguf").write_bytes(data)
    assert "GGUF version 99" in _message(tmp_path / "v99.gguf")


def test_llama_architecture_is_not_gpt2(tmp_path):
    path = write_small_gguf(tmp_path / "model.gguf", arch="llama")
    assert _message(path) == "model.gguf is not a GPT-2 model (architecture: llama)"


def test_missing_tensor_is_named(tmp_path):
    path = write_small_gguf(tmp_path / "m.gguf", drop="blk.1.ffn_up.bias")
    assert "missing the GPT-2 tensor blk.1.ffn_up.bias" in _message(path)


def test_wrong_tensor_shape_is_named(tmp_path):
    path = write_small_gguf(
        tmp_path / "m.gguf", reshape=("blk.0.attn_qkv.weight", (N_EMBD, N_EMBD))
    )
    assert "blk.0.attn_qkv.weight has shape" in _message(path)


@pytest.mark.parametrize("eps", [float("nan"), float("inf"), -1e-5, 0.0, 2.0, None])
def test_a_layer_norm_epsilon_llama_cpp_would_abort_on_is_named(tmp_path, eps):
    # ggml asserts eps >= 0 at the first suggestion and takes the whole app down.
    path = write_small_gguf(tmp_path / "m.gguf", hparams={EPS_KEY: eps})
    assert EPS_KEY in _message(path)


@pytest.mark.parametrize(
    ("hparams", "words"),
    [
        ({"gpt2.attention.head_count": 3}, "not divisible by 3 heads"),
        ({"gpt2.attention.head_count": 0}, "gpt2.attention.head_count"),
        ({"gpt2.attention.head_count_kv": 1}, "head_count_kv is 1"),
        ({"gpt2.vocab_size": N_VOCAB + 1}, "gpt2.vocab_size is 7"),
        ({"gpt2.block_count": N_LAYER - 1}, "holds tensors of layer 1"),
        ({"gpt2.context_length": N_CTX * 2}, "position_embd.weight has shape"),
        ({"gpt2.feed_forward_length": -N_FF}, "gpt2.feed_forward_length"),
    ],
)
def test_sizes_that_disagree_with_the_tensors_are_named(tmp_path, hparams, words):
    path = write_small_gguf(tmp_path / "m.gguf", hparams=hparams)
    assert words in _message(path)


def test_missing_tokenizer_is_named(tmp_path):
    path = write_small_gguf(tmp_path / "m.gguf", tokenizer=False)
    assert "has no tokenizer" in _message(path)


def test_truncated_tensor_data_is_named(tiny_gguf_f32, tmp_path):
    data = tiny_gguf_f32.read_bytes()
    (tmp_path / "half.gguf").write_bytes(data[: len(data) - 1000])
    assert "is truncated" in _message(tmp_path / "half.gguf")


def test_absurd_lengths_fail_fast_without_allocating(small_gguf, tmp_path):
    data = bytearray(small_gguf.read_bytes())
    cases = {
        "tensors": (8, struct.pack("<Q", 2**62)),  # n_tensors
        "kv": (16, struct.pack("<Q", 2**62)),  # n_kv
        "key": (24, struct.pack("<Q", 2**63)),  # length of the first key
    }
    for name, (offset, value) in cases.items():
        bad = bytearray(data)
        bad[offset : offset + 8] = value
        (tmp_path / f"{name}.gguf").write_bytes(bad)
        assert "truncated or damaged" in _message(tmp_path / f"{name}.gguf")


def test_type_tables_match_the_gguf_package_and_keep_the_newer_types():
    theirs = {int(t): sizes for t, sizes in gguf.constants.GGML_QUANT_SIZES.items()}
    assert theirs.items() <= GGML_QUANT_SIZES.items()
    for t, (name, block, size) in GGML_QUANT_SIZES_NEWER.items():
        assert GGML_QUANT_SIZES[t] == (block, size) and GGML_TYPE_NAMES[t] == name
        if t in theirs:  # an older gguf lacks it; where it has it, it must agree
            assert theirs[t] == (block, size)
            assert gguf.constants.GGMLQuantizationType(t).name == name


def test_tensor_shapes_name_what_the_gguf_writer_names_for_gpt2():
    names = set(gpt2_tensor_shapes(n_embd=8, n_ff=32, n_ctx=16, n_vocab=6, n_layer=2))
    c = gguf.constants
    expected = set()
    for tensor in c.MODEL_TENSORS[c.MODEL_ARCH.GPT2]:
        if tensor == c.MODEL_TENSOR.OUTPUT:  # optional: GPT-2 ties it to token_embd
            continue
        suffixes = (
            ("weight",)
            if tensor in (c.MODEL_TENSOR.TOKEN_EMBD, c.MODEL_TENSOR.POS_EMBD)
            else ("weight", "bias")
        )
        for bid in range(2):
            expected |= {f"{c.TENSOR_NAMES[tensor].format(bid=bid)}.{s}" for s in suffixes}
    assert names == expected
    assert names == set(_gpt2_tensors())  # and what a real export writes


def test_validator_imports_neither_torch_nor_llama_nor_gguf():
    code = (
        "import sys, gpt2gguf.validate; "
        "bad = {'torch', 'llama_cpp', 'gguf'} & set(sys.modules); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _fuzz_one(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        validate_gguf(path)
    except ModelFileError:
        pass  # the only acceptable failure


def test_fuzz_every_truncation_is_a_clear_error(small_gguf, tmp_path):
    data = small_gguf.read_bytes()
    # Every offset of the fixed header, dense through metadata and tensor table, sparse in the data.
    table_end = data.rindex(b"ffn_down.bias") + 40
    offsets = (
        list(range(64)) + list(range(64, table_end, 5)) + list(range(table_end, len(data), 211))
    )
    for n in offsets:
        (tmp_path / "t.gguf").write_bytes(data[:n])
        with pytest.raises(ModelFileError):
            validate_gguf(tmp_path / "t.gguf")


def test_fuzz_bit_flips_never_escape_as_other_errors(small_gguf, tmp_path):
    data = small_gguf.read_bytes()
    rng = random.Random(1234)
    for _ in range(400):
        bad = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            # Bias flips towards the header, where they can do harm.
            pos = (
                rng.randrange(min(len(bad), 1500))
                if rng.random() < 0.8
                else rng.randrange(len(bad))
            )
            bad[pos] ^= 1 << rng.randrange(8)
        _fuzz_one(tmp_path / "f.gguf", bytes(bad))


def test_fuzz_random_bytes_never_escape_as_other_errors(tmp_path):
    rng = random.Random(99)
    header = b"GGUF" + struct.pack("<I", 3)
    for i in range(200):
        body = rng.randbytes(rng.randint(0, 3000))
        data = header + body if i % 2 else body
        _fuzz_one(tmp_path / "r.gguf", data)


# Values a damaged or hostile file might hold where a hyperparameter belongs.
HOSTILE_FLOATS = [float("nan"), float("inf"), float("-inf"), -1.0, 0.0, 1e-45, 1.0, 1e30]
HOSTILE_INTS = [0, 1, 2, 3, 7, 8, 16, 32, 64, 2**31, 2**32 + 8, -1, -(2**40)]


def test_fuzz_hyperparameters_pass_only_when_sane_and_consistent(tmp_path):
    """Random hyperparameters: the file is refused in words, or its values are sane."""
    rng = random.Random(7)
    keys = list(HPARAMS) + ["gpt2.attention.head_count_kv", "gpt2.vocab_size"]
    accepted = 0
    for i in range(150):
        hparams: dict[str, int | float | None] = {}
        for key in rng.sample(keys, rng.randint(1, 3)):
            if rng.random() < 0.1:
                hparams[key] = None
            elif key == EPS_KEY or rng.random() < 0.15:
                hparams[key] = rng.choice(HOSTILE_FLOATS + [1e-5, 1e-12])
            else:
                hparams[key] = rng.choice(HOSTILE_INTS + [HPARAMS.get(key, 2)])
        path = write_small_gguf(tmp_path / f"h{i}.gguf", hparams=hparams)
        try:
            info = validate_gguf(path)
        except ModelFileError:
            continue
        accepted += 1
        eps = info.metadata[EPS_KEY]
        assert isinstance(eps, float) and math.isfinite(eps) and 0 < eps < 1, hparams
        assert (info.n_embd, info.n_ff, info.n_ctx, info.n_layer) == (N_EMBD, N_FF, N_CTX, N_LAYER)
        assert info.n_head > 0 and info.n_embd % info.n_head == 0, hparams
        assert info.metadata.get("gpt2.attention.head_count_kv", info.n_head) == info.n_head
        assert info.metadata.get("gpt2.vocab_size", N_VOCAB) == info.n_vocab == N_VOCAB
    assert accepted > 0  # the sane draws still pass
