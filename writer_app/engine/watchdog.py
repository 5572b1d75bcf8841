"""Deadlines for the engine process's answers: a stopped engine is noticed and killed.

An engine that stops answering (SIGSTOP, a machine swapping itself to a
halt, a deadlock in native code) would otherwise leave the app waiting on
its pipe forever: no suggestion, no message, no restart. So every request
gets a deadline, set from how long answers of its kind took lately:
DEADLINE_MARGIN times the p99 of the last DEADLINE_WINDOW, never under the
floor of its kind (DEADLINE_FLOORS_S; a load's is long).

At the deadline the engine is looked at before it is killed: one that is
running and used the CPU since the last look is busy, not stuck (a long
prompt on a loaded machine), and gets another deadline, up to MAX_OVERRUN
deadlines in all. One that is stopped, or used no CPU, is killed (SIGKILL:
a stopped process ignores SIGTERM until it is continued). Looking needs
/proc (Linux); elsewhere (macOS, Windows) busy and stuck look alike, so the
engine is killed only after MAX_OVERRUN deadlines, the longest a busy one
may take.

The Watchdog is a thread of its own that kills the process, so the app's
engine thread can block on the pipe as before, on every platform (select()
does not take pipes on Windows), and a write blocked on a stopped child's
full pipe is ended as well as a read. Qt-free.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections import deque
from collections.abc import Mapping

# deadline kind (protocol.RequestKind.deadline) -> the shortest deadline, s.
DEADLINE_FLOORS_S: dict[str, float] = {
    "answer": 3.0,  # suggest, alternatives, prefetch: a writer is waiting
    "document": 10.0,  # the document's text: a whole novel is tokenized once
    "load": 60.0,  # starting the process, loading a model (from a slow disk)
}
DEADLINE_MARGIN = 3.0  # the deadline is this many times the p99 of recent answers...
DEADLINE_WINDOW = 50  # ...of the last this many of the same kind
MAX_OVERRUN = 5  # a busy engine gets at most this many deadlines for one answer
MIN_PROGRESS_CPU_S = 0.02  # CPU time that shows the engine worked since the last look
STOPPED_STATES = frozenset("Tt")  # /proc/PID/stat: stopped (SIGSTOP), stopped by a tracer
CAN_LOOK = os.path.isdir("/proc/self")  # whether process_state can tell busy from stuck


class RequestTimes:
    """How long the engine's recent answers took, by deadline kind; the deadline they give."""

    def __init__(self, floors: Mapping[str, float] | None = None):
        self.floors = dict(DEADLINE_FLOORS_S if floors is None else floors)
        self._recent = {kind: deque(maxlen=DEADLINE_WINDOW) for kind in self.floors}

    def record(self, kind: str, seconds: float) -> None:
        """Count one answer of deadline kind `kind` that took `seconds`."""
        self._recent[kind].append(seconds)

    def p99(self, kind: str) -> float | None:
        """Return the 99th percentile of the recent answers of `kind` (None: none yet)."""
        recent = sorted(self._recent[kind])
        if not recent:
            return None
        return recent[min(len(recent) - 1, int(0.99 * len(recent)))]

    def deadline_s(self, kind: str) -> float:
        """Return the deadline of the next answer of `kind`, in seconds."""
        p99 = self.p99(kind)
        floor = self.floors[kind]
        return floor if p99 is None else max(floor, DEADLINE_MARGIN * p99)


def process_state(pid: int) -> tuple[str, float] | None:
    """Return (state letter, CPU seconds used) of process `pid` from /proc (Linux), or None
    where there is no /proc or the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name in brackets may hold spaces: count fields after its ")".
    fields = stat[stat.rindex(")") + 2 :].split()
    try:
        ticks = int(fields[11]) + int(fields[12])  # utime + stime, of every thread
    except (IndexError, ValueError):
        return None
    return fields[0], ticks / _CLOCK_TICKS


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class Deadline:
    """One answer's deadline: `seconds` from now, renewed while the engine shows it works."""

    def __init__(self, pid: int, seconds: float):
        self.pid = pid
        self.seconds = seconds
        # Linux's and macOS's monotonic clocks stop while the machine sleeps: no false hang.
        now = time.monotonic()
        self.due = now + seconds
        self.limit = now + seconds * MAX_OVERRUN
        self._seen: tuple[str, float] | None = None

    def look(self) -> None:
        """Note the engine's CPU time now: what renew() compares with. (The Watchdog
        calls it from its own thread, off the request's way.)"""
        self._seen = process_state(self.pid)

    def renew(self) -> bool:
        """At the deadline: return whether the engine earned another one (it runs, used the
        CPU since the last look, and MAX_OVERRUN is not reached; without /proc, until
        MAX_OVERRUN); if so, set it."""
        now = time.monotonic()
        if now >= self.limit:
            return False
        if not CAN_LOOK:
            self.due = self.limit
            return True
        before, seen = self._seen, process_state(self.pid)
        self._seen = seen
        if before is None or seen is None:
            return False
        state, cpu_s = seen
        if state in STOPPED_STATES or cpu_s - before[1] < MIN_PROGRESS_CPU_S:
            return False
        self.due = min(now + self.seconds, self.limit)
        return True


class Watchdog:
    """A thread that kills the engine process when an armed deadline passes.

        watchdog.arm(proc, Deadline(proc.pid, 3.0))
        ... write the request, block on the reply ...
        if watchdog.disarm(): the process was killed: it stopped answering

    One deadline at a time (the client asks one request at a time).
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._proc: subprocess.Popen | None = None
        self._deadline: Deadline | None = None
        self._fired = False
        self._closed = False
        self._thread: threading.Thread | None = None

    def arm(self, proc: subprocess.Popen, deadline: Deadline) -> None:
        """Kill `proc` unless disarm() comes before `deadline` passes."""
        with self._cond:
            if self._thread is None:
                self._closed = False
                self._thread = threading.Thread(
                    target=self._watch, name="engine-watchdog", daemon=True
                )
                self._thread.start()
            self._proc, self._deadline, self._fired = proc, deadline, False
            self._cond.notify()

    def disarm(self) -> bool:
        """Stop watching; return whether the deadline passed and the process was killed."""
        with self._cond:
            fired, self._fired = self._fired, False
            self._proc = self._deadline = None
            return fired

    def close(self) -> None:
        """End the thread (idempotent); a later arm() starts a new one."""
        with self._cond:
            self._closed = True
            self._proc = self._deadline = None
            self._cond.notify()
            thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _watch(self) -> None:
        looked_at = None
        with self._cond:
            while not self._closed:
                deadline = self._deadline
                if deadline is None:
                    self._cond.wait()
                    continue
                if deadline is not looked_at:  # a new request: note where the engine stands
                    deadline.look()
                    looked_at = deadline
                left = deadline.due - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                elif not deadline.renew():  # reads /proc under the lock: microseconds
                    self._fired = True
                    self._proc.kill()  # SIGKILL; TerminateProcess on Windows
                    self._proc = self._deadline = None
