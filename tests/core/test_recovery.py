import os

from writer_app.core.recovery import RecoverySession, find_recoverable, recovery_dir


def test_recovery_dir_honours_the_environment_override(tmp_path, monkeypatch):
    monkeypatch.setenv("WRITER_APP_RECOVERY_DIR", str(tmp_path / "rec"))
    assert recovery_dir() == tmp_path / "rec"


def test_a_crashed_session_is_found_and_a_clean_exit_leaves_nothing(tmp_path):
    crashed = RecoverySession(tmp_path)
    crashed.save("unsaved words", "/home/me/story.txt")
    clean = RecoverySession(tmp_path)
    clean.save("saved later", None)
    clean.clear()

    current = RecoverySession(tmp_path)
    current.save("this session", None)
    found = find_recoverable(tmp_path, exclude=current.path)
    assert [(r.text, r.source_path) for r in found] == [("unsaved words", "/home/me/story.txt")]
    found[0].discard()
    assert find_recoverable(tmp_path, exclude=current.path) == []


def test_corrupt_recovery_files_are_skipped(tmp_path):
    (tmp_path / f"session-{os.getpid()}-abc.json").write_text("{not json")
    assert find_recoverable(tmp_path) == []
    assert find_recoverable(tmp_path / "missing") == []
