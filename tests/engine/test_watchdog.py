"""Deadlines of the engine's answers: from recent times, renewed for a busy process, never for
a stopped or idle one, enforced by a kill. Real processes, no model."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from writer_app.engine import watchdog as watchdog_module
from writer_app.engine.watchdog import (
    DEADLINE_MARGIN,
    DEADLINE_WINDOW,
    MAX_OVERRUN,
    MIN_PROGRESS_CPU_S,
    Deadline,
    RequestTimes,
    Watchdog,
    process_state,
)

needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc (Linux)")


@pytest.fixture
def spawn():
    procs = []

    def start(code: str) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", code])
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def wait_for_cpu(pid: int, seconds: float) -> None:
    """Return once process `pid` has used `seconds` of CPU (a busy process soon has)."""
    for _ in range(1000):
        state = process_state(pid)
        if state is not None and state[1] >= seconds:
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} used no CPU in 10 s")


def test_the_deadline_is_the_floor_until_recent_answers_say_more():
    times = RequestTimes({"answer": 3.0, "load": 60.0})
    assert times.deadline_s("answer") == 3.0  # nothing measured yet
    for _ in range(DEADLINE_WINDOW):
        times.record("answer", 0.1)
    assert times.deadline_s("answer") == 3.0  # fast answers never go under the floor
    times.record("answer", 2.0)  # one slow answer among 50 is the p99
    assert times.p99("answer") == 2.0
    assert times.deadline_s("answer") == pytest.approx(DEADLINE_MARGIN * 2.0)
    for _ in range(DEADLINE_WINDOW):
        times.record("answer", 0.1)
    assert times.deadline_s("answer") == 3.0  # the slow one left the window
    assert times.deadline_s("load") == 60.0  # each kind keeps its own times


@needs_proc
def test_a_busy_process_earns_another_deadline_a_stopped_one_does_not(spawn):
    proc = spawn("while True: pass")
    deadline = Deadline(proc.pid, 0.05)
    deadline.look()
    before = process_state(proc.pid)[1]
    wait_for_cpu(proc.pid, before + 2 * MIN_PROGRESS_CPU_S)
    assert deadline.renew()  # it computes: busy, not stuck

    os.kill(proc.pid, signal.SIGSTOP)
    for _ in range(1000):  # the stop takes effect at the process's next scheduling
        if process_state(proc.pid)[0] == "T":
            break
        time.sleep(0.01)
    assert not deadline.renew()


@needs_proc
def test_a_process_that_uses_no_cpu_gets_no_more_time():
    proc = subprocess.Popen(["sleep", "60"])
    try:
        deadline = Deadline(proc.pid, 0.05)
        deadline.look()
        time.sleep(0.1)
        assert not deadline.renew()
    finally:
        proc.kill()
        proc.wait()


@needs_proc
def test_even_a_busy_process_is_not_renewed_past_max_overrun_deadlines(spawn):
    proc = spawn("while True: pass")
    deadline = Deadline(proc.pid, 0.01)
    deadline.look()
    time.sleep(0.01 * MAX_OVERRUN + 0.05)
    wait_for_cpu(proc.pid, 2 * MIN_PROGRESS_CPU_S)
    assert not deadline.renew()


def test_without_proc_a_process_gets_the_longest_time_a_busy_one_may_take(monkeypatch):
    # macOS and Windows: busy and stuck look alike, so only MAX_OVERRUN deadlines end it.
    monkeypatch.setattr(watchdog_module, "CAN_LOOK", False)
    proc = subprocess.Popen(["sleep", "60"])
    try:
        deadline = Deadline(proc.pid, 0.01)
        deadline.look()
        assert deadline.renew() and deadline.due == deadline.limit
        time.sleep(0.01 * MAX_OVERRUN + 0.05)
        assert not deadline.renew()
    finally:
        proc.kill()
        proc.wait()


def test_the_watchdog_kills_a_process_past_its_deadline_and_says_so():
    watchdog = Watchdog()
    proc = subprocess.Popen(["sleep", "60"])
    try:
        watchdog.arm(proc, Deadline(proc.pid, 0.1))
        assert proc.wait(timeout=30) == -signal.SIGKILL
        assert watchdog.disarm()
    finally:
        proc.kill()
        proc.wait()
        watchdog.close()


def test_a_disarmed_watchdog_kills_nothing():
    watchdog = Watchdog()
    proc = subprocess.Popen(["sleep", "60"])
    try:
        watchdog.arm(proc, Deadline(proc.pid, 0.2))
        assert not watchdog.disarm()
        time.sleep(0.4)  # past the deadline that was disarmed
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()
        watchdog.close()
