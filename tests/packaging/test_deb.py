"""The .deb: unpacked with dpkg-deb -x into a temporary root, its desktop entry
launches the bundled app, and the desktop files pass their validators."""

from __future__ import annotations

import configparser
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from writer_app import __version__

APP_ID = "io.github.writerapp.Writer"
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


@pytest.fixture(scope="module")
def deb_root(bundle, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("deb-root")
    subprocess.run(["dpkg-deb", "-x", str(bundle.deb), str(root)], check=True)
    return root


def resolve_in(root: Path, path: str) -> Path:
    """Resolve `path` (absolute, as installed) inside `root`, following symlinks as the
    installed system would: an absolute link target is read relative to `root`."""
    current = root / path.lstrip("/")
    for _ in range(10):
        if not current.is_symlink():
            return current
        target = os.readlink(current)
        current = root / target.lstrip("/") if target.startswith("/") else current.parent / target
    raise AssertionError(f"{path}: too many links")


def test_deb_desktop_entry_exec_resolves_to_the_bundled_app(deb_root, run_clean):
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(deb_root / "usr/share/applications" / f"{APP_ID}.desktop", encoding="utf-8")
    section = entry["Desktop Entry"]
    command = section["Exec"].split()[0]
    assert "/" not in command  # found on the PATH: /usr/bin
    app = resolve_in(deb_root, f"/usr/bin/{command}")
    assert app == deb_root / "opt/writer/writer-app"
    assert app.is_file() and os.access(app, os.X_OK)
    assert section["Icon"] == APP_ID
    assert "WordProcessor" in section["Categories"].split(";")
    assert {"text/plain", "text/markdown"} <= set(section["MimeType"].split(";"))
    proc = run_clean(app, "--version")
    assert proc.returncode == 0 and __version__ in proc.stdout, proc.stderr


def test_deb_control_and_icons(bundle, deb_root):
    fields = subprocess.run(
        ["dpkg-deb", "-f", str(bundle.deb), "Package", "Version", "Architecture"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert f"Version: {__version__}" in fields and "Architecture: amd64" in fields
    hicolor = deb_root / "usr/share/icons/hicolor"
    assert (hicolor / "scalable/apps" / f"{APP_ID}.svg").is_file()
    for size in ICON_SIZES:
        png = (hicolor / f"{size}x{size}/apps" / f"{APP_ID}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", png[16:24]) == (size, size)


@pytest.mark.parametrize(
    "tool, args, file",
    [
        ("desktop-file-validate", [], f"usr/share/applications/{APP_ID}.desktop"),
        ("appstreamcli", ["validate", "--no-net"], f"usr/share/metainfo/{APP_ID}.metainfo.xml"),
    ],
)
def test_desktop_files_pass_their_validators(deb_root, tool, args, file):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (apt-get install desktop-file-utils appstream)")
    proc = subprocess.run([tool, *args, str(deb_root / file)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
