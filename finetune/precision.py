"""`--dtype auto` on a CPU: bf16 where this machine runs it faster than fp32, else fp32.

CPUs differ from one machine to the next: with AVX-512 bf16 or AMX, bf16
matmuls run about twice as fast as fp32; on an AVX2-only CPU they run many
times slower. So the choice is made by a short probe at run time (a bf16 and
an fp32 matmul of the model's width, interleaved), cached per machine, CPU
flags and torch version, never assumed.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from gpt2gguf.cpu import cpu_flags
from gpt2gguf.files import atomic_write

# bf16 must beat fp32 by this factor: autocast adds casts around every matmul.
MIN_SPEEDUP = 1.15
PROBE_TOKENS = 256
PROBE_SECONDS = 0.6  # the whole probe, both dtypes


@dataclass
class DtypeChoice:
    dtype: str  # "bf16" or "fp32"
    reason: str
    fp32_gflops: float | None = None
    bf16_gflops: float | None = None
    cached: bool = False


def _machine_key(width: int) -> str:
    import torch

    flags = sorted(f for f in cpu_flags() if f.startswith(("avx", "amx", "fma", "sse")))
    ident = (
        f"{platform.machine()}|{platform.processor()}|{' '.join(flags)}|{torch.__version__}|{width}"
    )
    return hashlib.sha256(ident.encode()).hexdigest()[:16]


def _gflops(dtype, width: int, budget_s: float) -> float:
    """Best GFLOP/s of a [PROBE_TOKENS, width] x [width, 4*width] matmul within budget_s."""
    import torch

    a = torch.randn(PROBE_TOKENS, width).to(dtype)
    b = torch.randn(width, 4 * width).to(dtype)
    flops = 2 * PROBE_TOKENS * width * 4 * width
    torch.mm(a, b)  # warm-up: kernel selection
    best = float("inf")
    deadline = time.perf_counter() + budget_s
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        for _ in range(4):
            torch.mm(a, b)
        best = min(best, (time.perf_counter() - t0) / 4)
    return flops / best / 1e9


def probe(width: int) -> DtypeChoice:
    """Time bf16 against fp32 at this width; return the faster, with the figures."""
    import torch

    fp32 = bf16 = 0.0
    # Interleaved rounds, best of each: a busy machine slows both alike.
    for _ in range(3):
        fp32 = max(fp32, _gflops(torch.float32, width, PROBE_SECONDS / 6))
        bf16 = max(bf16, _gflops(torch.bfloat16, width, PROBE_SECONDS / 6))
    ratio = bf16 / fp32
    if ratio >= MIN_SPEEDUP:
        return DtypeChoice("bf16", f"bf16 matmul is {ratio:.2f}x fp32 on this CPU", fp32, bf16)
    return DtypeChoice(
        "fp32",
        f"bf16 matmul is only {ratio:.2f}x fp32 on this CPU (needs {MIN_SPEEDUP}x)",
        fp32,
        bf16,
    )


def choose_cpu_dtype(width: int, cache_dir: Path | None = None) -> DtypeChoice:
    """Return the dtype `--dtype auto` trains with on this CPU, probing once per machine.

    The result is cached in cache_dir (default: the user cache dir) under a key of
    the CPU, its flags, torch's version and the width; a cache that cannot be
    read or written only costs a new probe.
    """
    if cache_dir is None:
        import platformdirs

        cache_dir = Path(platformdirs.user_cache_dir("writer-finetune"))
    path = Path(cache_dir) / "dtype-probe.json"
    key = _machine_key(width)
    try:
        cache = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    if isinstance(cache, dict) and isinstance(cache.get(key), dict):
        try:
            return DtypeChoice(**{**cache[key], "cached": True})
        except TypeError:
            pass
    choice = probe(width)
    if not isinstance(cache, dict):
        cache = {}
    cache[key] = {k: v for k, v in asdict(choice).items() if k != "cached"}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(cache, indent=1).encode("utf-8"))
    except OSError:
        pass
    return choice


def use_bf16(dtype: str, device, width: int, announce: bool = True) -> bool:
    """bf16 autocast or not, for --dtype: as asked, or for `auto`, always on CUDA,
    never on other accelerators, and on a CPU where `choose_cpu_dtype` finds it faster
    (the choice and its figures printed to stderr when `announce`)."""
    import sys

    if dtype != "auto":
        return dtype == "bf16"
    if device.type == "cuda":
        return True
    if device.type != "cpu":
        return False
    choice = choose_cpu_dtype(width)
    if announce:
        figures = (
            f" (fp32 {choice.fp32_gflops:.0f}, bf16 {choice.bf16_gflops:.0f} GFLOP/s"
            f"{', cached' if choice.cached else ''})"
            if choice.fp32_gflops
            else ""
        )
        print(f"--dtype auto: {choice.dtype}: {choice.reason}{figures}", file=sys.stderr)
    return choice.dtype == "bf16"
