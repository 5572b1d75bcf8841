"""The app for a benchmark, kept away from the writer's own: `with isolated_app(prefix) as (app,
folder, warnings)` gives the QApplication with its settings, recovery copies and data folder
(statistics, trained models) in a temporary folder, and message boxes noted in `warnings`
instead of blocking. Offscreen unless QT_QPA_PLATFORM says otherwise.

A sibling module of the scripts (`python benchmarks/NAME.py` puts this folder on the path).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def isolated_app(prefix: str) -> Iterator[tuple[object, Path, list[str]]]:
    """Yield (QApplication, the temporary folder, the texts of the message boxes shown)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        folder = Path(tmp)
        os.environ["WRITER_APP_RECOVERY_DIR"] = str(folder / "recovery")
        os.environ["WRITER_APP_DATA_DIR"] = str(folder / "data")
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QMessageBox

        from writer_app.ui.app import create_application

        app = create_application()
        QSettings.setPath(
            QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder / "settings")
        )
        warnings: list[str] = []  # message boxes would block: note them instead
        for kind in ("information", "warning", "critical", "question"):
            setattr(QMessageBox, kind, lambda _parent, _title, text, *a, **k: warnings.append(text))
        yield app, folder, warnings
