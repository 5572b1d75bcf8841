"""Getting the training tools, once: what they are and how big, first; then pip's
download and install with a progress bar, which the writer can cancel.

Only where the app was installed without them (the desktop bundle) and knows
which to get (writer_app/training/tools.py). The editor stays usable meanwhile:
the download runs in its own process, the dialog only reads its output, and it
is not modal.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QProcess, QProcessEnvironment
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from writer_app.training.errors import TrainingError
from writer_app.training.tools import (
    ERROR_LINES,
    PipProgress,
    ToolsSpec,
    discard_staging,
    finish_install,
    pip_command,
    prepare_staging,
    tools_dir,
)

SPAN = 1000  # the progress bar's steps


def size_text(nbytes: int) -> str:
    """Return a size as a writer reads it ("1.2 GB", "350 MB")."""
    return f"{nbytes / 1e9:.1f} GB" if nbytes >= 1e9 else f"{max(1, round(nbytes / 1e6))} MB"


def offer_text(spec: ToolsSpec, folder: Path, update: bool = False) -> str:
    """Return the question asked before anything is downloaded (`update`: the tools in
    `folder` were got for an earlier version of the app)."""
    if update:
        why = (
            "The training tools (PyTorch and Transformers) in your data folder were got for "
            "an earlier version of Writer, and this one trains with other releases.\n\n"
            f"Writer can replace them now: about {size_text(spec.installed_bytes)} of disk "
            f"space in {folder}."
        )
    else:
        why = (
            "Training needs PyTorch and Transformers, which this installation of Writer "
            "leaves out to stay small.\n\n"
            f"Writer can get them now, once: about {size_text(spec.installed_bytes)} of disk "
            f"space in {folder}."
        )
    return (
        f"{why} This needs an internet connection and takes a few minutes; you can keep "
        "writing meanwhile.\n\nGet the training tools now?"
    )


class ToolsInstallDialog(QDialog):
    """Runs pip (writer_app.training.tools.pip_command) and shows how far it is.
    Accepted once the tools are in place; rejected on Cancel or failure (then
    `error` says why and nothing is left behind)."""

    def __init__(self, spec: ToolsSpec, parent: QWidget | None = None, folder: Path | None = None):
        super().__init__(parent)
        self.setWindowTitle("Getting the training tools")
        self.spec = spec
        self.folder = folder or tools_dir()
        self.progress = PipProgress()
        self.error = ""
        self.output: list[str] = []
        self._partial = b""
        self._cancelled = False

        self.status = QLabel(self.progress.text)
        self.status.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # busy until pip says how far
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"PyTorch and Transformers, into {self.folder}"))
        layout.addWidget(self.status)
        layout.addWidget(self.bar)
        layout.addWidget(buttons)
        self.resize(520, self.sizeHint().height())

        self.process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")  # lines arrive as pip writes them
        self.process.setProcessEnvironment(env)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        self.process.readyReadStandardOutput.connect(self._read)
        self.process.finished.connect(self._on_finished)
        self.process.errorOccurred.connect(self._on_error)

    def start(self) -> None:
        """Start pip into a fresh staging folder beside the tools' place."""
        try:
            staging = prepare_staging(self.spec, self.folder)
        except TrainingError as err:
            self._fail(str(err))
            return
        cmd = pip_command(self.spec, staging)
        self.process.start(cmd[0], cmd[1:])

    # --- pip's output --------------------------------------------------------------

    def _read(self) -> None:
        data = self._partial + bytes(self.process.readAllStandardOutput())
        *lines, self._partial = data.split(b"\n")
        for raw in lines:
            line = raw.decode("utf-8", "replace")
            self.output.append(line)
            del self.output[:-200]
            if self.progress.feed(line):
                self._show()

    def _show(self) -> None:
        self.status.setText(self.progress.text)
        if self.progress.fraction is None:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, SPAN)
            self.bar.setValue(round(self.progress.fraction * SPAN))

    # --- the end ---------------------------------------------------------------------

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        if self._cancelled:
            return
        if status != QProcess.ExitStatus.NormalExit or code != 0:
            self._fail_with_output()
            return
        try:
            finish_install(self.spec, self.folder)
        except OSError as exc:
            self._fail(f"The tools were downloaded but could not be put in place ({exc}).")
            return
        self.accept()

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._fail(f"The installer could not start ({self.process.errorString()}).")

    def _fail_with_output(self) -> None:
        said = self.progress.errors or [line for line in self.output if line.strip()]
        self._fail(
            "The training tools could not be installed. Check your internet connection "
            "and free disk space, then try again.\n\npip said:\n" + "\n".join(said[-ERROR_LINES:])
        )

    def _fail(self, message: str) -> None:
        self._cancelled = True  # whatever pip does next is no longer news
        discard_staging(self.folder)
        self.error = message
        QMessageBox.warning(self, "Training tools", message)
        super().reject()

    def reject(self) -> None:
        """Cancel (the button, Esc, closing the window): stop pip and remove what it
        wrote. Nothing else is touched."""
        self._cancelled = True
        if self.process.state() != QProcess.ProcessState.NotRunning:
            self.process.kill()
            self.process.waitForFinished(5000)
        discard_staging(self.folder)
        self.error = self.error or "Cancelled."
        super().reject()


def ask_for_tools(
    spec: ToolsSpec,
    parent: QWidget | None = None,
    folder: Path | None = None,
    update: bool = False,
) -> bool:
    """Say what the tools are and how big (`update`: they replace older ones); return
    whether the writer wants them now."""
    answer = QMessageBox.question(
        parent,
        "Training tools",
        offer_text(spec, folder or tools_dir(), update),
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.Yes,
    )
    return answer == QMessageBox.StandardButton.Yes
