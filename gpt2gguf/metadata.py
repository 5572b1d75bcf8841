"""Our own keys in a GGUF's metadata, and the one way to add them to a finished model file.

A model carries its calibrated suggestion confidence (`writer-bench calibrate
--write`): the gate threshold that gave the most keystroke savings on a
held-out passage while enough suggestions were taken. It lives in the model
file, under keys of our own next to llama.cpp's, so that the value travels
with the model wherever it is copied; llama.cpp ignores keys it does not
know, and validate.py reads them with the rest (GGUFInfo.metadata).

Reading needs nothing but that metadata dict; writing rewrites the whole file
with gguf-py's GGUFReader and GGUFWriter, as gguf-py's gguf_new_metadata
script does, and is imported lazily (gguf's package pulls in numpy).
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from gpt2gguf.files import atomic_write

CONFIDENCE_KEY = "writer.suggestion.confidence"
# What the calibration measured at the chosen value, and when: for the model card and About.
CALIBRATION_KEYS: dict[str, str] = {
    "ksr_word": "writer.suggestion.calibration.ksr_word",
    "acceptance": "writer.suggestion.calibration.acceptance",
    "chars": "writer.suggestion.calibration.chars",
    "date": "writer.suggestion.calibration.date",
}
CONFIDENCE_DECIMALS = 4  # the value is stored as float32: 0.27 reads back as 0.27000001...

Value = float | int | str


def model_confidence(metadata: Mapping[str, object]) -> float | None:
    """Return the suggestion confidence stored in a model's metadata (validate.GGUFInfo's),
    or None when it has none or holds something that is not a threshold in [0, 1)."""
    value = metadata.get(CONFIDENCE_KEY)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    if not math.isfinite(value) or not 0.0 <= value < 1.0:
        return None
    return round(float(value), CONFIDENCE_DECIMALS)


def write_metadata(path: str | os.PathLike, values: Mapping[str, Value]) -> None:
    """Set the metadata `values` (key -> float, int or str) in the GGUF at `path`,
    replacing keys it already has, and keep everything else: the other keys, the
    tensors, the file's mode and owner.

    The file is replaced atomically (gpt2gguf.files.atomic_write): a crash leaves
    the old model or the new one. GGUFWriter opens its output by name, so the new
    bytes go to a private scratch file beside the model first. Raises OSError, and
    ValueError for a file gguf-py cannot read.
    """
    import gguf  # lazily: numpy, for a write that happens once per model

    target = Path(os.path.realpath(path))
    reader = gguf.GGUFReader(target)
    fd, scratch = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".new", dir=target.parent)
    os.close(fd)
    try:
        arch = reader.get_field(gguf.Keys.General.ARCHITECTURE).contents()
        writer = gguf.GGUFWriter(scratch, arch=arch, endianess=reader.endianess)
        try:
            _copy(reader, writer, dict(values), gguf)
        finally:
            writer.close()
        del reader  # its memory map of the old file
        with open(scratch, "rb") as new:
            atomic_write(target, lambda out: shutil.copyfileobj(new, out, 1 << 20))
    finally:
        os.unlink(scratch)


def _copy(reader, writer, values: dict[str, Value], gguf) -> None:
    """Write the reader's keys (ours replaced by `values`), then the new ones, then its tensors."""
    for field in reader.fields.values():
        # GGUF.* are the reader's view of the header; GGUFWriter writes the architecture itself.
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        if field.name in values:
            continue
        vtype = field.types[0]
        sub_type = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), vtype, sub_type=sub_type)
    for key, value in values.items():
        writer.add_key_value(key, value, _value_type(value, gguf))
    for tensor in reader.tensors:
        writer.add_tensor_info(
            tensor.name,
            tensor.data.shape,
            tensor.data.dtype,
            tensor.data.nbytes,
            tensor.tensor_type,
        )
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for tensor in reader.tensors:
        writer.write_tensor_data(tensor.data, tensor_endianess=reader.endianess)


def _value_type(value: Value, gguf):
    """Return the GGUF type a value of ours is stored as (float32, uint32 or string)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"cannot store {value!r} in GGUF metadata")
    if isinstance(value, str):
        return gguf.GGUFValueType.STRING
    if isinstance(value, int):
        return gguf.GGUFValueType.UINT32
    return gguf.GGUFValueType.FLOAT32
