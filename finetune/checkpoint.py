"""Training checkpoints that are either whole and right, or refused in words.

`OUT/checkpoint/state.pt` holds the weights, optimizer and RNG state that
`--resume` continues exactly; `state.pt.sha256` beside it is its checksum, so
a damaged file is refused instead of training on garbage. `OUT/best/` is
written beside itself and swapped in, so a full disk never leaves a `best/`
without weights. Weights are checked for NaN/inf before anything is saved.
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from finetune.errors import CheckpointError, FinetuneError, RefusedError
from gpt2gguf.files import atomic_write, file_sha256, fsync_dir

STATE_FILE = "state.pt"
CHECKSUM_SUFFIX = ".sha256"


def check_writable(out: Path) -> None:
    """Make the output dir and write a file in it; raises FinetuneError naming it when it cannot."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / ".write-test").write_text("")
        (out / ".write-test").unlink()
    except OSError as exc:
        raise FinetuneError(f"cannot write to the output dir {out}: {exc.strerror or exc}") from exc


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
    """Write folder/state.pt, then its checksum, each atomically (temp file, fsync, rename).

    A crash between the two writes leaves a checksum that refuses the state
    beside it, never a bad state accepted. Raises FinetuneError when a write
    fails; the previous checkpoint stays.
    """
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / STATE_FILE
    try:
        atomic_write(path, lambda f: torch.save(state, f))
        atomic_write(folder / (STATE_FILE + CHECKSUM_SUFFIX), (file_sha256(path) + "\n").encode())
    except OSError as exc:
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
        if file_sha256(path) != expected:
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


@dataclass
class RunState:
    """How far a run has come: what a checkpoint holds besides weights, optimizer and RNG."""

    step: int = 0
    tokens: int = 0
    elapsed: float = 0.0
    best_val: float = float("inf")
    bad_evals: int = 0


@dataclass
class Resumed:
    """What `Checkpointer.resume` restored: the run's progress and its saved schedule."""

    run: RunState
    total_steps: int | None
    fitted: bool


def start_words(config: dict) -> str:
    """How a run was started, in its own flags: `--base X` or `--init SPEC`, and `--grow`."""
    start = f"--base {config['base']}" if config.get("base") else f"--init {config.get('init')}"
    return start + (f" --grow {config['grow']}" if config.get("grow") else "")


def optimizer_of(config: dict) -> str:
    """The --optimizer a run's settings name (runs from before the option used AdamW)."""
    return config.get("optimizer") or "adamw"


class Checkpointer:
    """Saves and restores OUT/checkpoint (what --resume continues) and OUT/best.

    Only the writing rank (rank 0 under torchrun) saves; every rank resumes.
    """

    def __init__(self, out: Path, model, optimizer, device, config: dict, writes: bool = True):
        self.folder, self.best_folder = out / "checkpoint", out / "best"
        self.model, self.optimizer, self.device = model, optimizer, device
        self.config, self.writes = config, writes

    def exists(self) -> bool:
        """True when OUT/checkpoint holds a state to resume."""
        return (self.folder / STATE_FILE).is_file()

    def save(self, run: RunState, total_steps: int | None, fitted: bool) -> None:
        """Save the weights, optimizer, RNG and progress.

        Raises FinetuneError, keeping the previous checkpoint, when the weights
        hold NaN or inf or the write fails.
        """
        import torch

        if not self.writes:
            return
        bad = non_finite(self.model)
        if bad:  # never replace a good checkpoint with a broken one
            raise FinetuneError(
                f"the weights became NaN or inf by step {run.step} ({bad[0]}, ...); "
                f"the last good checkpoint is kept in {self.folder}. Lower --lr, or check the data"
            )
        cuda = self.device.type == "cuda"
        save_state(
            {
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "rng_cpu": torch.get_rng_state(),
                "rng_cuda": torch.cuda.get_rng_state(self.device) if cuda else None,
                "state": {**asdict(run), "total_steps": total_steps},
                "fitted": fitted,
                "optimizer_kind": optimizer_of(self.config),
                "config": self.config,
            },
            self.folder,
        )

    def save_best(self) -> None:
        """Save the model as it is now to OUT/best (the best validation loss so far)."""
        if self.writes:
            save_pretrained_atomic(self.model, self.best_folder)

    def resume(self) -> Resumed:
        """Load OUT/checkpoint into the model, optimizer and RNG; return the saved progress.

        Raises CheckpointError for a damaged file, RefusedError for a run of
        another --optimizer, FinetuneError for a checkpoint of another model or
        one holding NaN weights.
        """
        import torch

        saved = load_state(self.folder, self.device)
        was = saved.get("config", {}) if isinstance(saved, dict) else {}
        ours, theirs = optimizer_of(self.config), saved.get("optimizer_kind") or optimizer_of(was)
        if ours != theirs:  # the optimizer's state (moments, momentum) is its own
            raise RefusedError(
                f"the run in {self.folder} trained with --optimizer {theirs}, and its "
                f"optimizer state cannot continue as --optimizer {ours}; resume with "
                f"--optimizer {theirs}, or start a new run from its best weights "
                f"(--base {self.best_folder} --optimizer {ours})"
            )
        try:
            self.model.load_state_dict(saved["model"])
            self.optimizer.load_state_dict(saved["optimizer"])
        except (KeyError, RuntimeError, ValueError) as exc:
            raise FinetuneError(
                f"the checkpoint in {self.folder} is of another model "
                f"(it was started with {start_words(was)}, this run with {start_words(self.config)}); "
                "resume with the same settings, or give another --out"
            ) from exc
        bad = non_finite(self.model)
        if bad:
            raise FinetuneError(
                f"the checkpoint in {self.folder} holds NaN or inf weights ({bad[0]}, ...); "
                "it cannot be continued. Move it aside and start again"
            )
        torch.set_rng_state(saved["rng_cpu"])
        if self.device.type == "cuda" and saved.get("rng_cuda") is not None:
            torch.cuda.set_rng_state(saved["rng_cuda"])
        state = dict(saved["state"])
        total = state.pop("total_steps", None)
        fitted = bool(saved.get("fitted", False))
        if fitted and total is not None and total >= 10**9:
            total = None  # older checkpoints marked a length not yet fitted so
        return Resumed(RunState(**state), total, fitted)


def resume_run(ckpt: Checkpointer, planner, cfg, announce: bool) -> RunState:
    """Restore OUT/checkpoint into the model and optimizer, and its schedule into `planner`
    (a finetune.schedule.SchedulePlanner); `cfg` is the run's TrainConfig.

    Returns the run's saved progress, or a fresh RunState when there is no
    checkpoint. Raises what Checkpointer.resume raises, and FinetuneError for a
    time-budgeted run resumed without --max-minutes.
    """
    if not ckpt.exists():
        if announce:
            print(f"--resume: no checkpoint in {ckpt.folder}; starting fresh", file=sys.stderr)
        return RunState()
    saved = ckpt.resume()
    # A new --max-steps on the command line wins over a saved step count; the
    # schedule then decays to the new end. A run fitted to the clock stays so.
    if not saved.fitted and cfg.max_steps is not None:
        planner.total_steps = max(cfg.max_steps, saved.run.step)
    else:
        planner.total_steps = saved.total_steps
    planner.budget_s = cfg.max_minutes * 60 if saved.fitted and cfg.max_minutes else None
    if planner.total_steps is None and not planner.fitted:
        raise FinetuneError(
            f"the run in {ckpt.folder} is fitted to a time budget; resume it with --max-minutes"
        )
    if announce:
        changed = (
            f"; --max-steps {planner.total_steps} replaces the saved {saved.total_steps}"
            if planner.total_steps != saved.total_steps
            else ""
        )
        print(
            f"resumed from step {saved.run.step} ({saved.run.tokens:,} tokens){changed}",
            file=sys.stderr,
        )
    return saved.run
