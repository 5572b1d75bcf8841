"""A real wheel, made here: what the training tools' install is tested with (pip installs
it from a local folder, with no index)."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

PROBE = "toolsprobe"
PROBE_VERSION = "1.0"
# `python -m toolsprobe ARGS`: prints what a training process would need to know, as
# JSON (its arguments, sys.path's first entry), and exits with --exit N's N.
PROBE_MAIN = """\
import json, sys
args = sys.argv[1:]
print(json.dumps({"argv": args, "first_path": sys.path[0]}))
if "--exit" in args:
    sys.exit(int(args[args.index("--exit") + 1]))
"""


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(folder: Path, name: str, version: str, files: dict[str, str]) -> Path:
    """Write `name`-`version`-py3-none-any.whl holding `files` (path -> text) into `folder`."""
    info = f"{name}-{version}.dist-info"
    contents = dict(files)
    contents[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    contents[f"{info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = [
        f"{path},sha256={_digest(t.encode())},{len(t.encode())}" for path, t in contents.items()
    ]
    contents[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in contents.items():
            zf.writestr(path, text)
    return wheel


def make_probe_wheel(folder: Path) -> Path:
    """The toolsprobe wheel (see PROBE_MAIN) in `folder`."""
    return make_wheel(
        folder,
        PROBE,
        PROBE_VERSION,
        {f"{PROBE}/__init__.py": "", f"{PROBE}/__main__.py": PROBE_MAIN},
    )
