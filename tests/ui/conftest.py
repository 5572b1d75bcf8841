"""Fixtures for the app's tests: isolated settings, recovery and data folders, scripted dialogs,
and windows running the real engine on real GGUF files."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QMessageBox

from writer_app.core.state_files import take_notices


@pytest.fixture(autouse=True)
def isolated_app_state(tmp_path, monkeypatch):
    """Point QSettings, the recovery folder and the data folder at this test's tmp_path."""
    QSettings.setPath(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings")
    )
    monkeypatch.setenv("WRITER_APP_RECOVERY_DIR", str(tmp_path / "recovery"))
    monkeypatch.setenv("WRITER_APP_DATA_DIR", str(tmp_path / "data"))
    # State-file notices wait for the next window of the process: not another test's.
    take_notices()
    return tmp_path


class Dialogs:
    """Stands in for the writer at modal message boxes: records them, answers from a queue."""

    def __init__(self):
        self.shown: list[tuple[str, str, str]] = []  # (kind, title, text)
        self.answers: list[QMessageBox.StandardButton] = []

    def _answer(self, kind, default):
        def show(parent, title, text, *args, **kwargs):
            self.shown.append((kind, title, text))
            return self.answers.pop(0) if self.answers else default

        return show

    def texts(self, kind: str) -> list[str]:
        return [text for k, _, text in self.shown if k == kind]


@pytest.fixture(autouse=True)
def dialogs(monkeypatch) -> Dialogs:
    """No test may hang on a modal dialog: message boxes are scripted, file dialogs forbidden."""
    d = Dialogs()
    ok = QMessageBox.StandardButton.Ok
    monkeypatch.setattr(
        QMessageBox, "question", d._answer("question", QMessageBox.StandardButton.Discard)
    )
    for kind in ("information", "warning", "critical"):
        monkeypatch.setattr(QMessageBox, kind, d._answer(kind, ok))

    def no_file_dialog(*args, **kwargs):
        raise AssertionError("a test opened a file dialog")

    monkeypatch.setattr(QFileDialog, "getOpenFileName", no_file_dialog)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", no_file_dialog)
    return d


@pytest.fixture
def make_window(qtbot):
    """Return a factory of shown MainWindows; each is shut down cleanly after the test."""
    from writer_app.ui.main_window import MainWindow
    from writer_app.ui.settings import AppSettings

    windows = []

    def make(
        model: Path | str | None = None,
        wait_ready: bool = True,
        load_model: bool = True,
        **settings,
    ):
        # Confidence 0: the tiny test models are never sure of anything, and these
        # tests are about the editor, not the gate (tests/engine/test_gate.py).
        values = {"n_threads": 1, "debounce_ms": 100, "confidence": 0.0, **settings}
        if model is not None:
            values["model_path"] = str(model)
        window = MainWindow(AppSettings(**values), load_model=load_model)
        qtbot.addWidget(window)
        windows.append(window)
        window.show()
        if load_model and wait_ready:
            qtbot.waitUntil(lambda: window.engine_state != "loading", timeout=30_000)
            assert window.engine_state == "ready", window.status.message_label.text()
        return window

    yield make
    for window in windows:
        window.editor.document().setModified(False)
        window.shutdown()


def write_project(root: Path, files: dict[str, str]) -> Path:
    """Write a project folder the way a writer keeps one: `files` maps each file's name
    (chapters, notes.md, notes/...) to its text. Returns `root`."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
