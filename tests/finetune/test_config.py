"""`writer-finetune train`'s flags come from TrainConfig's fields, declared once."""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from finetune.cli import build_parser
from finetune.config import TrainConfig, add_arguments, config_from_args
from finetune.errors import FinetuneError

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
