"""The training tools' one-time install (writer_app/training/tools.py), with real pip
from a local wheel: staged, then put in place; found by the checks before training and
by training's processes; a failure or an older install leaves nothing behind."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from tests.wheels import PROBE, PROBE_VERSION, make_probe_wheel, make_wheel
from writer_app.core.paths import DATA_DIR_ENV
from writer_app.training.tools import (
    MARKER,
    RUN_MODULE_ARG,
    PipProgress,
    ToolsSpec,
    app_command,
    find_spec,
    install,
    installed,
    load_spec,
    module_command,
    outdated,
    package_name,
    pip_command,
    staging_dir,
    tools_dir,
)

PROBE_SPEC = ToolsSpec((f"{PROBE}=={PROBE_VERSION}",), installed_bytes=4096)


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wheels")
    make_probe_wheel(folder)
    make_wheel(folder, PROBE, "2.0", {f"{PROBE}/__init__.py": "VERSION = 2\n"})
    return folder


@pytest.fixture
def local_pip(tmp_path, monkeypatch, wheels):
    """The app's data folder in tmp_path, and pip finding packages in `wheels` only."""
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    return tmp_path / "data"


def test_pip_installs_into_staging_then_into_place_where_training_finds_it(local_pip):
    assert find_spec(PROBE) is None and not installed()

    proc = subprocess.run(pip_command(PROBE_SPEC, staging_dir()), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    progress = PipProgress()
    for line in proc.stdout.splitlines():
        progress.feed(line)
    assert (progress.text, progress.fraction, progress.errors) == ("Installed.", 1.0, [])
    assert (staging_dir() / PROBE / "__main__.py").is_file()
    assert not installed() and find_spec(PROBE) is None  # staged is not installed

    assert install(PROBE_SPEC, out=io.StringIO()) == 0  # the same, through install()
    assert installed() and not staging_dir().exists()
    assert load_spec(tools_dir() / MARKER) == PROBE_SPEC
    assert find_spec(PROBE) is not None  # what missing_packages() looks with


def test_training_processes_run_with_the_tools_first_on_their_path(local_pip):
    assert install(PROBE_SPEC, out=io.StringIO()) == 0
    cmd = [*app_command(), RUN_MODULE_ARG, PROBE, "chapter one.txt", "--exit", "3"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr  # the module's exit status comes back
    report = json.loads(proc.stdout.splitlines()[-1])
    assert report["argv"] == ["chapter one.txt", "--exit", "3"]
    # First: the bundle holds parts of some of the same packages (jinja2 without
    # jinja2.meta), and the whole set pip resolved for torch must win.
    assert report["first_path"] == str(tools_dir())


def test_a_failed_install_says_why_and_leaves_nothing(local_pip):
    out = io.StringIO()
    assert install(ToolsSpec((f"{PROBE}==9.9",), 4096), out=out) == 1
    said = out.getvalue()
    assert "could not be installed" in said and PROBE in said  # pip's own reason
    assert not tools_dir().exists() and not staging_dir().exists()


def test_a_new_install_replaces_the_old_one_whole(local_pip):
    assert install(PROBE_SPEC, out=io.StringIO()) == 0
    newer = ToolsSpec((f"{PROBE}==2.0",), 4096)
    assert outdated(newer) and not outdated(PROBE_SPEC)  # made for the app before
    assert install(newer, out=io.StringIO()) == 0
    assert not outdated(newer)
    names = sorted(p.name for p in tools_dir().iterdir() if p.name.endswith(".dist-info"))
    assert names == [f"{PROBE}-2.0.dist-info"]
    assert not (tools_dir() / PROBE / "__main__.py").exists()  # nothing of 1.0 is left
    assert load_spec(tools_dir() / MARKER) == newer


def test_without_a_spec_install_names_the_developer_way(local_pip, tmp_path):
    out = io.StringIO()
    assert install(load_spec(tmp_path / "none.json"), out=out) == 2
    assert "pip install -e '.[finetune]'" in out.getvalue()
    assert not tools_dir().exists()


def test_the_spec_file_is_read_or_refused_without_raising(tmp_path):
    path = tmp_path / "training-tools.json"
    assert load_spec(path) is None  # a developer install has none
    path.write_text(PROBE_SPEC.to_json())
    assert load_spec(path) == PROBE_SPEC
    for broken in ("{not json", '{"requirements": []}', '{"installed_bytes": 3}', "[1, 2]"):
        path.write_text(broken)
        assert load_spec(path) is None, broken


def test_pip_gets_wheels_only_into_the_target_and_torch_from_the_spec_index(tmp_path):
    cmd = pip_command(PROBE_SPEC, tmp_path / "t")
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"]
    assert cmd[cmd.index("--target") + 1] == str(tmp_path / "t")
    assert "--only-binary=:all:" in cmd and cmd[cmd.index("--progress-bar") + 1] == "raw"
    assert "--extra-index-url" not in cmd and cmd[-1] == PROBE_SPEC.requirements[-1]
    cpu = ToolsSpec(("torch==2.13.0+cpu",), 1, "https://download.pytorch.org/whl/cpu")
    with_index = pip_command(cpu, tmp_path / "t")
    assert with_index[with_index.index("--extra-index-url") + 1] == cpu.index_url


def test_where_torch_is_installed_training_runs_as_python_m():
    assert module_command("finetune.cli") == [sys.executable, "-m", "finetune.cli"]


def test_pip_progress_follows_downloads_then_the_install():
    progress = PipProgress()
    lines = [
        "Collecting torch==2.13.0+cpu",
        "  Downloading torch-2.13.0%2Bcpu-cp311-cp311-manylinux_2_28_x86_64.whl (184.2 MB)",
        "Progress 0 of 184200000",
        "Progress 92100000 of 184200000",
    ]
    for line in lines:
        progress.feed(line)
    assert progress.text == "Downloading torch (184.2 MB)…"
    assert progress.fraction == 0.5
    assert progress.feed("Collecting transformers==5.24.0")
    assert progress.text == "Looking up transformers…" and progress.fraction is None
    progress.feed("  Using cached tqdm-4.70.1-py3-none-any.whl (78 kB)")
    assert progress.text.startswith("Using the copy downloaded before of tqdm (78 kB)")
    progress.feed("Installing collected packages: tqdm, torch")
    assert progress.fraction is None and progress.text.startswith("Installing")
    assert not progress.feed("Collecting nothing-new")  # pip's install phase names no more
    progress.feed("ERROR: Could not install packages due to an OSError: [Errno 28] No space")
    assert progress.errors == ["Could not install packages due to an OSError: [Errno 28] No space"]


def test_package_names_from_requirements_and_wheel_files():
    assert package_name("torch==2.13.0+cpu") == "torch"
    assert package_name("typing_extensions-4.16.0-py3-none-any.whl") == "typing_extensions"
    assert package_name("huggingface-hub>=1.0") == "huggingface-hub"
    assert package_name("pyyaml[extra]") == "pyyaml"


def test_too_little_room_or_an_unwritable_data_folder_is_said_before_pip_runs(
    local_pip, tmp_path, monkeypatch
):
    huge = ToolsSpec(PROBE_SPEC.requirements, installed_bytes=10**18)  # an exabyte
    out = io.StringIO()
    assert install(huge, out=out) == 1
    assert "Not enough free disk space for the training tools" in out.getvalue()
    assert not staging_dir().exists() and not installed()

    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the data folder should be")
    monkeypatch.setenv(DATA_DIR_ENV, str(blocked))
    out = io.StringIO()
    assert install(PROBE_SPEC, out=out) == 1
    assert f"Writer cannot write to {tools_dir().parent}" in out.getvalue()
    assert blocked.read_text() == "a file where the data folder should be"
