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

from gpt2gguf.errors import ModelFileError

MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32
MAX_DIMS = 4  # GGML_MAX_DIMS
MAX_NESTING = 2  # arrays of arrays: enough for any real file
MAX_KEY_BYTES = 65_536
MAX_STRING_ARRAY = 4_000_000  # largest real vocabularies are ~260k; bounds the skip loop

# GGUF metadata value types -> struct format (scalars only).
SCALAR_FORMATS: dict[int, str] = {
    0: "<B",  # uint8
    1: "<b",  # int8
    2: "<H",  # uint16
    3: "<h",  # int16
    4: "<I",  # uint32
    5: "<i",  # int32
    6: "<f",  # float32
    7: "<?",  # bool
    10: "<Q",  # uint64
    11: "<q",  # int64
    12: "<d",  # float64
}
TYPE_STRING = 8
TYPE_ARRAY = 9
INT_TYPES = {0, 1, 2, 3, 4, 5, 10, 11}

# ggml tensor type id -> (name, elements per block, bytes per block).
# Mirrors gguf.constants.GGML_QUANT_SIZES (a test keeps them in step).
GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24),
    8: ("Q8_0", 32, 34),
    9: ("Q8_1", 32, 40),
    10: ("Q2_K", 256, 84),
    11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210),
    15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66),
    17: ("IQ2_XS", 256, 74),
    18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18),
    21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82),
    23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1),
    25: ("I16", 1, 2),
    26: ("I32", 1, 4),
    27: ("I64", 1, 8),
    28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2),
    34: ("TQ1_0", 256, 54),
    35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17),
    40: ("NVFP4", 64, 36),
    41: ("Q1_0", 128, 18),
}

# llama.cpp's gpt2 hyperparameter keys -> GGUFInfo field.
HPARAM_KEYS: dict[str, str] = {
    "gpt2.context_length": "n_ctx",
    "gpt2.embedding_length": "n_embd",
    "gpt2.block_count": "n_layer",
    "gpt2.feed_forward_length": "n_ff",
    "gpt2.attention.head_count": "n_head",
}
NORM_EPS_KEY = "gpt2.attention.layer_norm_epsilon"
# ggml asserts eps >= 0 and aborts the process on NaN or a negative value; real
# models use 1e-5 (GPT-2) down to 1e-12, and anything near 1 washes out the norm.
NORM_EPS_RANGE = (0.0, 1.0)  # exclusive bounds
# Optional keys llama.cpp reads for gpt2, which must agree with the rest when
# present: key -> (the size it must equal, what gave that size, for messages).
AGREEING_KEYS: dict[str, tuple[str, str]] = {
    "gpt2.attention.head_count_kv": ("n_head", "head count"),
    "gpt2.vocab_size": ("n_vocab", "token list"),
}
# Per-token tokenizer arrays llama.cpp indexes by token id without a bounds check.
PER_TOKEN_ARRAYS = ("tokenizer.ggml.token_type", "tokenizer.ggml.scores")


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
    if vtype in SCALAR_FORMATS:
        return r.unpack(SCALAR_FORMATS[vtype])
    if vtype == TYPE_STRING:
        return r.string()
    if vtype != TYPE_ARRAY:
        raise _Corrupt(f"unknown metadata value type {vtype}")
    if depth >= MAX_NESTING:
        raise _Corrupt("arrays nested too deeply")
    elem_type = r.u32()
    count = r.u64()
    if elem_type in SCALAR_FORMATS:
        r.take(count * struct.calcsize(SCALAR_FORMATS[elem_type]))
    elif elem_type == TYPE_STRING:
        if count * 8 > r.left():  # each string needs at least its length field
            raise _Truncated
        if count > MAX_STRING_ARRAY:
            raise _Corrupt(f"an array of {count} strings")
        for _ in range(count):
            r.skip_string()
    elif elem_type == TYPE_ARRAY:
        if count * 12 > r.left():
            raise _Truncated
        for _ in range(count):
            _read_value(r, TYPE_ARRAY, depth + 1)
    else:
        raise _Corrupt(f"unknown array element type {elem_type}")
    return ("array", elem_type, count)


def gpt2_tensor_shapes(n_embd: int, n_ff: int, n_ctx: int, n_vocab: int, n_layer: int) -> dict:
    """Return {tensor name: ggml shape (ne0, ne1...)} llama.cpp's gpt2 loader requires.

    ggml lists the fastest-varying dimension first: numpy's shape reversed.
    The converter checks a checkpoint's arrays against the same table.
    """
    e = n_embd
    shapes = {
        "token_embd.weight": (e, n_vocab),
        "position_embd.weight": (e, n_ctx),
        "output_norm.weight": (e,),
        "output_norm.bias": (e,),
    }
    block = {
        "attn_norm.weight": (e,), "attn_norm.bias": (e,),
        "attn_qkv.weight": (e, 3 * e), "attn_qkv.bias": (3 * e,),
        "attn_output.weight": (e, e), "attn_output.bias": (e,),
        "ffn_norm.weight": (e,), "ffn_norm.bias": (e,),
        "ffn_up.weight": (e, n_ff), "ffn_up.bias": (n_ff,),
        "ffn_down.weight": (n_ff, e), "ffn_down.bias": (e,),
    }  # fmt: skip
    for i in range(n_layer):
        for name, shape in block.items():
            shapes[f"blk.{i}.{name}"] = shape
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
        if bytes(buf[:4]) != MAGIC:
            raise ModelFileError(f"{label} is not a GGUF model file")
        r.take(4)
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
        alignment = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
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
            if not 1 <= n_dims <= MAX_DIMS:
                raise _Corrupt(f"tensor {name!r} with {n_dims} dimensions")
            shape = tuple(r.u64() for _ in range(n_dims))
            ttype = r.u32()
            offset = r.u64()
            if ttype not in GGML_TYPES:
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
        type_name, block, block_bytes = GGML_TYPES[ttype]
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

    arch = metadata.get("general.architecture")
    if not isinstance(arch, str):
        raise ModelFileError(f"{label} does not say what model it holds (no general.architecture)")
    if arch != "gpt2":
        raise ModelFileError(f"{label} is not a GPT-2 model (architecture: {arch})")

    hparams: dict[str, int] = {}
    for key, field_name in HPARAM_KEYS.items():
        value = metadata.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ModelFileError(f"{label} lacks a valid GPT-2 setting {key}")
        hparams[field_name] = value

    if not isinstance(metadata.get("tokenizer.ggml.model"), str):
        raise ModelFileError(f"{label} has no tokenizer (tokenizer.ggml.model missing)")
    for key in ("tokenizer.ggml.tokens", "tokenizer.ggml.merges"):
        elem_type, count = arrays.get(key, (None, 0))
        if elem_type != TYPE_STRING or count == 0:
            raise ModelFileError(f"{label} has no tokenizer ({key} missing)")
    n_vocab = arrays["tokenizer.ggml.tokens"][1]
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
    if "output.weight" in tensors:
        required["output.weight"] = (hparams["n_embd"], n_vocab)
    for name, want in required.items():
        if name not in tensors:
            raise ModelFileError(f"{label} is missing the GPT-2 tensor {name}")
        got = tensors[name][0]
        if _strip_ones(got) != _strip_ones(want):  # ggml may pad shapes with trailing 1s
            raise ModelFileError(f"{label}: tensor {name} has shape {tuple(got)}, expected {want}")

    file_type = metadata.get("general.file_type")
    name = metadata.get("general.name")
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
