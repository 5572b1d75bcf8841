"""A training run as the app sees it: the `writer-finetune train` process, its
progress read from metrics.jsonl, cancel and resume, and, at the end, the
scoring of the base and the new model on the writer's held-out text, then
the new model's suggestion confidence chosen on that text and stored in its
file (writer-bench calibrate --write; skipped, with a note in train.log, when
there is no held-out text).

After a stop, the best model so far can still be made usable (`make_model`:
`writer-finetune export` of OUT/best, then the same scoring), the run can be
resumed, trained further from its finished model (`continuation`), or
discarded with its folder.

A stopped run is not lost with the window: each start writes the run's JobSpec
(job.json) and card into its folder, and at the next start `restore` takes the
newest run up again, stopped, with its progress read back from metrics.jsonl,
so Keep Training resumes it from its checkpoint. A run that the app's closing
stopped (rather than Cancel) leaves a mark (QUIT_MARK), so that its panel is
shown once at the next start.

Nothing here touches the app's model or settings: a run that fails or is
killed leaves them as they were. Only the writer's "Use this model" does.

What the training process leaves is read through finetune.outputs' types:
its exit status (ExitCode), metrics.jsonl's rows and training_summary.json.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from collections import deque
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from finetune.outputs import METRICS_FILE, SUMMARY_FILE, EvalRow, ExitCode, TrainingSummary
from writer_app.core.paths import PRIVATE_FILE_MODE, private_dir, private_file
from writer_app.training.errors import TrainingError
from writer_app.training.job import (
    JOB_FILE,
    JobSpec,
    calibrate_command,
    command,
    environment,
    export_command,
    low_priority,
)
from writer_app.training.library import (
    ModelCard,
    discard_run,
    models_dir,
    read_card,
    write_card,
)
from writer_app.training.metrics import MetricsReader, Progress
from writer_app.training.tools import module_command

POLL_MS = 500  # how often metrics.jsonl is read
TAIL_LINES = 12  # lines of the process's output shown when it fails
QUIT_WAIT_MS = 30_000  # at quit: time for the run to save its checkpoint
LOG_FILE = "train.log"
QUIT_MARK = "stopped-at-quit"  # in the run folder: closing the app stopped the training
# How a training process that ended on its own (no Cancel) ended, for the writer.
# Each is followed by the process's own last line, which says why.
ENDINGS = {
    ExitCode.INTERRUPTED: "Training was stopped from outside the app",
    ExitCode.LOCKED: "Another training run is using this run's folder",
    ExitCode.REFUSED: "The training settings were refused",
    ExitCode.TEXT_CHANGED: "The texts of this run changed since it started",
}
RUNNING = ("idle", "training", "cancelling", "exporting", "scoring")
STOPPED = ("cancelled", "failed", "done")


def signal_name(number: int) -> str:
    """Return e.g. "SIGKILL" for 9, or "signal 42" for a number without a name."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class TrainingRun(QObject):
    """One run in one folder. state: "idle", "training", "cancelling", "cancelled",
    "exporting", "scoring", "done", "failed", "discarded"."""

    state_changed = Signal(str)
    progress = Signal(object)  # training.metrics.Progress
    output = Signal(str)  # a line the process wrote
    failed = Signal(str)  # what happened, for the writer
    # The ModelCard of a scored model in the library: at the end of the run, or
    # after make_model() on a stopped one.
    model_ready = Signal(object)
    # True while the run uses the cores (training or scoring): the engine keeps one.
    busy_changed = Signal(bool)

    def __init__(self, spec: JobSpec, run_dir: Path, card: ModelCard, parent=None):
        super().__init__(parent)
        self.spec, self.run_dir, self.card = spec, Path(run_dir), card
        self.state = "idle"
        self.tail: deque[str] = deque(maxlen=200)
        self.progress_data = Progress(budget_s=spec.minutes * 60)
        # (minutes of training, perplexity on the held-out text) per evaluation:
        # the panel's plot. Progress keeps tokens; a writer reads time.
        self.curve: list[tuple[float, float]] = []
        self._stopped_state = "cancelled"  # where make_model() returns to
        # Whether the run's model file holds its best weights as they are now (false
        # again once training goes on).
        self.model_fresh = False
        self.stopped_at_quit = False  # restored, and closing the app had stopped it
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

    @property
    def stopped(self) -> bool:
        """Whether the run has stopped (cancelled, failed or done) and is not discarded."""
        return self.state in STOPPED

    @property
    def trained_to_the_end(self) -> bool:
        """Whether training ran its whole time (it may still be scoring), rather than stopping."""
        return self._stopped_state == "done"

    @property
    def best_dir(self) -> Path:
        """Return where writer-finetune keeps the best weights so far (save_pretrained)."""
        return self.spec.out / "best"

    @property
    def has_model(self) -> bool:
        """Whether the run's scored model file exists (its card is in the library)."""
        return bool(self.card.gguf) and (self.run_dir / self.card.gguf).is_file()

    @property
    def can_make_model(self) -> bool:
        """Whether "Use this model" has a model to give: a finished one, or a stopped
        run's best weights so far."""
        if self.state == "done":
            return self.has_model
        return self.state in ("cancelled", "failed") and self.best_dir.is_dir()

    def start(self) -> None:
        """Start (or, after resume(), continue) the training process."""
        try:
            private_dir(self.spec.out)
            cmd = command(self.spec)  # writes run.json
            # What restore() needs to take the run up after a restart (the card
            # without a model file is not listed in the library).
            private_file(self.run_dir / JOB_FILE, self.spec.to_json().encode("utf-8"))
            write_card(self.run_dir, self.card)
            self._log = _open_log(self.run_dir)
        except OSError as exc:
            self._fail(f"The training could not start: {exc}. Your current model is unchanged.")
            return
        self.model_fresh = False
        self._stopped_state = "cancelled"
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
        """Ask the run to save its checkpoint and stop (SIGTERM); Resume continues it.
        An export or a scoring in progress is stopped at once."""
        if self.state == "training" and self.process is not None:
            self._set_state("cancelling")
            self.process.terminate()
        elif self.state in ("exporting", "scoring") and self.process is not None:
            self.process.kill()

    def make_model(self) -> None:
        """Make the best model so far a model the app can use: export OUT/best to a GGUF
        (`writer-finetune export`), score it, and write its card; model_ready(card)
        follows, or failed(message). A finished run's model is ready at once."""
        if self.stopped and self.model_fresh and self.has_model:
            self.model_ready.emit(self.card)
            return
        if not self.can_make_model:
            return
        self._stopped_state = self.state
        # The name the finished run's export takes: a run resumed to its end
        # replaces this model with the better one in the same file.
        gguf = self.spec.out / f"{self.spec.name}-{self.spec.export_quant}.gguf"
        try:
            self._log = _open_log(self.run_dir)
        except OSError as exc:
            self._fail(f"The model so far could not be saved: {exc}.")
            return
        self.tail.clear()
        self._start_process(
            export_command(self.spec, self.best_dir, gguf),
            lambda code, status: self._on_exported(code, status, gguf),
        )
        self._set_state("exporting")
        self.busy_changed.emit(True)

    def discard(self, in_use: Path | None) -> None:
        """Delete the run's folder: its models, its training state, its copies of the texts.

        Raises TrainingError, deleting nothing, while the run is going on or when
        the model in use (`in_use`) is the run's.
        """
        if not self.stopped:
            raise TrainingError("The training is still going on: cancel it first.")
        discard_run(self.run_dir, in_use)
        self._set_state("discarded")

    def continuation(self, run_dir: Path) -> TrainingRun:
        """Return a new run (not started) in `run_dir` that trains this finished run's
        model further, on the same texts and for the same time.

        Raises OSError when the texts cannot be copied.
        """
        private_dir(run_dir)
        shutil.copytree(self.run_dir / "data", run_dir / "data", dirs_exist_ok=True)
        spec = replace(
            self.spec,
            base=self.card.gguf_path,
            train_dir=run_dir / self.spec.train_dir.relative_to(self.run_dir),
            val_file=run_dir / self.spec.val_file.relative_to(self.run_dir),
            out=run_dir / self.spec.out.relative_to(self.run_dir),
            resume=False,
            extra_args=list(self.spec.extra_args),
            calibrate_args=list(self.spec.calibrate_args),
        )
        card = replace(
            self.card,
            gguf="",
            created=time.strftime("%Y-%m-%d %H:%M"),
            base=str(self.card.gguf_path),
            ppl_before=None,
            ppl_after=None,
            files=list(self.card.files),
            folder=None,
        )
        return TrainingRun(spec, run_dir, card, parent=self.parent())

    @classmethod
    def restore(cls, root: Path | None = None, parent=None) -> TrainingRun | None:
        """Return the newest run of the library (`root`, else models_dir()) as a stopped
        ("cancelled") run, with its progress read back, when it can still be resumed
        (it has a checkpoint); else None. Never raises: a run whose job.json or card
        cannot be read is left alone."""
        root = Path(root or models_dir())
        try:
            runs = sorted(root.glob("*/"), key=lambda p: p.name) if root.is_dir() else []
            if not runs:
                return None
            run_dir = runs[-1]
            spec = JobSpec.from_json((run_dir / JOB_FILE).read_text(encoding="utf-8"))
            card = read_card(run_dir)
        except (OSError, ValueError, TrainingError):
            return None
        if run_dir.resolve() not in spec.out.resolve().parents:
            return None  # a job.json that points elsewhere is not this run's
        spec.resume = False  # resume() sets it
        run = cls(spec, run_dir, card, parent=parent)
        run.state = "cancelled"
        if not run.can_resume:
            return None
        run.poll()  # the progress and the plot, from metrics.jsonl
        mark = run_dir / QUIT_MARK
        run.stopped_at_quit = mark.is_file()
        with contextlib.suppress(OSError):
            mark.unlink(missing_ok=True)  # told once
        return run

    def stop_and_wait(self, timeout_ms: int = QUIT_WAIT_MS) -> None:
        """At quit: let a running job save its checkpoint, then stop for good."""
        if self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning:
            if self.state == "training":
                try:
                    private_file(self.run_dir / QUIT_MARK, b"")
                except OSError:
                    pass  # the run is still taken up at the next start, only not shown
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
            self.curve = []
        for row in rows:
            if isinstance(row, EvalRow):  # a later row for the same time replaces it
                minutes = row.elapsed / 60
                self.curve = [p for p in self.curve if p[0] < minutes] + [(minutes, row.val_ppl)]
        if rows or restarted:
            self.progress_data.add(rows)
            self.progress.emit(self.progress_data)

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def _on_training_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self.poll()
        self._close_log()
        crashed = status == QProcess.ExitStatus.CrashExit
        if self.state == "cancelling" and not crashed:
            self.timer.stop()
            self._set_state("cancelled")
            self.busy_changed.emit(False)
            return
        if not crashed and code == 0:
            self._stopped_state = "done"
            gguf = self._trained_gguf()
            if gguf is None:
                self._fail(
                    "Training ended, but it left no model file. Your current model is unchanged."
                )
                return
            self._score(gguf)
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

    def _on_exported(self, code: int, status: QProcess.ExitStatus, gguf: Path) -> None:
        self._close_log()
        if status == QProcess.ExitStatus.NormalExit and code == 0 and gguf.is_file():
            self._score(gguf)
            return
        last = "\n".join(list(self.tail)[-TAIL_LINES:])
        self._fail(
            "The model so far could not be saved as a file the app can use. "
            "Your current model is unchanged."
            + (
                " Keep training continues the run."
                if (self.spec.out / "checkpoint").is_dir()
                else ""
            )
            + (f"\n\nIts last lines:\n{last}" if last else "")
        )

    def _score(self, gguf: Path) -> None:
        self.card.gguf = str(gguf.relative_to(self.run_dir))
        self._set_state("scoring")
        cmd = [
            *module_command("writer_app.training.score"),
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
        if status == QProcess.ExitStatus.CrashExit:  # Cancel while scoring: no calibration
            self._scored()
            return
        cmd = calibrate_command(self.spec, self.card.gguf_path)
        if cmd is None:
            self._note(
                "No held-out text to calibrate the suggestion confidence on: the model "
                "uses the usual one."
            )
            self._scored()
            return
        try:
            self._log = _open_log(self.run_dir)
        except OSError:
            self._log = None  # the calibration's lines still reach the panel's details
        self._start_process(cmd, self._on_calibrated)

    def _on_calibrated(self, code: int, status: QProcess.ExitStatus) -> None:
        self._close_log()
        if status != QProcess.ExitStatus.NormalExit or code != 0:
            self._note(
                "The suggestion confidence was not calibrated (stopped, or it failed): the "
                "model uses the usual one."
            )
        self._scored()

    def _note(self, line: str) -> None:
        """Add `line` to train.log and the panel's details."""
        try:
            with _open_log(self.run_dir) as log:
                log.write(line + "\n")
        except OSError:
            pass
        self.tail.append(line)
        self.output.emit(line)

    def _scored(self) -> None:
        """The end of scoring (and calibration): the card written, the run stopped."""
        write_card(self.run_dir, self.card)
        self.model_fresh = True
        if self._stopped_state == "done":
            # The checkpoint (weights plus optimizer state) is only for resuming: the
            # run is complete, so give the writer's disk back.
            for name in ("checkpoint", "best"):
                shutil.rmtree(self.spec.out / name, ignore_errors=True)
        # A stopped run's model was made from its best weights so far: it stays
        # stopped (and resumable) with a model in the library.
        self._set_state(self._stopped_state)
        self.busy_changed.emit(False)
        self.model_ready.emit(self.card)

    def _fail(self, message: str) -> None:
        self.timer.stop()
        self._close_log()
        was_busy = self.state in RUNNING[1:]
        self._set_state("failed")
        if was_busy:
            self.busy_changed.emit(False)
        self.failed.emit(message)

    def _set_state(self, state: str) -> None:
        self.state = state
        self.state_changed.emit(state)


def _open_log(run_dir: Path):
    """Return train.log of `run_dir`, opened for appending (private). Raises OSError."""
    return open(  # noqa: SIM115 (open while the process lasts; closed when it ends)
        run_dir / LOG_FILE, "a", encoding="utf-8", opener=_private_opener
    )


def _private_opener(path: str, flags: int) -> int:
    """open()'s opener for a file only the writer can read (the log quotes their texts' names)."""
    return os.open(path, flags, PRIVATE_FILE_MODE)
