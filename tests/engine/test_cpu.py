"""AMX: CPU extra buffer types are off by default where they crash (x86-64 Linux with AMX)."""

from __future__ import annotations

import pytest

from gpt2gguf.cpu import cpu_flags, default_use_extra_bufts
from writer_app.engine import Engine, EngineConfig
from writer_app.ui.settings import AppSettings

XEON_AMX = """processor\t: 0
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu sse2 avx2 avx512f amx_bf16 avx512_fp16 amx_tile amx_int8
"""
XEON_OLD = """processor\t: 0
model name\t: Intel(R) Xeon(R) CPU E5-2690 v4
flags\t\t: fpu sse2 avx2
"""


@pytest.mark.parametrize(
    "cpuinfo, system, machine, expected",
    [
        (XEON_AMX, "linux", "x86_64", False),  # the crash this guards against
        (XEON_OLD, "linux", "x86_64", True),
        (XEON_AMX, "darwin", "x86_64", True),  # not Linux: the bug is Linux's permission dance
        (XEON_AMX, "linux", "aarch64", True),
        ("", "linux", "x86_64", True),  # no /proc/cpuinfo to read
    ],
)
def test_extra_buffer_types_default_off_only_on_x86_64_linux_with_amx(
    cpuinfo, system, machine, expected
):
    assert default_use_extra_bufts(cpuinfo, system=system, machine=machine) is expected


def test_cpu_flags_reads_the_flags_line():
    assert {"amx_tile", "avx2"} <= cpu_flags(XEON_AMX)
    assert cpu_flags("") == set()


@pytest.mark.parametrize("choice, value", [("auto", None), ("on", True), ("off", False)])
def test_the_setting_maps_to_the_engine_config(choice, value):
    assert AppSettings(extra_buffers=choice).engine_config().use_extra_bufts is value


def test_llama_cpp_loads_with_the_extra_buffer_types_asked_for_and_writes_the_same(
    trained_gguf,
):
    texts = []
    for use in (False, True):
        with Engine(EngineConfig(model_path=trained_gguf, n_threads=1, use_extra_bufts=use)) as e:
            assert e._model.use_extra_bufts is use  # as llama.cpp's model params hold it
            texts.append(e.suggest("The dragon").text)
    assert texts[0] == texts[1]
