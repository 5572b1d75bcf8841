"""The loader's CPU rules: a thread per physical core this process may use, and CPU extra
buffer types off by default on x86-64 Linux with AMX (else llama-cpp-python 0.3.x dies of
SIGILL at the first decode; gpt2gguf/cpu.py says why)."""

from __future__ import annotations

import platform
import sys

import pytest

import gpt2gguf.cpu
from gpt2gguf.cpu import default_use_extra_bufts, physical_cores
from gpt2gguf.llama import LlamaRunner


def _cpuinfo(cpus: list[tuple[int, int, int]]) -> str:
    """/proc/cpuinfo text for (processor, physical id, core id) triples."""
    return "\n\n".join(
        f"processor\t: {p}\nphysical id\t: {socket}\ncore id\t\t: {core}\nflags\t\t: avx2"
        for p, socket, core in cpus
    )


# Two cores with two hyper-threads each: processors 0-1 are the cores, 2-3 their siblings.
HYPER_THREADED = _cpuinfo([(0, 0, 0), (1, 0, 1), (2, 0, 0), (3, 0, 1)])


def test_hyper_threads_count_once():
    assert physical_cores(HYPER_THREADED, allowed={0, 1, 2, 3}) == 2


def test_only_the_cores_of_the_affinity_mask_count():
    assert physical_cores(HYPER_THREADED, allowed={0, 2}) == 1  # both threads of core 0
    assert physical_cores(HYPER_THREADED, allowed={1}) == 1


def test_the_same_core_id_on_two_sockets_is_two_cores():
    two_sockets = _cpuinfo([(0, 0, 0), (1, 1, 0)])
    assert physical_cores(two_sockets, allowed={0, 1}) == 2


def test_without_core_ids_every_usable_cpu_counts():
    assert physical_cores("processor\t: 0\n\nprocessor\t: 1\n", allowed={0, 1, 5}) == 3
    assert physical_cores("", allowed={0, 1}) == 2


# The flags lines of real /proc/cpuinfo files, cut short.
SAPPHIRE_RAPIDS = "fpu sse2 avx2 avx512f avx512_bf16 amx_bf16 avx512_fp16 amx_tile amx_int8"
ONLY_AMX_TILE = "fpu sse2 avx2 amx_tile"
ICE_LAKE = "fpu sse2 avx2 avx512f avx512_vnni"  # AVX-512, but no AMX
ZEN4 = "fpu sse2 avx2 avx512f avx512_bf16"


def _flags(flags: str) -> str:
    return f"processor\t: 0\nmodel name\t: test cpu\nflags\t\t: {flags}\n"


@pytest.mark.parametrize(
    "flags, expected",
    [(SAPPHIRE_RAPIDS, False), (ONLY_AMX_TILE, False), (ICE_LAKE, True), (ZEN4, True)],
    ids=["sapphire-rapids", "amx-tile-only", "ice-lake", "zen4"],
)
def test_extra_buffer_types_are_off_by_default_exactly_on_amx_cpus(flags, expected):
    # Concrete answers, not the rule compared with itself: turning the default
    # on for AMX (the SIGILL), or off for every CPU (slower kernels), fails here.
    answer = default_use_extra_bufts(_flags(flags), system="linux", machine="x86_64")
    assert answer is expected


@pytest.mark.parametrize("system, machine", [("darwin", "x86_64"), ("linux", "aarch64")])
def test_extra_buffer_types_stay_on_by_default_where_amx_cannot_crash(system, machine):
    assert default_use_extra_bufts(_flags(SAPPHIRE_RAPIDS), system=system, machine=machine)


ON_X86_64_LINUX = sys.platform.startswith("linux") and platform.machine().lower() in (
    "x86_64",
    "amd64",
)


@pytest.mark.skipif(not ON_X86_64_LINUX, reason="the AMX rule applies on x86-64 Linux")
@pytest.mark.parametrize(
    "flags, expected", [(SAPPHIRE_RAPIDS, False), (ICE_LAKE, True)], ids=["amx", "no-amx"]
)
def test_the_loader_gives_llama_cpp_the_amx_default(trained_gguf, monkeypatch, flags, expected):
    # This machine's /proc/cpuinfo, as an AMX server's or not: what the loader hands
    # llama.cpp when nobody chose, read back from llama.cpp's own model params.
    monkeypatch.setattr(gpt2gguf.cpu, "_read_cpuinfo", lambda: _flags(flags))
    with LlamaRunner(trained_gguf, n_ctx=64, n_threads=1) as runner:
        assert runner.use_extra_bufts is expected
