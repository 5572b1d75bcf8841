"""The softmax's one full pass over the vocabulary, in llama.cpp's own vector code.

Every token the n-grams blend into needs exp(logit - max) for all 50,257
entries and their sum: the denominator of every probability. numpy does it
in three passes (subtract, exp, sum), about 65% of what the n-gram path adds
per token (benchmarks/token_cost.py --stages). ggml, the library under
llama.cpp, has the same step fused in one SIMD pass for its own softmax,
`ggml_vec_soft_max_f32(n, y, x, max)`: y = exp(x - max), returning the sum.
libggml-cpu exports it, and it is already loaded in the engine's process.

It is an internal function, not an API: it is used only with the
llama-cpp-python versions whose vendored ggml was read to have that very
signature (CHECKED_VERSIONS), only from the CPU backend llama.cpp computes
with (the native libggml-cpu, or the portable build's variant that ggml
chose for this CPU: gpt2gguf.llama.cpu_backend_function), and only after
it agreed with numpy on a test row. Its exp differs from numpy's by a few
units in the last place, so everything that needs the engine's exact
probabilities calls `exp_shifted` here: writer-bench and the engine agree to
the bit within a process, as before.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable

import numpy as np

# llama-cpp-python versions whose vendor/llama.cpp/ggml/src/ggml-cpu/vec.h declares
# ggml_float ggml_vec_soft_max_f32(const int n, float * y, const float * x, float max)
# (ggml_float: double).
CHECKED_VERSIONS = frozenset({"0.3.36"})
SYMBOL = "ggml_vec_soft_max_f32"
AGREE = 1e-5  # relative difference allowed against numpy on the self-test row
OFF_ENV = "WRITER_APP_NUMPY_SOFTMAX"  # set (to anything but "") to use numpy only

ExpShifted = Callable[[np.ndarray, float, np.ndarray], float]


def exp_shifted_numpy(x: np.ndarray, top: float, out: np.ndarray) -> float:
    """Write exp(x - top) into `out` (float32, x's length); return its sum."""
    np.subtract(x, top, out=out)
    np.exp(out, out=out)
    return float(out.sum())


def _ggml_function() -> Callable | None:
    """Return ggml's fused softmax pass as a ctypes function, or None where it can't be trusted."""
    from gpt2gguf.errors import ModelLoadError
    from gpt2gguf.llama import cpu_backend_function, llama_cpp_version

    try:
        if llama_cpp_version() not in CHECKED_VERSIONS:
            return None
        function = cpu_backend_function(SYMBOL)
    except ModelLoadError:  # llama.cpp missing, or no CPU variant suits this CPU
        return None
    if function is None:
        return None
    function.restype = ctypes.c_double
    function.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_float]
    return function


def _ggml_exp_shifted(function: Callable) -> ExpShifted:
    def exp_shifted(x: np.ndarray, top: float, out: np.ndarray) -> float:
        if not (x.dtype == np.float32 and x.flags.c_contiguous):
            x = np.ascontiguousarray(x, dtype=np.float32)
        if len(out) != len(x) or out.dtype != np.float32 or not out.flags.c_contiguous:
            raise ValueError("out must be a contiguous float32 array of x's length")
        return float(function(len(x), out.ctypes.data, x.ctypes.data, top))

    return exp_shifted


def _agrees(candidate: ExpShifted) -> bool:
    """Whether `candidate` gives numpy's values and sum on a row like a model's logits."""
    x = np.linspace(-40.0, 12.0, 50_257, dtype=np.float32)[::-1].copy()
    x[::7] -= 3.0  # not monotone, not a multiple of any vector width
    top = float(x.max())
    want, got = np.empty_like(x), np.empty_like(x)
    want_sum = exp_shifted_numpy(x, top, want)
    got_sum = candidate(x, top, got)
    close = np.abs(got - want) <= AGREE * np.maximum(want, np.finfo(np.float32).tiny)
    return bool(close.all()) and abs(got_sum - want_sum) <= AGREE * want_sum


def choose() -> tuple[ExpShifted, str]:
    """Return the exp pass to use and its name ("ggml" or "numpy")."""
    if os.environ.get(OFF_ENV):
        return exp_shifted_numpy, "numpy"
    function = _ggml_function()
    if function is not None:
        candidate = _ggml_exp_shifted(function)
        if _agrees(candidate):
            return candidate, "ggml"
    return exp_shifted_numpy, "numpy"


_chosen: tuple[ExpShifted, str] | None = None


def backend() -> str:
    """The exp pass in use: "ggml" or "numpy" (chosen at the first use)."""
    return _choice()[1]


def use(name: str | None) -> None:
    """Use the exp pass `name` ("numpy", or "ggml" where choose() would) from now on;
    None: choose again at the next use. For side-by-side measures (token_cost.py)."""
    global _chosen
    if name == "numpy":
        _chosen = (exp_shifted_numpy, "numpy")
    elif name == "ggml":
        chosen = choose()
        if chosen[1] != "ggml":
            raise RuntimeError("ggml's softmax pass can't be used with this llama.cpp")
        _chosen = chosen
    elif name is None:
        _chosen = None
    else:
        raise ValueError(f"unknown exp pass {name!r}")


def _choice() -> tuple[ExpShifted, str]:
    global _chosen
    if _chosen is None:
        _chosen = choose()
    return _chosen


def exp_shifted(x: np.ndarray, top: float, out: np.ndarray) -> float:
    """Write exp(x - top) into `out` (a contiguous float32 array of x's length); return
    its sum. Chosen at the first call, not at import: the editor's own process imports
    this module's users but never loads llama.cpp."""
    return _choice()[0](x, top, out)
