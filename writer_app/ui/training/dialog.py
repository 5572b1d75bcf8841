"""Model → Train on My Writing…: choose texts and a time budget, see what will
happen in plain words, and start; the run is then followed in the Training
panel (writer_app/ui/training/dock.py), a dock beside the page.

The dialog is not modal: the writer keeps writing, and suggestions keep
coming on the core the run leaves to the engine.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from writer_app.core.paths import data_dir
from writer_app.training.errors import TrainingError
from writer_app.training.job import (
    BUDGETS,
    JobSpec,
    check_disk,
    check_packages,
    core_split,
    estimate_bytes,
    missing_packages,
)
from writer_app.training.library import ModelCard, models_dir, new_run_dir
from writer_app.training.scan import MIN_WORDS, Scan, scan, split, write_split
from writer_app.training.tools import load_spec, outdated
from writer_app.ui.training.run import TrainingRun
from writer_app.ui.training.tools_dialog import ToolsInstallDialog, ask_for_tools

OTHER_BUDGET = "Other:"
DEFAULT_BUDGET = "1 hour"
SKIPPED_SHOWN = 8  # skipped files named in the summary; the rest are counted


class TrainDialog(QDialog):
    """The setup of one run: the texts, the time, what will happen, Start Training.
    `window` (a MainWindow) has the training_dock that shows the run it starts."""

    def __init__(self, window, parent: QWidget | None = None):
        super().__init__(parent or window)
        self.window = window
        self.setWindowTitle("Train on My Writing")
        self.run: TrainingRun | None = None
        self.panel = None  # the run's TrainingPanel, once started
        self.scan_result = Scan()
        self.scan_error = ""
        # More writer-finetune flags for every run: tests make runs tiny with them.
        self.extra_args: list[str] = []
        # More writer-bench calibrate flags (tests: a short --chars, --no-refine).
        self.calibrate_args: list[str] = []
        # Where the training tools are looked for, described and installed (tests
        # point them at their own; None: the environment's, the bundle's spec and
        # writer_app.training.tools.tools_dir()).
        self.find_package = None
        self.tools_spec_path: Path | None = None
        self.tools_folder: Path | None = None
        self.tools_install: ToolsInstallDialog | None = None  # while the tools download

        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("a folder of your .txt and .md files")
        self.folder_edit.editingFinished.connect(self.rescan)
        browse = QPushButton("Choose…")
        browse.clicked.connect(self.browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)
        self.include_document = QCheckBox("Include the document I am writing")
        self.include_document.setChecked(True)
        self.include_document.toggled.connect(self.rescan)
        # One control, one meaning: a choice of times, and a minutes box that is used
        # (and enabled) only for Other; otherwise it shows the chosen time's minutes.
        self.budget = QButtonGroup(self)
        self.budget_buttons = {label: QRadioButton(label) for label in [*BUDGETS, OTHER_BUDGET]}
        self.minutes = QSpinBox()
        self.minutes.setRange(1, 24 * 60)
        self.minutes.setSuffix(" min")
        self.minutes.setToolTip("How many minutes to train, for Other")
        budget_row = QHBoxLayout()
        for button in self.budget_buttons.values():
            self.budget.addButton(button)
            budget_row.addWidget(button)
        budget_row.addWidget(self.minutes)
        budget_row.addStretch(1)
        self.budget_buttons[DEFAULT_BUDGET].setChecked(True)
        self.minutes.setValue(BUDGETS[DEFAULT_BUDGET])
        self.minutes.setEnabled(False)
        self.budget.buttonToggled.connect(self._on_budget)
        self.minutes.valueChanged.connect(self.update_summary)
        self.base_label = QLabel(self.base_model().name if self.base_model() else "no model")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.start_button = QPushButton("Start Training")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        close = QPushButton("Close")
        close.clicked.connect(self.hide)

        form = QFormLayout()
        form.addRow("Your texts", folder_row)
        form.addRow("", self.include_document)
        form.addRow("Time to train", budget_row)
        form.addRow("Starting from", self.base_label)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(close)
        buttons.addWidget(self.start_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.summary, 1)
        layout.addLayout(buttons)
        self.resize(620, 460)
        self.rescan()

    # --- the setup page ----------------------------------------------------------

    def base_model(self) -> Path | None:
        """Return the model the app uses now (the writer's file or the bundled default)."""
        return self.window.suggestions.engine_config().model_path

    def budget_minutes(self) -> int:
        """Return the chosen time budget in minutes."""
        return self.minutes.value()

    def choose_budget(self, label: str, minutes: int | None = None) -> None:
        """Choose a time as the writer would: a label of BUDGETS, or OTHER_BUDGET and `minutes`."""
        self.budget_buttons[label].setChecked(True)
        if minutes is not None:
            self.minutes.setValue(minutes)

    def _on_budget(self, *_) -> None:
        other = self.budget_buttons[OTHER_BUDGET].isChecked()
        self.minutes.setEnabled(other)
        chosen = next((k for k, b in self.budget_buttons.items() if b.isChecked()), None)
        if not other and chosen in BUDGETS:
            self.minutes.setValue(BUDGETS[chosen])
        self.update_summary()

    def browse(self) -> None:
        """Ask for the folder of texts."""
        folder = QFileDialog.getExistingDirectory(self, "Choose the folder of your texts")
        if folder:
            self.folder_edit.setText(folder)
            self.rescan()

    def set_folder(self, folder: Path | str) -> None:
        """Use `folder` as the folder of texts (as Choose… does)."""
        self.folder_edit.setText(str(folder))
        self.rescan()

    def rescan(self) -> None:
        """Count the words of the chosen texts and say what training would do."""
        folder = self.folder_edit.text().strip()
        document = self.window.editor.toPlainText() if self.include_document.isChecked() else None
        try:
            self.scan_result = scan(Path(folder) if folder else None, document, data_dir())
            self.scan_error = ""
        except TrainingError as err:
            self.scan_result, self.scan_error = Scan(), str(err)
        self.update_summary()

    def update_summary(self) -> None:
        """Say in plain words what will happen."""
        s = self.scan_result
        if self.scan_error:
            self.summary.setText(self.scan_error)
            self.start_button.setEnabled(False)
            return
        lines = []
        if not s.texts:
            lines.append("Choose a folder of your own writing (.txt or .md files).")
        else:
            files = len(s.texts)
            lines.append(f"Found {s.words:,} words in {files} text{'s' if files != 1 else ''}.")
            try:
                parts = split(s)
                lines.append(
                    f"The last part of each text, {parts.val_words:,} words, is held out: the "
                    f"model never trains on it, and it is used to score the model before and "
                    f"after. {parts.train_words:,} words are for training."
                )
            except TrainingError as err:
                lines.append(str(err))
            if s.low and s.words >= MIN_WORDS:
                lines.append(
                    f"That is little text ({s.words:,} words, under 20,000): the model will "
                    "learn only a little of your style."
                )
        if s.skipped:
            named = ", ".join(f"{name} ({why})" for name, why in s.skipped[:SKIPPED_SHOWN])
            more = len(s.skipped) - SKIPPED_SHOWN
            lines.append(f"Skipped: {named}{f' and {more} more' if more > 0 else ''}.")
        lines.append(
            f"Training takes about {self.budget_minutes()} minutes on all but one of your "
            "processor's cores, at low priority; suggestions keep working meanwhile."
        )
        lines.append(f"The new model will be written to {models_dir()}.")
        self.summary.setText("\n\n".join(lines))
        self.start_button.setEnabled(s.words >= MIN_WORDS and self.run is None)

    # --- starting ------------------------------------------------------------------

    def training_tools_ready(self) -> bool:
        """Return whether torch and transformers are there. Where they are not and the app
        knows which to get (the bundle), ask, and with the writer's yes install them in
        the background (ToolsInstallDialog): Start goes on by itself once they are in.
        Tools got for an earlier version of the app are offered again, as an update.
        Raises TrainingError naming what to install where the app cannot get them."""
        spec = load_spec(self.tools_spec_path)
        update = spec is not None and outdated(spec, self.tools_folder)
        if not update and not missing_packages(self.find_package):
            return True
        if spec is None:
            check_packages(self.find_package)  # raises: what to install, and how
        if self.tools_install is not None:  # Start again while they download
            self.tools_install.raise_()
        elif ask_for_tools(spec, self, self.tools_folder, update):
            # Not modal: a modal dialog would block the editor too, its grandparent.
            self.tools_install = ToolsInstallDialog(spec, self, self.tools_folder)
            self.tools_install.finished.connect(self._tools_finished)
            self.tools_install.show()
            self.tools_install.start()
        return False

    def _tools_finished(self, result: int) -> None:
        self.tools_install = None
        if result == QDialog.DialogCode.Accepted:
            self.start()  # where Start left off

    def start(self) -> bool:
        """Check everything, write the training and held-out texts, and start the run.
        Returns whether it started; every refusal is explained to the writer."""
        if self.run is not None:
            return False
        current = self.window.training_dock.run
        if current is not None and not current.stopped and current.state != "discarded":
            QMessageBox.warning(
                self, "Cannot train", "A training is going on: cancel it first, then start another."
            )
            return False
        base = self.base_model()
        try:
            if not self.training_tools_ready():
                return False
            if base is None or not base.is_file():
                raise TrainingError(
                    "There is no model to start from: choose one in Settings → Model first."
                )
            parts = split(self.scan_result)
        except TrainingError as err:
            QMessageBox.warning(self, "Cannot train", str(err))
            return False
        words = self.scan_result.words
        if self.scan_result.low:
            answer = QMessageBox.question(
                self,
                "Little text",
                f"Your texts hold {words:,} words. With under 20,000 words the model learns "
                "little of your style, and may get worse. Train anyway?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
        try:
            run_dir = new_run_dir()
        except OSError as err:
            QMessageBox.critical(
                self,
                "Cannot train",
                f"Writer cannot write to {models_dir()}, where trained models are kept "
                f"({err.strerror or err}).",
            )
            return False
        data_bytes = sum(len(t.text.encode("utf-8")) for t in self.scan_result.texts)
        try:
            check_disk(run_dir.parent, estimate_bytes(base, data_bytes))
            train_dir, val_file = write_split(parts, run_dir / "data")
        except TrainingError as err:
            QMessageBox.critical(self, "Cannot train", str(err))
            return False
        except OSError as err:
            QMessageBox.critical(
                self, "Cannot train", f"The texts could not be written to {run_dir}: {err}"
            )
            return False
        train_threads, _ = core_split()
        spec = JobSpec(
            base=base,
            train_dir=train_dir,
            val_file=val_file,
            out=run_dir / "train",
            minutes=self.budget_minutes(),
            threads=train_threads,
            extra_args=list(self.extra_args),
            calibrate_args=list(self.calibrate_args),
        )
        card = ModelCard(
            gguf="",
            created=time.strftime("%Y-%m-%d %H:%M"),
            base=str(base),
            train_words=parts.train_words,
            val_words=parts.val_words,
            minutes=spec.minutes,
            files=[t.name for t in self.scan_result.texts],
        )
        self.run = TrainingRun(spec, run_dir, card, parent=self.window)
        self.start_button.setEnabled(False)
        self.panel = self.window.training_dock.show_run(self.run)
        self.hide()
        self.run.start()
        return True
