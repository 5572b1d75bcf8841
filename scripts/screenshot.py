"""Regenerate the README's screenshots from the real app under Xvfb.

    .venv/bin/python scripts/screenshot.py [--model MODEL.gguf] [--out docs/screenshot.png]

docs/screenshot.png is the window with a ghost suggestion showing; beside it,
docs/screenshots/ gets the welcome, Settings, About the Model, and the
training panel after Cancel (fed the metrics rows of a run stopped at 12
minutes, as its tests do: the panel's real widgets, illustrative figures).

Starts its own Xvfb (apt-get install xvfb; Qt's xcb plugin also needs
libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0) and re-runs
itself on that display, so Xvfb is stopped even if Qt aborts. The child runs
the app's MainWindow with the bundled model (or --model) and throw-away
settings, types the end of a passage, waits for the suggestion and grabs the window.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSAGE = """\
The dragon flew over the mountain. Below, the village slept; only the miller's dog was awake, and it barked twice.

"Did you see it?" asked Mira, pulling her cloak tight. "It was gold - no, copper - and it was huge!"

Her brother shrugged. "I saw nothing but clouds." But he was lying, and they both knew it.

"""
TYPED = (
    "The dragon flew over the mountain. It"  # typed key by key, so the app asks for a suggestion
)


def start_xvfb(size: str) -> tuple[subprocess.Popen, str]:
    """Start Xvfb on a free display; returns the process and its DISPLAY value."""
    for number in range(97, 120):
        if Path(f"/tmp/.X11-unix/X{number}").exists() or Path(f"/tmp/.X{number}-lock").exists():
            continue
        proc = subprocess.Popen(
            ["Xvfb", f":{number}", "-screen", "0", f"{size}x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            if Path(f"/tmp/.X11-unix/X{number}").exists():
                return proc, f":{number}"
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        proc.kill()
    raise SystemExit("could not start Xvfb (apt-get install xvfb)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="GGUF model (default: the bundled one)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshot.png"))
    parser.add_argument("--display", help="use this X display instead of starting Xvfb")
    parser.add_argument("--size", default="1280x800", help="Xvfb screen size")
    parser.add_argument(
        "--timeout", type=float, default=120, help="seconds to wait for the suggestion"
    )
    args = parser.parse_args()

    from gpt2gguf.constants import default_model_path

    model = Path(args.model) if args.model else default_model_path()
    if model is None:
        raise SystemExit("no bundled model in resources/models: pass --model MODEL.gguf")

    if not args.display:
        xvfb, display = start_xvfb(args.size)
        try:
            child = [
                sys.executable,
                __file__,
                "--model",
                str(model),
                "--out",
                args.out,
                "--display",
                display,
                "--timeout",
                str(args.timeout),
            ]
            rc = subprocess.run(child).returncode
        finally:
            xvfb.terminate()
            xvfb.wait(10)
        if rc < 0:
            print(
                "the app crashed: is Qt's xcb plugin missing a library? (see this script's docstring)",
                file=sys.stderr,
            )
        return 1 if rc else 0

    os.environ["DISPLAY"] = args.display
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    with tempfile.TemporaryDirectory(prefix="writer-screenshot-") as scratch:
        os.environ["WRITER_APP_RECOVERY_DIR"] = str(Path(scratch) / "recovery")
        os.environ["WRITER_APP_DATA_DIR"] = str(Path(scratch) / "data")
        return shoot(model, Path(args.out), args.timeout, Path(scratch))


def shoot(model: Path, out: Path, timeout: float, scratch: Path) -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QTextCursor

    from writer_app.ui.app import create_application

    app = create_application()
    QSettings.setPath(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(scratch / "settings")
    )

    from writer_app.ui.main_window import MainWindow
    from writer_app.ui.settings import AppSettings

    window = MainWindow(AppSettings(model_path=str(model), debounce_ms=150))
    window.resize(1100, 720)
    window.show()
    window.files.load_path(scratch / "the-dragon.md")  # a new file: gives the window a title
    window.editor.set_text(PASSAGE)
    window.editor.moveCursor(QTextCursor.MoveOperation.End)
    window.editor.setFocus()

    try:
        return _type_and_grab(app, window, model, out, timeout)
    finally:
        window.editor.document().setModified(False)
        window.close()


def _type_and_grab(app, window, model: Path, out: Path, timeout: float) -> int:
    from PySide6.QtTest import QTest

    def wait(condition, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"timed out waiting for {what}: {window.status.message_label.text()}"
                )
            app.processEvents()
            time.sleep(0.01)

    wait(lambda: window.engine_state != "loading", "the model")
    if window.engine_state != "ready":
        raise SystemExit(f"the model did not load: {window.status.message_label.text()}")
    QTest.keyClicks(window.editor, TYPED, delay=30)
    wait(lambda: window.editor.ghost_text, "a suggestion")
    for _ in range(20):  # let the status bar and the ghost paint
        app.processEvents()
        time.sleep(0.02)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(out)):
        raise SystemExit(f"could not write {out}")
    print(
        f"{out}: suggestion {window.editor.ghost_text!r} from {model.name} "
        f"({window.status.latency_label.text() or 'time hidden'})",
        file=sys.stderr,
    )
    shots = out.parent / "screenshots"
    shots.mkdir(exist_ok=True)
    for name, make in (
        ("welcome", window.show_welcome),
        ("settings", lambda: _settings(window)),
        ("about-model", lambda: _about(window)),
        ("training-after-cancel", lambda: _training_panel(window, out.parent)),
    ):
        widget = make()
        widget.show()
        for _ in range(30):
            app.processEvents()
            time.sleep(0.02)
        path = shots / f"{name}.png"
        if not widget.grab().save(str(path)):
            raise SystemExit(f"could not write {path}")
        widget.close()
        print(f"{path}", file=sys.stderr)
    return 0


def _settings(window):
    from writer_app.ui.dialogs.settings import SettingsDialog

    return SettingsDialog(window.settings, window, current_font=window.editor.font())


def _about(window):
    from writer_app.ui.dialogs.info import ModelInfoDialog

    return ModelInfoDialog(window.suggestions.model_info, window)


def _training_panel(window, scratch_root: Path):
    """The panel of a run cancelled after 12 minutes (rows as metrics.jsonl holds them)."""
    import json
    from dataclasses import asdict

    from finetune.outputs import EvalRow, TrainRow
    from writer_app.training.job import JobSpec
    from writer_app.training.library import ModelCard
    from writer_app.ui.training.panel import TrainingPanel
    from writer_app.ui.training.run import TrainingRun

    folder = Path(tempfile.mkdtemp(prefix="writer-panel-"))
    spec = JobSpec(
        base=folder / "base.gguf",
        train_dir=folder / "data" / "train",
        val_file=folder / "data" / "val.txt",
        out=folder / "train",
        minutes=30,
        threads=1,
    )
    card = ModelCard("train/m.gguf", "2026-12-03 08:30", str(spec.base), 41_000, 4_500, 30)
    run = TrainingRun(spec, folder, card)
    panel = TrainingPanel(run)
    rows = [EvalRow(step=0, tokens=0, val_loss=5.06, val_ppl=158.0, elapsed=0.0)]
    for i, ppl in enumerate((154.1, 151.6, 150.2, 149.2), start=1):
        rows.append(
            TrainRow(40 * i, 163840 * i, 4.9, 3e-4, 700.0, None, 180.0 * i, 1080.0 - 180.0 * i, 200)
        )
        rows.append(EvalRow(40 * i, 163840 * i, math.log(ppl), ppl, 180.0 * i))
    for saved in ("checkpoint", "best"):  # what a cancelled run leaves (empty here)
        (spec.out / saved).mkdir(parents=True)
    (spec.out / "metrics.jsonl").write_text("".join(json.dumps(asdict(r)) + "\n" for r in rows))
    run.state = "training"
    run.poll()
    run._set_state("cancelled")
    panel.resize(420, 560)
    return panel


if __name__ == "__main__":
    sys.exit(main())
