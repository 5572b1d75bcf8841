"""A training run as the app sees it: the `writer-finetune train` process, its
progress read from metrics.jsonl, cancel and resume, and, at the end, the
scoring of the base and the new model on the writer's held-out text.

Nothing here touches the app's model or settings: a run that fails or is
killed leaves them as they were. Only the writer's "Use this model" does.

What the training process leaves is read through finetune.outputs' types:
its exit status (ExitCode), metrics.jsonl's rows and training_summary.json.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from finetune.outputs import METRICS_FILE, SUMMARY_FILE, ExitCode, TrainingSummary
from writer_app.core.paths import PRIVATE_FILE_MODE, private_dir
from writer_app.training.job import JobSpec, command, environment, low_priority
from writer_app.training.library import ModelCard, write_card
from writer_app.training.metrics import MetricsReader, Progress

POLL_MS = 500  # how often metrics.jsonl is read
TAIL_LINES = 12  # lines of the process's output shown when it fails
QUIT_WAIT_MS = 30_000  # at quit: time for the run to save its checkpoint
LOG_FILE = "train.log"
# How a training process that ended on its own (no Cancel) ended, for the writer.
# Each is followed by the process's own last line, which says why.
ENDINGS = {
    ExitCode.INTERRUPTED: "Training was stopped from outside the app",
    ExitCode.LOCKED: "Another training run is using this run's folder",
    ExitCode.REFUSED: "The training settings were refused",
    ExitCode.TEXT_CHANGED: "The texts of this run changed since it started",
}


def signal_name(number: int) -> str:
    """Return e.g. "SIGKILL" for 9, or "signal 42" for a number without a name."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class TrainingRun(QObject):
    """One run in one folder. state: "idle", "training", "cancelling", "cancelled",
    "scoring", "done", "failed"."""

    state_changed = Signal(str)
    progress = Signal(object)  # training.metrics.Progress
    output = Signal(str)  # a line the process wrote
    failed = Signal(str)  # what happened, for the writer
    finished = Signal(object)  # the ModelCard of the new model
    # True while the run uses the cores (training or scoring): the engine keeps one.
    busy_changed = Signal(bool)

    def __init__(self, spec: JobSpec, run_dir: Path, card: ModelCard, parent=None):
        super().__init__(parent)
        self.spec, self.run_dir, self.card = spec, Path(run_dir), card
        self.state = "idle"
        self.tail: deque[str] = deque(maxlen=200)
        self.progress_data = Progress(budget_s=spec.minutes * 60)
        self._reader = MetricsReader(self.spec.out / METRICS_FILE)
        self._log = None
        self.process: QProcess | None = None
        self.timer = QTimer(self, interval=POLL_MS)
        self.timer.timeout.connect(self.poll)

    # --- control ----------------------------------------------------------------

    @property
    def can_resume(self) -> bool:
        """Whether a checkpoint exists to continue from (after cancel or a failure)."""
        return self.state in ("cancelled", "failed") and (self.spec.out / "checkpoint").is_dir()

    def start(self) -> None:
        """Start (or, after resume(), continue) the training process."""
        try:
            private_dir(self.spec.out)
            cmd = command(self.spec)  # writes run.json
            self._log = open(  # noqa: SIM115 (open while the run lasts; closed when it ends)
                self.run_dir / LOG_FILE, "a", encoding="utf-8", opener=_private_opener
            )
        except OSError as exc:
            self._fail(f"The training could not start: {exc}. Your current model is unchanged.")
            return
        self._start_process(cmd, self._on_training_finished)
        self._set_state("training")
        self.busy_changed.emit(True)
        self.timer.start()

    def resume(self) -> None:
        """Continue from the last checkpoint (writer-finetune train --resume)."""
        if not self.can_resume:
            return
        self.spec.resume = True
        self.start()

    def cancel(self) -> None:
        """Ask the run to save its checkpoint and stop (SIGTERM); Resume continues it."""
        if self.state == "training" and self.process is not None:
            self._set_state("cancelling")
            self.process.terminate()
        elif self.state == "scoring" and self.process is not None:
            self.process.kill()

    def stop_and_wait(self, timeout_ms: int = QUIT_WAIT_MS) -> None:
        """At quit: let a running job save its checkpoint, then stop for good."""
        if self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning:
            self.process.finished.disconnect()
            self.process.terminate()
            if not self.process.waitForFinished(timeout_ms):
                self.process.kill()
                self.process.waitForFinished(2000)
        self.timer.stop()

    @property
    def pid(self) -> int | None:
        """Return the process id of the running process, or None."""
        if self.process is None or self.process.state() == QProcess.ProcessState.NotRunning:
            return None
        return int(self.process.processId())

    # --- the processes ------------------------------------------------------------

    def _start_process(self, cmd: list[str], on_finished) -> None:
        process = QProcess(self)
        env = QProcessEnvironment()
        for key, value in environment(threads=self.spec.threads).items():
            env.insert(key, value)
        process.setProcessEnvironment(env)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        process.readyReadStandardError.connect(lambda: self._read(process, stderr=True))
        process.readyReadStandardOutput.connect(lambda: self._read(process, stderr=False))
        process.finished.connect(on_finished)
        process.errorOccurred.connect(self._on_error)
        self.process = process
        self._stdout = b""
        process.start(cmd[0], cmd[1:])

    def _read(self, process: QProcess, stderr: bool) -> None:
        data = bytes(process.readAllStandardError() if stderr else process.readAllStandardOutput())
        if not stderr:
            self._stdout += data  # the scorer's JSON
            return
        text = data.decode("utf-8", "replace")
        if self._log is not None:
            self._log.write(text)
            self._log.flush()
        for line in text.replace("\r", "\n").splitlines():
            if line.strip():
                self.tail.append(line)
                self.output.emit(line)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._fail(f"The training process could not start ({self.process.errorString()}).")

    def poll(self) -> None:
        """Read the rows metrics.jsonl gained since the last poll and report progress."""
        rows, restarted = self._reader.read_new()
        if restarted:
            self.progress_data.reset()
        if rows or restarted:
            self.progress_data.add(rows)
            self.progress.emit(self.progress_data)

    def _on_training_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self.poll()
        if self._log is not None:
            self._log.close()
            self._log = None
        crashed = status == QProcess.ExitStatus.CrashExit
        if self.state == "cancelling" and not crashed:
            self.timer.stop()
            self._set_state("cancelled")
            self.busy_changed.emit(False)
            return
        if not crashed and code == 0:
            self._score()
            return
        if crashed:
            how = f"Training was ended by {signal_name(code)}"
        else:
            how = ENDINGS.get(ExitCode.of(code), f"Training stopped with exit code {code}")
        last = "\n".join(list(self.tail)[-TAIL_LINES:])
        kept = (
            " The last checkpoint is kept: Resume continues from it."
            if (self.spec.out / "checkpoint").is_dir()
            else ""
        )
        self._fail(
            f"{how}. Your current model is unchanged.{kept}"
            + (f"\n\nIts last lines:\n{last}" if last else "")
        )

    def _trained_gguf(self) -> Path | None:
        try:
            export = TrainingSummary.read(self.spec.out / SUMMARY_FILE).export
        except (OSError, ValueError):
            export = None
        if export is not None and Path(export.path).is_file():
            return Path(export.path)
        found = sorted(self.spec.out.glob("*.gguf"))
        return found[0] if found else None

    def _score(self) -> None:
        gguf = self._trained_gguf()
        if gguf is None:
            self._fail(
                "Training ended, but it left no model file. Your current model is unchanged."
            )
            return
        self.card.gguf = str(gguf.relative_to(self.run_dir))
        self._set_state("scoring")
        cmd = [
            sys.executable,
            "-m",
            "writer_app.training.score",
            str(self.spec.base),
            str(gguf),
            str(self.spec.val_file),
            "--threads",
            str(self.spec.threads),
        ]
        self._start_process(low_priority(cmd), self._on_scored)

    def _on_scored(self, code: int, status: QProcess.ExitStatus) -> None:
        self.timer.stop()
        if status == QProcess.ExitStatus.NormalExit and code == 0:
            try:
                scores = json.loads(self._stdout.decode("utf-8").strip().splitlines()[-1])
                self.card.ppl_before = round(float(scores["before"]["ppl"]), 3)
                self.card.ppl_after = round(float(scores["after"]["ppl"]), 3)
            except (ValueError, KeyError, IndexError, TypeError):
                pass
        self.card.folder = self.run_dir
        write_card(self.run_dir, self.card)
        # The checkpoint (weights plus optimizer state) is only for resuming: the
        # run is complete, so give the writer's disk back.
        for name in ("checkpoint", "best"):
            shutil.rmtree(self.spec.out / name, ignore_errors=True)
        self._set_state("done")
        self.busy_changed.emit(False)
        self.finished.emit(self.card)

    def _fail(self, message: str) -> None:
        self.timer.stop()
        was_busy = self.state in ("training", "cancelling", "scoring")
        self._set_state("failed")
        if was_busy:
            self.busy_changed.emit(False)
        self.failed.emit(message)

    def _set_state(self, state: str) -> None:
        self.state = state
        self.state_changed.emit(state)


def _private_opener(path: str, flags: int) -> int:
    """open()'s opener for a file only the writer can read (the log quotes their texts' names)."""
    return os.open(path, flags, PRIVATE_FILE_MODE)
