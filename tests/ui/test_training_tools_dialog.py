"""Train on My Writing where torch is missing: the app says what the training tools are
and how big before anything is downloaded, then pip installs them with a progress bar;
a failure or a cancel says so and leaves nothing. Real pip, from a local wheel."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from tests.wheels import PROBE, PROBE_VERSION, make_probe_wheel
from writer_app.core.paths import DATA_DIR_ENV
from writer_app.training.tools import ToolsSpec, installed, staging_dir
from writer_app.ui.training.tools_dialog import ToolsInstallDialog

SPEC = ToolsSpec((f"{PROBE}=={PROBE_VERSION}",), installed_bytes=1_126_512_691)
YES, NO = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No


@pytest.fixture
def local_pip(tmp_path, monkeypatch):
    """pip finds packages in a folder holding the probe wheel only; the data folder is new."""
    wheels = tmp_path / "wheels"
    make_probe_wheel(wheels)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    return tmp_path / "tools"


def run_dialog(qtbot, spec: ToolsSpec, folder) -> ToolsInstallDialog:
    dialog = ToolsInstallDialog(spec, None, folder)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.finished, timeout=120_000):
        dialog.start()
    return dialog


def test_the_dialog_installs_the_tools_and_shows_pips_progress(qtbot, local_pip, dialogs):
    dialog = run_dialog(qtbot, SPEC, local_pip)
    assert dialog.result() == QDialog.DialogCode.Accepted, dialog.error
    assert installed(local_pip) and (local_pip / PROBE / "__main__.py").is_file()
    assert not staging_dir(local_pip).exists()
    assert dialog.status.text() == "Installed." and dialog.bar.value() == dialog.bar.maximum()
    assert any(line.startswith("Successfully installed") for line in dialog.output)
    assert dialogs.shown == []


def test_a_failed_install_says_pips_reason_and_leaves_nothing(qtbot, local_pip, dialogs):
    dialog = run_dialog(qtbot, ToolsSpec((f"{PROBE}==9.9",), 1), local_pip)
    assert dialog.result() == QDialog.DialogCode.Rejected
    warning = dialogs.texts("warning")[0]
    assert "could not be installed" in warning and f"{PROBE}==9.9" in warning
    assert not local_pip.exists() and not staging_dir(local_pip).exists()


def test_cancel_stops_pip_and_removes_what_it_wrote(qtbot, local_pip, dialogs):
    dialog = ToolsInstallDialog(SPEC, None, local_pip)
    qtbot.addWidget(dialog)
    dialog.start()
    qtbot.waitUntil(lambda: staging_dir(local_pip).parent.is_dir(), timeout=10_000)
    dialog.reject()  # the Cancel button, Esc or closing the window
    assert dialog.result() == QDialog.DialogCode.Rejected and dialog.error == "Cancelled."
    qtbot.wait(300)  # a killed pip writes nothing more
    assert not staging_dir(local_pip).exists() and not installed(local_pip)
    assert dialogs.shown == []  # a cancel is not an error


def test_train_dialog_offers_the_tools_with_their_size_then_installs_them_in_the_background(
    qtbot, make_window, dialogs, local_pip, tmp_path
):
    spec_file = tmp_path / "training-tools.json"
    spec_file.write_text(SPEC.to_json())
    window = make_window(load_model=False)
    window.train_action.trigger()
    dialog = window.train_dialog
    # An app installed without torch (the bundle): the tools give it, once installed.
    dialog.find_package = lambda name: object() if installed(local_pip) else None
    dialog.tools_spec_path, dialog.tools_folder = spec_file, local_pip

    dialogs.answers = [NO]
    assert not dialog.start() and dialog.run is None
    question = dialogs.texts("question")[0]
    assert "PyTorch and Transformers" in question and "1.1 GB" in question
    assert str(local_pip) in question
    assert not local_pip.exists() and dialogs.texts("warning") == []

    dialogs.answers = [YES]  # the install runs in the background; the editor stays usable
    assert not dialog.start()
    assert dialog.tools_install.isVisible() and QApplication.activeModalWidget() is None
    # Once the tools are in, Start goes on by itself, to its next check.
    qtbot.waitUntil(lambda: bool(dialogs.texts("warning")), timeout=120_000)
    assert installed(local_pip) and dialog.tools_install is None
    assert dialogs.texts("warning") == [
        "There are only 0 words here: training needs at least 2,000 (and does well with "
        "20,000 or more)."
    ]


def test_too_little_room_is_said_and_pip_never_starts(qtbot, local_pip, dialogs):
    dialog = run_dialog(qtbot, ToolsSpec(SPEC.requirements, 10**18), local_pip)
    assert dialog.result() == QDialog.DialogCode.Rejected
    assert "Not enough free disk space" in dialogs.texts("warning")[0]
    assert dialog.output == [] and not staging_dir(local_pip).exists()


def test_tools_got_for_an_earlier_version_are_offered_again_as_an_update(
    make_window, dialogs, local_pip, tmp_path
):
    old = ToolsSpec((f"{PROBE}==0.9",), 1)  # what an earlier app installed
    local_pip.mkdir(parents=True)
    (local_pip / "installed.json").write_text(old.to_json())
    spec_file = tmp_path / "training-tools.json"
    spec_file.write_text(SPEC.to_json())
    window = make_window(load_model=False)
    window.train_action.trigger()
    dialog = window.train_dialog
    dialog.find_package = lambda name: object()  # torch is found: in the old tools
    dialog.tools_spec_path, dialog.tools_folder = spec_file, local_pip

    dialogs.answers = [NO]
    assert not dialog.start() and dialog.run is None
    question = dialogs.texts("question")[0]
    assert "earlier version of Writer" in question and "1.1 GB" in question
    assert (local_pip / "installed.json").read_text() == old.to_json()  # left as it was
