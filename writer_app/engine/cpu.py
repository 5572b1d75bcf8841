"""What this CPU can safely do: the default of llama.cpp's extra buffer types.

llama.cpp's CPU backend may repack weights into "extra buffer types" for
faster kernels (AMX tiles, AArch64 interleaved layouts...). On x86-64 Linux
with AMX the AMX buffer type kills the process with SIGILL at the first
suggestion: the kernel lets a thread use AMX tiles only after it asks
(arch_prctl(ARCH_REQ_XCOMP_PERM)), and ggml asks only in its main thread, not
in its worker threads (llama.cpp PR #26954, open). Loading with
use_extra_bufts = False avoids that code and gives the same text. So on
such machines it is off by default, until a llama-cpp-python release carries
the fix; the writer can still turn it on (setting "CPU extra buffer types").
"""

from __future__ import annotations

import platform
import sys

AMX_FLAGS = ("amx_tile", "amx_int8", "amx_bf16", "amx_fp16", "amx_complex")
X86_64 = ("x86_64", "amd64")


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """Return the CPU feature flags of /proc/cpuinfo (or of `cpuinfo` text); empty elsewhere."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                cpuinfo = f.read()
        except OSError:
            return set()
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
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
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                cpuinfo = f.read()
        except OSError:
            cpuinfo = ""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return value.strip()
    return platform.processor()
