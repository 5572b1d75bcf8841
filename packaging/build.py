"""Build the desktop bundle of Writer for Linux: one folder, a .tar.xz and a .deb.

    .venv/bin/python packaging/build.py [--out build/packaging] [--no-deb] [--no-tar] [--quick]
                                        [--cpu-variants x64,sse42,sandybridge] [--tools-index URL]

Steps: PyInstaller (packaging/linux/writer-app.spec) makes the one-folder
bundle `dist/writer/` (the app, its engine process, llama.cpp, the bundled
model and tokenizer; no torch); the icon is rendered from its SVG into the
hicolor sizes with Qt's QSvgRenderer; then
`writer-<version>-linux-x86_64.tar.xz` (the folder, with share/ and
install-desktop-entry.sh) and `writer-app_<version>_amd64.deb` (made offline
with dpkg-deb: the bundle in /opt/writer, /usr/bin/writer-app, the desktop
entry, icons and AppStream metainfo in /usr/share). desktop-file-validate
and appstreamcli validate --no-net check the desktop files when installed.

A portable llama.cpp build (packaging/portable_llama.sh) brings one
libggml-cpu-<variant>.so per instruction level; the bundle holds them all, and
--cpu-variants keeps only those named (an old CPU, simulated: the app then
picks the best of those). On a native build there are none, and the option
only warns.

Training's packages stay out (torch alone is 754 MB); the bundle carries pip
and resources/training-tools.json (packaging/training_tools.py): the releases
of this environment's torch, transformers and the rest, their size, and the
index torch's CPU build comes from (--tools-index; '' leaves it to pip's own
configuration, as the offline tests do). Train on My Writing installs them once,
on the writer's say, into the user's data folder.

Prints one JSON object: the paths, sizes (bytes) and the seconds each step took.
Needs PyInstaller (pip install -e '.[bundle]'); the .deb needs dpkg-deb.
Raises BuildError (printed without a traceback) when a step fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "packaging"))  # when loaded by path (the tests)
from training_tools import TORCH_CPU_INDEX, ToolsError, tools_spec  # noqa: E402

LINUX = ROOT / "packaging" / "linux"
APP_ID = "io.github.writerapp.Writer"
SPEC = LINUX / "writer-app.spec"
TOOLS_SPEC = "training-tools.json"  # writer_app.training.tools.SPEC_NAME
CPU_VARIANT = re.compile(r"^libggml-cpu-([A-Za-z0-9_]+)\.so$")  # as gpt2gguf.llama finds them
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
DEB_DEPENDS = (  # what Qt's xcb platform needs from the system (the bundle holds the rest)
    "libc6 (>= 2.31), libgl1, libegl1, libfontconfig1, libxkbcommon0, libxkbcommon-x11-0, "
    "libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, libdbus-1-3, libglib2.0-0"
)
INSTALL_DESKTOP_ENTRY = """#!/bin/sh
# Add Writer to this user's desktop menu (no root needed): the .desktop entry
# pointing at this folder's writer-app, and the icons.
set -e
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
mkdir -p "$data/applications"
sed "s|^Exec=writer-app|Exec=\\"$here/writer-app\\"|" "$here/share/applications/%(id)s.desktop" \\
    > "$data/applications/%(id)s.desktop"
cp -r "$here/share/icons" "$data/"
echo "Writer is in your desktop menu (Office). To remove it: rm $data/applications/%(id)s.desktop"
"""


class BuildError(Exception):
    """A build step failed; str() says which and why."""


def version() -> str:
    """Return writer_app.__version__, read from its source (the build imports no app code)."""
    text = (ROOT / "writer_app" / "__init__.py").read_text(encoding="utf-8")
    return re.search(r'__version__ = "([^"]+)"', text).group(1)


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run `cmd`; raise BuildError with its output when it fails."""
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        raise BuildError(f"{' '.join(map(str, cmd))} failed:\n{proc.stdout}{proc.stderr}")
    return proc


def pyinstaller(out: Path) -> Path:
    """Run PyInstaller on the spec; return the bundle folder (out/dist/writer)."""
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        raise BuildError("PyInstaller is not installed: pip install -e '.[bundle]'") from None
    dist, work = out / "dist", out / "work"
    run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", str(dist), "--workpath", str(work), str(SPEC)], cwd=ROOT)  # fmt: skip
    bundle = dist / "writer"
    # llama_cpp._ggml opens libggml.so by that name: the same file as the
    # libggml.so.0 libllama links, so the loader hands back the copy already loaded.
    lib = bundle / "_internal" / "llama_cpp" / "lib"
    (lib / "libggml.so").unlink(missing_ok=True)
    (lib / "libggml.so").symlink_to("libggml.so.0")
    return bundle


def cpu_variant_files(lib: Path) -> dict[str, Path]:
    """Return the portable build's CPU variants in `lib` by name ({} for a native build)."""
    return {m.group(1): p for p in lib.iterdir() if (m := CPU_VARIANT.match(p.name))}


def keep_cpu_variants(lib: Path, wanted: Sequence[str]) -> list[str]:
    """Delete the portable build's CPU variants in `lib` (the bundle's llama_cpp/lib) that
    are not `wanted`; return the variants left, sorted. A native build has none: then
    nothing is deleted, a warning is printed and [] returned. Raises BuildError for a
    wanted variant the build lacks (nothing is deleted then)."""
    present = cpu_variant_files(lib)
    if not present:
        print(
            "warning: --cpu-variants ignored: this llama.cpp is a native build with no CPU "
            "variants (build the portable one: bash packaging/portable_llama.sh)",
            file=sys.stderr,
        )
        return []
    missing = sorted(set(wanted) - set(present))
    if missing:
        raise BuildError(
            f"--cpu-variants: this build has no {', '.join(missing)} "
            f"(it has {', '.join(sorted(present))})"
        )
    for name, path in present.items():
        if name not in wanted:
            path.unlink()
    return sorted(set(wanted))


def render_icons(svg: Path, share: Path) -> None:
    """Write the SVG and its PNG renderings in every ICON_SIZES into share/icons/hicolor."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 (Qt needs one)
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise BuildError(f"{svg} is not a valid SVG")
    hicolor = share / "icons" / "hicolor"
    for size in ICON_SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        folder = hicolor / f"{size}x{size}" / "apps"
        folder.mkdir(parents=True, exist_ok=True)
        if not image.save(str(folder / f"{APP_ID}.png")):
            raise BuildError(f"could not write the {size}px icon")
    scalable = hicolor / "scalable" / "apps"
    scalable.mkdir(parents=True, exist_ok=True)
    shutil.copy(svg, scalable / f"{APP_ID}.svg")


def desktop_files(share: Path) -> None:
    """Write share/applications, share/metainfo and share/icons (the freedesktop layout)."""
    for sub, name in (("applications", ".desktop"), ("metainfo", ".metainfo.xml")):
        (share / sub).mkdir(parents=True, exist_ok=True)
        shutil.copy(LINUX / f"{APP_ID}{name}", share / sub / f"{APP_ID}{name}")
    render_icons(LINUX / f"{APP_ID}.svg", share)


def validate(share: Path) -> dict[str, str]:
    """Run desktop-file-validate and appstreamcli validate --no-net on share/; return what
    each said. Raises BuildError when one fails; a validator not installed is skipped."""
    checks = {
        "desktop-file-validate": [str(share / "applications" / f"{APP_ID}.desktop")],
        "appstreamcli": [
            "validate",
            "--no-net",
            str(share / "metainfo" / f"{APP_ID}.metainfo.xml"),
        ],
    }
    said = {}
    for tool, args in checks.items():
        if shutil.which(tool) is None:
            said[tool] = "not installed: skipped"
            continue
        proc = run([tool, *args])
        lines = (proc.stdout + proc.stderr).strip().splitlines()
        said[tool] = lines[-1] if lines else "ok"
    return said


def make_tar(bundle: Path, share: Path, out: Path, ver: str) -> Path:
    """Write writer-<ver>-linux-x86_64.tar.xz: the bundle, share/ and the menu installer."""
    top = f"writer-{ver}-linux-x86_64"
    stage = out / "stage-tar" / top
    shutil.rmtree(stage.parent, ignore_errors=True)
    shutil.copytree(bundle, stage, symlinks=True)
    shutil.copytree(share, stage / "share")
    script = stage / "install-desktop-entry.sh"
    script.write_text(INSTALL_DESKTOP_ENTRY % {"id": APP_ID}, encoding="utf-8")
    script.chmod(0o755)
    path = out / f"{top}.tar.xz"
    # xz through tar's own pipe with threads: Python's tarfile compresses on one core.
    run(["tar", "-C", str(stage.parent), "--owner=0", "--group=0", "-cf", str(path),
         "-I", "xz -T0 -6", top])  # fmt: skip
    shutil.rmtree(stage.parent)
    with tarfile.open(path) as check:  # the archive reads back
        check.getmember(f"{top}/writer-app")
    return path


def make_deb(bundle: Path, share: Path, out: Path, ver: str, compress: bool = True) -> Path:
    """Write writer-app_<ver>_amd64.deb with dpkg-deb (offline): /opt/writer, /usr/bin and
    /usr/share; xz-compressed unless `compress` is False. Raises BuildError without dpkg-deb."""
    if shutil.which("dpkg-deb") is None:
        raise BuildError("dpkg-deb is not installed (Debian: apt-get install dpkg-dev)")
    root = out / "stage-deb"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(bundle, root / "opt" / "writer", symlinks=True)
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / "writer-app").symlink_to("/opt/writer/writer-app")
    shutil.copytree(share, root / "usr" / "share")
    size_kb = sum(f.stat().st_size for f in root.rglob("*") if f.is_file()) // 1024
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN" / "control").write_text(
        f"Package: writer-app\nVersion: {ver}\nArchitecture: amd64\n"
        "Maintainer: The Writer developers <writer@example.org>\n"
        f"Installed-Size: {size_kb}\nDepends: {DEB_DEPENDS}\nSection: editors\n"
        "Priority: optional\nHomepage: https://github.com/writerapp/writer\n"
        "Description: private writing assistant for fiction\n"
        " A plain editor for prose that suggests how a sentence may go on, from a\n"
        " small language model run on this computer by llama.cpp. Nothing you write\n"
        " leaves the computer.\n",
        encoding="utf-8",
    )
    path = out / f"writer-app_{ver}_amd64.deb"
    codec = "-Zxz" if compress else "-Znone"
    run(["dpkg-deb", "--root-owner-group", codec, "--build", str(root), str(path)])
    shutil.rmtree(root)
    return path


def folder_bytes(folder: Path) -> int:
    """Return the bytes of the files under `folder` (symlinks not followed)."""
    return sum(f.lstat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())


def build(
    out: Path,
    *,
    tar: bool = True,
    deb: bool = True,
    quick: bool = False,
    cpu_variants: Sequence[str] | None = None,
    tools_index: str = TORCH_CPU_INDEX,
) -> dict:
    """Build everything into `out`; return the summary (paths, sizes, seconds, and the CPU
    variants bundled: [] for a native build).

    `quick` (the tests): no .tar.xz and an uncompressed .deb, the same files in
    seconds instead of minutes (xz took 5 to 7 minutes each on 2 busy cores).
    `cpu_variants`: keep only these of a portable build's CPU variants.
    `tools_index`: where the training tools' torch comes from ('' for pip's own index).
    """
    tar = tar and not quick
    out.mkdir(parents=True, exist_ok=True)
    ver, seconds, summary = version(), {}, {}
    t = time.perf_counter()
    bundle = pyinstaller(out)
    seconds["pyinstaller"] = time.perf_counter() - t
    try:
        tools = tools_spec(tools_index)
    except ToolsError as err:
        raise BuildError(f"training tools: {err}") from None
    (bundle / "_internal" / "resources" / TOOLS_SPEC).write_text(json.dumps(tools, indent=1))
    summary["training_tools"] = tools
    lib = bundle / "_internal" / "llama_cpp" / "lib"
    summary["cpu_variants"] = (
        sorted(cpu_variant_files(lib))
        if cpu_variants is None
        else keep_cpu_variants(lib, cpu_variants)
    )
    share = out / "share"
    shutil.rmtree(share, ignore_errors=True)
    desktop_files(share)
    summary["validators"] = validate(share)
    summary |= {"version": ver, "bundle": str(bundle), "share": str(share)}
    summary["bundle_bytes"] = folder_bytes(bundle)
    steps = (
        (tar, "tar_xz", make_tar),
        (deb, "deb", lambda *a: make_deb(*a, compress=not quick)),
    )
    for wanted, name, make in steps:
        if wanted:
            t = time.perf_counter()
            path = make(bundle, share, out, ver)
            seconds[name] = time.perf_counter() - t
            summary[name], summary[f"{name}_bytes"] = str(path), path.stat().st_size
    summary["seconds"] = {k: round(v, 1) for k, v in seconds.items()}
    return summary


def main(argv: list[str] | None = None) -> int:
    """Command line of the build; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "packaging")
    parser.add_argument("--no-tar", action="store_true", help="skip the .tar.xz")
    parser.add_argument("--no-deb", action="store_true", help="skip the .deb")
    parser.add_argument(
        "--quick", action="store_true", help="tests: no .tar.xz, an uncompressed .deb"
    )
    parser.add_argument(
        "--cpu-variants",
        type=lambda text: [v.strip() for v in text.split(",") if v.strip()],
        metavar="A,B,...",
        help="keep only these CPU variants of a portable llama.cpp build (e.g. "
        "x64,sse42,sandybridge: an old CPU, simulated); a native build only warns",
    )
    parser.add_argument(
        "--tools-index",
        default=TORCH_CPU_INDEX,
        metavar="URL",
        help=f"the extra index the training tools' torch comes from (default {TORCH_CPU_INDEX}; "
        "'' for pip's own configuration only)",
    )
    args = parser.parse_args(argv)
    try:
        summary = build(
            args.out.resolve(),
            tar=not args.no_tar,
            deb=not args.no_deb,
            quick=args.quick,
            cpu_variants=args.cpu_variants,
            tools_index=args.tools_index,
        )
    except BuildError as err:
        print(f"build failed: {err}", file=sys.stderr)
        return 1
    summary["command"] = " ".join(["python", "packaging/build.py", *(argv or sys.argv[1:])])
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
