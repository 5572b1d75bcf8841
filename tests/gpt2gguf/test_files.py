"""atomic_write: private while written, then the old file's mode, owner and hard links."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gpt2gguf.files import atomic_write

# A save killed between writing and renaming: the data callable ends the process.
KILLED_SAVE = """
import os, sys
from gpt2gguf.files import atomic_write
os.umask(0o022)
def write_then_die(f):
    f.write(b"half of a secret diary")
    f.flush()
    os._exit(3)
atomic_write(sys.argv[1], write_then_die)
"""


def test_the_temp_file_is_private_until_the_data_is_on_disk(tmp_path):
    target = tmp_path / "diary.txt"
    done = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(target)], timeout=60)
    assert done.returncode == 3
    (temp,) = [p for p in tmp_path.iterdir()]
    assert temp.name.endswith(".tmp") and not target.exists()
    assert oct(temp.stat().st_mode & 0o777) == oct(0o600)


def test_final_modes_existing_file_kept_new_file_follows_the_umask(tmp_path):
    old = tmp_path / "old.txt"
    old.write_text("x")
    os.chmod(old, 0o640)
    atomic_write(old, b"new")
    assert oct(old.stat().st_mode & 0o777) == oct(0o640)
    mask = os.umask(0o027)
    try:
        atomic_write(tmp_path / "new.txt", b"new")
    finally:
        os.umask(mask)
    assert oct((tmp_path / "new.txt").stat().st_mode & 0o777) == oct(0o640)


def test_a_hard_linked_file_is_written_through_every_name(tmp_path):
    first = tmp_path / "chapter.md"
    first.write_text("old")
    second = tmp_path / "backup-name.md"
    os.link(first, second)
    atomic_write(first, b"new words")
    assert second.read_text() == "new words" and first.read_text() == "new words"
    assert os.path.samefile(first, second)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup-name.md", "chapter.md"]


def test_a_failed_write_through_hard_links_puts_the_old_bytes_back(tmp_path):
    first = tmp_path / "chapter.md"
    first.write_text("precious old text")
    os.link(first, tmp_path / "other.md")

    def fail(f):
        f.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        atomic_write(first, fail)
    assert (tmp_path / "other.md").read_text() == "precious old text"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chapter.md", "other.md"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_the_owner_and_group_are_kept(tmp_path):
    path = tmp_path / "theirs.txt"
    path.write_text("x")
    os.chown(path, 12345, 23456)
    atomic_write(path, b"y")
    assert (path.stat().st_uid, path.stat().st_gid) == (12345, 23456)
