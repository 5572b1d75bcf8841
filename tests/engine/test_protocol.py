"""The engine process's wire format: typed JSON frames, typed errors, the shared cancel flag."""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gpt2gguf.validate import GGUFInfo
from writer_app.engine import Engine, EngineError, ModelFileError
from writer_app.engine.client import describe_exit
from writer_app.engine.config import EngineConfig, RequestStats, Suggestion, SuggestionExtra
from writer_app.engine.protocol import (
    HEADER,
    MAX_FRAME_BYTES,
    MESSAGE_TYPES,
    REQUESTS,
    CancelFlag,
    ChannelClosed,
    Hello,
    ProtocolError,
    Reply,
    Request,
    pack,
    read_message,
    unpack,
    write_message,
)

# One of each type a frame may hold: a type added to MESSAGE_TYPES needs a row here.
SAMPLES = {
    "request": Request(3, "suggest", ("The dragon",), {"n": 2}, cancel_id=7, sent_at=1.5),
    "reply": Reply(3, value=[1, 2], error_type="ModelFileError", error="no", received_at=2.0),
    "hello": Hello(pid=42, protocol=2, defaults={"n_threads": 4}, llama_cpp_version="0.3.16"),
    "config": EngineConfig(model_path=Path("/m/model.gguf"), n_threads=1, use_extra_bufts=False),
    "stats": RequestStats(prompt_tokens_evaluated=5, generated_tokens=2, total_ms=1.25),
    "suggestion": Suggestion(" flew", 3, 1.0, 2.0, SuggestionExtra(stop="eos", confidence=0.5)),
    "suggestion_extra": SuggestionExtra(stop="stop_rule", healed="dra", cached=True),
    "gguf_info": GGUFInfo(
        path=Path("/m/model.gguf"),
        version=3,
        architecture="gpt2",
        name="Writer",
        metadata={"general.name": "Writer", "gpt2.context_length": 1024, "x.flag": True},
        n_tensors=148,
        n_ctx=1024,
        n_embd=768,
        n_layer=12,
        n_vocab=50257,
        file_type=7,
        size=1 << 30,
        tensor_types={"q8_0": 50},
        norm_eps=1e-5,
    ),
}


def frame(payload: bytes) -> io.BytesIO:
    return io.BytesIO(HEADER.pack(len(payload)) + payload)


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


def test_every_message_type_survives_the_wire_with_its_type_and_values():
    assert SAMPLES.keys() == MESSAGE_TYPES.keys()
    for tag, message in SAMPLES.items():
        got = unpack(pack(message)[HEADER.size :])
        assert type(got) is MESSAGE_TYPES[tag] and got == message, tag
    got = unpack(pack(SAMPLES["suggestion"])[HEADER.size :])
    assert got.extra == SAMPLES["suggestion"].extra  # Suggestion's == leaves extra out
    assert isinstance(got.extra, SuggestionExtra)


def test_values_keep_their_python_types_across_the_wire():
    value = {
        "tuple": (1, "a", None),
        "path": Path("/a/b.gguf"),
        "int keys": {1: "one", 2: "two"},
        "a tag key": {"$": "not a type"},
        "floats": [0.1, float("inf"), -0.0],
        "text": "Ça va? \u2014 \U0001f409 and a lone \ud800 surrogate",
        "nested": [{"stats": RequestStats(total_ms=2.0)}, ("x", (1, 2))],
    }
    assert unpack(pack(value)[HEADER.size :]) == value
    assert math.isnan(unpack(pack(float("nan"))[HEADER.size :]))
    # numpy's scalars arrive as Python's own numbers
    got = unpack(pack([np.float32(0.5), np.int64(7)])[HEADER.size :])
    assert got == [0.5, 7] and [type(x) for x in got] == [float, int]


def test_a_value_of_no_message_type_is_refused_before_anything_is_written():
    stream = io.BytesIO()
    with pytest.raises(ProtocolError, match="cannot cross"):
        write_message(stream, Request(1, "suggest", (object(),)))
    assert stream.getvalue() == b""


@pytest.mark.parametrize(
    "payload, words",
    [
        (b'{"$": "no_such_type", "x": 1}', "unknown type 'no_such_type'"),
        (b'{"$": "request", "seq": 1, "kind": "suggest", "evil": 1}', "malformed 'request'"),
        (b'{"$": "request"}', "malformed 'request'"),
        (b'{"seq": 1, "kind": ', "not JSON"),
        (b"\xff\xfe\x00", "not JSON"),
        (b"[" * 100_000, "not JSON"),  # nesting deeper than the parser's stack
    ],
)
def test_a_frame_that_is_no_message_is_a_clear_protocol_error(payload, words):
    with pytest.raises(ProtocolError, match=words):
        read_message(frame(payload))


def test_a_pickle_on_the_wire_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "ran"

    class Exploit:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    with pytest.raises(ProtocolError, match="not JSON"):
        read_message(frame(pickle.dumps(Exploit())))
    assert not marker.exists()


def test_an_absurd_frame_length_is_refused_before_reading_or_allocating_it():
    stream = io.BytesIO(HEADER.pack(MAX_FRAME_BYTES + 1) + b"{}")
    with pytest.raises(ProtocolError, match="corrupt"):
        read_message(stream)
    assert stream.tell() == HEADER.size  # not one byte of the claimed payload was asked for


def test_frames_are_json_a_person_can_read():
    data = pack(Request(1, "suggest", ("The dragon",), cancel_id=2))
    assert json.loads(data[HEADER.size :])["$"] == "request"


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
