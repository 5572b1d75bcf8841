"""GPT-2's constants, where the bundled tokenizer and default model live, and the GGUF format.

The project is installed in editable mode (see README.md), so resources/ sits
beside the packages at the repository root. In the desktop bundle
(packaging/) it sits in the bundle's own folder, sys._MEIPASS.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

if getattr(sys, "frozen", False):  # a PyInstaller bundle: its data files are under _MEIPASS
    RESOURCES_DIR = Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / "resources"
else:
    RESOURCES_DIR = Path(__file__).resolve().parents[1] / "resources"
TOKENIZER_DIR = RESOURCES_DIR / "tokenizer"
MODELS_DIR = RESOURCES_DIR / "models"

# GPT-2's <|endoftext|>: documents are joined with it, and it is BOS and EOS.
EOS_TOKEN_ID = 50256
EOS_TEXT = "<|endoftext|>"
GPT2_VOCAB_SIZE = 50257


def default_model_path() -> Path | None:
    """Return the bundled default model (the q8_0 GGUF in resources/models), or None."""
    found = sorted(MODELS_DIR.glob("*-q8_0.gguf"))
    return found[0] if found else None


# ----- the GGUF format, named as gguf-py's gguf.constants names it ------------------------------
def _load_gguf_constants() -> ModuleType:
    """Return gguf-py's constants module, loaded on its own.

    `import gguf.constants` runs gguf/__init__.py, which imports numpy and
    yaml: about 60 ms more on every start of the editor and of the engine
    process, for a validator that reads bytes by hand. constants.py itself
    imports only enum and typing, so it is loaded alone by its path; should
    a gguf release make it import its siblings, the package is imported.
    """
    spec = importlib.util.find_spec("gguf")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the gguf package is missing; reinstall the app")
    path = Path(next(iter(spec.submodule_search_locations))) / "constants.py"
    name = "gpt2gguf._gguf_constants"
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # enum and dataclass machinery look their module up
    try:
        module_spec.loader.exec_module(module)
    except ImportError:
        del sys.modules[name]
        import gguf.constants as module
    return module


_gguf = _load_gguf_constants()

GGUF_MAGIC: int = _gguf.GGUF_MAGIC  # b"GGUF" read as a little-endian uint32
GGUF_DEFAULT_ALIGNMENT: int = _gguf.GGUF_DEFAULT_ALIGNMENT
GGUFValueType = _gguf.GGUFValueType
GGMLQuantizationType = _gguf.GGMLQuantizationType
LlamaFileType = _gguf.LlamaFileType  # general.file_type, and llama_model_quantize's ftype
Keys = _gguf.Keys
MODEL_ARCH = _gguf.MODEL_ARCH
MODEL_ARCH_NAMES = _gguf.MODEL_ARCH_NAMES
MODEL_TENSOR = _gguf.MODEL_TENSOR
TENSOR_NAMES = _gguf.TENSOR_NAMES

GPT2_ARCH: str = MODEL_ARCH_NAMES[MODEL_ARCH.GPT2]  # "gpt2"

# ggml types newer than the oldest gguf-py this project accepts (pyproject.toml):
# id -> (name, elements per block, bytes per block). The installed gguf's own
# entries win where it knows the type (a test keeps the two in step).
GGML_QUANT_SIZES_NEWER: dict[int, tuple[str, int, int]] = {
    34: ("TQ1_0", 256, 54),
    35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17),
    40: ("NVFP4", 64, 36),
    41: ("Q1_0", 128, 18),
}
# ggml type id -> (elements per block, bytes per block), and id -> name.
GGML_QUANT_SIZES: dict[int, tuple[int, int]] = {
    **{t: (block, size) for t, (_, block, size) in GGML_QUANT_SIZES_NEWER.items()},
    **{int(t): sizes for t, sizes in _gguf.GGML_QUANT_SIZES.items()},
}
GGML_TYPE_NAMES: dict[int, str] = {
    **{t: name for t, (name, _, _) in GGML_QUANT_SIZES_NEWER.items()},
    **{int(t): t.name for t in GGMLQuantizationType},
}
