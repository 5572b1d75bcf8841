"""What `writer-finetune train` takes and leaves, as types both sides import.

The app (writer_app/training) starts `writer-finetune train --config run.json`
and reads back what the run writes. Rather than both sides spelling JSON keys
and exit numbers, they share these dataclasses, as Hugging Face tools share
`TrainingArguments` and `TrainerState`:

- `RunOptions`: the settings the app gives a run (run.json); every name is a
  `finetune.config.TrainConfig` field, and writer-finetune validates them as
  it validates flags.
- `TrainRow` and `EvalRow`: the two kinds of OUT/metrics.jsonl rows.
- `TrainingSummary` (with `ModelShape` and `ExportSummary`): OUT/training_summary.json.
- `ExitCode`: how a run ended, as the process's exit status.

This module imports nothing heavy (no torch, numpy or transformers) and
nothing else of finetune: the app installs without the training extra and
still imports it.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path

METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "training_summary.json"


class ExitCode(enum.IntEnum):
    """The exit status of a `writer-finetune` command, by how it ended."""

    DONE = 0
    FAILED = 1  # training or the export went wrong; the last line says why
    REFUSED = 2  # bad settings, or a request it will not carry out as given (argparse's 2)
    LOCKED = 3  # another training run is using the output folder
    TEXT_CHANGED = 4  # --resume onto other training text without --allow-new-text
    INTERRUPTED = 130  # Ctrl+C or SIGTERM: the checkpoint is saved, --resume continues

    @classmethod
    def of(cls, status: int) -> ExitCode | None:
        """Return the ExitCode of a process's exit status, or None for another number."""
        try:
            return cls(status)
        except ValueError:
            return None


# --------------------------------------------------------------------------- reading JSON


def _from_dict(cls, data: dict, strict: bool = False):
    """Return a `cls` (a dataclass) from `data`, nested dataclasses included.

    Keys `cls` lacks are ignored (a newer writer-finetune may add some) unless
    `strict`. Raises ValueError for a missing key, a value of the wrong kind, or
    (strict) an unknown key.
    """
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__}: expected a JSON object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(fields)
    if strict and unknown:
        raise ValueError(f"{cls.__name__}: unknown keys {sorted(unknown)}")
    values = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ValueError(f"{cls.__name__}: no {name!r}")
            continue
        values[name] = _convert(hints[name], data[name], f"{cls.__name__}.{name}")
    return cls(**values)


def _convert(hint, value, where: str):
    """Return `value` as the type `hint` names (int, float, str, bool, a dataclass, ...)."""
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        if value is None and type(None) in args:
            return None
        hint = next(a for a in args if a is not type(None))
    if dataclasses.is_dataclass(hint):
        return _from_dict(hint, value)
    kind = typing.get_origin(hint) or hint
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind in (str, bool, list, dict) and isinstance(value, kind):
        return value
    raise ValueError(f"{where}: expected {getattr(kind, '__name__', kind)}, got {value!r}")


# --------------------------------------------------------------------------- run.json


@dataclass
class RunOptions:
    """The settings the app gives a run, written as run.json for `--config`.

    Each name is a TrainConfig field (tests/finetune/test_outputs.py checks);
    what the app leaves out keeps TrainConfig's default. Flags given beside
    `--config` override the file.
    """

    base: str  # the GGUF the app uses now
    data: list[str]  # the training copies of the writer's texts
    val_data: list[str]  # the held-out file
    out: str
    max_minutes: float
    threads: int
    eval_minutes: float
    lr: float
    warmup_steps: int
    name: str
    eval_at_start: bool = True
    samples: bool = False
    resume: bool = False
    allow_new_text: bool = False

    def to_json(self) -> str:
        """Return run.json's text."""
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> RunOptions:
        """Return the options of run.json's text. Raises ValueError if it is not one."""
        return _from_dict(cls, json.loads(text), strict=True)


# --------------------------------------------------------------------------- metrics.jsonl


@dataclass
class TrainRow:
    """A metrics.jsonl row written every --log-every steps."""

    step: int
    tokens: int  # seen so far
    loss: float  # the step's mean training loss
    lr: float  # the learning rate at the step
    tokens_per_s: float
    mfu: float | None  # model FLOPs utilisation, None where the device's peak is unknown
    elapsed: float  # seconds of training so far, resumed runs included
    remaining_s: float | None  # the schedule's estimate of the time left
    total_steps: int | None  # the run's length as planned now


@dataclass
class EvalRow:
    """A metrics.jsonl row written at each evaluation on the held-out text (step 0:
    the starting model, with --eval-at-start)."""

    step: int
    tokens: int
    val_loss: float
    val_ppl: float
    elapsed: float


MetricsRow = TrainRow | EvalRow
# The key that tells the two kinds of row apart.
ROW_KINDS: dict[str, type] = {"val_loss": EvalRow, "loss": TrainRow}


def metrics_row(data: dict, strict: bool = False) -> MetricsRow:
    """Return the TrainRow or EvalRow of one parsed metrics.jsonl line.

    Raises ValueError for a line that is neither (or, `strict`, carries keys its kind lacks).
    """
    kind = next((cls for key, cls in ROW_KINDS.items() if key in data), None)
    if kind is None:
        raise ValueError(f"a metrics row without loss or val_loss: {sorted(data)}")
    return _from_dict(kind, data, strict)


# --------------------------------------------------------------------------- training_summary.json


@dataclass
class ModelShape:
    """The trained model's shape."""

    n_layer: int
    n_embd: int
    n_head: int
    n_ctx: int
    vocab_size: int
    parameters: int


@dataclass
class ExportSummary:
    """What the summary keeps of the GGUF export (finetune.export.export_gguf's result)."""

    path: str  # the GGUF written
    out: str
    quant: str
    size_bytes: int
    seconds: float
    seconds_convert: float
    seconds_quantize: float
    seconds_verify: float
    tensor_types: dict
    n_vocab: int
    n_placeholder_tokens: int
    warnings: list[str]
    verify: dict | None  # PyTorch against llama.cpp, or None when not verified


@dataclass
class TrainingSummary:
    """OUT/training_summary.json: how a finished run went, and what it left."""

    model: ModelShape
    start: str  # "--base PATH" or "--init SIZE"
    steps: int
    tokens: int
    tokens_per_step: int
    wall_seconds: float
    stopped: str  # "finished", "early stop"
    best_val_loss: float
    best_val_ppl: float
    precision: str
    device: str
    data: dict  # files, documents and tokens (finetune.tokens)
    config: dict  # the TrainConfig as run
    finished: str  # local time
    samples: list[dict] = field(default_factory=list)  # absent with --no-samples
    export: ExportSummary | None = None  # absent with --no-export

    @classmethod
    def read(cls, path: Path) -> TrainingSummary:
        """Return the summary in the file at `path`.

        Raises OSError if it cannot be read, ValueError if it is not a summary.
        """
        return _from_dict(cls, json.loads(Path(path).read_text(encoding="utf-8")))
