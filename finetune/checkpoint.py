"""Training checkpoints that are either whole and right, or refused in words.

`OUT/checkpoint/state.pt` holds the weights, optimizer and RNG state that
`--resume` continues exactly; `state.pt.sha256` beside it is its checksum, so
a damaged file is refused instead of training on garbage. `OUT/best/` is
written beside itself and swapped in, so a full disk never leaves a `best/`
without weights. Weights are checked for NaN/inf before anything is saved.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from pathlib import Path

from finetune.errors import CheckpointError, FinetuneError
from gpt2gguf.files import fsync_dir

STATE_FILE = "state.pt"
CHECKSUM_SUFFIX = ".sha256"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_error(exc: OSError, what: Path) -> FinetuneError:
    """A FinetuneError in words for a failed write (disk full, read-only, ...)."""
    if exc.errno == errno.ENOSPC:
        reason = "the disk is full"
    else:
        reason = exc.strerror or str(exc)
    return FinetuneError(
        f"cannot write {what}: {reason}. The last good checkpoint is kept; free some space "
        "and continue with --resume"
    )


def non_finite(model) -> list[str]:
    """Names of the model's parameters that hold NaN or inf (empty when all are finite)."""
    import torch

    return [n for n, p in model.named_parameters() if not torch.isfinite(p).all()]


def save_state(state: dict, folder: Path) -> None:
    """Write folder/state.pt and its checksum atomically (temp file, fsync, rename).

    Raises FinetuneError when the write fails; the previous checkpoint stays.
    """
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / STATE_FILE
    tmp = path.with_suffix(".tmp")
    try:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        digest = _sha256(tmp)
        sum_tmp = folder / (STATE_FILE + CHECKSUM_SUFFIX + ".tmp")
        sum_tmp.write_text(digest + "\n")
        # The checksum first, then the state: a crash between the two renames
        # leaves a checksum that refuses the old state, never a bad state accepted.
        os.replace(sum_tmp, folder / (STATE_FILE + CHECKSUM_SUFFIX))
        os.replace(tmp, path)
        fsync_dir(folder)
    except OSError as exc:
        for leftover in folder.glob("*.tmp"):
            leftover.unlink(missing_ok=True)
        raise write_error(exc, path) from exc


def load_state(folder: Path, device) -> dict:
    """Read folder/state.pt after checking its checksum.

    Raises CheckpointError for a missing checksum, a mismatch, or a file torch
    cannot read (truncated, empty), saying what to do.
    """
    import torch

    path = folder / STATE_FILE
    advice = f"move {folder} aside to start over, or resume from a copy you trust"
    checksum = folder / (STATE_FILE + CHECKSUM_SUFFIX)
    if checksum.is_file():
        expected = checksum.read_text().strip()
        if _sha256(path) != expected:
            raise CheckpointError(f"{path} is damaged (its checksum does not match); {advice}")
    try:
        # Our own file, written by save_state: it holds optimizer and RNG state,
        # which weights_only=True cannot read; the checksum vouches for it.
        return torch.load(path, map_location=device, weights_only=False)
    except Exception as exc:  # truncated, empty or garbage: torch raises many kinds
        raise CheckpointError(f"{path} cannot be read ({type(exc).__name__}); {advice}") from exc


def save_pretrained_atomic(model, folder: Path) -> None:
    """model.save_pretrained(folder), written beside it and swapped in.

    Raises FinetuneError when the write fails; the previous folder stays whole.
    """
    tmp = folder.with_name(folder.name + ".tmp")
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        model.save_pretrained(tmp, safe_serialization=True)
    except Exception as exc:  # OSError, or safetensors' own error on a full disk
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise write_error(exc, folder) from exc
        raise FinetuneError(
            f"cannot write {folder}: {exc}. The last good checkpoint is kept; free some space "
            "and continue with --resume"
        ) from exc
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        os.replace(folder, old)
    os.replace(tmp, folder)
    shutil.rmtree(old, ignore_errors=True)
    fsync_dir(folder.parent)
