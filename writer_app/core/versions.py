"""Earlier versions of the writer's files, kept by the app: File → Earlier Versions….

Before a save replaces a file, the bytes it replaces are copied here, so a
paragraph deleted and saved over can still be had back after the editor's
undo history is gone (a restart, another chapter, days later). Nothing is
written beside the writer's files: the copies live in the app's private data
folder (0600 files in 0700 folders, core/paths.py), one folder per file,
named by a hash of its path, with a `source` file that says which it is.

    <data dir>/versions/<hash>/source                      the file's path
    <data dir>/versions/<hash>/20261203-221502-123456.txt  its bytes before that save

Which are kept (`prune`): the newest KEEP_RECENT, and of the older ones the
newest of each day they do not cover, at most MAX_VERSIONS in all. A file
over MAX_FILE_BYTES is not copied: a whole novel in one file is about 1 MB,
and the cap keeps one file's versions under 500 MB. A save never waits on
this: a version that cannot be written is said, and the save goes on.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from writer_app.core.paths import data_dir, private_file
from writer_app.core.text_io import TextFile, decode_text

VERSIONS_DIR = "versions"
SOURCE_FILE = "source"
KEEP_RECENT = 10  # every one of the newest saves
MAX_VERSIONS = 100  # in all, per file: beyond the recent ones, one per day
MAX_FILE_BYTES = 5_000_000  # a whole novel in one file is about 1 MB
STAMP_FORMAT = "%Y%m%d-%H%M%S-%f"
SUFFIX = ".txt"


@dataclass(frozen=True)
class Version:
    """One kept version of a file: where its bytes are, and when they were replaced."""

    path: Path
    when: datetime
    size: int

    def read(self) -> TextFile:
        """Return the version's text, decoded as the editor decodes files.

        Raises OSError when it cannot be read, NotTextError when it is not text.
        """
        return decode_text(self.path.read_bytes(), name=f"The version of {self.when:%c}")


def versions_root() -> Path:
    """Return the folder that holds one folder of versions per file."""
    return data_dir() / VERSIONS_DIR


def folder_for(path: str | os.PathLike) -> Path:
    """Return where the versions of the file at `path` are kept (made or not)."""
    key = hashlib.sha256(str(Path(path).absolute()).encode("utf-8", "surrogateescape"))
    return versions_root() / key.hexdigest()[:32]


def keep_version(
    path: str | os.PathLike, new_data: bytes, now: datetime | None = None
) -> Version | None:
    """Keep the bytes of the file at `path` as a version, before a save writes `new_data`
    there; return the version, or None when there was nothing to keep (no file yet, the
    same bytes as `new_data` or as the newest version, or a file over MAX_FILE_BYTES).

    Raises OSError when the version cannot be written (the file itself is untouched).
    """
    path = Path(path)
    try:
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return None
        old = path.read_bytes()
    except OSError:
        return None  # nothing readable to keep: the save says what is wrong with the file
    if old == new_data:
        return None
    history = list_versions(path)
    if history and history[0].size == len(old) and history[0].path.read_bytes() == old:
        return None
    now = now or datetime.now()
    folder = folder_for(path)
    private_file(folder / SOURCE_FILE, str(path.absolute()).encode("utf-8", "surrogateescape"))
    target = folder / f"{now.strftime(STAMP_FORMAT)}{SUFFIX}"
    private_file(target, old)
    prune(folder)
    return Version(target, now, len(old))


def follow_rename(old: str | os.PathLike, new: str | os.PathLike) -> None:
    """The file at `old` is now at `new` (a chapter renamed): its versions go with it,
    unless `new` has versions of its own. Raises OSError when they cannot be moved."""
    source, target = folder_for(old), folder_for(new)
    if not source.is_dir() or target.exists():
        return
    os.replace(source, target)
    private_file(target / SOURCE_FILE, str(Path(new).absolute()).encode("utf-8", "surrogateescape"))


def list_versions(path: str | os.PathLike) -> list[Version]:
    """Return the kept versions of the file at `path`, newest first (none: an empty list)."""
    return _versions_in(folder_for(path))


def prune(folder: Path) -> list[Path]:
    """Delete the versions in `folder` that are not kept (module docstring); return them."""
    versions = _versions_in(folder)
    kept = versions[:KEEP_RECENT]
    days = {v.when.date() for v in kept}  # a day the recent ones cover needs no other
    for version in versions[KEEP_RECENT:]:
        if version.when.date() not in days and len(kept) < MAX_VERSIONS:
            days.add(version.when.date())
            kept.append(version)
    gone = [v.path for v in versions if v not in kept]
    for path in gone:
        path.unlink(missing_ok=True)
    return gone


def _versions_in(folder: Path) -> list[Version]:
    found = []
    for entry in folder.glob(f"*{SUFFIX}") if folder.is_dir() else []:
        try:
            found.append(
                Version(entry, datetime.strptime(entry.stem, STAMP_FORMAT), entry.stat().st_size)
            )
        except (ValueError, OSError):
            continue  # not one of ours, or gone meanwhile
    return sorted(found, key=lambda v: v.when, reverse=True)
