"""`writer-finetune train`'s flags come from TrainConfig's fields, declared once."""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from finetune.cli import build_parser
from finetune.config import TrainConfig, add_arguments, config_from_args
from finetune.errors import FinetuneError
from finetune.outputs import ExitCode

REPO = Path(__file__).resolve().parents[2]
PROFILES = sorted((REPO / "recipes" / "default-model").glob("*.json"))


def _config(*argv: str) -> TrainConfig:
    return config_from_args(build_parser().parse_args(["train", *argv]))


def test_no_flag_given_gives_the_dataclass_defaults():
    assert _config() == TrainConfig()


def test_every_setting_has_a_flag_that_sets_it():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    dests = {a.dest for a in parser._actions}
    assert {f.name for f in dataclasses.fields(TrainConfig)} <= dests


def test_the_flags_the_app_and_the_recipe_pass_keep_their_meaning():
    cfg = _config(
        "--base", "m.gguf", "--data", "books", "more", "--val-data", "val.txt",
        "--max-minutes", "7.5", "--out", "runs/x", "--threads", "3", "--resume",
        "--no-export", "--quant", "q4_k_m", "--name", "mine", "--no-samples",
        "--block-size", "128", "--dtype", "bf16", "--compile", "--allow-pickle",
    )  # fmt: skip
    assert cfg.base == "m.gguf" and cfg.data == ["books", "more"] and cfg.val_data == ["val.txt"]
    assert (cfg.max_minutes, cfg.out, cfg.threads, cfg.resume) == (7.5, "runs/x", 3, True)
    assert (cfg.export, cfg.quant, cfg.name, cfg.samples) == (False, "q4_k_m", "mine", False)
    assert (cfg.block_size, cfg.dtype, cfg.compile, cfg.allow_pickle) == (128, "bf16", True, True)


def test_base_and_init_exclude_each_other():
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--base", "gpt2", "--init", "tiny"])


def test_choices_come_from_the_field_metadata():
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--dtype", "fp8"])


def test_flags_override_the_config_file_and_the_file_overrides_defaults(tmp_path):
    settings = tmp_path / "s.json"
    settings.write_text(json.dumps({"lr": 0.002, "max_minutes": 30, "export": False}))
    cfg = _config("--config", str(settings), "--lr", "0.005")
    assert (cfg.lr, cfg.max_minutes, cfg.export) == (0.005, 30, False)
    assert cfg.micro_batch == TrainConfig().micro_batch


def test_a_config_file_with_an_unknown_setting_is_refused_by_name(tmp_path):
    settings = tmp_path / "s.json"
    settings.write_text(json.dumps({"lr": 0.002, "halt_after_steps": 3}))
    with pytest.raises(FinetuneError, match="halt_after_steps"):
        _config("--config", str(settings))


def test_testing_hooks_are_not_user_settings():
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    assert not names & {"halt_after_steps", "dump_rank_weights"}
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--halt-after-steps", "3"])


@pytest.mark.parametrize("profile", PROFILES, ids=[p.stem for p in PROFILES])
def test_every_recipe_profile_is_a_valid_config(profile):
    cfg = config_from_args(argparse.Namespace(config=str(profile)))
    assert cfg.block_size == json.loads(profile.read_text())["block_size"]


def test_the_parser_is_built_without_importing_torch():
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from finetune.cli import build_parser; build_parser(); "
            "print('torch' in sys.modules)",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout.strip() == "False", proc.stderr[-2000:]


# --------------------------------------------------------------------------- ranges, in one place


def _refusal(argv: list[str], capsys) -> str:
    """Run `writer-finetune train ARGV` in this process: it must refuse with exit status 2
    and exactly one line on stderr, before any training. Returns the line."""
    from finetune.cli import main

    assert main(["train", "--data", "books", "--init", "tiny", *argv]) == ExitCode.REFUSED
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--threads", "-3"], "--threads must be at least 1, not -3"),
        (["--max-steps", "0"], "--max-steps must be at least 1, not 0"),
        (["--lr", "nan"], "--lr must be a finite number, not nan"),
        (["--lr", "0"], "--lr must be above 0"),
        (["--val-fraction", "1.5"], "--val-fraction must be below 1"),
        (["--beta2", "1"], "--beta2 must be below 1"),
        (["--max-minutes", "inf"], "--max-minutes must be a finite number"),
        (["--micro-batch", "0"], "--micro-batch must be at least 1"),
        (["--dtype", "fp8"], "invalid choice: 'fp8'"),
        (["--threads", "two"], "invalid int value: 'two'"),
        (["--resume", "--overwrite"], "not allowed with argument --resume"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_a_flag_out_of_its_range_is_refused_in_one_line_with_the_reason(argv, words, capsys):
    assert words in _refusal(argv, capsys)


@pytest.mark.parametrize(
    "settings, words",
    [
        ('{"lr": NaN}', "--lr must be a finite number, not nan"),
        ('{"threads": -3}', "--threads must be at least 1, not -3"),
        ('{"max_steps": 0}', "--max-steps must be at least 1, not 0"),
        ('{"threads": "four"}', "--threads must be a whole number, not 'four'"),
        ('{"max_steps": 2.5}', "--max-steps must be a whole number, not 2.5"),
        ('{"resume": "yes"}', "--resume must be true or false"),
        ('{"dtype": "fp8"}', "--dtype must be one of auto, fp32, bf16, not 'fp8'"),
        ('{"val_data": "val.txt"}', "--val-data must be a list of text"),
        ('{"resume": true, "overwrite": true}', "--resume and --overwrite cannot be given"),
        ("[1, 2]", "must hold a JSON object of settings"),
    ],
)
def test_a_setting_in_the_config_file_is_checked_as_its_flag_is(settings, words, tmp_path, capsys):
    path = tmp_path / "run.json"
    path.write_text(settings)
    line = _refusal(["--config", str(path)], capsys)
    assert words in line
    assert str(path) in line  # the writer knows where to look


def test_a_flag_overriding_a_bad_file_setting_wins(tmp_path):
    path = tmp_path / "run.json"
    path.write_text('{"threads": -3, "lr": 0.002}')
    cfg = _config("--config", str(path), "--threads", "2")
    assert (cfg.threads, cfg.lr) == (2, 0.002)


def test_base_and_init_in_a_file_exclude_each_other_as_their_flags_do(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"base": "gpt2", "init": "tiny"}))
    with pytest.raises(FinetuneError, match="--base and --init cannot be given together"):
        _config("--config", str(path))


def test_an_int_for_a_float_setting_becomes_a_float():
    assert TrainConfig(lr=1).lr == 1.0 and isinstance(TrainConfig(lr=1).lr, float)


def test_every_number_setting_declares_its_range():
    hints = typing.get_type_hints(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        kind = [a for a in typing.get_args(hints[f.name]) if a is not type(None)] or [hints[f.name]]
        if kind[0] in (int, float):
            assert {"min", "max", "gt", "lt"} & set(f.metadata), f"{f.name} has no range"


def test_a_bad_flag_of_any_command_is_one_line(capsys):
    from finetune.cli import main

    assert main(["export", "ckpt", "--quant", "q2"]) == ExitCode.REFUSED
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "invalid choice: 'q2'" in err
    assert main(["nonsense"]) == ExitCode.REFUSED
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
