"""`TrainConfig`: every setting of a training run, declared once.

Each field carries its command-line face in its metadata (help, group, flag,
choices), and `add_arguments` builds the argparse parser from them, as
Hugging Face's `HfArgumentParser` does. `--config FILE.json` gives settings by
their field names; flags given beside it override the file (the app writes
the file, finetune.outputs.RunOptions; tests and benchmarks add flags).

Every setting is checked in one place, `TrainConfig.__post_init__`, against
its metadata: its kind (a JSON file can hold anything), its choices, its range
(`min`/`max` inclusive, `gt`/`lt` exclusive; floats must be finite) and its
exclusive group, whether it came from a flag, a file or Python.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass
from pathlib import Path

from finetune.errors import FinetuneError, SettingError

GROUPS = ("data", "model", "training", "evaluation and checkpoints", "output")


def option(default, help: str | None = None, group: str = "training", **cli):
    """A dataclass field with its command-line face in the metadata.

    `cli` may hold `flag` (the flag's name, e.g. "--no-export" for a setting
    that is on by default), `choices`, `exclusive` (the name of a group of
    mutually exclusive flags), and the range: `min`, `max` (inclusive), `gt`,
    `lt` (exclusive). A float must be finite unless `allow_nan=True`.
    """
    meta = {"help": help, "group": group, **cli}
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclass
class TrainConfig:
    """The settings of one `writer-finetune train` run (defaults here, and nowhere else)."""

    data: list[str] = option([], "files, folders or globs of .txt/.md/.xz", "data")
    val_data: list[str] | None = option(
        None, "held-out text (default: about 2%% of documents)", "data"
    )
    val_fraction: float = option(
        0.02, "share of documents held out without --val-data", "data", gt=0, lt=1
    )
    cache_dir: str | None = option(None, "token cache (default: the user cache dir)", "data")

    base: str | None = option(
        None,
        "what to fine-tune: default (the bundled model), a GPT-2 .gguf file, "
        "a local checkpoint dir or a hub id (e.g. gpt2)",
        "model",
        exclusive="start",
    )
    init: str | None = option(
        None,
        "train from scratch: tiny, mini, small or n_layer=..,n_embd=..,n_head=..,n_ctx=..",
        "model",
        exclusive="start",
    )
    dropout: float | None = option(
        None,
        "dropout (default: 0 for a new model, the base's own for --base)",
        "model",
        min=0,
        lt=1,
    )
    allow_pickle: bool = option(False, "allow loading .bin (pickle) weights", "model")
    grow: str | None = option(
        None,
        "n_layer=N: start from a deeper copy of the model (new layers begin as identities, "
        "so it computes what the base did)",
        "model",
    )

    out: str = option("runs/model", "output dir (checkpoints, model, GGUF, card)")
    block_size: int | None = option(
        None,
        "tokens per training window (default: the model's context)",
        min=2,
    )
    micro_batch: int = option(8, "sequences per forward pass", min=1)
    batch_tokens: int = option(8 * 512, "tokens per optimizer step (gradient accumulation)", min=1)
    lr: float = option(1e-3, "peak learning rate (AdamW)", gt=0)
    min_lr_ratio: float = option(0.1, "the schedule decays to lr times this", min=0, max=1)
    schedule: str = option(
        "cosine",
        "cosine: warmup then cosine decay; wsd: warmup, stable, then a 1-sqrt cooldown",
        choices=["cosine", "wsd"],
    )
    cooldown: float = option(
        0.2, "with --schedule wsd: the share of the steps that cools down", min=0, max=1
    )
    warmup_steps: int = option(100, min=0)
    weight_decay: float = option(0.1, min=0)
    beta1: float = option(0.9, "AdamW beta1", min=0, lt=1)
    beta2: float = option(0.95, "AdamW beta2", min=0, lt=1)
    optimizer: str = option(
        "adamw",
        "adamw; or muon: Muon for the blocks' matrices, AdamW (--lr) for the rest",
        choices=["adamw", "muon"],
    )
    muon_lr: float = option(0.02, "with --optimizer muon: Muon's peak learning rate", gt=0)
    grad_clip: float = option(1.0, "clip the gradient norm to this (0: never)", min=0)
    max_steps: int | None = option(None, min=1)
    max_minutes: float | None = option(None, "fit the schedule to this time budget", gt=0)
    epochs: float | None = option(None, gt=0)
    dtype: str = option(
        "auto",
        "auto: bf16 on CUDA; on a CPU, bf16 where a probe finds it faster",
        choices=["auto", "fp32", "bf16"],
    )
    compile: bool = option(False, "torch.compile the model")
    seed: int = option(1337, min=0)
    device: str = option("auto", "auto, cpu, cuda, cuda:1, mps")
    threads: int | None = option(None, "CPU threads for torch", min=1)

    eval_every: int = option(200, "steps between evaluations", "evaluation and checkpoints", min=1)
    eval_minutes: float = option(
        0.0,
        "also evaluate every N minutes (0: by steps only); for --max-minutes runs",
        "evaluation and checkpoints",
        min=0,
    )
    eval_at_start: bool = option(
        False,
        "evaluate once before the first step: the base model's validation perplexity",
        "evaluation and checkpoints",
    )
    eval_windows: int = option(
        24,
        "validation windows per evaluation",
        "evaluation and checkpoints",
        min=1,
    )
    early_stop_patience: int = option(
        0,
        "evaluations without improvement before stopping (0: never)",
        "evaluation and checkpoints",
        min=0,
    )
    log_every: int = option(10, "steps between progress lines", "evaluation and checkpoints", min=1)
    checkpoint_minutes: float = option(10.0, None, "evaluation and checkpoints", gt=0)
    checkpoint_every_steps: int = option(
        0,
        "also save every N steps (0: never)",
        "evaluation and checkpoints",
        min=0,
    )
    resume: bool = option(
        False, "continue from OUT/checkpoint", "evaluation and checkpoints", exclusive="resume"
    )
    overwrite: bool = option(
        False,
        "start over in an OUT that holds a checkpoint, replacing it (and its metrics)",
        "evaluation and checkpoints",
        exclusive="resume",
    )
    allow_new_text: bool = option(
        False,
        "with --resume: continue on training text that changed since the run started",
        "evaluation and checkpoints",
    )

    export: bool = option(True, "skip the GGUF export", "output", flag="--no-export")
    quant: str = option("q8_0", "GGUF type for the export (default q8_0)", "output")
    name: str | None = option(None, "model name written into the GGUF", "output")
    samples: bool = option(
        True, "skip the sample continuations in the card", "output", flag="--no-samples"
    )

    def __post_init__(self) -> None:
        check_settings(self)


# (metadata key, test, words): a value must pass every bound its field names.
BOUNDS = (
    ("min", lambda value, bound: value >= bound, "at least"),
    ("max", lambda value, bound: value <= bound, "at most"),
    ("gt", lambda value, bound: value > bound, "above"),
    ("lt", lambda value, bound: value < bound, "below"),
)
KIND_WORDS = {int: "a whole number", float: "a number", str: "text", bool: "true or false"}


def flag_name(f: dataclasses.Field) -> str:
    """Return the command-line flag of a field, e.g. "--max-steps"."""
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def check_settings(cfg) -> None:
    """Check every field of `cfg` (a TrainConfig) against its metadata, and give an
    int given for a float field its float type.

    Raises SettingError naming the first setting that is of the wrong kind, not
    among its choices, out of its range, or in an exclusive group with another
    one given.
    """
    hints = typing.get_type_hints(type(cfg))
    given: dict[str, str] = {}
    for f in dataclasses.fields(cfg):
        value = _checked(f, getattr(cfg, f.name), hints[f.name])
        object.__setattr__(cfg, f.name, value)
        group = f.metadata.get("exclusive")
        if group and value not in (None, False):
            if group in given:
                raise SettingError(
                    f"{given[group]} and {flag_name(f)} cannot be given together: choose one",
                    f.name,
                )
            given[group] = flag_name(f)


def _checked(f: dataclasses.Field, value, annotation):
    """Return `value` for field `f`, or raise SettingError saying what is wrong with it."""
    kind, is_list = _flag_type(annotation)
    optional = type(None) in typing.get_args(annotation)
    name, meta = flag_name(f), f.metadata
    if value is None and optional:
        return None
    if is_list:
        if not (isinstance(value, list) and all(isinstance(v, kind) for v in value)):
            raise SettingError(
                f"{name} must be a list of {KIND_WORDS[kind]}, not {value!r}", f.name
            )
        return value
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind is float and number:
        value = float(value)
    elif kind is float or not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise SettingError(f"{name} must be {KIND_WORDS[kind]}, not {value!r}", f.name)
    if meta.get("choices") and value not in meta["choices"]:
        raise SettingError(
            f"{name} must be one of {', '.join(meta['choices'])}, not {value!r}", f.name
        )
    if kind is float and not meta.get("allow_nan") and not math.isfinite(value):
        raise SettingError(f"{name} must be a finite number, not {value}", f.name)
    for key, ok, words in BOUNDS:
        if key in meta and not ok(value, meta[key]):
            raise SettingError(f"{name} must be {words} {meta[key]}, not {value}", f.name)
    return value


def _flag_type(annotation) -> tuple[type, bool]:
    """(the element type, whether it is a list) of a field's annotation such as `int | None`."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        annotation = args[0]
    if typing.get_origin(annotation) is list:
        return typing.get_args(annotation)[0], True
    return annotation, False


def add_arguments(parser: argparse.ArgumentParser, cls: type = TrainConfig) -> None:
    """Add `--config` and one flag per field of `cls`, grouped, from the fields' metadata.

    Every flag defaults to None, so `config_from_args` can tell a flag given
    from one left out (which keeps the value of `--config` or the field's default).
    """
    parser.add_argument("--config", help="JSON file of settings (flags given here override it)")
    hints = typing.get_type_hints(cls)
    groups: dict[str, argparse._ArgumentGroup] = {}
    exclusive: dict[str, argparse._MutuallyExclusiveGroup] = {}
    for f in dataclasses.fields(cls):
        meta = f.metadata
        group_name = meta.get("group", "training")
        if group_name not in groups:
            groups[group_name] = parser.add_argument_group(group_name)
        target = groups[group_name]
        if meta.get("exclusive"):
            key = meta["exclusive"]
            if key not in exclusive:
                exclusive[key] = target.add_mutually_exclusive_group()
            target = exclusive[key]
        flag = flag_name(f)
        kind, is_list = _flag_type(hints[f.name])
        kwargs: dict = {"dest": f.name, "default": None, "help": meta.get("help")}
        if kind is bool:
            # A setting that is off by default is switched on by its flag; one
            # that is on (export, samples) is switched off by a --no-... flag.
            kwargs.update(action="store_const", const=not f.default)
        else:
            kwargs.update(type=kind, choices=meta.get("choices"))
            if is_list:
                kwargs["nargs"] = "+"
        target.add_argument(flag, **kwargs)


def config_from_args(args: argparse.Namespace, cls: type = TrainConfig):
    """Return a `cls` from `--config FILE.json` (if given) overridden by the flags given.

    Raises FinetuneError for a file that cannot be read, and SettingError for one
    that names unknown settings or for any setting `check_settings` refuses
    (naming the file when the setting came from it).
    """
    values = {}
    path = Path(args.config) if getattr(args, "config", None) else None
    if path is not None:
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise FinetuneError(f"cannot read the settings file {path}: {exc}") from exc
        if not isinstance(values, dict):
            raise SettingError(f"{path} must hold a JSON object of settings", "config")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise SettingError(f"{path}: unknown settings {sorted(unknown)}", sorted(unknown)[0])
    from_file = set(values)
    for name in names:
        value = getattr(args, name, None)
        if value is not None:
            values[name] = value
            from_file.discard(name)
    try:
        return cls(**values)
    except SettingError as exc:
        if exc.name in from_file:
            raise SettingError(f"{exc} (in {path})", exc.name) from None
        raise
