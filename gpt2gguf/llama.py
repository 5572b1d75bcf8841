"""The one door to llama.cpp: load a GPT-2 GGUF and run it through llama-cpp-python.

`LlamaRunner` is the single loader (validate the file first, cap the context
at the model's, pick threads and CPU buffer types by one rule) and the
adapter: every use of llama-cpp-python below its high-level `Llama` API (its
private attributes, its raw C bindings, `llama_cpp._ggml`) lives in this
file, behind a small typed API. pyproject.toml pins llama-cpp-python to the
minor version this file is tested with; a newer one is checked here first.

Not thread-safe: a llama.cpp context must be used from one thread at a time.

Threads: llama.cpp's CPU threads meet at a barrier after every graph node and
(OpenMP build) spin while they wait. When the cores are busy with other work,
a waiting thread burns the time slice its partner needs: on a 2-core machine
under load, 2 threads measured ~10x slower than 1, and OMP_WAIT_POLICY=PASSIVE
(set before llama_cpp is imported) recovered most of it. On an idle machine
the opposite holds: with the bundled model on 2 threads, PASSIVE made a
suggestion 5x slower (p50 147 ms against 30 ms), because a decode of one token
is many short graph nodes, each ending in a sleep and a wake-up. So this
module leaves OpenMP's own default (spin a while, then sleep) unless the user
sets it.
"""

from __future__ import annotations

import ctypes
import logging
import re
import sys
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from gpt2gguf.cpu import default_use_extra_bufts, physical_cores
from gpt2gguf.errors import ModelError, ModelLoadError
from gpt2gguf.validate import GGUFInfo, validate_gguf

MAX_PIECE_BYTES = 256  # longer than any GPT-2 token's text
GGML_TYPE_F32 = 0  # ggml_type: an F32 KV cache lets an F32 GGUF match PyTorch to 1e-4
# ggml_backend_dev_type: the CPU device, and which device kinds count as "offloading".
GGML_DEVICE_TYPE_CPU = 0
GGML_DEVICE_TYPE_GPU = {1: "GPU", 2: "IGPU"}

log = logging.getLogger(__name__)


class DecodeAborted(ModelError):
    """The caller's should_abort() stopped a decode; the KV cache keeps what came before it."""


def _llama_cpp():
    try:
        import llama_cpp
    except ImportError as exc:  # a broken install, not a user error, but say so plainly
        raise ModelLoadError(
            f"llama-cpp-python is not installed ({exc}); reinstall the app"
        ) from exc
    load_cpu_variants()
    return llama_cpp


# ----- the portable CPU build -------------------------------------------------------------------
# packaging/portable_llama.sh builds llama.cpp with GGML_BACKEND_DL and
# GGML_CPU_ALL_VARIANTS: one CPU backend per instruction level
# (libggml-cpu-x64.so, -sse42, -haswell, -skylakex...), none linked in. llama.cpp
# loads none of them by itself ("no backends are loaded"), and
# llama-cpp-python 0.3.36 never asks it to (abetlen/llama-cpp-python#2069).
CPU_VARIANT_FILE = re.compile(r"libggml-cpu-([A-Za-z0-9_]+)\.(?:so|dylib|dll)$")
_variants_loaded: list[str] | None = None


def load_cpu_variants() -> list[str]:
    """In a portable llama.cpp build, load the best CPU backend for this CPU (once per process).

    Returns the variant files found next to libllama (empty for a build with
    its CPU backend linked in, where there is nothing to do). The call goes
    through the libggml that libllama itself links (by its SONAME, which the
    dynamic linker matches to the copy already loaded): llama_cpp._ggml opens
    libggml.so by path, a second copy whose backend registry libllama never sees.
    Raises ModelLoadError when variants are there but none suits this CPU.
    """
    global _variants_loaded
    if _variants_loaded is not None:
        return _variants_loaded
    import llama_cpp

    lib_dir = Path(llama_cpp.__file__).parent / "lib"
    variants = sorted(
        p.name for p in lib_dir.glob("libggml-cpu-*") if CPU_VARIANT_FILE.search(p.name)
    )
    if variants:
        libggml = ctypes.CDLL("libggml.so.0" if sys.platform.startswith("linux") else "libggml")
        libggml.ggml_backend_load_all_from_path.argtypes = [ctypes.c_char_p]
        libggml.ggml_backend_load_all_from_path.restype = None
        libggml.ggml_backend_load_all_from_path(str(lib_dir).encode())
        libggml.ggml_backend_reg_count.restype = ctypes.c_size_t
        if libggml.ggml_backend_reg_count() == 0:
            raise ModelLoadError(
                "this computer's processor is older than every processor the bundled "
                f"llama.cpp was built for ({', '.join(variants)}); suggestions are off"
            )
    _variants_loaded = variants
    return variants


class _DlInfo(ctypes.Structure):
    """dladdr()'s answer: the file a code address belongs to."""

    _fields_ = [
        ("dli_fname", ctypes.c_char_p),
        ("dli_fbase", ctypes.c_void_p),
        ("dli_sname", ctypes.c_char_p),
        ("dli_saddr", ctypes.c_void_p),
    ]


def cpu_backend_file() -> str:
    """Return the file of the CPU backend llama.cpp computes with in this process: a
    portable build's libggml-cpu-<variant>.so, or a native build's libggml-cpu.so.0.

    Asked of llama.cpp itself, not guessed from what is mapped: ggml opens every
    variant to score it, and one it closes may stay mapped. The CPU device's
    backend hands out a function of its own (ggml_backend_get_features), and
    dladdr names the file that function lives in. Returns "" where that fails.
    """
    _llama_cpp()
    try:
        libggml = ctypes.CDLL("libggml.so.0" if sys.platform.startswith("linux") else "libggml")
        libc = ctypes.CDLL(None)
        libggml.ggml_backend_dev_by_type.argtypes = [ctypes.c_int]
        libggml.ggml_backend_dev_by_type.restype = ctypes.c_void_p
        libggml.ggml_backend_dev_backend_reg.argtypes = [ctypes.c_void_p]
        libggml.ggml_backend_dev_backend_reg.restype = ctypes.c_void_p
        libggml.ggml_backend_reg_get_proc_address.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        libggml.ggml_backend_reg_get_proc_address.restype = ctypes.c_void_p
        libc.dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(_DlInfo)]
    except (OSError, AttributeError):
        return ""
    device = libggml.ggml_backend_dev_by_type(GGML_DEVICE_TYPE_CPU)
    if not device:
        return ""
    reg = libggml.ggml_backend_dev_backend_reg(device)
    function = libggml.ggml_backend_reg_get_proc_address(reg, b"ggml_backend_get_features")
    info = _DlInfo()
    if not function or not libc.dladdr(function, ctypes.byref(info)) or not info.dli_fname:
        return ""
    return info.dli_fname.decode("utf-8", "replace")


def cpu_backend_function(name: str):
    """Return the function `name` of the CPU backend llama.cpp computes with
    (cpu_backend_file: the native libggml-cpu, or the portable build's variant ggml
    chose for this CPU) as a ctypes function for the caller to type, or None."""
    path = cpu_backend_file()
    if not path:
        return None
    try:
        return getattr(ctypes.CDLL(path), name)
    except (OSError, AttributeError):
        return None


def cpu_variant() -> str:
    """Return which of llama.cpp's CPU builds this process runs: a variant of the portable
    build ("haswell", "sse42"...), or "native build" (a build for the machine it was
    compiled on), then the instruction sets llama.cpp reports it uses, e.g.
    "haswell: SSE3 AVX AVX2 FMA" or "native build: AVX2 FMA AVX512"."""
    found = CPU_VARIANT_FILE.search(Path(cpu_backend_file()).name)
    where = found.group(1) if found else "native build"
    features = cpu_features()
    return f"{where}: {' '.join(features)}" if features else where


def cpu_features() -> list[str]:
    """Return the instruction sets and options llama.cpp reports its CPU backend was built
    with, in its order: ["SSE3", "SSSE3", "AVX", "AVX2", ..., "OPENMP", "REPACK"]."""
    info = _llama_cpp().llama_print_system_info().decode("utf-8", "replace")
    return [name for name, on in re.findall(r"(\w+) = (\d)", info) if on == "1"]


def llama_cpp_version() -> str:
    """Return the version of llama-cpp-python ("0.3.36"), or "" if it does not say."""
    return getattr(_llama_cpp(), "__version__", "")


def default_gpu_layers() -> int:
    """Return -1 (offload every layer) when llama.cpp was built with a GPU backend, else 0."""
    return -1 if _llama_cpp().llama_supports_gpu_offload() else 0


def gpu_devices() -> list[str]:
    """Return the names of the GPU devices ggml knows ("CUDA0", "Metal"...), maybe empty."""
    try:
        from llama_cpp import _ggml

        lib = _ggml.libggml
        lib.ggml_backend_dev_count.restype = ctypes.c_size_t
        lib.ggml_backend_dev_get.argtypes = [ctypes.c_size_t]
        lib.ggml_backend_dev_get.restype = ctypes.c_void_p
        lib.ggml_backend_dev_name.argtypes = [ctypes.c_void_p]
        lib.ggml_backend_dev_name.restype = ctypes.c_char_p
        lib.ggml_backend_dev_type.argtypes = [ctypes.c_void_p]
        lib.ggml_backend_dev_type.restype = ctypes.c_int
        names = []
        for i in range(lib.ggml_backend_dev_count()):
            dev = lib.ggml_backend_dev_get(i)
            if lib.ggml_backend_dev_type(dev) in GGML_DEVICE_TYPE_GPU:
                names.append(lib.ggml_backend_dev_name(dev).decode("utf-8", "replace"))
        return names
    except (ImportError, AttributeError, OSError):
        return []


def backend_name(n_gpu_layers: int) -> str:
    """Return the backend doing the work: "CPU", or the GPU backend ("CUDA", "Metal", "Vulkan"...)."""
    if n_gpu_layers == 0 or not _llama_cpp().llama_supports_gpu_offload():
        return "CPU"
    devices = gpu_devices()
    if not devices:
        return "CPU"
    return re.sub(r"\d+$", "", devices[0]) or devices[0]


@contextmanager
def _model_params(**fields):
    """Inside the block, llama_model_default_params() returns params with `fields` set.

    llama_cpp.Llama has no argument for some llama_model_params fields (such as
    use_extra_bufts) and fills its params from this function and loads the
    model in the same constructor, so this is the one place to set them. Fields
    this llama-cpp-python does not know are left out (and logged).
    """
    raw = sys.modules["llama_cpp.llama_cpp"]  # what llama_cpp.llama calls, by module attribute
    known = {name for name, _ in raw.llama_model_params._fields_}
    for name in set(fields) - known:
        log.warning("this llama-cpp-python has no model parameter %s; ignored", name)
    fields = {k: v for k, v in fields.items() if k in known}
    original = raw.llama_model_default_params

    def patched():
        params = original()
        for name, value in fields.items():
            setattr(params, name, value)
        return params

    raw.llama_model_default_params = patched
    try:
        yield
    finally:
        raw.llama_model_default_params = original


class LlamaRunner:
    """One GPT-2 GGUF loaded into llama.cpp with one context: model, KV cache and batch.

    The loading choices left as None are made here, by one rule for the whole
    project: `n_threads` the physical cores, `n_gpu_layers` every layer when
    llama.cpp can offload, `use_extra_bufts` off only where it crashes (AMX,
    see gpt2gguf.cpu). `n_ctx` is capped at the model's own context: GPT-2
    has learned positions, and past them llama.cpp would read beyond
    position_embd. `logits_all` keeps every position's logits (scoring);
    `f32_kv_cache` keeps the KV cache exact (verifying an F32 export).

    Raises ModelFileError when the file is not a valid GPT-2 GGUF (checked
    before llama.cpp sees it: llama.cpp may abort the process on hostile
    bytes), ModelLoadError when llama.cpp refuses it or cannot make a context.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        n_ctx: int,
        n_threads: int | None = None,
        n_gpu_layers: int | None = None,
        use_extra_bufts: bool | None = None,
        n_batch: int | None = None,
        logits_all: bool = False,
        f32_kv_cache: bool = False,
    ):
        self.path = Path(path)
        self.info: GGUFInfo = validate_gguf(self.path)
        llama_cpp = _llama_cpp()
        self._raw = llama_cpp
        n_ctx = max(1, min(n_ctx, self.info.n_ctx))
        self.n_threads = n_threads or physical_cores()
        self.n_gpu_layers = default_gpu_layers() if n_gpu_layers is None else n_gpu_layers
        self.use_extra_bufts = (
            default_use_extra_bufts() if use_extra_bufts is None else use_extra_bufts
        )
        kv_types = {"type_k": GGML_TYPE_F32, "type_v": GGML_TYPE_F32} if f32_kv_cache else {}
        try:
            with _model_params(use_extra_bufts=self.use_extra_bufts):
                self._llm = llama_cpp.Llama(
                    model_path=str(self.path),
                    n_ctx=n_ctx,
                    n_batch=max(1, min(n_batch or n_ctx, n_ctx)),
                    n_threads=self.n_threads,
                    n_threads_batch=self.n_threads,
                    n_gpu_layers=self.n_gpu_layers,
                    logits_all=logits_all,
                    verbose=False,
                    **kv_types,
                )
        except (ValueError, RuntimeError, OSError) as exc:
            # llama.cpp's reason went to its (silenced) log; exc only says "failed".
            raise ModelLoadError(
                f"{self.path.name} looks like a GPT-2 model, but llama.cpp could not load it: "
                "the file may be damaged, made for a newer llama.cpp, or too big for memory"
            ) from exc
        # llama.cpp may round the context up (to a multiple of 256): keep ours.
        self.n_ctx = min(self._llm.n_ctx(), n_ctx)
        self.n_vocab = self._llm.n_vocab()
        self.eos = self._llm.token_eos()
        # What llama.cpp was really given (False where this llama-cpp-python lacks the field).
        self.use_extra_bufts = bool(getattr(self._llm.model_params, "use_extra_bufts", False))
        self.backend = backend_name(self.n_gpu_layers)
        self._logits_type = ctypes.c_float * self.n_vocab  # one token's logits in C
        self._should_abort: Callable[[], bool] | None = None
        # Kept on self: ctypes must not free the trampoline while llama.cpp holds it.
        self._abort_cb = llama_cpp.ggml_abort_callback(self._abort_requested)
        self._no_abort_cb = llama_cpp.ggml_abort_callback()  # NULL: no callback

    def token_pieces(self) -> list[bytes]:
        """Return each token's text as bytes (b"" for special tokens like <|endoftext|>)."""
        raw = self._raw
        vocab = raw.llama_model_get_vocab(self._llm.model)
        buf = ctypes.create_string_buffer(MAX_PIECE_BYTES)
        pieces = []
        for token in range(self.n_vocab):
            n = raw.llama_token_to_piece(vocab, token, buf, MAX_PIECE_BYTES, 0, False)
            pieces.append(buf.raw[: max(0, n)])
        return pieces

    def tokenize(self, text: str) -> list[int]:
        """Return the tokens of `text` (no <|endoftext|> added, "<|endoftext|>" typed stays text)."""
        if not text:
            return []
        return self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)

    def cached_tokens(self) -> np.ndarray:
        """Return the tokens the KV cache holds, in order (a view: copy to keep it)."""
        return self._llm.input_ids[: self._llm.n_tokens]

    def rewind(self, n_tokens: int) -> None:
        """Forget every cached token from position `n_tokens` on (0: an empty cache)."""
        self._llm.n_tokens = max(0, min(n_tokens, self._llm.n_tokens))

    def decode(self, tokens: Sequence[int], should_abort: Callable[[], bool] | None = None) -> None:
        """Evaluate `tokens` after the cached ones.

        should_abort() is polled by llama.cpp between graph nodes; when it
        turns true the decode stops with DecodeAborted. Raises ModelError when
        the tokens do not fit the context or llama.cpp fails.
        """
        if not tokens:
            return
        if self._llm.n_tokens + len(tokens) > self.n_ctx:
            raise ModelError(f"the prompt does not fit the {self.n_ctx}-token context")
        if should_abort is not None:
            self._should_abort = should_abort
            self._raw.llama_set_abort_callback(self._llm.ctx, self._abort_cb, None)
        try:
            self._llm.eval(tokens)
        except RuntimeError as exc:
            if should_abort is not None and should_abort():
                raise DecodeAborted("the decode was stopped") from None
            raise ModelError(f"llama.cpp failed while reading the text ({exc})") from exc
        finally:
            if should_abort is not None:
                self._raw.llama_set_abort_callback(self._llm.ctx, self._no_abort_cb, None)
                self._should_abort = None

    def _abort_requested(self, _data) -> bool:
        should_abort = self._should_abort
        try:
            return bool(should_abort is not None and should_abort())
        except Exception:  # an exception must not cross into C; treat it as "go on"
            return False

    def last_logits(self) -> np.ndarray:
        """Return a copy of the next-token logits after the last evaluated token (n_vocab,)."""
        return self.last_logits_view().copy()

    def last_logits_view(self) -> np.ndarray:
        """Return the next-token logits after the last evaluated token, without copying them.

        A read-only float32 view of llama.cpp's own buffer (n_vocab,): valid
        until the next decode, so read it before evaluating another token.
        (np.ctypeslib.as_array makes a new ctypes type per call, ~50 us; the
        array type is made once.)
        """
        ptr = self._raw.llama_get_logits_ith(self._llm.ctx, -1)
        address = ctypes.cast(ptr, ctypes.c_void_p).value
        view = np.frombuffer(self._logits_type.from_address(address), dtype=np.float32)
        view.flags.writeable = False
        return view

    def all_logits(self, n_tokens: int) -> np.ndarray:
        """Return the logits after each of the first `n_tokens` cached tokens (n_tokens, n_vocab).

        Needs logits_all=True at construction. The array is a view valid
        until the next decode.
        """
        return self._llm.scores[:n_tokens]

    def complete(self, text: str, max_tokens: int) -> tuple[str, int]:
        """Return llama-cpp-python's own greedy completion of `text` and its token count.

        Its create_completion as it stands (tokenize, reuse the KV cache by
        common prefix, llama.cpp's sampler chain at temperature 0): the
        reference benchmarks/token_cost.py times the engine against. Shares
        the KV cache with decode(): use a runner of its own for it.
        """
        out = self._llm.create_completion(text, max_tokens=max_tokens, temperature=0.0)
        return out["choices"][0]["text"], int(out["usage"]["completion_tokens"])

    def set_threads(self, n_threads: int | None) -> None:
        """Use `n_threads` threads (None: the physical cores) from the next decode on."""
        self.n_threads = n_threads or physical_cores()
        self._raw.llama_set_n_threads(self._llm.ctx, self.n_threads, self.n_threads)

    def close(self) -> None:
        """Free the model and its context (idempotent)."""
        llm, self._llm = getattr(self, "_llm", None), None
        if llm is not None:
            llm.close()

    def __enter__(self) -> LlamaRunner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _LogCapture:
    """Route llama.cpp's log into a list of strings for the duration of a `with` block.

    Quantizing prints hundreds of info lines; the caller keeps only warnings
    and errors.
    """

    def __enter__(self) -> _LogCapture:
        llama_cpp = _llama_cpp()
        self.text: list[str] = []

        def collect(level: int, text: bytes, user_data) -> None:
            self.text.append(text.decode("utf-8", errors="replace"))

        self._callback = llama_cpp.llama_log_callback(collect)  # keep a reference: C holds it
        llama_cpp.llama_log_set(self._callback, ctypes.c_void_p(0))
        return self

    def __exit__(self, *exc) -> None:
        from llama_cpp._logger import llama_log_callback

        _llama_cpp().llama_log_set(llama_log_callback, ctypes.c_void_p(0))

    def lines(self) -> list[str]:
        return [line.strip() for line in "".join(self.text).splitlines() if line.strip()]


def quantize_model(
    src: Path, dst: Path, ftype: int, *, n_threads: int = 0
) -> tuple[int, list[str]]:
    """Quantize the GGUF `src` into `dst` as llama.cpp file type `ftype` (a LlamaFileType).

    Returns llama_model_quantize's status (0 on success) and llama.cpp's log
    lines of the run, which name per-tensor fallbacks and the cause of a failure.
    """
    llama_cpp = _llama_cpp()
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = int(ftype)
    params.nthread = n_threads
    llama_cpp.llama_backend_init()
    with _LogCapture() as log:
        status = llama_cpp.llama_model_quantize(
            str(src).encode(), str(dst).encode(), ctypes.byref(params)
        )
    return status, log.lines()
