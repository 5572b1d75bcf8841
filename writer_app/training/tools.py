"""The training tools (PyTorch, Transformers and what they need) for an app installed
without them.

The desktop bundle leaves them out: torch alone is 754 MB installed, ten times the
rest of the bundle. Model → Train on My Writing… gets them once, on the writer's
say. The bundle carries pip and training-tools.json (written by
packaging/build.py): the exact releases its build was made and tested with, how
much disk they take, and the package index torch's CPU build comes from. pip
installs them into a staging folder beside `tools_dir()` in the app's data
folder, which is renamed into place only once pip has succeeded, so a cancelled
or failed download never leaves half the tools where training would use them.

The training processes are the app itself (`module_command`: `writer-app
--run-module finetune.cli ...` in the bundle); `run_module` puts the tools folder
first on sys.path. The bundle holds parts of a few of the same packages (jinja2
without jinja2.meta, which torch needs; numpy without numpy.testing): the set pip
resolved for torch must win over those. The app's own packages are not in it.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import logging
import re
import runpy
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from gpt2gguf.constants import RESOURCES_DIR
from writer_app.core.paths import data_dir
from writer_app.training.errors import TrainingError

log = logging.getLogger(__name__)

RUN_MODULE_ARG = "--run-module"  # hidden: writer-app --run-module MODULE ARGS...
RUN_PIP_ARG = "--run-pip"  # hidden: writer-app --run-pip ARGS... (the bundle's own pip)
INSTALL_ARG = "--install-training-tools"  # the dialog's install, from a terminal
SPEC_NAME = "training-tools.json"
TOOLS_FOLDER = "training-tools"
MARKER = "installed.json"  # written last: the folder holds a finished install
PARTIAL_SUFFIX = ".partial"
ERROR_LINES = 6  # of pip's errors, shown when it fails
SPACE_FACTOR = 1.5  # free space asked for, per installed byte: pip's downloads sit beside


@dataclass(frozen=True)
class ToolsSpec:
    """What the training tools are: pinned requirements, their size and where torch is."""

    requirements: tuple[str, ...]  # "torch==2.13.0+cpu", "transformers==5.24.0", ...
    installed_bytes: int  # disk they took in the build's environment
    index_url: str = ""  # an extra package index (torch's CPU builds); "" for pip's own

    def to_json(self) -> str:
        return json.dumps(
            {
                "requirements": list(self.requirements),
                "installed_bytes": self.installed_bytes,
                "index_url": self.index_url,
            },
            indent=1,
        )


def load_spec(path: Path | None = None) -> ToolsSpec | None:
    """Return the bundle's ToolsSpec (RESOURCES_DIR/training-tools.json by default), or
    None where there is none (a developer install) or it cannot be read."""
    path = path or RESOURCES_DIR / SPEC_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        spec = ToolsSpec(
            requirements=tuple(str(r) for r in data["requirements"]),
            installed_bytes=int(data["installed_bytes"]),
            index_url=str(data.get("index_url") or ""),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("cannot read %s: %s", path, exc)
        return None
    return spec if spec.requirements else None


def tools_dir() -> Path:
    """Return where the training tools live: one folder per Python minor version, since
    compiled packages (torch) are built for one."""
    return data_dir() / TOOLS_FOLDER / f"py{sys.version_info.major}{sys.version_info.minor}"


def installed(folder: Path | None = None) -> bool:
    """Return whether `folder` (default tools_dir()) holds a finished install."""
    return ((folder or tools_dir()) / MARKER).is_file()


def outdated(spec: ToolsSpec, folder: Path | None = None) -> bool:
    """Whether `folder` (default tools_dir()) holds tools other than `spec` names: an
    install made for an earlier version of the app, whose torch its training may not fit."""
    folder = folder or tools_dir()
    if not installed(folder):
        return False
    had = load_spec(folder / MARKER)
    return had is None or had.requirements != spec.requirements


def find_spec(name: str):
    """importlib.util.find_spec, which also looks in the installed training tools."""
    found = importlib.util.find_spec(name)
    if found is None and installed():
        found = importlib.machinery.PathFinder.find_spec(name, [str(tools_dir())])
    return found


def add_to_path(folder: Path | None = None) -> bool:
    """Put the installed tools first on sys.path; return whether there were any."""
    folder = folder or tools_dir()
    if not installed(folder):
        return False
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    return True


def app_command() -> list[str]:
    """Return how to start this app again: the executable itself in the bundle."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "writer_app"]


def module_command(module: str) -> list[str]:
    """Return the command line start that runs `module` as a script with the training
    packages importable: `python -m module` where the environment has them, else this
    app's --run-module, which adds the installed tools."""
    if not getattr(sys, "frozen", False) and importlib.util.find_spec("torch") is not None:
        return [sys.executable, "-m", module]
    return [*app_command(), RUN_MODULE_ARG, module]


def pip_command(spec: ToolsSpec, target: Path) -> list[str]:
    """Return the command that installs `spec` into `target`: wheels only (nothing is
    compiled on the writer's machine), progress as plain lines (`PipProgress` reads them)."""
    pip = [*app_command(), RUN_PIP_ARG] if getattr(sys, "frozen", False) else [
        sys.executable, "-m", "pip",
    ]  # fmt: skip
    index = ["--extra-index-url", spec.index_url] if spec.index_url else []
    return [
        *pip,
        "install",
        "--target",
        str(target),
        "--only-binary=:all:",
        "--no-input",
        "--disable-pip-version-check",
        "--no-warn-script-location",
        "--progress-bar",
        "raw",
        *index,
        *spec.requirements,
    ]


def staging_dir(folder: Path | None = None) -> Path:
    """Return the folder pip installs into before it is renamed to `folder`."""
    folder = folder or tools_dir()
    return folder.with_name(folder.name + PARTIAL_SUFFIX)


def prepare_staging(spec: ToolsSpec, folder: Path | None = None) -> Path:
    """Return an empty staging folder's path for an install of `spec` next to `folder`,
    its parent created. Raises TrainingError (a message for people) where the data
    folder cannot be written or has too little room."""
    folder = folder or tools_dir()
    discard_staging(folder)
    staging = staging_dir(folder)
    try:
        staging.parent.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(staging.parent).free
    except OSError as exc:
        raise TrainingError(
            f"Writer cannot write to {staging.parent} ({exc.strerror or exc}), where the "
            "training tools would go. Check that folder's permissions, then try again."
        ) from exc
    need = int(spec.installed_bytes * SPACE_FACTOR)
    if free < need:
        raise TrainingError(
            f"Not enough free disk space for the training tools: they need about "
            f"{need / 1e9:.1f} GB in {staging.parent}, and {free / 1e9:.2f} GB is free. "
            "Free some space, then try again."
        )
    return staging


def discard_staging(folder: Path | None = None) -> None:
    """Remove what a cancelled or failed install left."""
    shutil.rmtree(staging_dir(folder), ignore_errors=True)


def finish_install(spec: ToolsSpec, folder: Path | None = None) -> Path:
    """Mark the staging folder finished and move it to `folder` (default tools_dir()),
    replacing an older install; return `folder`. Raises OSError."""
    folder = folder or tools_dir()
    staging = staging_dir(folder)
    (staging / MARKER).write_text(spec.to_json() + "\n", encoding="utf-8")
    if folder.exists():
        shutil.rmtree(folder)
    staging.rename(folder)
    return folder


def run_module(argv: list[str]) -> int:
    """writer-app --run-module MODULE ARGS...: run MODULE as __main__ with the installed
    tools on the path; return its exit status."""
    if not argv:
        print(f"usage: writer-app {RUN_MODULE_ARG} MODULE [ARGS...]", file=sys.stderr)
        return 2
    add_to_path()
    sys.argv = list(argv)
    try:
        runpy.run_module(argv[0], run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code
        if code is None or isinstance(code, int):
            return code or 0
        print(code, file=sys.stderr)
        return 1
    return 0


def run_pip(argv: list[str]) -> int:
    """writer-app --run-pip ARGS...: the bundle's own pip; return its exit status."""
    from pip._internal.cli.main import main as pip_main

    return pip_main(list(argv))


def install(spec: ToolsSpec | None = None, folder: Path | None = None, out=sys.stdout) -> int:
    """writer-app --install-training-tools: what the dialog does, from a terminal (pip's
    progress as PipProgress reads it); return the exit status."""
    spec = spec or load_spec()
    folder = folder or tools_dir()
    if spec is None:
        print(
            "This installation of Writer does not know which training tools to get: "
            "install its training extra instead (pip install -e '.[finetune]').",
            file=out,
        )
        return 2
    print(f"Installing {' '.join(spec.requirements)} into {folder}", file=out, flush=True)
    try:
        staging = prepare_staging(spec, folder)
    except TrainingError as err:
        print(err, file=out)
        return 1
    import subprocess  # here: writer_app.ui.app imports this module in every process it starts

    progress = PipProgress()
    cmd = pip_command(spec, staging)
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as pip:
        for line in pip.stdout:
            if progress.feed(line) and progress.fraction in (None, 0.0, 1.0):
                print(progress.text, file=out, flush=True)
    if pip.returncode != 0:
        discard_staging(folder)
        said = "\n".join(progress.errors[-ERROR_LINES:])
        print(
            f"The training tools could not be installed (pip: {pip.returncode}).\n{said}", file=out
        )
        return 1
    finish_install(spec, folder)
    print(f"The training tools are installed in {folder}.", file=out)
    return 0


# ----- pip's output, as the progress dialog shows it -------------------------------------

_DOWNLOADING = re.compile(
    r"^\s*(Downloading|Resuming download|Using cached) (\S+?)(?: \(([^)]+)\))?\s*$"
)
_PROGRESS = re.compile(r"^Progress (\d+) of (\d+)\s*$")
_COLLECTING = re.compile(r"^\s*(?:Collecting|Processing|Requirement already satisfied:) (\S+)")


class PipProgress:
    """pip's output lines (with --progress-bar raw) read into what a writer is shown:
    `text` (what is happening now) and `fraction` (0..1 of the current download, or None
    while there is nothing to measure)."""

    def __init__(self) -> None:
        self.text = "Starting…"
        self.fraction: float | None = None
        self.installing = False
        self.errors: list[str] = []

    def feed(self, line: str) -> bool:
        """Read one line of pip's output; return whether what is shown changed."""
        line = line.rstrip()
        if not line:
            return False
        if m := _PROGRESS.match(line):
            done, total = int(m.group(1)), int(m.group(2))
            self.fraction = done / total if total else None
            return True
        if m := _DOWNLOADING.match(line):
            verb = (
                "Using the copy downloaded before of"
                if m.group(1) == "Using cached"
                else ("Downloading")
            )
            size = f" ({m.group(3)})" if m.group(3) else ""
            self.text = f"{verb} {package_name(m.group(2))}{size}…"
            self.fraction = 0.0
            return True
        if line.startswith("Installing collected packages"):
            self.installing = True
            self.text = "Installing (this takes a few minutes)…"
            self.fraction = None
            return True
        if line.startswith("Successfully installed"):
            self.text = "Installed."
            self.fraction = 1.0
            return True
        if m := _COLLECTING.match(line):
            if not self.installing:
                self.text = f"Looking up {package_name(m.group(1))}…"
                self.fraction = None
                return True
            return False
        if line.startswith("ERROR:") or line.startswith("error:"):
            self.errors.append(line.split(":", 1)[1].strip())
        return False


def package_name(text: str) -> str:
    """Return the project name in a requirement or a wheel's file name ("torch")."""
    return re.split(r"[=<>!~\[ ;]|-\d", text, maxsplit=1)[0]
