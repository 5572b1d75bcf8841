"""Check a GGUF file before llama.cpp sees it: pure Python, safe on hostile bytes.

llama.cpp may abort the whole process on a malformed file, so the app runs
`validate_gguf` first. It parses the header, the key/value metadata and the
tensor table by hand (no numpy memmap, no torch), bounds every length it
reads by the bytes that are actually left, and checks what llama.cpp's gpt2
loader needs: architecture, hyperparameters, tokenizer, every tensor with
its shape, and tensor data that ends inside the file.

Format reference: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
"""

from __future__ import annotations

import math
import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path

from gpt2gguf.constants import (
    GGML_QUANT_SIZES,
    GGML_TYPE_NAMES,
    GGUF_DEFAULT_ALIGNMENT,
    GGUF_MAGIC,
    GPT2_ARCH,
    MODEL_TENSOR,
    TENSOR_NAMES,
    GGUFValueType,
    Keys,
)
from gpt2gguf.errors import ModelFileError

SUPPORTED_VERSIONS = (2, 3)
GGML_MAX_DIMS = 4
MAX_NESTING = 2  # arrays of arrays: enough for any real file
MAX_KEY_BYTES = 65_536
MAX_STRING_ARRAY = 4_000_000  # largest real vocabularies are ~260k; bounds the skip loop

# GGUF metadata value types -> struct format (scalars only; strings and arrays are read apart).
GGUF_VALUE_FORMATS: dict[int, str] = {
    GGUFValueType.UINT8: "<B",
    GGUFValueType.INT8: "<b",
    GGUFValueType.UINT16: "<H",
    GGUFValueType.INT16: "<h",
    GGUFValueType.UINT32: "<I",
    GGUFValueType.INT32: "<i",
    GGUFValueType.FLOAT32: "<f",
    GGUFValueType.BOOL: "<?",
    GGUFValueType.UINT64: "<Q",
    GGUFValueType.INT64: "<q",
    GGUFValueType.FLOAT64: "<d",
}


def _gpt2_key(key: str) -> str:
    return key.format(arch=GPT2_ARCH)


# llama.cpp's gpt2 hyperparameter keys -> GGUFInfo field.
HPARAM_KEYS: dict[str, str] = {
    _gpt2_key(Keys.LLM.CONTEXT_LENGTH): "n_ctx",
    _gpt2_key(Keys.LLM.EMBEDDING_LENGTH): "n_embd",
    _gpt2_key(Keys.LLM.BLOCK_COUNT): "n_layer",
    _gpt2_key(Keys.LLM.FEED_FORWARD_LENGTH): "n_ff",
    _gpt2_key(Keys.Attention.HEAD_COUNT): "n_head",
}
NORM_EPS_KEY = _gpt2_key(Keys.Attention.LAYERNORM_EPS)
# ggml asserts eps >= 0 and aborts the process on NaN or a negative value; real
# models use 1e-5 (GPT-2) down to 1e-12, and anything near 1 washes out the norm.
NORM_EPS_RANGE = (0.0, 1.0)  # exclusive bounds
# Optional keys llama.cpp reads for gpt2, which must agree with the rest when
# present: key -> (the size it must equal, what gave that size, for messages).
AGREEING_KEYS: dict[str, tuple[str, str]] = {
    _gpt2_key(Keys.Attention.HEAD_COUNT_KV): ("n_head", "head count"),
    _gpt2_key(Keys.LLM.VOCAB_SIZE): ("n_vocab", "token list"),
}
# Per-token tokenizer arrays llama.cpp indexes by token id without a bounds check.
PER_TOKEN_ARRAYS = (Keys.Tokenizer.TOKEN_TYPE, Keys.Tokenizer.SCORES)


@dataclass
class GGUFInfo:
    """What the app needs to know about a valid GPT-2 GGUF."""

    path: Path
    version: int
    architecture: str
    name: str | None
    metadata: dict[str, object]  # scalar and string values; arrays are left out
    n_tensors: int
    n_ctx: int
    n_embd: int
    n_layer: int
    n_vocab: int
    file_type: int | None
    size: int  # bytes
    tensor_types: dict[str, int] = field(default_factory=dict)  # ggml type name -> count
    n_head: int = 0
    n_ff: int = 0
    norm_eps: float = 0.0  # gpt2.attention.layer_norm_epsilon


class _Truncated(Exception):
    """The bytes ran out before the structure did."""


class _Corrupt(Exception):
    """A value no valid file can hold."""


class _Reader:
    """Bounds-checked little-endian reads from a buffer."""

    def __init__(self, buf) -> None:
        self.buf = buf
        self.pos = 0
        self.size = len(buf)

    def left(self) -> int:
        return self.size - self.pos

    def take(self, n: int) -> int:
        """Advance by n bytes; return the old position."""
        if n < 0 or n > self.size - self.pos:
            raise _Truncated
        start = self.pos
        self.pos += n
        return start

    def unpack(self, fmt: str):
        start = self.take(struct.calcsize(fmt))
        return struct.unpack_from(fmt, self.buf, start)[0]

    def u32(self) -> int:
        return self.unpack("<I")

    def u64(self) -> int:
        return self.unpack("<Q")

    def string(self, limit: int | None = None) -> str:
        n = self.u64()
        if n > self.left():
            raise _Truncated
        if limit is not None and n > limit:
            raise _Corrupt(f"a {n}-byte name")
        start = self.take(n)
        return bytes(self.buf[start : start + n]).decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        n = self.u64()
        self.take(n)


def _read_value(r: _Reader, vtype: int, depth: int = 0):
    """Return a scalar or string value, or ("array", elem_type, count) for arrays (skipped)."""
    if vtype in GGUF_VALUE_FORMATS:
        return r.unpack(GGUF_VALUE_FORMATS[vtype])
    if vtype == GGUFValueType.STRING:
        return r.string()
    if vtype != GGUFValueType.ARRAY:
        raise _Corrupt(f"unknown metadata value type {vtype}")
    if depth >= MAX_NESTING:
        raise _Corrupt("arrays nested too deeply")
    elem_type = r.u32()
    count = r.u64()
    if elem_type in GGUF_VALUE_FORMATS:
        r.take(count * struct.calcsize(GGUF_VALUE_FORMATS[elem_type]))
    elif elem_type == GGUFValueType.STRING:
        if count * 8 > r.left():  # each string needs at least its length field
            raise _Truncated
        if count > MAX_STRING_ARRAY:
            raise _Corrupt(f"an array of {count} strings")
        for _ in range(count):
            r.skip_string()
    elif elem_type == GGUFValueType.ARRAY:
        if count * 12 > r.left():
            raise _Truncated
        for _ in range(count):
            _read_value(r, GGUFValueType.ARRAY, depth + 1)
    else:
        raise _Corrupt(f"unknown array element type {elem_type}")
    return ("array", elem_type, count)


def gpt2_tensor_shapes(n_embd: int, n_ff: int, n_ctx: int, n_vocab: int, n_layer: int) -> dict:
    """Return {tensor name: ggml shape (ne0, ne1...)} llama.cpp's gpt2 loader requires.

    ggml lists the fastest-varying dimension first: numpy's shape reversed.
    The converter checks a checkpoint's arrays against the same table.
    """
    e, t = n_embd, MODEL_TENSOR
    model = {
        (t.TOKEN_EMBD, "weight"): (e, n_vocab),
        (t.POS_EMBD, "weight"): (e, n_ctx),
        (t.OUTPUT_NORM, "weight"): (e,),
        (t.OUTPUT_NORM, "bias"): (e,),
    }
    block = {
        (t.ATTN_NORM, "weight"): (e,), (t.ATTN_NORM, "bias"): (e,),
        (t.ATTN_QKV, "weight"): (e, 3 * e), (t.ATTN_QKV, "bias"): (3 * e,),
        (t.ATTN_OUT, "weight"): (e, e), (t.ATTN_OUT, "bias"): (e,),
        (t.FFN_NORM, "weight"): (e,), (t.FFN_NORM, "bias"): (e,),
        (t.FFN_UP, "weight"): (e, n_ff), (t.FFN_UP, "bias"): (n_ff,),
        (t.FFN_DOWN, "weight"): (n_ff, e), (t.FFN_DOWN, "bias"): (e,),
    }  # fmt: skip
    shapes = {f"{TENSOR_NAMES[name]}.{part}": shape for (name, part), shape in model.items()}
    for i in range(n_layer):
        for (name, part), shape in block.items():
            shapes[f"{TENSOR_NAMES[name].format(bid=i)}.{part}"] = shape
    return shapes


def _strip_ones(shape: tuple[int, ...]) -> tuple[int, ...]:
    while len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    return tuple(shape)


def _parse(path: Path, buf, size: int) -> GGUFInfo:
    label = path.name
    r = _Reader(buf)
    section = "header"
    try:
        if r.left() < 4 or r.u32() != GGUF_MAGIC:
            raise ModelFileError(f"{label} is not a GGUF model file")
        version = r.u32()
        if version not in SUPPORTED_VERSIONS:
            raise ModelFileError(
                f"{label} uses GGUF version {version}; this app reads versions "
                f"{', '.join(map(str, SUPPORTED_VERSIONS))}"
            )
        n_tensors = r.u64()
        n_kv = r.u64()
        # Each KV needs >= 12 bytes, each tensor info >= 32: absurd counts are truncation.
        if n_kv * 12 > r.left() or n_tensors * 32 > r.left():
            raise _Truncated

        section = "metadata"
        metadata: dict[str, object] = {}
        arrays: dict[str, tuple[int, int]] = {}  # key -> (element type, count)
        for _ in range(n_kv):
            key = r.string(limit=MAX_KEY_BYTES)
            value = _read_value(r, r.u32())
            if isinstance(value, tuple):
                arrays[key] = value[1:]
            else:
                metadata[key] = value

        section = "tensor table"
        alignment = metadata.get(Keys.General.ALIGNMENT, GGUF_DEFAULT_ALIGNMENT)
        if (
            not isinstance(alignment, int)
            or isinstance(alignment, bool)
            or alignment <= 0
            or alignment & (alignment - 1)
        ):
            raise _Corrupt(f"alignment {alignment!r}")
        tensors: dict[str, tuple[tuple[int, ...], int, int]] = {}  # name -> (shape, type, offset)
        for _ in range(n_tensors):
            name = r.string(limit=MAX_KEY_BYTES)
            n_dims = r.u32()
            if not 1 <= n_dims <= GGML_MAX_DIMS:
                raise _Corrupt(f"tensor {name!r} with {n_dims} dimensions")
            shape = tuple(r.u64() for _ in range(n_dims))
            ttype = r.u32()
            offset = r.u64()
            if ttype not in GGML_QUANT_SIZES:
                raise _Corrupt(f"tensor {name!r} of unknown type {ttype}")
            if name in tensors:
                raise _Corrupt(f"tensor {name!r} listed twice")
            tensors[name] = (shape, ttype, offset)
        data_start = -(-r.pos // alignment) * alignment
    except _Truncated:
        raise ModelFileError(
            f"{label} is truncated or damaged (its {section} ends early)"
        ) from None
    except _Corrupt as exc:
        raise ModelFileError(f"{label} is damaged ({section}: {exc})") from None

    # Tensor data must lie inside the file: a short download fails here, not in llama.cpp.
    tensor_types: dict[str, int] = {}
    for name, (shape, ttype, offset) in tensors.items():
        type_name = GGML_TYPE_NAMES[ttype]
        block, block_bytes = GGML_QUANT_SIZES[ttype]
        if any(d <= 0 for d in shape) or shape[0] % block:
            raise ModelFileError(
                f"{label} is damaged (tensor {name!r} has impossible shape {shape} for {type_name})"
            )
        n_elements = 1
        for d in shape:
            n_elements *= d
        nbytes = n_elements // block * block_bytes
        if offset % alignment:
            raise ModelFileError(f"{label} is damaged (tensor {name!r} is misaligned)")
        if data_start + offset + nbytes > size:
            raise ModelFileError(
                f"{label} is truncated: tensor {name!r} runs past the end of the file"
            )
        tensor_types[type_name] = tensor_types.get(type_name, 0) + 1

    arch = metadata.get(Keys.General.ARCHITECTURE)
    if not isinstance(arch, str):
        raise ModelFileError(
            f"{label} does not say what model it holds (no {Keys.General.ARCHITECTURE})"
        )
    if arch != GPT2_ARCH:
        raise ModelFileError(f"{label} is not a GPT-2 model (architecture: {arch})")

    hparams: dict[str, int] = {}
    for key, field_name in HPARAM_KEYS.items():
        value = metadata.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ModelFileError(f"{label} lacks a valid GPT-2 setting {key}")
        hparams[field_name] = value

    if not isinstance(metadata.get(Keys.Tokenizer.MODEL), str):
        raise ModelFileError(f"{label} has no tokenizer ({Keys.Tokenizer.MODEL} missing)")
    for key in (Keys.Tokenizer.LIST, Keys.Tokenizer.MERGES):
        elem_type, count = arrays.get(key, (None, 0))
        if elem_type != GGUFValueType.STRING or count == 0:
            raise ModelFileError(f"{label} has no tokenizer ({key} missing)")
    n_vocab = arrays[Keys.Tokenizer.LIST][1]
    hparams["n_vocab"] = n_vocab
    norm_eps = _check_hparam_ranges(label, metadata, arrays, hparams)

    n_layer = hparams["n_layer"]
    if n_layer > len(tensors):  # bounds the table below by what the file really holds
        raise ModelFileError(
            f"{label} is missing GPT-2 tensors ({len(tensors)} tensors for {n_layer} layers)"
        )
    if any(name.startswith(f"blk.{n_layer}.") for name in tensors):
        raise ModelFileError(
            f"{label} is damaged (gpt2.block_count says {n_layer} layers, "
            f"but it holds tensors of layer {n_layer})"
        )
    required = gpt2_tensor_shapes(
        hparams["n_embd"], hparams["n_ff"], hparams["n_ctx"], n_vocab, n_layer
    )
    output = f"{TENSOR_NAMES[MODEL_TENSOR.OUTPUT]}.weight"
    if output in tensors:
        required[output] = (hparams["n_embd"], n_vocab)
    for name, want in required.items():
        if name not in tensors:
            raise ModelFileError(f"{label} is missing the GPT-2 tensor {name}")
        got = tensors[name][0]
        if _strip_ones(got) != _strip_ones(want):  # ggml may pad shapes with trailing 1s
            raise ModelFileError(f"{label}: tensor {name} has shape {tuple(got)}, expected {want}")

    file_type = metadata.get(Keys.General.FILE_TYPE)
    name = metadata.get(Keys.General.NAME)
    return GGUFInfo(
        path=path,
        version=version,
        architecture=arch,
        name=name if isinstance(name, str) else None,
        metadata=metadata,
        n_tensors=len(tensors),
        n_ctx=hparams["n_ctx"],
        n_embd=hparams["n_embd"],
        n_layer=n_layer,
        n_vocab=n_vocab,
        file_type=file_type
        if isinstance(file_type, int) and not isinstance(file_type, bool)
        else None,
        size=size,
        tensor_types=tensor_types,
        n_head=hparams["n_head"],
        n_ff=hparams["n_ff"],
        norm_eps=norm_eps,
    )


def _check_hparam_ranges(
    label: str, metadata: dict, arrays: dict[str, tuple[int, int]], hparams: dict[str, int]
) -> float:
    """Check the hyperparameters llama.cpp trusts blindly; returns the norm epsilon.

    The sizes are already positive integers, and the tensor shapes are checked
    against them afterwards. Raises ModelFileError.
    """
    eps = metadata.get(NORM_EPS_KEY)
    low, high = NORM_EPS_RANGE
    if not isinstance(eps, float) or not math.isfinite(eps) or not low < eps < high:
        raise ModelFileError(
            f"{label} is damaged ({NORM_EPS_KEY} is {eps!r}; it must be a small positive "
            "number such as 1e-05)"
            if eps is not None
            else f"{label} lacks a valid GPT-2 setting {NORM_EPS_KEY}"
        )
    for key, (name, what) in AGREEING_KEYS.items():
        value = metadata.get(key)
        if value is not None and value != hparams[name]:
            raise ModelFileError(
                f"{label} is damaged ({key} is {value!r}, but its {what} says {hparams[name]})"
            )
    for key in PER_TOKEN_ARRAYS:
        if key in arrays and arrays[key][1] != hparams["n_vocab"]:
            raise ModelFileError(
                f"{label} is damaged ({key} has {arrays[key][1]} entries "
                f"for {hparams['n_vocab']} tokens)"
            )
    if hparams["n_embd"] % hparams["n_head"]:
        raise ModelFileError(
            f"{label} is damaged (embedding {hparams['n_embd']} not divisible by "
            f"{hparams['n_head']} heads)"
        )
    return eps


def validate_gguf(path: Path | str) -> GGUFInfo:
    """Check that path is a complete GPT-2 GGUF llama.cpp can load.

    Returns a GGUFInfo. Raises ModelFileError, worded for people, for a
    missing path, a folder, an empty, unreadable, non-GGUF, truncated or
    damaged file, a model that is not GPT-2, or one without a tokenizer.
    """
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"model file {path} does not exist")
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder, not a model file")
    try:
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            if size == 0:
                raise ModelFileError(f"{path.name} is empty")
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                view = memoryview(mm)
                try:
                    return _parse(path, view, size)
                finally:
                    view.release()
    except OSError as exc:
        raise ModelFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
