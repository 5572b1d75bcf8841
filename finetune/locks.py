"""One training run per output folder: an advisory lock on OUT/.lock.

Two runs into one folder would interleave metrics.jsonl, overwrite each
other's checkpoint and trip over each other's temporary files (which reads as
a puzzling "permission denied" or a damaged checkpoint). So a run holds
`fcntl.flock` on OUT/.lock for its whole life, with its pid written inside
for the message the second run prints. The kernel drops the lock when the
process ends however it ends (even kill -9), so a lock file left by a dead
run is simply taken by the next one. The file itself stays: unlinking a lock
file races with a third run opening it.
"""

from __future__ import annotations

import os
from pathlib import Path

from finetune.errors import FinetuneError, RunLockedError

try:
    import fcntl
except ImportError:  # Windows: no flock; runs there are not guarded
    fcntl = None

LOCK_FILE = ".lock"


def pid_alive(pid: int) -> bool:
    """Return whether a process with this id exists (on this machine)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    except OSError:
        return False
    return True


class OutputLock:
    """Holds OUT/.lock while the `with` block runs.

    Raises RunLockedError on entry when another process holds it, and
    FinetuneError when the folder cannot be made or written.
    """

    def __init__(self, out: Path):
        self.out = Path(out)
        self.path = self.out / LOCK_FILE
        self._fd: int | None = None

    def __enter__(self) -> OutputLock:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise FinetuneError(
                f"cannot write to the output dir {self.out}: {exc.strerror or exc}"
            ) from exc
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_pid(fd)
                os.close(fd)
                who = f" (pid {holder})" if holder else ""
                raise RunLockedError(
                    f"another training run{who} is using {self.out}; wait for it to end, "
                    "or give another --out"
                ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)  # no pid of a finished run left to mislead
            os.close(self._fd)  # closing the only descriptor drops the flock
            self._fd = None


def _read_pid(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).decode().strip() or 0) or None
    except (OSError, ValueError):
        return None
