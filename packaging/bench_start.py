"""Start-up of the desktop bundle against the virtualenv, in the same run.

    .venv/bin/python packaging/bench_start.py [--bundle build/packaging/dist/writer] [--runs 3]

Each run starts the app in a clean environment (env -i, a fresh HOME,
PATH=/usr/bin:/bin) on one Xvfb display, bundle and venv taking turns, with
the hidden `--self-test-gui` mode: it shows the real window, waits for the
model, types a sentence, waits for the ghost. Measured from just before the
process starts (wall clock): the window on screen (exposed), the model ready
in the engine process, the first ghost; and the ghost after the last keystroke.
The page cache is warm (the files were read before); nothing is dropped.

Prints one JSON object: the median of each figure per kind, every run, and the command.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIGURES = {  # name -> (event, from): seconds between two events, None = process start
    "window_s": ("window_exposed", None),
    "model_ready_s": ("engine_ready", None),
    "first_ghost_s": ("ghost_shown", None),
    "ghost_after_typing_s": ("ghost_shown", "typed"),
}


def start_xvfb() -> tuple[subprocess.Popen, str]:
    """Start Xvfb on a free display; return the process and its DISPLAY."""
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
        pass_fds=(write,), stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write)
    with os.fdopen(read) as f:
        display = f.readline().strip()
    return proc, f":{display}"


def one_run(cmd: list[str], display: str, cwd: Path) -> dict[str, float]:
    """Start `cmd --self-test-gui` once in `cwd`; return its FIGURES in seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        home, out = Path(tmp) / "home", Path(tmp) / "out"
        home.mkdir()
        out.mkdir()
        (out / "release").touch()  # report and exit at once
        env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "DISPLAY": display}
        t0 = time.time()
        proc = subprocess.run(
            [*cmd, "--self-test-gui", str(out)], env=env, cwd=cwd, capture_output=True,
            text=True, timeout=600,
        )  # fmt: skip
        result_file = out / "result.json"
        if not result_file.exists():
            raise RuntimeError(f"{cmd} reported nothing:\n{proc.stdout}{proc.stderr}")
        result = json.loads(result_file.read_text(encoding="utf-8"))
    if not result.get("passed"):
        raise RuntimeError(f"{cmd}: the window test failed: {result}")
    times = result["times"]
    return {
        name: round(times[event] - (t0 if since is None else times[since]), 3)
        for name, (event, since) in FIGURES.items()
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print its JSON; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=ROOT / "build/packaging/dist/writer")
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv")
    parser.add_argument(
        "--source", type=Path, default=ROOT, help="the tree the venv runs (python -m writer_app)"
    )
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    kinds = {
        "bundle": [str(args.bundle / "writer-app")],
        "venv": [str(args.venv / "bin" / "python"), "-m", "writer_app"],
    }
    xvfb, display = start_xvfb()
    runs: dict[str, list[dict]] = {kind: [] for kind in kinds}
    try:
        for _ in range(args.runs):
            for kind, cmd in kinds.items():  # taking turns: the machine's load hits both alike
                runs[kind].append(one_run(cmd, display, args.source))
    finally:
        xvfb.terminate()
        xvfb.wait()
    medians = {
        kind: {name: round(statistics.median(r[name] for r in rs), 3) for name in FIGURES}
        for kind, rs in runs.items()
    }
    print(json.dumps({
        "median": medians,
        "runs": runs,
        "load_average": os.getloadavg(),
        "command": " ".join(["python", "packaging/bench_start.py", *(argv or sys.argv[1:])]),
    }, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
