"""The training job's command line, environment and the checks before it starts (no Qt)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from finetune.outputs import RunOptions
from writer_app.training.errors import TrainingError
from writer_app.training.job import (
    FINETUNE_LR,
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
    job = spec(tmp_path, extra_args=["--max-steps", "3"])
    cmd = command(job)
    i = cmd.index(sys.executable)
    assert cmd[i:] == [
        sys.executable, "-m", "finetune.cli", "train", "--config", str(job.config_path),
        "--max-steps", "3",  # extra flags come after the file, and override it
    ]  # fmt: skip
    assert job.config_path == tmp_path / "run.json"  # beside the training folder
    run = RunOptions.from_json(job.config_path.read_text())
    assert run.base == str(tmp_path / "base.gguf")
    assert run.data == [str(tmp_path / "data" / "train")]
    assert run.val_data == [str(tmp_path / "data" / "val.txt")]
    assert run.out == str(tmp_path / "train")
    assert (run.max_minutes, run.threads) == (15, 1)
    assert run.eval_minutes == 1  # 15 evaluations over the 15 minutes
    assert run.eval_at_start and not run.samples and run.lr == FINETUNE_LR
    assert not run.resume
    command(spec(tmp_path, resume=True))
    assert RunOptions.from_json(job.config_path.read_text()).resume


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_the_run_settings_file_is_private(tmp_path):
    job = spec(tmp_path)
    job.out = tmp_path / "run" / "train"
    command(job)
    assert stat.S_IMODE(job.config_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(job.config_path.parent.stat().st_mode) == 0o700


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


def test_the_app_side_of_training_imports_no_torch():
    # The app installs without the training extra: it imports finetune.outputs only.
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, writer_app.training.job, writer_app.training.metrics, "
            "writer_app.training.scan; "
            "print(sorted({'torch', 'numpy', 'transformers'} & set(sys.modules)))",
        ],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout.strip() == "[]", proc.stderr[-2000:]
