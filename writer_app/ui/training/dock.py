"""The Training panel as a dock beside the page (it can be moved, floated or
closed while the writer writes), and Model → Train on My Writing…, which
shows the current run's panel or, when there is none, the setup dialog.

The dock owns the current run: it shares the cores with the suggestion
engine while the run works, switches the app to a model the writer takes,
and carries out Keep Training after a finished run and Train on Another
Folder. At start it takes up the last run if it stopped before its end
(TrainingRun.restore), and shows it if the app's closing stopped it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QDockWidget, QMessageBox

from writer_app.training.job import core_split
from writer_app.training.library import ModelCard, new_run_dir
from writer_app.ui.training.dialog import TrainDialog
from writer_app.ui.training.panel import TrainingPanel
from writer_app.ui.training.run import TrainingRun


class TrainingDock(QDockWidget):
    """The dock that shows the current run's TrainingPanel."""

    def __init__(self, window):
        super().__init__("Training", window)
        self.window = window
        self.setObjectName("training_dock")  # saveState() names docks by it
        self.setAllowedAreas(Qt.DockWidgetArea.AllDockWidgetAreas)
        self.run: TrainingRun | None = None
        self.panel: TrainingPanel | None = None

    def model_in_use(self) -> Path | None:
        """Return the model file the app suggests with now."""
        return self.window.suggestions.engine_config().model_path

    def show_run(self, run: TrainingRun, visible: bool = True) -> TrainingPanel:
        """Show `run` (not yet started, or restored) in the dock, in place of the run before;
        return its panel. With `visible` False the dock stays as it is (hidden at start)."""
        panel = TrainingPanel(run, model_in_use=self.model_in_use)
        run.busy_changed.connect(self._share_cores)
        panel.use_model.connect(self.use_model)
        panel.train_more.connect(self.train_more)
        panel.another_folder.connect(self.open_setup)
        QApplication.instance().aboutToQuit.connect(run.stop_and_wait)
        old = self.widget()
        self.run, self.panel = run, panel
        self.setWidget(panel)
        if old is not None:
            old.deleteLater()
        if visible:
            self.show()
            self.raise_()
        return panel

    def _share_cores(self, busy: bool) -> None:
        _, engine_threads = core_split()
        self.window.suggestions.set_thread_limit(engine_threads if busy else None)

    def use_model(self, card: ModelCard) -> None:
        """Switch the app to the trained model, as the Settings dialog would."""
        self.window.model_override = None  # writer-app --model FILE no longer wins
        self.window.apply_settings(replace(self.window.settings, model_path=str(card.gguf_path)))
        if self.panel is not None:
            self.panel.refresh()

    def train_more(self) -> None:
        """Keep Training after a finished run: a new run from its model, on the same texts."""
        if self.run is None:
            return
        try:
            run = self.run.continuation(new_run_dir())
        except OSError as err:
            QMessageBox.critical(self, "Cannot train", f"The training could not go on: {err}")
            return
        self.show_run(run)
        run.start()

    def open_setup(self) -> TrainDialog:
        """Show the setup dialog: a new one unless one not yet started is open; return it."""
        dialog = getattr(self.window, "train_dialog", None)
        if dialog is None or dialog.run is not None:
            dialog = self.window.train_dialog = TrainDialog(self.window)
        else:
            dialog.rescan()  # the folder or the document may have changed
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog


def install_training(window) -> None:
    """Add the Training dock (hidden until a run starts) and Model → Train on My Writing…
    to `window` (a MainWindow). The menu shows the current run's panel, its outcomes
    included once it stopped; with none (or a discarded one), the setup dialog."""
    dock = window.training_dock = TrainingDock(window)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    dock.hide()
    window.train_dialog = None

    def show() -> None:
        if dock.run is not None and dock.run.state != "discarded":
            dock.show()
            dock.raise_()
            return
        dock.open_setup()

    action = QAction("&Train on My Writing…", window)
    action.triggered.connect(show)
    window.model_menu.addAction(action)
    window.train_action = action

    restored = TrainingRun.restore(parent=window)
    if restored is not None:
        dock.show_run(restored, visible=restored.stopped_at_quit)
