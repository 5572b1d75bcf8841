"""`TrainConfig`: every setting of a training run, declared once.

Each field carries its command-line face in its metadata (help, group, flag,
choices), and `add_arguments` builds the argparse parser from them, as
Hugging Face's `HfArgumentParser` does. `--config FILE.json` gives settings by
their field names; flags given beside it override the file.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import types
import typing
from dataclasses import dataclass
from pathlib import Path

from finetune.errors import FinetuneError

GROUPS = ("data", "model", "training", "evaluation and checkpoints", "output")


def option(default, help: str | None = None, group: str = "training", **cli):
    """A dataclass field with its command-line face in the metadata.

    `cli` may hold `flag` (the flag's name, e.g. "--no-export" for a setting
    that is on by default), `choices`, and `exclusive` (the name of a group of
    mutually exclusive flags).
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
    val_fraction: float = option(0.02, "share of documents held out without --val-data", "data")
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
        None, "dropout (default: 0 for a new model, the base's own for --base)", "model"
    )
    allow_pickle: bool = option(False, "allow loading .bin (pickle) weights", "model")

    out: str = option("runs/model", "output dir (checkpoints, model, GGUF, card)")
    block_size: int | None = option(
        None, "tokens per training window (default: the model's context)"
    )
    micro_batch: int = option(8, "sequences per forward pass")
    batch_tokens: int = option(8 * 512, "tokens per optimizer step (gradient accumulation)")
    lr: float = option(1e-3, "peak learning rate")
    min_lr_ratio: float = option(0.1, "the cosine decays to lr times this")
    warmup_steps: int = option(100)
    weight_decay: float = option(0.1)
    beta1: float = option(0.9, "AdamW beta1")
    beta2: float = option(0.95, "AdamW beta2")
    grad_clip: float = option(1.0, "clip the gradient norm to this (0: never)")
    max_steps: int | None = option(None)
    max_minutes: float | None = option(None, "fit the schedule to this time budget")
    epochs: float | None = option(None)
    dtype: str = option(
        "auto",
        "auto: bf16 on CUDA; on a CPU, bf16 where a probe finds it faster",
        choices=["auto", "fp32", "bf16"],
    )
    compile: bool = option(False, "torch.compile the model")
    seed: int = option(1337)
    device: str = option("auto", "auto, cpu, cuda, cuda:1, mps")
    threads: int | None = option(None, "CPU threads for torch")

    eval_every: int = option(200, "steps between evaluations", "evaluation and checkpoints")
    eval_minutes: float = option(
        0.0,
        "also evaluate every N minutes (0: by steps only); for --max-minutes runs",
        "evaluation and checkpoints",
    )
    eval_at_start: bool = option(
        False,
        "evaluate once before the first step: the base model's validation perplexity",
        "evaluation and checkpoints",
    )
    eval_windows: int = option(
        24, "validation windows per evaluation", "evaluation and checkpoints"
    )
    early_stop_patience: int = option(
        0,
        "evaluations without improvement before stopping (0: never)",
        "evaluation and checkpoints",
    )
    log_every: int = option(10, "steps between progress lines", "evaluation and checkpoints")
    checkpoint_minutes: float = option(10.0, None, "evaluation and checkpoints")
    checkpoint_every_steps: int = option(
        0, "also save every N steps (0: never)", "evaluation and checkpoints"
    )
    resume: bool = option(False, "continue from OUT/checkpoint", "evaluation and checkpoints")

    export: bool = option(True, "skip the GGUF export", "output", flag="--no-export")
    quant: str = option("q8_0", "GGUF type for the export (default q8_0)", "output")
    name: str | None = option(None, "model name written into the GGUF", "output")
    samples: bool = option(
        True, "skip the sample continuations in the card", "output", flag="--no-samples"
    )


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
        flag = meta.get("flag") or "--" + f.name.replace("_", "-")
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

    Raises FinetuneError for a file that cannot be read or names unknown settings.
    """
    values = {}
    if getattr(args, "config", None):
        path = Path(args.config)
        try:
            values.update(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise FinetuneError(f"cannot read the settings file {path}: {exc}") from exc
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise FinetuneError(f"{args.config}: unknown settings {sorted(unknown)}")
    for name in names:
        value = getattr(args, name, None)
        if value is not None:
            values[name] = value
    return cls(**values)
