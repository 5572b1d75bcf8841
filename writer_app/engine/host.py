"""The engine process: `python -m writer_app.engine.host --cancel-file PATH`.

The app starts this as a child (client.py) so that llama.cpp's native code,
which can die of SIGILL, SIGSEGV, an abort or the OOM killer, never takes the
editor with it. It reads Requests on stdin and writes a Hello, then one Reply
per Request, on stdout (protocol.py). It imports the engine, numpy and
llama_cpp, and never Qt or torch: it must start fast.

Its stdout is the protocol's alone: fd 1 is pointed at stderr at start, so
whatever native code prints cannot corrupt a frame.
"""

from __future__ import annotations

import argparse
import faulthandler
import logging
import os
import signal
import sys
import time

from gpt2gguf.cpu import default_use_extra_bufts, physical_cores
from gpt2gguf.llama import cpu_variant, default_gpu_layers, llama_cpp_version
from writer_app.engine import vecmath
from writer_app.engine.config import EngineConfig, needs_reload
from writer_app.engine.engine import Engine
from writer_app.engine.errors import EngineError, GenerationCancelled
from writer_app.engine.protocol import (
    HEADER,
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

log = logging.getLogger("writer_app.engine.host")

ENGINE_NICE = 2  # how much lower than the editor the model computes (nice steps)
EXIT_PROTOCOL_ERROR = 2  # the app sent a frame that is no Request: nothing is run

# A test-only switch (environment variable): make the child crash as a real
# native fault would, so the app's recovery is tested against real processes.
TEST_CRASH_ENV = "WRITER_ENGINE_TEST_CRASH"
TEST_CRASHES = {
    "load": "abort while loading any model",
    "suggest-with-extra-bufts": "SIGILL at a suggestion while CPU extra buffer types are on (as AMX)",
    "garbled-reply": "answer a suggestion with a frame that is not JSON",
    "stop-at-start": "stop (SIGSTOP) before saying hello, as a hung engine would",
}
GARBLED_FRAME = HEADER.pack(9) + b"not JSON!"


def rss_mb() -> float:
    """Return this process's resident memory in MB (current on Linux, else peak)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def machine_defaults() -> dict:
    """Return what EngineConfig's automatic (None) loading settings mean on this machine."""
    return {
        "n_threads": physical_cores(),
        "n_gpu_layers": default_gpu_layers(),
        "use_extra_bufts": default_use_extra_bufts(),
    }


class Host:
    """Answers Requests with one Engine. Single-threaded: one request at a time."""

    def __init__(self, cancel: CancelFlag):
        self.cancel = cancel
        self.engine: Engine | None = None
        self.defaults = machine_defaults()
        self.test_crash = os.environ.get(TEST_CRASH_ENV, "")

    def handle(self, request: Request) -> Reply:
        """Run one request and return its Reply (errors included: this never raises)."""
        reply = Reply(seq=request.seq, received_at=time.perf_counter())
        kind = REQUESTS.get(request.kind)
        try:
            if kind is None:
                raise EngineError(f"the engine does not know the request {request.kind!r}")
            if kind.needs_engine and self.engine is None:
                raise EngineError("no model is loaded")
            kwargs = dict(request.kwargs)
            if kind.cancellable and request.cancel_id is not None:
                kwargs["should_cancel"] = self._should_cancel(request.cancel_id)
                if kwargs["should_cancel"]():
                    raise GenerationCancelled("a newer request superseded this one")
            if kind.method is None:
                reply.value = getattr(self, "_" + request.kind)(*request.args, **kwargs)
            else:
                self._maybe_test_crash(request.kind)
                reply.value = getattr(self.engine, kind.method)(*request.args, **kwargs)
        except EngineError as err:
            reply.error_type, reply.error = type(err).__name__, str(err)
        except Exception as err:  # a bug: say what, keep serving
            log.exception("request %s failed", request.kind)
            reply.error_type = "EngineError"
            reply.error = f"the engine failed ({type(err).__name__}: {err})"
        if self.engine is not None:
            reply.stats = self.engine.last_stats
        reply.sent_at = time.perf_counter()
        return reply

    def frame(self, request: Request, reply: Reply) -> bytes:
        """Return the frame that answers `request` with `reply`: an error reply instead
        when the answer holds a value no message may (a bug: the app says so)."""
        if self.test_crash == "garbled-reply" and request.kind == "suggest":
            return GARBLED_FRAME
        try:
            return pack(reply)
        except ProtocolError as err:
            log.error("request %s: %s", request.kind, err)
            return pack(Reply(reply.seq, error_type="EngineError", error=str(err)))

    def _should_cancel(self, cancel_id: int):
        flag = self.cancel
        return lambda: flag.get() != cancel_id

    # ----- host-level requests ----------------------------------------------------
    def _load(self, config: EngineConfig) -> dict:
        self._close_engine()
        if self.test_crash == "load":
            os.abort()
        self.engine = Engine(config)
        return self._summary(reloaded=True)

    def _configure(self, config: EngineConfig) -> dict:
        reloaded = needs_reload(self.engine.config, config)
        try:
            self.engine.update_config(config)
        except Exception:
            self.engine = None  # a failed reload leaves the engine closed
            raise
        return self._summary(reloaded=reloaded)

    def _process_stats(self) -> dict:
        return {"pid": os.getpid(), "rss_mb": rss_mb()}

    def _shutdown(self) -> None:
        self._close_engine()

    def _close_engine(self) -> None:
        engine, self.engine = self.engine, None
        if engine is not None:
            engine.close()

    def _effective(self, name: str):
        value = getattr(self.engine.config, name)
        return self.defaults[name] if value is None else value

    def _summary(self, *, reloaded: bool) -> dict:
        engine = self.engine
        return {
            "model_name": engine.model_name,
            "backend": engine.backend,
            # Which CPU build of llama.cpp this process picked (the portable build
            # picks at run time): only this process can say (About the Model, --self-test).
            "cpu_variant": cpu_variant(),
            # Where the blend's softmax takes its exp pass: "ggml" or "numpy" (vecmath.py).
            "softmax_pass": vecmath.backend(),
            "info": engine.info,
            "n_ctx": engine.n_ctx,
            "n_threads": engine.n_threads,
            "n_gpu_layers": self._effective("n_gpu_layers"),
            "use_extra_bufts": self._effective("use_extra_bufts"),
            "reloaded": reloaded,
        }

    def _maybe_test_crash(self, kind: str) -> None:
        if (
            self.test_crash == "suggest-with-extra-bufts"
            and kind == "suggest"
            and self._effective("use_extra_bufts")
        ):
            os.kill(os.getpid(), signal.SIGILL)


def _lower_priority() -> None:
    # Before llama.cpp starts its threads, which inherit it (Linux keeps nice per thread).
    try:
        os.nice(ENGINE_NICE)
    except (AttributeError, OSError) as err:
        log.info("could not lower the engine's priority: %s", err)


def serve(cancel_file: str) -> int:
    """Serve requests until stdin closes or a shutdown request; return the exit status."""
    proto_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    proto_in = os.fdopen(os.dup(sys.stdin.fileno()), "rb")
    _lower_priority()
    host = Host(CancelFlag.attach(cancel_file))
    if host.test_crash == "stop-at-start":
        os.kill(os.getpid(), signal.SIGSTOP)
    write_message(
        proto_out,
        Hello(
            pid=os.getpid(),
            protocol=PROTOCOL_VERSION,
            defaults=host.defaults,
            llama_cpp_version=llama_cpp_version(),
        ),
    )
    while True:
        try:
            request = read_message(proto_in)
        except ChannelClosed:
            return 0  # the app went away
        except ProtocolError as err:
            log.error("the app sent a frame that is not a request: %s", err)
            return EXIT_PROTOCOL_ERROR
        if not isinstance(request, Request):
            log.error("the app sent a %s, not a request", type(request).__name__)
            return EXIT_PROTOCOL_ERROR
        proto_out.write(host.frame(request, host.handle(request)))
        proto_out.flush()
        if request.kind == "shutdown":
            return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the engine process."""
    parser = argparse.ArgumentParser(prog="writer_app.engine.host", description=__doc__)
    parser.add_argument("--cancel-file", required=True, help="the app's CancelFlag file")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format=f"engine[{os.getpid()}] %(levelname)s %(name)s: %(message)s"
    )
    faulthandler.enable()  # a native crash leaves a Python traceback on stderr
    return serve(args.cancel_file)


if __name__ == "__main__":
    sys.exit(main())
