"""One training run as a process: its command line, its environment, how the
cores are shared with the suggestion engine, and the checks before it starts.

Why the cores are split: on 2 cores, a training job on both made llama.cpp's
threads spin-wait against torch's, and a benchmark of suggestions took 146 s
instead of 7 s. So training gets all cores but one (`--threads`), runs at the
lowest priority (nice 19) with OpenMP threads that sleep rather than spin
(OMP_WAIT_POLICY=PASSIVE), and the engine keeps one core to itself while the
run lasts (benchmarks/training_contention.py measures it).

The model a run makes is calibrated like any other (`calibrate_command`:
writer-bench calibrate --write on the run's held-out text), so that its
suggestion confidence suits it rather than the bundled model.

The run's settings go to writer-finetune as run.json (`--config`), written
from finetune.outputs.RunOptions: the app and the trainer share the type, not
a list of flag spellings. finetune.outputs imports nothing heavy, so the app
imports it without torch installed.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from finetune.outputs import RunOptions
from writer_app.core.paths import private_dir, private_file
from writer_app.training.errors import TrainingError
from writer_app.training.tools import find_spec, module_command

NICE = 19  # the lowest priority: training takes only what the writer leaves
MIN_FREE_BYTES = 1_000_000_000
# Bytes written per byte of the base GGUF (q8_0: about one byte per weight):
# fp32 weights in the checkpoint, AdamW's two moments, best/, model/ and the export.
SIZE_FACTOR = 20
TRAINING_PACKAGES = ("torch", "transformers")
BUDGETS = {"15 minutes": 15, "1 hour": 60, "4 hours": 240}  # label -> minutes
# Evaluations on the held-out text per run, spread by the clock: the panel's
# plot gets its points, and the model kept is the best of them (a writer's
# folder is small, so a long run passes over it many times and can overfit).
EVALS_PER_RUN = 15
MIN_EVAL_MINUTES = 0.5
# A writer's folder is small next to the corpus the base learned from, and a
# run passes over it many times: a gentle peak learning rate and a short
# warm-up. On one 36,500-word book for 15 minutes (benchmarks/train_on_a_book.py),
# the pretraining settings (1e-3, 100 warm-up steps) bottomed out at held-out
# perplexity 45.6 and then overfit; these reached 41.3 and were still improving.
FINETUNE_LR = 3e-4
FINETUNE_WARMUP_STEPS = 10
RUN_CONFIG = "run.json"  # beside the training folder, in the run folder
# The run's JobSpec, in the run folder too: a run stopped when the app closed is
# taken up again from it at the next start (TrainingRun.restore).
JOB_FILE = "job.json"
_PATH_FIELDS = ("base", "train_dir", "val_file", "out")
DEFAULT_QUANT = "q8_0"  # writer-finetune's own default for the export


@dataclass
class JobSpec:
    """Everything a training run needs; `command()` turns it into a command line."""

    base: Path  # the GGUF the app uses now
    train_dir: Path
    val_file: Path
    out: Path  # writer-finetune's --out: metrics.jsonl, checkpoint/, model/, the GGUF
    minutes: float
    threads: int
    name: str = "my-writing"
    resume: bool = False
    # More flags for writer-finetune train, after --config (flags override the
    # file): tests pass a tiny --max-steps, --eval-every and --block-size so
    # that a run takes seconds; benchmarks try settings.
    extra_args: list[str] = field(default_factory=list)
    # More flags for writer-bench calibrate (tests pass a short --chars).
    calibrate_args: list[str] = field(default_factory=list)

    @property
    def export_quant(self) -> str:
        """Return the GGUF type the run exports to: its --quant flag, else the default."""
        args = self.extra_args
        given = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--quant"]
        return given[-1] if given else DEFAULT_QUANT

    @property
    def config_path(self) -> Path:
        """Return where the run's settings file (run.json) is written."""
        return self.out.parent / RUN_CONFIG

    def to_json(self) -> str:
        """Return the spec as JSON (job.json), paths as text."""
        data = asdict(self)
        return json.dumps({k: str(v) if k in _PATH_FIELDS else v for k, v in data.items()})

    @classmethod
    def from_json(cls, text: str) -> JobSpec:
        """Return the spec that to_json wrote. Raises ValueError for any other text."""
        try:
            data = json.loads(text)
            known = {f.name for f in fields(cls)}
            if not isinstance(data, dict) or not set(_PATH_FIELDS) <= data.keys() <= known:
                raise ValueError("not the fields of a training job")
            if not all(isinstance(data[k], str) and data[k] for k in _PATH_FIELDS):
                raise ValueError("a path is not a text")
            spec = cls(**{k: Path(v) if k in _PATH_FIELDS else v for k, v in data.items()})
            spec.minutes, spec.threads = float(spec.minutes), int(spec.threads)
            if not all(isinstance(a, str) for a in (*spec.extra_args, *spec.calibrate_args)):
                raise ValueError("flags are texts")
        except (TypeError, AttributeError) as exc:
            raise ValueError(f"not a training job: {exc}") from exc
        return spec

    def options(self) -> RunOptions:
        """Return the settings of the run, as writer-finetune reads them from run.json."""
        return RunOptions(
            base=str(self.base),
            data=[str(self.train_dir)],
            val_data=[str(self.val_file)],
            out=str(self.out),
            max_minutes=float(self.minutes),
            threads=self.threads,
            eval_minutes=eval_minutes(self.minutes),
            lr=FINETUNE_LR,
            warmup_steps=FINETUNE_WARMUP_STEPS,
            name=self.name,
            resume=self.resume,
        )


def core_split(cores: int | None = None) -> tuple[int, int]:
    """Return (training threads, engine threads) while a run lasts: all cores but one
    for training, one for the engine (on one core, both get it)."""
    cores = cores or os.cpu_count() or 1
    return max(1, cores - 1), 1


def eval_minutes(budget_minutes: float) -> float:
    """Return the minutes between evaluations of a run of `budget_minutes`."""
    return round(max(MIN_EVAL_MINUTES, budget_minutes / EVALS_PER_RUN), 2)


def command(spec: JobSpec) -> list[str]:
    """Write the run's settings to spec.config_path (private) and return the command
    line that runs them, at low priority where `nice` exists.

    Raises OSError when the settings file cannot be written.
    """
    private_file(spec.config_path, spec.options().to_json().encode("utf-8"))
    cmd = [
        *module_command("finetune.cli"),
        "train",
        "--config",
        str(spec.config_path),
        *spec.extra_args,
    ]
    return low_priority(cmd)


def export_command(spec: JobSpec, weights: Path, gguf: Path) -> list[str]:
    """Return the command line that exports the saved weights in `weights` (a
    save_pretrained folder, such as OUT/best) to `gguf`, verified, as the run's own
    export at its end would, at low priority."""
    cmd = [
        *module_command("finetune.cli"),
        "export",
        str(weights),
        "--out",
        str(gguf),
        "--quant",
        spec.export_quant,
        "--name",
        spec.name,
    ]
    return low_priority(cmd)


def calibrate_command(spec: JobSpec, gguf: Path) -> list[str] | None:
    """Return the command line that chooses `gguf`'s suggestion confidence on the run's
    held-out text and stores it in the file (writer-bench calibrate --write), at low
    priority; None when the held-out text is missing or has nothing to type."""
    try:
        if not spec.val_file.read_text(encoding="utf-8").strip():
            return None
    except (OSError, UnicodeDecodeError):
        return None
    cmd = [
        *module_command("writer_app.bench"),
        "calibrate",
        "--model",
        str(gguf),
        "--text",
        str(spec.val_file),
        "--threads",
        str(spec.threads),
        "--write",
        "--json",
        *spec.calibrate_args,
    ]
    return low_priority(cmd)


def low_priority(cmd: list[str]) -> list[str]:
    """Return `cmd` run at the lowest priority (nice 19) where `nice` exists, else as is."""
    nice = shutil.which("nice")
    return [nice, "-n", str(NICE), *cmd] if nice else cmd


def environment(base: dict[str, str] | None = None, threads: int = 1) -> dict[str, str]:
    """Return the environment of the run: `base` (default os.environ) with OpenMP
    threads that sleep when idle, and the thread counts of the math libraries capped."""
    env = dict(os.environ if base is None else base)
    env["OMP_WAIT_POLICY"] = "PASSIVE"
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
        env[name] = str(threads)
    env["PYTHONUNBUFFERED"] = "1"  # stderr lines arrive as they are written
    return env


def missing_packages(find=None) -> list[str]:
    """Return the packages training needs that are not installed (empty when none)."""
    find = find or find_spec  # the environment's packages, then the installed tools
    return [name for name in TRAINING_PACKAGES if find(name) is None]


def check_packages(find=None) -> None:
    """Raise TrainingError naming what to install when torch or transformers is missing."""
    missing = missing_packages(find)
    if missing:
        raise TrainingError(
            f"Training needs {' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} "
            "not installed. Install the training extra (pip install -e '.[finetune]', or "
            "scripts/install.sh) and start the app again."
        )


def estimate_bytes(base: Path, data_bytes: int) -> int:
    """Return about how many bytes a run from `base` on `data_bytes` of text writes."""
    try:
        size = base.stat().st_size
    except OSError:
        size = 0
    return SIZE_FACTOR * size + 4 * data_bytes


def check_disk(folder: Path, need: int, minimum: int = MIN_FREE_BYTES) -> None:
    """Make sure `folder` can be written and has room for max(`need`, `minimum`) bytes.

    Raises TrainingError with a message for people otherwise.
    """
    try:
        private_dir(folder)
        probe = folder / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise TrainingError(
            f"The app cannot write to {folder} ({exc.strerror or exc}), where trained models "
            "are kept. Check that folder's permissions, then try again."
        ) from exc
    free = shutil.disk_usage(folder).free
    want = max(need, minimum)
    if free < want:
        raise TrainingError(
            f"Not enough free disk space: training needs about {want / 1e9:.1f} GB in "
            f"{folder}, and {free / 1e9:.2f} GB is free. Free some space, then try again."
        )
