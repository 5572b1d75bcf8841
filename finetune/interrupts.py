"""SIGTERM handled as Ctrl+C, so that a stopped command cleans up after itself.

The app's Cancel sends SIGTERM. Python's default for it ends the process at
once, skipping every `finally`: an export in progress would leave its partial
file behind. As KeyboardInterrupt it unwinds like Ctrl+C, and the CLI exits
with ExitCode.INTERRUPTED. (The training loop installs its own handler inside
this one, which saves a checkpoint before stopping.)
"""

from __future__ import annotations

import contextlib
import signal
import threading


@contextlib.contextmanager
def terminate_as_interrupt():
    """Inside the block, SIGTERM raises KeyboardInterrupt (main thread only: elsewhere
    a handler cannot be set, and the block runs unchanged)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
