"""The desktop bundle, built once per test session, and how to run it as a writer would:
a clean environment (env -i, a fresh HOME, PATH=/usr/bin:/bin, no virtualenv), under Xvfb.

The build (packaging/build.py --quick: PyInstaller, the desktop files and an
uncompressed .deb) takes about 2 minutes on 2 busy cores. Set
WRITER_TEST_BUNDLE_OUT to a folder a full build already wrote into
(build/packaging) to reuse it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REUSE_ENV = "WRITER_TEST_BUNDLE_OUT"
BUILD_TIMEOUT_S = 1200
RUN_TIMEOUT_S = 300


@dataclass
class Bundle:
    """What packaging/build.py made: the one-folder bundle, share/ and the .deb."""

    folder: Path
    share: Path
    deb: Path

    @property
    def exe(self) -> Path:
        return self.folder / "writer-app"


@pytest.fixture(scope="session")
def bundle(tmp_path_factory) -> Bundle:
    """Build the bundle from this venv once per session (or reuse $WRITER_TEST_BUNDLE_OUT)."""
    reuse = os.environ.get(REUSE_ENV)
    if reuse:
        out = Path(reuse).resolve()
    else:
        pytest.importorskip("PyInstaller", reason="the bundle extra is not installed")
        if shutil.which("dpkg-deb") is None:
            pytest.skip("dpkg-deb is not installed (apt-get install dpkg-dev)")
        out = tmp_path_factory.mktemp("bundle")
        proc = subprocess.run(
            # --tools-index '': the training tools come from this machine's pip
            # configuration (its local wheels), not from download.pytorch.org.
            [sys.executable, str(ROOT / "packaging" / "build.py"), "--out", str(out), "--quick",
             "--tools-index", ""],
            capture_output=True, text=True, timeout=BUILD_TIMEOUT_S,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-4000:]
        json.loads(proc.stdout)
    debs = sorted(out.glob("writer-app_*_amd64.deb"))
    assert debs, f"no .deb in {out}"
    return Bundle(out / "dist" / "writer", out / "share", debs[-1])


def clean_command(
    home: Path, *cmd, display: bool = False, env: dict[str, str] | None = None
) -> list[str]:
    """Return `cmd` run with nothing of this environment: env -i, HOME, PATH=/usr/bin:/bin
    and `env`, under xvfb-run when `display`."""
    xvfb = ["xvfb-run", "-a"] if display else []
    extra = [f"{key}={value}" for key, value in (env or {}).items()]
    return ["env", "-i", f"HOME={home}", "PATH=/usr/bin:/bin", *extra, *xvfb, *map(str, cmd)]


@pytest.fixture
def run_clean(tmp_path):
    """Return run(exe, *args, home=None, display=False, env=None): a CompletedProcess (text)."""

    def run(exe, *args, home: Path | None = None, display: bool = False, env=None):
        home = home or tmp_path / "home"
        home.mkdir(parents=True, exist_ok=True)
        return subprocess.run(
            clean_command(home, exe, *args, display=display, env=env),
            capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
        )  # fmt: skip

    return run


@pytest.fixture(scope="session")
def xvfb():
    """Skip unless xvfb-run is installed (.ci/run installs it)."""
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run is not installed (apt-get install xvfb xauth)")
