"""llama.cpp behind a small class: load a GGUF, pick threads and backend, evaluate tokens.

`LlamaModel` owns one llama-cpp-python `Llama` (model + context + batch) and
adds what the engine needs and `Llama` lacks: the byte text of every token
(for token healing), KV-cache reuse by common prefix with a count of the
tokens actually evaluated, logits of the last position as numpy, and
cancellation of a long prompt evaluation through llama.cpp's abort callback.

Not thread-safe: a llama.cpp context must be used from one thread at a time.

Threads: llama.cpp's CPU threads meet at a barrier after every graph node and
(OpenMP build) spin while they wait. When the cores are busy with other work,
a waiting thread burns the time slice its partner needs: on a 2-core machine
under load, 2 threads measured ~10x slower than 1, and OMP_WAIT_POLICY=PASSIVE
(set before llama_cpp is imported) recovered most of it. On an idle machine
the opposite holds: with the bundled model on 2 threads, PASSIVE made a
suggestion 5x slower (p50 147 ms against 30 ms), because a decode of one token
is many short graph nodes, each ending in a sleep and a wake-up. So the engine
leaves OpenMP's own default (spin a while, then sleep) unless the user sets it.
"""

from __future__ import annotations

import ctypes
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from writer_app.engine.errors import EngineError, GenerationCancelled, ModelLoadError
from writer_app.engine.prompt import reusable_prefix

# Prompt evaluations at least this long get the abort callback: ggml calls it
# after every graph node, so it costs a little on each decode and is only
# worth it when a decode is long enough for a writer to notice.
ABORT_MIN_TOKENS = 32
MAX_PIECE_BYTES = 256

# ggml_backend_dev_type: which device kinds count as "offloading".
GGML_DEVICE_TYPE_GPU = {1: "GPU", 2: "IGPU"}

LLAMA_DECODE_ABORTED = 2

log = logging.getLogger(__name__)


def physical_cores() -> int:
    """Return the number of physical CPU cores this process may run on (at least 1).

    On Linux: the distinct (physical id, core id) pairs in /proc/cpuinfo among
    the CPUs in our affinity mask, so hyper-threads do not count twice.
    Elsewhere, or if that fails: the number of usable logical CPUs.
    """
    try:
        allowed = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        allowed = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            blocks = f.read().split("\n\n")
        cores = set()
        for block in blocks:
            fields = dict(
                (k.strip(), v.strip())
                for k, _, v in (line.partition(":") for line in block.splitlines())
            )
            if "processor" not in fields or "core id" not in fields:
                continue
            if allowed is not None and int(fields["processor"]) not in allowed:
                continue
            cores.add((fields.get("physical id", "0"), fields["core id"]))
        if cores:
            return len(cores)
    except (OSError, ValueError):
        pass
    if allowed:
        return len(allowed)
    return os.cpu_count() or 1


def _llama_cpp():
    try:
        import llama_cpp
    except ImportError as exc:  # a broken install, not a user error, but say so plainly
        raise ModelLoadError(
            f"llama-cpp-python is not installed ({exc}); reinstall the app"
        ) from exc
    return llama_cpp


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


def backend_name(n_gpu_layers: int) -> str:
    """Return the backend doing the work: "CPU", or the GPU backend ("CUDA", "Metal", "Vulkan"...)."""
    if n_gpu_layers == 0 or not _llama_cpp().llama_supports_gpu_offload():
        return "CPU"
    devices = gpu_devices()
    if not devices:
        return "CPU"
    return re.sub(r"\d+$", "", devices[0]) or devices[0]


class LlamaModel:
    """One GGUF loaded into llama.cpp with one context of `n_ctx` tokens.

    Raises ModelLoadError when llama.cpp refuses the file or cannot make a context.
    """

    def __init__(
        self,
        path: Path,
        *,
        n_ctx: int,
        n_threads: int,
        n_gpu_layers: int,
        use_extra_bufts: bool = True,
        logits_all: bool = False,
    ):
        llama_cpp = _llama_cpp()
        self._llama_cpp = llama_cpp
        self.path = Path(path)
        self.n_threads = n_threads
        self.n_gpu_layers = n_gpu_layers
        self.use_extra_bufts = use_extra_bufts
        try:
            with _model_params(use_extra_bufts=use_extra_bufts):
                self._llm = llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_batch=n_ctx,
                    n_threads=n_threads,
                    n_threads_batch=n_threads,
                    n_gpu_layers=n_gpu_layers,
                    logits_all=logits_all,  # every position's logits: scoring only
                    verbose=False,
                )
        except (ValueError, RuntimeError, OSError) as exc:
            # llama.cpp's reason went to its (silenced) log; exc only says "failed".
            raise ModelLoadError(
                f"{self.path.name} looks like a GPT-2 model, but llama.cpp could not load it: "
                "the file may be damaged, made for a newer llama.cpp, or too big for memory"
            ) from exc
        # llama.cpp may round the context up (to a multiple of 256); positions past
        # the requested size could run past a GPT-2's position table, so keep ours.
        self.n_ctx = min(self._llm.n_ctx(), n_ctx)
        self.n_vocab = self._llm.n_vocab()
        self.eos = self._llm.token_eos()
        self.backend = backend_name(n_gpu_layers)
        self.pieces = self._read_pieces()
        self._cancel: Callable[[], bool] | None = None
        # Kept on self: ctypes must not free the trampoline while llama.cpp holds it.
        self._abort_cb = llama_cpp.ggml_abort_callback(self._abort_requested)
        self._no_abort_cb = llama_cpp.ggml_abort_callback()  # NULL: no callback

    def _read_pieces(self) -> list[bytes]:
        """Return each token's text as bytes (b"" for special tokens like <|endoftext|>)."""
        vocab = self._llm._model.vocab
        buf = ctypes.create_string_buffer(MAX_PIECE_BYTES)
        pieces = []
        for token in range(self.n_vocab):
            n = self._llama_cpp.llama_token_to_piece(vocab, token, buf, MAX_PIECE_BYTES, 0, False)
            pieces.append(buf.raw[: max(0, n)])
        return pieces

    def tokenize(self, text: str) -> list[int]:
        """Return the tokens of `text` (no <|endoftext|> added, "<|endoftext|>" typed stays text)."""
        if not text:
            return []
        return self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)

    def count_tokens(self, text: str) -> int:
        """Return how many tokens `text` has."""
        return len(self.tokenize(text))

    @property
    def n_cached(self) -> int:
        """How many tokens the KV cache holds (positions 0..n_cached-1)."""
        return self._llm.n_tokens

    def cached_tokens(self) -> np.ndarray:
        """Return the tokens the KV cache holds, in order."""
        return self._llm.input_ids[: self._llm.n_tokens]

    def rewind(self, n_tokens: int) -> None:
        """Forget every cached token from position `n_tokens` on."""
        self._llm.n_tokens = min(n_tokens, self._llm.n_tokens)

    def evaluate(
        self, prompt: Sequence[int], should_cancel: Callable[[], bool] | None = None
    ) -> int:
        """Bring the KV cache to exactly `prompt`, evaluating only what is not cached.

        Returns the number of tokens evaluated. Raises GenerationCancelled when
        should_cancel() turns true (checked by llama.cpp between graph nodes for
        long evaluations), EngineError when llama.cpp fails.
        """
        keep = reusable_prefix(self.cached_tokens(), prompt)
        new = list(prompt[keep:])
        self.rewind(keep)
        self._decode(new, should_cancel if len(new) >= ABORT_MIN_TOKENS else None)
        return len(new)

    def append(self, token: int) -> None:
        """Evaluate one more token after the cached ones (a generated token)."""
        self._decode([token], None)

    def _abort_requested(self, _data) -> bool:
        cancel = self._cancel
        try:
            return bool(cancel is not None and cancel())
        except Exception:  # an exception must not cross into C; treat it as "go on"
            return False

    def _decode(self, tokens: list[int], should_cancel: Callable[[], bool] | None) -> None:
        if not tokens:
            return
        if self._llm.n_tokens + len(tokens) > self.n_ctx:
            raise EngineError(f"the prompt does not fit the {self.n_ctx}-token context")
        if should_cancel is not None:
            self._cancel = should_cancel
            self._llama_cpp.llama_set_abort_callback(self._llm.ctx, self._abort_cb, None)
        try:
            self._llm.eval(tokens)
        except RuntimeError as exc:
            if should_cancel is not None and should_cancel():
                raise GenerationCancelled("a newer request superseded this one") from None
            raise EngineError(f"llama.cpp failed while reading the text ({exc})") from exc
        finally:
            if should_cancel is not None:
                self._llama_cpp.llama_set_abort_callback(self._llm.ctx, self._no_abort_cb, None)
                self._cancel = None

    def window_logits(self, tokens: Sequence[int]) -> np.ndarray:
        """Return the logits after each of `tokens`, read from an empty context (n, n_vocab).

        Needs logits_all=True at construction (writer-bench ppl). The array is a
        view valid until the next evaluation. Raises EngineError when llama.cpp fails.
        """
        self.rewind(0)
        self._decode(list(tokens), None)
        return self._llm.scores[: len(tokens)]

    def logits(self) -> np.ndarray:
        """Return a copy of the next-token logits after the last evaluated token."""
        ptr = self._llm._ctx.get_logits_ith(-1)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).copy()

    def set_threads(self, n_threads: int) -> None:
        """Use `n_threads` threads from the next evaluation on."""
        self.n_threads = n_threads
        self._llm._ctx.set_n_threads(n_threads, n_threads)

    def metadata(self) -> dict[str, str]:
        """Return the GGUF metadata as llama.cpp read it (strings)."""
        return dict(self._llm.metadata)

    def close(self) -> None:
        """Free the model and its context (idempotent)."""
        llm, self._llm = getattr(self, "_llm", None), None
        if llm is not None:
            llm.close()
