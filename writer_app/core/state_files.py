"""The files the app reads at start, behind one guard: none of them can stop the app.

Statistics, recovery copies, settings and model cards are the app's own
files, but a crash, a full disk, another version or a hand edit can leave
any of them damaged, and a damaged one used to stop the app at launch
(a RecursionError from a deeply nested JSON, an OverflowError from a date
in the year 10^300). So every one is read through `read_state`: a file that
does not parse is moved aside as NAME.bad-YYYYmmdd-HHMMSS (kept, never
deleted: it may hold something the writer wants), the caller carries on
with its defaults, and a notice for the writer is kept until the window
shows it (`take_notices`), once.

Qt-free: the window asks for the notices; nothing here reaches up to it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
BAD_SUFFIX = ".bad-"  # NAME.bad-20261203-141500
_notices: list[str] = []


def read_state(path: str | os.PathLike, parse: Callable[[bytes], T], what: str) -> T | None:
    """Return `parse(bytes of path)`, or None when the file is missing or does not parse.

    `what` names the file for the writer ("the suggestion statistics"). Any
    exception of `parse` (a ValueError, but also a RecursionError or an
    OverflowError) means damage: the file is moved aside (see move_aside) and
    a notice is kept. An unreadable file (no permission, I/O error) gives a
    notice too. Never raises.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        tell(
            f"Writer could not read {what} ({path}: {err.strerror or err}); it started without it."
        )
        return None
    try:
        return parse(data)
    except Exception as err:  # noqa: BLE001 (any parse failure: the app must still start)
        log.warning("%s (%s) is damaged: %r", what, path, err)
        moved = move_aside(path)
        where = f"it was kept as {moved.name}" if moved else "it could not be moved aside"
        tell(
            f"{what[:1].upper()}{what[1:]} ({path}) could not be read ({_why(err)}), so Writer "
            f"started without it; {where}."
        )
        return None


def move_aside(path: str | os.PathLike, now: float | None = None) -> Path | None:
    """Rename a damaged file to NAME.bad-YYYYmmdd-HHMMSS beside it; return the new path,
    or None when it could not be renamed (then it is left as it is)."""
    path = Path(path)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    target = path.with_name(f"{path.name}{BAD_SUFFIX}{stamp}")
    n = 2
    while target.exists():
        target = path.with_name(f"{path.name}{BAD_SUFFIX}{stamp}-{n}")
        n += 1
    try:
        os.replace(path, target)
    except OSError as err:
        log.warning("could not move %s aside: %s", path, err)
        return None
    return target


def tell(notice: str) -> None:
    """Keep `notice` for the writer until the window shows it (the same one only once)."""
    if notice not in _notices:
        _notices.append(notice)


def take_notices() -> list[str]:
    """Return the notices not yet shown, and forget them."""
    taken = _notices[:]
    _notices.clear()
    return taken


def _why(err: BaseException) -> str:
    # RecursionError's own words ("maximum recursion depth exceeded") mean nothing to a writer.
    words = {
        RecursionError: "it is nested too deeply",
        OverflowError: "a number in it is out of range",
        UnicodeDecodeError: "it is not UTF-8",
    }
    for kind, text in words.items():
        if isinstance(err, kind):
            return text
    return str(err) or type(err).__name__
