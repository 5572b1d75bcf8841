"""An output folder holds one run at a time, and its training is never lost by accident.

A second `writer-finetune train` into a folder in use is refused in one line
naming the first run's pid (two real processes); a lock left by a dead run is
taken; a folder holding a checkpoint is continued only with --resume and
replaced only with --overwrite; resuming onto changed text needs
--allow-new-text; and an export stopped by SIGTERM or killed leaves no
partial file behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from finetune.cli import main as cli_main
from finetune.errors import RunLockedError
from finetune.locks import LOCK_FILE, OutputLock
from finetune.outputs import ExitCode
from finetune.report import read_metrics
from tests.finetune.training_corpus import tiny_args, write_corpus

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def _restore_torch_threads():
    """In-process runs pass --threads 1, which sets torch's thread count for the whole process."""
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def _args(tmp_path: Path, *extra: str) -> list[str]:
    books, val = write_corpus(tmp_path)
    return tiny_args(books, val, tmp_path / "out", tmp_path / "cache", "--no-export", *extra)


def _refused(args: list[str], capsys, code: ExitCode) -> str:
    """Run the CLI in this process; it must refuse with `code` and one line. Returns it."""
    assert cli_main(args) == code
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith("error: ")
    return last


def _cli(args: list[str], stderr) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "finetune.cli", *args], cwd=REPO, env=env, stderr=stderr, text=True
    )


def _wait_for(condition, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"the first run exited early ({proc.returncode})"
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("the run did not get there in time")
        time.sleep(0.05)


@pytest.fixture
def five_steps(tmp_path) -> list[str]:
    """Arguments of a finished 5-step run whose checkpoint is kept (run once here)."""
    args = _args(tmp_path, "--max-steps", "5", "--checkpoint-every-steps", "1", "--eval-every", "5")
    assert cli_main(args) == 0
    return args


# --------------------------------------------------------------------------- one run per folder


def test_a_second_run_into_a_folder_in_use_is_refused_naming_the_first(tmp_path):
    out = tmp_path / "out"
    args = _args(tmp_path, "--max-steps", "100000", "--eval-every", "100000")
    # Its progress goes to a file: a pipe nobody reads would fill and stall it.
    with open(tmp_path / "first.log", "w") as log:
        first = _cli(args, stderr=log)
    try:
        _wait_for(lambda: len(read_metrics(out / "metrics.jsonl")) >= 1, first)
        second = _cli(args, stderr=subprocess.PIPE)
        _, err = second.communicate(timeout=120)
        assert second.returncode == ExitCode.LOCKED, err[-2000:]
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert f"another training run (pid {first.pid}) is using {out}" in lines[0]
        assert "permission" not in err.lower()
        assert first.poll() is None  # the first run goes on untouched
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=120)
    assert first.returncode == ExitCode.INTERRUPTED, (tmp_path / "first.log").read_text()[-2000:]
    # It ended: its lock is free, and its pid is no longer in the file.
    with OutputLock(out):
        assert (out / LOCK_FILE).read_text().strip() == str(os.getpid())


def test_a_lock_left_by_a_killed_run_is_taken(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from finetune.locks import OutputLock
                OutputLock({str(tmp_path / "out")!r}).__enter__()
                print("locked", flush=True)
                time.sleep(600)
                """
            ),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunLockedError, match=f"pid {holder.pid}"):
            OutputLock(tmp_path / "out").__enter__()
    finally:
        holder.kill()
        holder.wait()
    assert (tmp_path / "out" / LOCK_FILE).read_text().strip() == str(holder.pid)  # stale
    with OutputLock(tmp_path / "out"):
        assert (tmp_path / "out" / LOCK_FILE).read_text().strip() == str(os.getpid())


# --------------------------------------------------------------------------- checkpoints kept


def test_a_folder_holding_a_checkpoint_is_not_trained_over_without_resume_or_overwrite(
    five_steps, tmp_path, capsys
):
    state = tmp_path / "out" / "checkpoint" / "state.pt"
    before = state.read_bytes()
    line = _refused(five_steps, capsys, ExitCode.REFUSED)
    assert "already holds a training run" in line
    assert "--resume" in line and "--overwrite" in line
    assert state.read_bytes() == before


def test_overwrite_replaces_the_checkpoint_and_its_metrics_and_nothing_else(
    five_steps, tmp_path, capsys
):
    out = tmp_path / "out"
    (out / "notes.txt").write_text("the writer's own file")
    args = list(five_steps)
    args[args.index("--max-steps") + 1] = "3"
    assert cli_main([*args, "--overwrite"]) == 0
    steps = [r["step"] for r in read_metrics(out / "metrics.jsonl") if "loss" in r]
    assert steps == [1, 2, 3]  # the replaced run's rows are gone, not mixed in
    assert (out / "notes.txt").read_text() == "the writer's own file"
    import torch

    assert torch.load(out / "checkpoint" / "state.pt", weights_only=False)["state"]["step"] == 3


def test_resume_and_overwrite_together_are_refused(tmp_path, capsys):
    line = _refused([*_args(tmp_path), "--resume", "--overwrite"], capsys, ExitCode.REFUSED)
    assert "--resume" in line and "--overwrite" in line


def test_resuming_onto_changed_text_asks_for_allow_new_text(five_steps, tmp_path, capsys):
    book = tmp_path / "books" / "book0.txt"
    book.write_text(book.read_text() + "\n\nA new chapter, written since.\n")
    args = list(five_steps)
    args[args.index("--max-steps") + 1] = "7"
    line = _refused([*args, "--resume"], capsys, ExitCode.TEXT_CHANGED)
    assert "training text changed" in line and "--allow-new-text" in line

    assert cli_main([*args, "--resume", "--allow-new-text"]) == 0
    assert "continuing on the new training text" in capsys.readouterr().err
    steps = [r["step"] for r in read_metrics(tmp_path / "out" / "metrics.jsonl") if "loss" in r]
    assert steps == list(range(1, 8))
    # The new text is now the run's: resuming on it again needs no permission.
    args[args.index("--max-steps") + 1] = "8"
    assert cli_main([*args, "--resume"]) == 0


# --------------------------------------------------------------------------- export leftovers


def _partials(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial.tmp"))


def test_an_export_stopped_by_sigterm_leaves_no_partial_file(tiny_checkpoint, tmp_path):
    target = tmp_path / "MODEL.gguf"
    # The conversion signals its own process once the partial file is written:
    # the app's Cancel does the same from outside, at a moment no test can time.
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        from finetune import convert
        real = convert.write_gguf
        def write_then_stop(*args, **kwargs):
            result = real(*args, **kwargs)
            os.kill(os.getpid(), signal.SIGTERM)
            return result
        convert.write_gguf = write_then_stop
        from finetune.cli import main
        sys.exit(main(["export", {str(tiny_checkpoint)!r}, "--out", {str(target)!r},
                       "--quant", "f32", "--no-verify"]))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == ExitCode.INTERRUPTED, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert _partials(tmp_path) == []
    assert not target.exists()


def test_a_partial_file_left_by_a_killed_export_is_removed_by_the_next(tiny_checkpoint, tmp_path):
    from finetune.export import export_gguf

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    target = tmp_path / "MODEL.gguf"
    stale = tmp_path / f".MODEL.gguf.{dead.pid}.partial.tmp"
    stale.write_bytes(b"half a model")
    running = tmp_path / f".MODEL.gguf.{os.getppid()}.partial.tmp"  # a live export's
    running.write_bytes(b"still being written")
    export_gguf(tiny_checkpoint, target, "f32", verify=False)
    assert _partials(tmp_path) == [running.name]
    assert target.is_file()
