"""After engine crashes: restart with backoff, step down safer settings, then stay off."""

from __future__ import annotations

import os

import pytest

from writer_app.engine.config import EngineConfig
from writer_app.engine.ladder import (
    BACKOFF_S,
    CRASHES_PER_RUNG,
    OFF,
    RUNGS,
    CrashLadder,
    memory_key,
    rung_by_name,
    rung_name,
)

BASE = EngineConfig(n_threads=None, n_gpu_layers=None, use_extra_bufts=None)
GPU_MACHINE = {"n_threads": 4, "n_gpu_layers": -1, "use_extra_bufts": True}


def crash_until_off(ladder, base=BASE):
    decisions = []
    while not ladder.off:
        decisions.append(ladder.crashed(base))
    return decisions


def test_repeated_crashes_step_down_every_rung_then_stay_off():
    ladder = CrashLadder()
    ladder.defaults = GPU_MACHINE
    decisions = crash_until_off(ladder)
    assert len(decisions) == CRASHES_PER_RUNG * len(RUNGS)
    assert [d.rung for d in decisions if d.stepped_down] == [1, 2, 3, OFF]
    assert decisions[-1].off


def test_each_rung_is_safer_than_the_last():
    ladder = CrashLadder()
    configs = [ladder.config(BASE)]
    for _ in range(CRASHES_PER_RUNG * (len(RUNGS) - 1)):
        ladder.crashed(BASE)
    configs.append(ladder.config(BASE))
    assert configs[0] == BASE
    last = configs[-1]
    assert (last.use_extra_bufts, last.n_gpu_layers, last.n_threads) == (False, 0, 1)


def test_the_wait_before_a_restart_doubles_with_each_crash_in_a_row():
    ladder = CrashLadder()
    delays = [ladder.crashed(BASE).delay_s for _ in range(3)]
    assert delays == list(BACKOFF_S[:3])
    ladder.worked()
    assert ladder.crashed(BASE).delay_s == BACKOFF_S[0]


def test_a_request_that_works_resets_the_count_at_a_rung():
    ladder = CrashLadder()
    for _ in range(5):
        ladder.crashed(BASE)
        ladder.worked()
    assert ladder.rung == 0  # rare crashes, each followed by work, never step down


def test_rungs_that_change_nothing_here_are_skipped():
    ladder = CrashLadder()
    # A CPU-only build, one thread set, extra buffers already off (an AMX machine):
    ladder.defaults = {"n_threads": 2, "n_gpu_layers": 0, "use_extra_bufts": False}
    decisions = crash_until_off(ladder, EngineConfig(n_threads=1))
    assert len(decisions) == CRASHES_PER_RUNG  # every safer rung is the same: off at once


def test_without_the_machine_defaults_no_rung_is_skipped():
    ladder = CrashLadder()
    assert len(crash_until_off(ladder)) == CRASHES_PER_RUNG * len(RUNGS)


def test_rungs_are_remembered_by_name():
    for rung in range(OFF):
        assert rung_by_name(rung_name(rung)) == rung
    assert rung_by_name(None) == 0 and rung_by_name("a rung of an older version") == 0


def test_off_is_never_remembered_and_a_remembered_off_starts_a_run_from_the_top():
    with pytest.raises(ValueError):
        rung_name(OFF)
    assert rung_by_name("off") == 0  # what older versions remembered after a burst of crashes


def test_the_memory_key_follows_the_model_file(tmp_path):
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF" + bytes(100))
    key = memory_key(model)
    assert memory_key(model) == key
    model.write_bytes(b"GGUF" + bytes(200))  # another file at the same path
    os.utime(model, ns=(1, 1))
    assert memory_key(model) != key
