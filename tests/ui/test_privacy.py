"""What the app keeps about the writer is private: files 0600 in folders 0700. The writer's
own documents keep the mode they had."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from writer_app.ui.settings import save_settings


@pytest.fixture
def umask_022():
    old = os.umask(0o022)  # the usual one: without care, files would be world-readable
    yield
    os.umask(old)


def modes_under(folder: Path) -> dict[str, str]:
    """Return {path relative to folder: octal mode} of everything under `folder`, itself included."""
    found = {".": oct(folder.stat().st_mode & 0o777)}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            found[str(path.relative_to(folder))] = oct(path.lstat().st_mode & 0o777)
    return found


def test_every_file_the_app_writes_in_a_session_is_private(
    qtbot, make_window, isolated_app_state, monkeypatch, umask_022
):
    home = isolated_app_state / "home"
    home.mkdir()
    for var, sub in (("HOME", ""), ("XDG_DATA_HOME", ".local/share"),
                     ("XDG_STATE_HOME", ".local/state"), ("XDG_CONFIG_HOME", ".config"),
                     ("XDG_RUNTIME_DIR", "run")):  # fmt: skip
        monkeypatch.setenv(var, str(home / sub))
    docs = isolated_app_state / "documents"
    docs.mkdir()
    secret, shared = docs / "diary.md", docs / "shared.md"
    secret.write_text("Dear diary.\n")
    os.chmod(secret, 0o600)
    shared.write_text("For the group.\n")
    os.chmod(shared, 0o644)

    window = make_window(load_model=False)
    for doc in (secret, shared):
        assert window.files.open_file(doc)
        qtbot.keyClicks(window.editor, "More. ")
        QApplication.sendEvent(window, QEvent(QEvent.Type.ActivationChange))
        window.files.autosave()  # the recovery copy
        assert window.files.save()
    qtbot.keyClicks(window.editor, "Unsaved. ")
    window.files.autosave()
    window.stats.stats.shown("x")  # something to count, so the statistics are written
    window.stats.stats.save()
    save_settings(window.settings)

    app_folders = ["recovery", "data", "settings", "open-files"]
    for folder in app_folders:
        modes = modes_under(isolated_app_state / folder)
        assert len(modes) > 1, f"nothing written in {folder}"
        for name, mode in modes.items():
            is_dir = (isolated_app_state / folder / name).is_dir()
            assert mode == oct(0o700 if is_dir else 0o600), f"{folder}/{name} is {mode}"
    assert oct(secret.stat().st_mode & 0o777) == oct(0o600)
    assert oct(shared.stat().st_mode & 0o777) == oct(0o644)
    assert secret.read_text() == "More. Dear diary.\n"
    # Enchant (the spelling library) keeps its own personal word lists in
    # ~/.config/enchant, with its own modes: not the app's files.
    strays = [p for p in home.rglob("*") if p.is_file() and "enchant" not in p.parts]
    assert strays == [], "the app wrote outside its folders"


def test_the_data_folder_of_an_older_version_is_made_private(isolated_app_state, umask_022):
    from writer_app.core.stats import SuggestionStats

    data = isolated_app_state / "data"
    data.mkdir(mode=0o755)
    (data / "suggestion-stats.json").write_text("{}")
    os.chmod(data / "suggestion-stats.json", 0o644)
    stats = SuggestionStats.load()
    stats.save()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "suggestion-stats.json").stat().st_mode) == 0o600
