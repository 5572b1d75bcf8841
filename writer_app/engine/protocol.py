"""The wire between the app and its engine process: messages, framing, the cancel flag.

The engine runs in a child process (see host.py for the child, client.py for
the app's side), so that a native crash in llama.cpp ends that process and
not the editor. The two talk over the child's stdin and stdout:

    app -> child   Request(seq, kind, args, kwargs, cancel_id)
    child -> app   Hello(...) once at start, then one Reply(seq, ...) per Request

Requests are answered one at a time, in order. A frame is a 4-byte
little-endian length and a UTF-8 JSON document. Every object in it that is
not plain JSON carries its type in a "$" key, a tag of MESSAGE_TYPES (the
dataclasses that may cross: Request, Reply, Hello, EngineConfig,
Suggestion...) or of the few value types (tuple, path, dict with other keys):

    {"$": "reply", "seq": 3, "value": {"$": "suggestion", "text": " flew", ...}, ...}

Decoding builds only those types, from their fields: an unknown tag, an
unknown field or bytes that are not JSON are a ProtocolError, and nothing in
a frame is ever executed (as a pickle could be). A newer request stops an
older one through the CancelFlag, not through the pipe: the child is busy
inside llama.cpp and reads no pipe then, but its abort callback reads the
flag between graph nodes.

Request kinds are rows of REQUESTS. An Engine method becomes callable from
the app by adding one row (and, for an argument or result of a new
dataclass, a row of MESSAGE_TYPES).
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import mmap
import numbers
import os
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, BinaryIO

from gpt2gguf.validate import GGUFInfo
from writer_app.engine.config import EngineConfig, RequestStats, Suggestion, SuggestionExtra
from writer_app.engine.errors import (
    EngineError,
    GenerationCancelled,
    ModelFileError,
    ModelLoadError,
)

PROTOCOL_VERSION = 2  # 2: typed JSON frames (1 was pickle)
HEADER = struct.Struct("<I")
MAX_FRAME_BYTES = 256 * 1024 * 1024  # a corrupt header must not make us allocate the moon
TAG = "$"  # the key that names a JSON object's type


@dataclass(frozen=True)
class RequestKind:
    """How the child answers one kind of request."""

    method: str | None  # the Engine method called; None: handled by the host itself
    cancellable: bool = False  # gets should_cancel=... reading the cancel flag
    needs_engine: bool = True  # answered with an error when no model is loaded
    # Which deadline the app gives the answer (watchdog.DEADLINE_FLOORS_S): "answer"
    # for what the writer waits on, "document" for the document's text (a long
    # novel takes a while to tokenize), "load" for what may load a model.
    deadline: str = "answer"


# kind -> how the child handles it. Host-level kinds ("load", "configure",
# "process_stats", "shutdown") are implemented in host.py.
REQUESTS: dict[str, RequestKind] = {
    "load": RequestKind(None, needs_engine=False, deadline="load"),
    # new EngineConfig: update, or reload when it must
    "configure": RequestKind(None, deadline="load"),
    "process_stats": RequestKind(None, needs_engine=False),
    "shutdown": RequestKind(None, needs_engine=False),
    "suggest": RequestKind("suggest", cancellable=True),
    "alternatives": RequestKind("alternatives", cancellable=True),
    "prefetch": RequestKind("prefetch", cancellable=True),
    "prompt_tokens": RequestKind("prompt_tokens"),
    "set_document": RequestKind("set_document", deadline="document"),
    "document_changed": RequestKind("document_changed", deadline="document"),
    # The project (issue 23): its files' paths, read and counted in the background,
    # and the notes' names for completion. Both return at once.
    "set_project": RequestKind("set_project", deadline="document"),
    "set_names": RequestKind("set_names", deadline="document"),
}

# Errors that cross the boundary keep their type (by name), so the app can
# tell "this file is not a model" from "a newer request won".
ERRORS: dict[str, type[EngineError]] = {
    cls.__name__: cls for cls in (EngineError, ModelFileError, ModelLoadError, GenerationCancelled)
}


class ProtocolError(EngineError):
    """A frame that is not a message of this protocol: bad JSON, an unknown type tag or
    field, an absurd length; or a value that has no place in a message."""


@dataclass
class Request:
    """One call into the child. `seq` pairs it with its Reply; `cancel_id` is the
    app's request id: the call is cancelled once the CancelFlag holds another value."""

    seq: int
    kind: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    cancel_id: int | None = None
    sent_at: float = 0.0  # time.perf_counter() in the app when sent (a system-wide clock)


@dataclass
class Reply:
    """The child's answer to Request `seq`: a value, or an error by type name and message."""

    seq: int
    value: Any = None
    error_type: str | None = None  # a key of ERRORS
    error: str = ""  # a message for people
    stats: RequestStats | None = None  # the engine's last_stats after this request
    received_at: float = 0.0  # time.perf_counter() in the child
    sent_at: float = 0.0

    def raise_error(self) -> None:
        """Raise the error this reply carries, as its own EngineError subclass (if any)."""
        if self.error_type is not None:
            raise ERRORS.get(self.error_type, EngineError)(self.error)


@dataclass
class Hello:
    """The child's first message: it is up, and what "automatic" means on this machine."""

    pid: int
    protocol: int
    # The values EngineConfig's None fields resolve to here (n_threads,
    # n_gpu_layers, use_extra_bufts), so the app can tell which safer
    # settings would change anything.
    defaults: dict = field(default_factory=dict)
    llama_cpp_version: str = ""


# tag -> the dataclasses a frame may hold. Decoding builds these and nothing else.
MESSAGE_TYPES: dict[str, type] = {
    "request": Request,
    "reply": Reply,
    "hello": Hello,
    "config": EngineConfig,
    "stats": RequestStats,
    "suggestion": Suggestion,
    "suggestion_extra": SuggestionExtra,
    "gguf_info": GGUFInfo,
}
_TAGS = {cls: tag for tag, cls in MESSAGE_TYPES.items()}
_FIELDS = {cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in MESSAGE_TYPES.values()}
_PLAIN = (str, int, float, bool, type(None))


def _encode(value: Any) -> Any:
    """Return `value` as plain JSON values, objects of other types tagged.

    Raises ProtocolError for a value of a type no message may hold.
    """
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is list:
        return [_encode(item) for item in value]
    if kind is dict:
        if TAG not in value and all(type(key) is str for key in value):
            return {key: _encode(item) for key, item in value.items()}
        return {TAG: "dict", "items": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if kind is tuple:
        return {TAG: "tuple", "items": [_encode(item) for item in value]}
    tag = _TAGS.get(kind)
    if tag is not None:
        encoded = {TAG: tag}
        for name in _FIELDS[kind]:
            encoded[name] = _encode(getattr(value, name))
        return encoded
    if isinstance(value, PurePath):
        return {TAG: "path", "value": str(value)}
    # numpy's scalars (a float32 probability, an int64 token id) become Python's.
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise ProtocolError(f"a {kind.__name__} cannot cross to the engine process")


# The value types a tag may name besides MESSAGE_TYPES: tag -> build from the object.
VALUE_TYPES: dict[str, Callable[[dict], Any]] = {
    "tuple": lambda obj: tuple(obj["items"]),
    "path": lambda obj: Path(obj["value"]),
    "dict": lambda obj: {key: value for key, value in obj["items"]},
}


def _decode_object(obj: dict) -> Any:
    # json.loads calls this for every object, innermost first.
    tag = obj.get(TAG)
    if tag is None:
        return obj
    cls = MESSAGE_TYPES.get(tag)
    try:
        if cls is not None:
            del obj[TAG]
            return cls(**obj)
        build = VALUE_TYPES.get(tag)
        if build is not None:
            return build(obj)
    except (TypeError, KeyError, ValueError) as exc:
        raise ProtocolError(f"a malformed {tag!r} in a message ({exc})") from None
    raise ProtocolError(f"a message of unknown type {tag!r}")


def pack(message: object) -> bytes:
    """Return the frame of `message`: length header and JSON. Raises ProtocolError."""
    payload = json.dumps(_encode(message), ensure_ascii=False, separators=(",", ":"))
    # surrogatepass: a lone surrogate from a pasted text crosses as it is, as with pickle.
    data = payload.encode("utf-8", "surrogatepass")
    if len(data) > MAX_FRAME_BYTES:
        raise ProtocolError(f"a message of {len(data)} bytes is too big to send")
    return HEADER.pack(len(data)) + data


def unpack(payload: bytes) -> object:
    """Return the message of a frame's payload. Raises ProtocolError if it is none."""
    try:
        text = payload.decode("utf-8", "surrogatepass")
        return json.loads(text, object_hook=_decode_object)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ProtocolError(f"a message that is not JSON ({exc})") from None


class ChannelClosed(EOFError):
    """The other end closed the pipe (or died) before a whole frame came."""


def write_message(stream: BinaryIO, message: object) -> None:
    """Write one framed message and flush. Raises ProtocolError for a message that cannot
    be encoded (nothing is written then), BrokenPipeError/OSError if the pipe is gone."""
    stream.write(pack(message))
    stream.flush()


def read_message(stream: BinaryIO) -> object:
    """Read one framed message. Raises ChannelClosed at end of stream or on a short frame,
    ProtocolError for a frame that is no message (a length over MAX_FRAME_BYTES is
    refused before anything is read or allocated for it)."""
    header = _read_exactly(stream, HEADER.size)
    (size,) = HEADER.unpack(header)
    if size > MAX_FRAME_BYTES:
        raise ProtocolError(f"a frame of {size} bytes: the stream is corrupt")
    return unpack(_read_exactly(stream, size))


def _read_exactly(stream: BinaryIO, n: int) -> bytes:
    data = stream.read(n)
    while data is not None and 0 < len(data) < n:  # raw streams may return less
        more = stream.read(n - len(data))
        if not more:
            break
        data += more
    if data is None or len(data) < n:
        raise ChannelClosed("the engine process closed the pipe")
    return data


class CancelFlag:
    """One int64 in a small memory-mapped file, shared by the app and its engine process.

    The app writes its newest request id; the child's should_cancel compares it
    with the id of the request it is running. An aligned 8-byte load or store is
    one instruction, so neither side ever sees half a value, and no lock is needed
    (llama.cpp polls it from its abort callback, where waiting is not allowed).

    `CancelFlag()` creates the file (the app; it deletes it in close());
    `CancelFlag.attach(path)` maps an existing one (the child).
    """

    SIZE = 8
    CLOSED = -1  # what get() returns after close(): no request has this id

    def __init__(self, path: str | None = None):
        self._owner = path is None
        if path is None:
            shm = "/dev/shm"  # memory-backed on Linux; elsewhere the temp folder does
            fd, path = tempfile.mkstemp(
                prefix="writer-cancel-", dir=shm if os.path.isdir(shm) else None
            )
            os.write(fd, b"\0" * self.SIZE)
        else:
            fd = os.open(path, os.O_RDWR)
        try:
            self._map = mmap.mmap(fd, self.SIZE)
        finally:
            os.close(fd)  # the mapping keeps the file
        self.path = path
        self._value = ctypes.c_int64.from_buffer(self._map)

    @classmethod
    def attach(cls, path: str) -> CancelFlag:
        """Map the flag the app created at `path`. Raises OSError if it is gone."""
        return cls(path)

    def get(self) -> int:
        """Return the id of the newest request (CLOSED once closed: every request is stale)."""
        value = self._value
        return value.value if value is not None else self.CLOSED

    def set(self, value: int) -> None:
        """Make `value` the newest request id: any request with another id is cancelled."""
        if self._value is not None:
            self._value.value = value

    def close(self) -> None:
        """Unmap the flag; the creator also deletes its file (idempotent)."""
        if self._map is None:
            return
        self._value = None  # the ctypes view pins the map's buffer
        self._map.close()
        self._map = None
        if self._owner:
            try:
                os.unlink(self.path)
            except OSError:
                pass

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
