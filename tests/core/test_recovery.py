import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from writer_app.core.recovery import RecoverySession, find_recoverable, recovery_dir

# Another app run: saves unsaved text to its recovery file, then waits to be killed.
SESSION_SCRIPT = """
import sys
from pathlib import Path
from writer_app.core.recovery import RecoverySession
session = RecoverySession(Path(sys.argv[1]))
session.save(sys.argv[2], "/home/me/story.txt")
print(session.path, flush=True)
sys.stdin.read()
"""


def start_session(folder: Path, text: str) -> tuple[subprocess.Popen, Path]:
    """Return a live app-like process holding a recovery file, and that file."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SESSION_SCRIPT, str(folder), text],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    return proc, Path(proc.stdout.readline().strip())


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)  # no clean exit: what a crash or a power cut leaves
    proc.wait(timeout=30)
    proc.stdin.close()
    proc.stdout.close()


def test_recovery_dir_honours_the_environment_override(tmp_path, monkeypatch):
    monkeypatch.setenv("WRITER_APP_RECOVERY_DIR", str(tmp_path / "rec"))
    assert recovery_dir() == tmp_path / "rec"


def test_a_crashed_session_is_found_and_a_clean_exit_leaves_nothing(tmp_path):
    crashed, _ = start_session(tmp_path, "unsaved words")
    kill(crashed)
    clean = RecoverySession(tmp_path)
    clean.save("saved later", None)
    clean.clear()
    clean.close()

    current = RecoverySession(tmp_path)
    current.save("this session", None)
    found = find_recoverable(tmp_path, exclude=current.path)
    assert [(r.text, r.source_path) for r in found] == [("unsaved words", "/home/me/story.txt")]
    found[0].discard()
    assert find_recoverable(tmp_path, exclude=current.path) == []
    current.clear()
    current.close()
    assert list(tmp_path.iterdir()) == []


def test_a_running_session_is_not_offered_until_its_process_dies(tmp_path):
    running, path = start_session(tmp_path, "still being written")
    try:
        assert path.exists()
        assert find_recoverable(tmp_path) == []  # another window's live backup, not a crash
    finally:
        kill(running)
    assert [r.text for r in find_recoverable(tmp_path)] == ["still being written"]


def test_a_crash_is_offered_after_a_reboot_gives_its_pid_to_a_live_process(tmp_path):
    # After a reboot the crashed session's PID is often some other live process.
    crashed, path = start_session(tmp_path, "written before the power cut")
    kill(crashed)
    path.rename(path.with_name(f"session-{os.getppid()}-{path.name.split('-')[2]}"))
    assert [r.text for r in find_recoverable(tmp_path)] == ["written before the power cut"]


def test_an_open_session_in_this_process_is_not_a_crash(tmp_path):
    other = RecoverySession(tmp_path)
    other.save("another window's text", None)
    assert find_recoverable(tmp_path) == []
    other.close()  # its lock gone, as with a dead process: the text is a crash's now
    assert [r.text for r in find_recoverable(tmp_path)] == ["another window's text"]


def test_the_recovery_file_is_private(tmp_path):
    session = RecoverySession(tmp_path)
    session.save("secret draft", None)
    assert session.path.stat().st_mode & 0o777 == 0o600
    session.close()


def test_a_recovery_file_of_the_older_all_json_format_is_still_offered(tmp_path):
    record = {"text": "old \u201cformat\u201d\nline", "source_path": None, "saved_at": 5.0}
    (tmp_path / "session-1-abcd1234.json").write_text(json.dumps(record))
    assert [r.text for r in find_recoverable(tmp_path)] == ["old \u201cformat\u201d\nline"]


def test_damaged_recovery_files_are_offered_with_what_can_be_read_and_never_deleted(tmp_path):
    hopeless = tmp_path / f"session-{os.getpid()}-abc.json"  # old format: all in the JSON
    hopeless.write_text("{not json")
    bad_header = tmp_path / f"session-{os.getpid()}-abd.recovery"
    bad_header.write_bytes(b"[1\nThe words after a broken header.")
    bad_byte = tmp_path / f"session-{os.getpid()}-abe.recovery"
    bad_byte.write_bytes(b'{"source_path": "/home/me/a.md", "saved_at": 1}\nCaf\xff au lait')
    found = {r.recovery_file.name: r for r in find_recoverable(tmp_path)}
    assert found[bad_header.name].text == "The words after a broken header."
    assert "header" in found[bad_header.name].damage
    assert found[bad_byte.name].text == "Caf\ufffd au lait"
    assert found[bad_byte.name].source_path == "/home/me/a.md"
    assert bad_header.exists() and bad_byte.exists()  # offered, not deleted
    assert not hopeless.exists()  # nothing to offer: moved aside, kept
    assert len(list(tmp_path.glob(hopeless.name + ".bad-*"))) == 1
    assert find_recoverable(tmp_path / "missing") == []


def test_a_date_out_of_range_in_a_header_is_replaced_by_the_files_own_time(tmp_path):
    for n, saved_at in enumerate(("1e300", "NaN", '"soon"', "-1e20")):
        file = tmp_path / f"session-{os.getpid()}-ab{n}.recovery"
        file.write_bytes(b'{"source_path": null, "saved_at": ' + saved_at.encode() + b"}\nText")
    found = find_recoverable(tmp_path)
    assert [r.text for r in found] == ["Text"] * 4
    for rec in found:
        time.localtime(rec.saved_at)  # what the offer shows: raised OverflowError for 1e300
        assert abs(rec.saved_at - rec.recovery_file.stat().st_mtime) < 1
