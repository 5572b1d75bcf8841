"""The engine in its own process: same answers as in-process, typed errors, crashes in
words, a stopped engine killed at its deadline, a garbled pipe treated as a crash, and a
newer request stopping an older one across the boundary. Real processes."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.fixtures_text import TRAIN_TEXT
from writer_app.engine import Engine, EngineConfig, GenerationCancelled, ModelFileError
from writer_app.engine.client import EngineClient, EngineCrashed, RemoteEngine, _child_env
from writer_app.engine.host import EXIT_PROTOCOL_ERROR, TEST_CRASH_ENV
from writer_app.engine.protocol import HEADER, CancelFlag, Hello, read_message

# Short deadlines, so a stopped engine is noticed in a fraction of a second here.
TEST_FLOORS = {"answer": 0.3, "document": 0.3, "load": 60.0}
GIVE_UP_S = 60  # the request has not come back by then: nothing noticed the stop


@pytest.fixture
def client():
    c = EngineClient()
    yield c
    c.dispose()


def test_a_suggestion_through_the_process_equals_the_in_process_one(trained_gguf):
    config = EngineConfig(model_path=trained_gguf, n_threads=1)
    with Engine(config) as local, RemoteEngine(config) as remote:
        assert remote.model_name == local.model_name and remote.backend == local.backend
        for text in ("The dragon", TRAIN_TEXT[:80]):
            here, there = local.suggest(text), remote.suggest(text)
            assert (there.text if there else None) == (here.text if here else None)
        assert remote.prompt_tokens("The dragon") == local.prompt_tokens("The dragon")
        assert remote.last_stats.total_ms > 0 and len(remote.boundary_ms) == 3
        assert remote.process_rss_mb() > 0


def test_a_load_error_crosses_with_its_type_and_the_process_keeps_serving(
    client, trained_gguf, tmp_path
):
    with pytest.raises(ModelFileError):
        client.load(EngineConfig(model_path=tmp_path / "missing.gguf"))
    assert not client.loaded and client.running
    summary = client.load(EngineConfig(model_path=trained_gguf, n_threads=1))
    assert summary["model_name"] and client.loaded


def test_configure_reloads_only_when_the_config_says_so(client, trained_gguf):
    config = EngineConfig(model_path=trained_gguf, n_threads=1)
    client.load(config)
    assert (
        client.configure(EngineConfig(model_path=trained_gguf, n_threads=1, max_words=3))[
            "reloaded"
        ]
        is False
    )
    assert (
        client.configure(EngineConfig(model_path=trained_gguf, n_threads=1, n_ctx=128))["reloaded"]
        is True
    )


def test_an_unknown_request_is_an_error_not_a_crash(client, trained_gguf):
    client.load(EngineConfig(model_path=trained_gguf, n_threads=1))
    with pytest.raises(Exception, match="does not know"):
        client.request("no_such_kind")
    assert client.request("suggest", "The dragon") is not None


@pytest.mark.parametrize(
    "sig, words", [(signal.SIGKILL, "killed"), (signal.SIGSEGV, "segmentation fault")]
)
def test_a_dead_engine_is_reported_in_words_and_a_new_one_starts(client, trained_gguf, sig, words):
    config = EngineConfig(model_path=trained_gguf, n_threads=1)
    client.load(config)
    os.kill(client.pid, sig)
    with pytest.raises(EngineCrashed, match=words) as crash:
        client.request("suggest", "The dragon")
    assert crash.value.returncode == -sig and not client.running
    client.load(config)
    assert client.request("suggest", "The dragon") is not None


def test_the_test_switch_aborts_the_engine_at_load(client, trained_gguf, monkeypatch):
    monkeypatch.setenv(TEST_CRASH_ENV, "load")
    with pytest.raises(EngineCrashed, match="aborted") as crash:
        client.load(EngineConfig(model_path=trained_gguf, n_threads=1))
    assert crash.value.during == "load"


def test_a_newer_request_aborts_a_long_prompt_evaluation_across_the_boundary(
    client, slow_gguf, capsys
):
    client.load(EngineConfig(model_path=slow_gguf, n_threads=1))
    # About 300 tokens each, and no common prefix: each is a long, uncached evaluation.
    first = " ".join(f"word{i}" for i in range(150))
    second = " ".join(f"thing{i}" for i in range(150))

    t0 = time.perf_counter()
    client.flag.set(1)
    client.request("suggest", first, cancel_id=1)
    full_ms = (time.perf_counter() - t0) * 1000

    # The same kind of request again (another text: nothing cached), superseded
    # after a fifth of the time it takes, by a newer id in the flag.
    outcome = {}

    def run():
        try:
            client.request("suggest", second, cancel_id=2)
            outcome["result"] = "finished"
        except GenerationCancelled:
            outcome["result"] = "cancelled"
        outcome["at"] = time.perf_counter()

    client.flag.set(2)
    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(full_ms / 5000)
    cancelled_at = time.perf_counter()
    client.flag.set(3)
    thread.join(timeout=120)
    abort_ms = (outcome["at"] - cancelled_at) * 1000
    with capsys.disabled():
        print(f"\nfull request {full_ms:.0f} ms; aborted {abort_ms:.1f} ms after the newer id")
    assert outcome["result"] == "cancelled"
    assert abort_ms < full_ms
    client.flag.set(4)  # the engine still answers after an abort
    client.request("suggest", "The dragon", cancel_id=4)
    assert client.last_stats.prompt_tokens_evaluated > 0


def request_in_thread(client, *args, **kwargs) -> dict:
    """Run client.request in a thread; return what it gave (or raised) within GIVE_UP_S."""
    outcome = {}

    def run():
        try:
            outcome["value"] = client.request(*args, **kwargs)
        except BaseException as err:  # noqa: BLE001 - handed to the test
            outcome["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(GIVE_UP_S)
    return outcome


@pytest.mark.parametrize(
    "when, model", [("before the request", "trained_gguf"), ("during the request", "slow_gguf")]
)
def test_a_stopped_engine_is_killed_at_its_deadline_and_a_new_one_starts(request, when, model):
    client = EngineClient(floors=TEST_FLOORS)
    # slow_gguf: the long prompt takes it a few hundred ms, so the stop lands inside.
    config = EngineConfig(model_path=request.getfixturevalue(model), n_threads=1)
    try:
        client.load(config)
        client.request("suggest", "The dragon")
        pid = client.pid
        if when == "before the request":
            os.kill(pid, signal.SIGSTOP)
        else:  # the child is stopped while it works on the long prompt
            threading.Timer(0.02, os.kill, (pid, signal.SIGSTOP)).start()
        outcome = request_in_thread(client, "suggest", TRAIN_TEXT[:600])
        if "error" not in outcome and "value" not in outcome:
            os.kill(pid, signal.SIGKILL)  # let the blocked request end with the test
        crash = outcome.get("error")
        if when == "during the request" and crash is None:
            pytest.skip("the engine answered before the stop took effect")
        assert isinstance(crash, EngineCrashed), outcome
        assert crash.hung and crash.reason == "stopped answering"
        assert str(crash) == "The suggestion engine stopped answering"
        assert crash.during == "suggest" and crash.returncode == -signal.SIGKILL
        assert not client.running
        client.load(config)
        client.request("suggest", "The dragon")  # a new engine answers
        assert client.last_stats.prompt_tokens_evaluated > 0
    finally:
        client.dispose()


def test_an_engine_stopped_before_it_says_hello_is_killed_at_the_load_deadline(monkeypatch):
    monkeypatch.setenv(TEST_CRASH_ENV, "stop-at-start")
    client = EngineClient(floors={**TEST_FLOORS, "load": 0.5})
    try:
        with pytest.raises(EngineCrashed, match="stopped answering") as crash:
            client.start()
        assert crash.value.during == "start" and not client.running
    finally:
        client.dispose()


def test_a_reply_that_is_no_message_is_treated_as_a_broken_engine(
    client, trained_gguf, monkeypatch
):
    monkeypatch.setenv(TEST_CRASH_ENV, "garbled-reply")
    config = EngineConfig(model_path=trained_gguf, n_threads=1)
    client.load(config)
    with pytest.raises(EngineCrashed, match="could not read") as crash:
        client.request("suggest", "The dragon")
    assert crash.value.during == "suggest" and not client.running
    monkeypatch.delenv(TEST_CRASH_ENV)
    client.load(config)  # a new engine process
    assert client.request("suggest", "The dragon") is not None


def test_the_engine_process_runs_nothing_from_a_frame_that_is_no_request(tmp_path):
    marker = tmp_path / "ran"

    class Exploit:  # what a pickle could make the engine process do
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    flag = CancelFlag()
    proc = subprocess.Popen(
        [sys.executable, "-m", "writer_app.engine.host", "--cancel-file", flag.path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=_child_env(),
    )
    try:
        assert isinstance(read_message(proc.stdout), Hello)
        payload = pickle.dumps(Exploit())
        proc.stdin.write(HEADER.pack(len(payload)) + payload)
        proc.stdin.flush()
        assert proc.wait(timeout=60) == EXIT_PROTOCOL_ERROR
        assert proc.stdout.read() == b""  # no answer
        assert not marker.exists()  # and nothing run
    finally:
        proc.kill()
        proc.wait()
        flag.close()
