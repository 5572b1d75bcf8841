"""The app's side of the engine process: start it, send it requests, notice when it dies.

    client = EngineClient()            # makes its own CancelFlag unless given one
    client.start()                     # spawns `python -m writer_app.engine.host`
    client.load(EngineConfig(...))
    client.flag.set(7)
    client.request("suggest", "The dragon", cancel_id=7)   # -> Suggestion | None

A client is used from one thread (the app's engine worker thread); only the
CancelFlag is written from another. When the child dies, whatever the client
is doing raises EngineCrashed, which says in words what ended it; the client
is then stopped and start() makes a new child.

Every request has a deadline (watchdog.py): a child that stops answering
(SIGSTOP, a machine swapping to a halt) is killed when it passes, and the
request raises EngineCrashed with the reason "stopped answering", so the app
restarts it as after a crash. A frame that is not a message (protocol.py)
does the same: a child that garbles its pipe is broken.

The child is a fresh interpreter started with subprocess (fork + exec at
once), never a fork of the app: a forked Qt process is not safe to use.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import writer_app
from writer_app.engine.config import EngineConfig, RequestStats, Suggestion
from writer_app.engine.errors import EngineError
from writer_app.engine.protocol import (
    PROTOCOL_VERSION,
    REQUESTS,
    CancelFlag,
    ChannelClosed,
    Hello,
    ProtocolError,
    Reply,
    Request,
    pack,
    read_message,
    write_message,
)
from writer_app.engine.watchdog import Deadline, RequestTimes, Watchdog

log = logging.getLogger(__name__)

REAP_TIMEOUT_S = 2.0  # a child that closed its pipe but lingers is killed after this
SHUTDOWN_TIMEOUT_S = 5.0
HUNG = "stopped answering"  # EngineCrashed.reason of a child killed at its deadline

# How a child ended, in words for the status bar, by signal name (POSIX)...
SIGNAL_REASONS = {
    "SIGILL": "illegal instruction",
    "SIGSEGV": "segmentation fault",
    "SIGBUS": "bus error",
    "SIGFPE": "arithmetic error",
    "SIGABRT": "aborted",
    "SIGKILL": "killed, perhaps for lack of memory",
    "SIGTERM": "terminated",
    "SIGTRAP": "trap",
    "SIGSYS": "bad system call",
}
# ...and by NTSTATUS exit code (Windows).
WINDOWS_EXIT_REASONS = {
    0xC0000005: "access violation",
    0xC000001D: "illegal instruction",
    0xC00000FD: "stack overflow",
    0xC0000409: "stack buffer overrun",
    0xC0000017: "out of memory",
}


def describe_exit(returncode: int | None) -> str:
    """Return how a process ended, in words: "illegal instruction", "exit status 3"..."""
    if returncode is None:
        return HUNG
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
        return SIGNAL_REASONS.get(name, name)
    if (returncode & 0xFFFFFFFF) in WINDOWS_EXIT_REASONS:
        return WINDOWS_EXIT_REASONS[returncode & 0xFFFFFFFF]
    return f"exit status {returncode}"


class EngineCrashed(EngineError):
    """The engine process died. str(err): "The suggestion engine stopped (segmentation fault)",
    or "The suggestion engine stopped answering" when it was killed at a deadline (`hung`).

    `reason` is the words in the brackets (default: describe_exit), `returncode`
    the child's exit status (negative: the signal), `during` the request kind it
    was answering ("start" before it said hello).
    """

    def __init__(self, returncode: int | None, during: str, reason: str | None = None):
        self.returncode = returncode
        self.reason = reason or describe_exit(returncode)
        self.during = during
        self.hung = self.reason == HUNG
        words = "answering" if self.hung else f"({self.reason})"
        super().__init__(f"The suggestion engine stopped {words}")


def _child_env() -> dict[str, str]:
    # The child imports the same writer_app as this process, installed or not.
    env = dict(os.environ)
    root = str(Path(writer_app.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


class EngineClient:
    """One engine process at a time, started on demand, answered one request at a time.

    `floors` replaces watchdog.DEADLINE_FLOORS_S (deadline kind -> shortest deadline, s).
    """

    def __init__(self, flag: CancelFlag | None = None, *, floors: dict[str, float] | None = None):
        self._owns_flag = flag is None
        self.flag = flag if flag is not None else CancelFlag()
        self.times = RequestTimes(floors)  # recent answer times: the deadlines
        self._watchdog = Watchdog()
        self._proc: subprocess.Popen | None = None
        self._seq = 0
        self.hello: Hello | None = None
        self.summary: dict | None = None  # the last load's summary; None: no model loaded
        self.last_stats: RequestStats | None = None  # the engine's, after the last request
        # Where the last request's time went, in ms: round_trip, child (handling),
        # to_child and to_app (the two pipe crossings) and boundary (round_trip - child).
        self.last_timing: dict[str, float] = {}

    @property
    def running(self) -> bool:
        """Whether a child is started (it may have died since; the next request tells)."""
        return self._proc is not None

    @property
    def loaded(self) -> bool:
        """Whether a child is running with a model loaded."""
        return self._proc is not None and self.summary is not None

    @property
    def pid(self) -> int | None:
        """The child's process id, or None."""
        proc = self._proc
        return proc.pid if proc is not None else None

    def start(self) -> Hello:
        """Start a child (stopping any old one) and return its Hello.

        Raises EngineCrashed if it dies, or says nothing for the load deadline, before
        saying hello.
        """
        self.close()
        # In the desktop bundle sys.executable is the app itself; its main()
        # runs the engine when --engine-host comes first (writer_app.ui.app).
        frozen = getattr(sys, "frozen", False)
        host = ["--engine-host"] if frozen else ["-m", "writer_app.engine.host"]
        cmd = [sys.executable, *host, "--cancel-file", self.flag.path]
        proc = self._proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=_child_env()
        )
        self._watchdog.arm(proc, Deadline(proc.pid, self.times.deadline_s("load")))
        try:
            hello = read_message(proc.stdout)
        except ChannelClosed:
            raise self._crashed("start", hung=self._watchdog.disarm()) from None
        except ProtocolError as err:
            self._watchdog.disarm()
            raise self._broken("start", err) from None
        if self._watchdog.disarm():
            raise self._crashed("start", hung=True)
        if not isinstance(hello, Hello) or hello.protocol != PROTOCOL_VERSION:
            self.kill()
            raise EngineError(f"the engine process spoke another protocol ({hello!r})")
        self.hello = hello
        return hello

    def load(self, config: EngineConfig) -> dict:
        """Load the model of `config` (starting a child if none runs); return the summary:
        model_name, backend, info, n_ctx, n_threads, n_gpu_layers, use_extra_bufts, cpu_variant.

        Raises ModelFileError / ModelLoadError like Engine(), EngineCrashed if the child dies.
        """
        if self._proc is None:
            self.start()
        self.summary = None
        self.summary = self.request("load", config)
        return self.summary

    def configure(self, config: EngineConfig) -> dict:
        """Apply new settings to the loaded engine (it reloads when it must); return the summary
        with "reloaded". Raises like load()."""
        try:
            self.summary = self.request("configure", config)
        except EngineCrashed:
            raise
        except EngineError:
            self.summary = None  # a failed reload leaves no model
            raise
        return self.summary

    def request(self, kind: str, *args, cancel_id: int | None = None, **kwargs) -> Any:
        """Send one request (a kind of protocol.REQUESTS) and return its value.

        With `cancel_id`, the request is cancelled (GenerationCancelled) once
        flag holds another value. Raises the child's EngineError subclasses,
        ProtocolError for arguments that cannot cross, or EngineCrashed when the
        child dies, passes its deadline (then killed: reason "stopped answering")
        or sends something that is not a Reply meanwhile.
        """
        proc = self._proc
        if proc is None:
            raise EngineError("the suggestion engine is not running")
        how = REQUESTS.get(kind)
        deadline_kind = how.deadline if how is not None else "answer"
        self._seq += 1
        request = Request(self._seq, kind, args, kwargs, cancel_id, sent_at=time.perf_counter())
        frame = pack(request)  # before arming: a value that cannot cross is no crash
        self._watchdog.arm(proc, Deadline(proc.pid, self.times.deadline_s(deadline_kind)))
        try:
            proc.stdin.write(frame)
            proc.stdin.flush()
            reply = read_message(proc.stdout)
        except (ChannelClosed, OSError):
            raise self._crashed(kind, hung=self._watchdog.disarm()) from None
        except ProtocolError as err:
            self._watchdog.disarm()
            raise self._broken(kind, err) from None
        got = time.perf_counter()
        if self._watchdog.disarm():  # answered, but the deadline had passed and killed it
            raise self._crashed(kind, hung=True)
        if not isinstance(reply, Reply) or reply.seq != request.seq:
            raise self._broken(kind, f"answered out of turn ({type(reply).__name__})")
        self.times.record(deadline_kind, got - request.sent_at)
        round_trip = (got - request.sent_at) * 1000
        child = (reply.sent_at - reply.received_at) * 1000
        # perf_counter is a system-wide monotonic clock (CLOCK_MONOTONIC on Linux),
        # so the stamps of the two processes compare; a crossing never takes < 0.
        self.last_timing = {
            "round_trip_ms": round_trip,
            "child_ms": child,
            "to_child_ms": max(0.0, (reply.received_at - request.sent_at) * 1000),
            "to_app_ms": max(0.0, (got - reply.sent_at) * 1000),
            "boundary_ms": max(0.0, round_trip - child),
        }
        self.last_stats = reply.stats
        reply.raise_error()
        return reply.value

    def _broken(self, during: str, what: object) -> EngineCrashed:
        """Kill a child that broke the protocol; return the EngineCrashed that says so."""
        log.warning("the engine process broke the protocol: %s", what)
        self.kill()
        return self._crashed(during, reason="it sent a message the app could not read")

    def _crashed(
        self, during: str, *, hung: bool = False, reason: str | None = None
    ) -> EngineCrashed:
        """Reap the dead (or dying) child; return the EngineCrashed that says how it ended
        (`hung`: killed at its deadline)."""
        proc, self._proc = self._proc, None
        self.summary = None
        returncode = None
        if proc is not None:
            try:
                returncode = proc.wait(timeout=REAP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                returncode = proc.wait()
            _close_pipes(proc)
        err = EngineCrashed(returncode, during, HUNG if hung else reason)
        log.warning("%s while answering %r", err, during)
        return err

    def kill(self) -> None:
        """Kill the child at once (may be called from another thread, e.g. at exit)."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()

    def close(self, timeout: float = SHUTDOWN_TIMEOUT_S) -> None:
        """Ask the child to free the model and exit; kill it after `timeout` s (idempotent)."""
        proc, self._proc = self._proc, None
        self.summary = None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                self._seq += 1
                write_message(proc.stdin, Request(self._seq, "shutdown"))
                proc.stdin.close()
                proc.wait(timeout=timeout)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()
        _close_pipes(proc)

    def dispose(self) -> None:
        """close(), end the watchdog, and delete the CancelFlag if this client made it."""
        self.close()
        self._watchdog.close()
        if self._owns_flag:
            self.flag.close()


def _close_pipes(proc: subprocess.Popen) -> None:
    for stream in (proc.stdin, proc.stdout):
        try:
            if stream is not None:
                stream.close()
        except OSError:
            pass


class RemoteEngine:
    """The Engine's face over an engine process, for code written against Engine.

    writer-bench --process child times suggestions through it, so the cost of
    the boundary is known. last_stats is the child's, with first_token_ms and
    total_ms as the caller sees them: plus the request's trip to the child and
    one message's trip back. Every request's boundary cost (round trip minus
    the child's own time, ms) is appended to boundary_ms.
    Raises like Engine, and EngineCrashed if the child dies.
    """

    def __init__(self, config: EngineConfig | None = None):
        self.config = config if config is not None else EngineConfig()
        self.client = EngineClient()
        self.boundary_ms: list[float] = []
        self.last_stats: RequestStats | None = None
        self._next_id = 0
        try:
            summary = self.client.load(self.config)
        except BaseException:
            self.client.dispose()
            raise
        self.info = summary["info"]
        self.model_name = summary["model_name"]
        self.backend = summary["backend"]
        self.n_threads = summary["n_threads"]
        self.n_ctx = summary["n_ctx"]

    @property
    def pid(self) -> int | None:
        """The engine process's id."""
        return self.client.pid

    def _call(self, kind: str, *args, cancellable: bool = False, **kwargs):
        cancel_id = None
        if cancellable:
            self._next_id += 1
            cancel_id = self._next_id
            self.client.flag.set(cancel_id)
        value = self.client.request(kind, *args, cancel_id=cancel_id, **kwargs)
        timing = self.client.last_timing
        self.boundary_ms.append(timing["boundary_ms"])
        stats = self.client.last_stats
        if stats is not None:
            stats = dataclasses.replace(
                stats,
                first_token_ms=stats.first_token_ms + timing["to_child_ms"] + timing["to_app_ms"],
                total_ms=timing["round_trip_ms"],
            )
        self.last_stats = stats
        return value

    def suggest(self, text_before_cursor: str) -> Suggestion | None:
        """Engine.suggest through the process (no streaming, no stop_when)."""
        return self._call("suggest", text_before_cursor, cancellable=True)

    def alternatives(self, text_before_cursor: str, n: int | None = None) -> list[Suggestion]:
        """Engine.alternatives through the process."""
        return self._call("alternatives", text_before_cursor, n, cancellable=True)

    def prefetch(self, text_before_cursor: str) -> None:
        """Engine.prefetch through the process."""
        self._call("prefetch", text_before_cursor, cancellable=True)

    def prompt_tokens(self, text_before_cursor: str) -> list[int]:
        """Engine.prompt_tokens through the process."""
        return self._call("prompt_tokens", text_before_cursor)

    def process_rss_mb(self) -> float:
        """Return the engine process's resident memory in MB."""
        return self.client.request("process_stats")["rss_mb"]

    def close(self) -> None:
        """Stop the engine process (idempotent)."""
        self.client.dispose()

    def __enter__(self) -> RemoteEngine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
