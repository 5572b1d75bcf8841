"""What this CPU offers llama.cpp: how many threads to run, and which buffer types are safe.

Threads: one per physical core. llama.cpp's CPU threads meet at a barrier
after every graph node, so two hyper-threads of one core mostly wait for
each other; counting them twice makes a decode slower, not faster.

Extra buffer types: llama.cpp's CPU backend may repack weights into "extra
buffer types" for faster kernels (AMX tiles, AArch64 interleaved layouts...).
On x86-64 Linux with AMX the AMX buffer type kills the process with SIGILL at
the first decode: the kernel lets a thread use AMX tiles only after it asks
(arch_prctl(ARCH_REQ_XCOMP_PERM)), and ggml asks only in its main thread, not
in its worker threads (llama.cpp PR #26954, open). Loading with
use_extra_bufts = False avoids that code and gives the same text. So on such
machines it is off by default, until a llama-cpp-python release carries the
fix; a caller can still turn it on.
"""

from __future__ import annotations

import os
import platform
import sys

AMX_FLAGS = ("amx_tile", "amx_int8", "amx_bf16", "amx_fp16", "amx_complex")
X86_64 = ("x86_64", "amd64")


def _read_cpuinfo() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def physical_cores(cpuinfo: str | None = None, allowed: set[int] | None = None) -> int:
    """Return the number of physical CPU cores this process may run on (at least 1).

    The number of threads llama.cpp should use. On Linux: the distinct
    (physical id, core id) pairs of /proc/cpuinfo (or of `cpuinfo` text) among
    the CPUs in our affinity mask (or `allowed`), so hyper-threads do not count
    twice. Elsewhere, or without core ids: the number of usable logical CPUs.
    """
    if allowed is None:
        try:
            allowed = os.sched_getaffinity(0)
        except (AttributeError, OSError):
            allowed = None
    cores = set()
    for block in (_read_cpuinfo() if cpuinfo is None else cpuinfo).split("\n\n"):
        fields = dict(
            (k.strip(), v.strip())
            for k, _, v in (line.partition(":") for line in block.splitlines())
        )
        if "processor" not in fields or "core id" not in fields:
            continue
        try:
            if allowed is not None and int(fields["processor"]) not in allowed:
                continue
        except ValueError:
            continue
        cores.add((fields.get("physical id", "0"), fields["core id"]))
    if cores:
        return len(cores)
    if allowed:
        return len(allowed)
    return os.cpu_count() or 1


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """Return the CPU feature flags of /proc/cpuinfo (or of `cpuinfo` text); empty elsewhere."""
    flags: set[str] = set()
    for line in (_read_cpuinfo() if cpuinfo is None else cpuinfo).splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            flags.update(value.split())
    return flags


def has_amx(flags: set[str]) -> bool:
    """Return whether the flags name any AMX extension."""
    return any(flag in flags for flag in AMX_FLAGS)


def default_use_extra_bufts(
    cpuinfo: str | None = None, *, system: str | None = None, machine: str | None = None
) -> bool:
    """Return the automatic use_extra_bufts: False on x86-64 Linux when the CPU has AMX, else True.

    The arguments stand in for this machine (tests fake them): `cpuinfo` the text
    of /proc/cpuinfo, `system` sys.platform, `machine` platform.machine().
    """
    system = sys.platform if system is None else system
    machine = platform.machine() if machine is None else machine
    if not system.startswith("linux") or machine.lower() not in X86_64:
        return True
    return not has_amx(cpu_flags(cpuinfo))


def cpu_model_name(cpuinfo: str | None = None) -> str:
    """Return the CPU's model name ("Intel(R) Xeon(R) ...") or platform.processor()."""
    for line in (_read_cpuinfo() if cpuinfo is None else cpuinfo).splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return value.strip()
    return platform.processor()
