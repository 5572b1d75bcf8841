"""The training job's command line, environment and the checks before it starts (no Qt)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from writer_app.training.errors import TrainingError
from writer_app.training.job import (
    JobSpec,
    check_disk,
    check_packages,
    command,
    core_split,
    environment,
    eval_minutes,
    missing_packages,
)


def spec(tmp_path: Path, **kw) -> JobSpec:
    return JobSpec(
        base=tmp_path / "base.gguf",
        train_dir=tmp_path / "data" / "train",
        val_file=tmp_path / "data" / "val.txt",
        out=tmp_path / "train",
        minutes=15,
        threads=1,
        **kw,
    )


def test_command_trains_on_the_training_part_and_scores_on_the_held_out_file(tmp_path):
    cmd = command(spec(tmp_path, extra_args=["--max-steps", "3"]))
    i = cmd.index(sys.executable)
    assert cmd[i : i + 4] == [sys.executable, "-m", "finetune.cli", "train"]
    args = cmd[i + 4 :]
    flags = {
        a: (args[k + 1] if k + 1 < len(args) and not args[k + 1].startswith("--") else True)
        for k, a in enumerate(args)
        if a.startswith("--")
    }
    assert flags["--base"] == str(tmp_path / "base.gguf")
    assert flags["--data"] == str(tmp_path / "data" / "train")
    assert flags["--val-data"] == str(tmp_path / "data" / "val.txt")
    assert flags["--max-minutes"] == "15"
    assert flags["--threads"] == "1"
    assert flags["--eval-minutes"] == "1"  # 15 evaluations over the 15 minutes
    assert flags["--max-steps"] == "3"
    assert "--resume" not in cmd
    assert "--resume" in command(spec(tmp_path, resume=True))


def test_evaluations_are_spread_over_the_budget_but_not_closer_than_half_a_minute():
    assert [eval_minutes(m) for m in (15, 60, 240, 2)] == [1, 4, 16, 0.5]


def test_command_runs_at_the_lowest_priority_where_nice_exists(tmp_path):
    cmd = command(spec(tmp_path))
    if os.name == "posix":
        assert Path(cmd[0]).name == "nice" and cmd[1:3] == ["-n", "19"]


def test_environment_makes_openmp_threads_sleep_and_caps_them():
    env = environment({"PATH": "/bin", "OMP_WAIT_POLICY": "ACTIVE"}, threads=3)
    assert env["OMP_WAIT_POLICY"] == "PASSIVE"
    assert env["OMP_NUM_THREADS"] == "3"
    assert env["PATH"] == "/bin"


def test_core_split_leaves_the_engine_one_core():
    assert core_split(2) == (1, 1)
    assert core_split(8) == (7, 1)
    assert core_split(1) == (1, 1)


def test_missing_torch_is_named_with_how_to_install_it():
    def find(name):
        return None if name == "torch" else object()

    assert missing_packages(find) == ["torch"]
    with pytest.raises(TrainingError, match=r"needs torch, which is not installed.*finetune"):
        check_packages(find)
    check_packages(lambda name: object())  # installed: no error


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_data_dir_is_refused_before_starting(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(TrainingError, match="cannot write to .*locked"):
            check_disk(locked / "models", need=0)
    finally:
        locked.chmod(0o700)


def test_a_file_where_the_data_dir_should_be_is_refused(tmp_path):
    (tmp_path / "models").write_text("not a folder")
    with pytest.raises(TrainingError, match="cannot write to"):
        check_disk(tmp_path / "models", need=0)


def test_too_little_free_space_is_refused_with_the_figures(tmp_path):
    free = __import__("shutil").disk_usage(tmp_path).free
    with pytest.raises(TrainingError, match="Not enough free disk space"):
        check_disk(tmp_path, need=free * 2)
    check_disk(tmp_path, need=0, minimum=1)  # room enough: no error
