"""The engine process's wire format: framing, typed errors, the shared cancel flag."""

from __future__ import annotations

import io
import signal
import subprocess
import sys

import pytest

from writer_app.engine import Engine, EngineError, ModelFileError
from writer_app.engine.client import describe_exit
from writer_app.engine.config import EngineConfig, RequestStats, Suggestion, SuggestionExtra
from writer_app.engine.protocol import (
    HEADER,
    MAX_FRAME_BYTES,
    REQUESTS,
    CancelFlag,
    ChannelClosed,
    Reply,
    Request,
    read_message,
    write_message,
)


def test_messages_survive_the_framing_in_order():
    stream = io.BytesIO()
    request = Request(3, "suggest", ("The dragon",), {}, cancel_id=7)
    suggestion = Suggestion(text=" flew", extra=SuggestionExtra(stop="eos", confidence=0.5))
    reply = Reply(3, value=suggestion, stats=RequestStats(generated_tokens=2, total_ms=1.0))
    config = EngineConfig(n_threads=1, use_extra_bufts=False)
    for message in (request, reply, config):
        write_message(stream, message)
    stream.seek(0)
    assert read_message(stream) == request
    got = read_message(stream)
    assert got == reply
    assert got.value.extra == suggestion.extra  # Suggestion's == leaves extra out
    assert read_message(stream) == config


def test_an_empty_or_cut_stream_is_a_closed_channel():
    with pytest.raises(ChannelClosed):
        read_message(io.BytesIO(b""))
    stream = io.BytesIO()
    write_message(stream, Request(1, "suggest", ("x" * 100,)))
    with pytest.raises(ChannelClosed):
        read_message(io.BytesIO(stream.getvalue()[:-10]))


def test_an_absurd_frame_length_is_refused_before_reading_it():
    with pytest.raises(ChannelClosed, match="corrupt"):
        read_message(io.BytesIO(HEADER.pack(MAX_FRAME_BYTES + 1)))


def test_errors_cross_the_boundary_with_their_type_and_words():
    with pytest.raises(ModelFileError, match="not a GPT-2"):
        Reply(1, error_type="ModelFileError", error="m.gguf is not a GPT-2 model").raise_error()
    with pytest.raises(EngineError, match="odd"):
        Reply(1, error_type="SomethingNew", error="odd").raise_error()
    Reply(1, value=None).raise_error()  # no error: nothing raised


def test_every_request_kind_names_an_engine_method_or_the_host():
    for kind, how in REQUESTS.items():
        if how.method is not None:
            assert callable(getattr(Engine, how.method, None)), kind


def test_the_cancel_flag_is_shared_with_another_process():
    flag = CancelFlag()
    try:
        flag.set(41)
        reader = (
            "import sys; from writer_app.engine.protocol import CancelFlag;"
            "f = CancelFlag.attach(sys.argv[1]); print(f.get()); f.set(42)"
        )
        out = subprocess.run(
            [sys.executable, "-c", reader, flag.path],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert out.stdout.strip() == "41"
        assert flag.get() == 42  # and the child's write is seen here
    finally:
        flag.close()


def test_a_closed_flag_makes_every_request_stale_and_deletes_its_file(tmp_path):
    flag = CancelFlag()
    path = flag.path
    flag.set(5)
    flag.close()
    assert flag.get() == CancelFlag.CLOSED
    flag.set(6)  # ignored, no crash
    with pytest.raises(OSError):
        CancelFlag.attach(path)


@pytest.mark.parametrize(
    "returncode, words",
    [
        (-signal.SIGILL, "illegal instruction"),
        (-signal.SIGSEGV, "segmentation fault"),
        (-signal.SIGABRT, "aborted"),
        (-signal.SIGKILL, "killed, perhaps for lack of memory"),
        (3, "exit status 3"),
        (0xC0000005, "access violation"),
        (None, "stopped answering"),
    ],
)
def test_how_a_process_ended_is_said_in_words(returncode, words):
    assert describe_exit(returncode) == words


def test_the_engine_process_imports_neither_qt_nor_torch():
    probe = (
        "import sys, writer_app.engine.host;"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'PySide6', 'torch', 'transformers'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"
