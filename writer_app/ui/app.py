"""`writer-app [FILE]`: start the desktop editor; `writer-app --self-test`: check the engine.

The same entry point runs the engine process in the desktop bundle: there
sys.executable is the app itself, so the engine client starts
`writer-app --engine-host --cancel-file PATH` (see ENGINE_HOST_ARG). Qt is
imported only past that branch, so the engine process never loads it. Training's
processes and the one-time install of its tools start it the same way, with
--run-module and --run-pip (writer_app/training/tools.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

from writer_app import __version__
from writer_app.training.tools import (
    INSTALL_ARG,
    RUN_MODULE_ARG,
    RUN_PIP_ARG,
    install,
    run_module,
    run_pip,
)

ENGINE_HOST_ARG = "--engine-host"  # hidden; writer_app.engine.client passes it when frozen
SELF_TEST_TEXT = "The old house at the end of the lane had been empty for years, and"
GUI_TEST_TEXT = "The rain had not stopped for three days. She"
GUI_TEST_WAIT_S = 120.0  # the longest the window test waits for the model, then for a ghost
GUI_TEST_HOLD_S = 60.0  # how long it waits for the caller's "release" file before closing
# /proc/cpuinfo flags a bug report about llama.cpp on x86-64 needs.
CPU_FLAGS = ("sse4_2", "avx", "f16c", "fma", "avx2", "avx512f", "avx512_bf16", "amx_tile")


def build_parser() -> argparse.ArgumentParser:
    """Return the command line parser of writer-app."""
    parser = argparse.ArgumentParser(
        prog="writer-app", description="A private writing assistant for fiction."
    )
    parser.add_argument(
        "file", nargs="?", help="a .txt or .md file to open (created on first save)"
    )
    parser.add_argument(
        "--model", help="a GPT-2 .gguf model to use for this run (default: Settings, then bundled)"
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="load the model, ask the suggestion engine for one suggestion without opening "
        "a window, print what happened and exit (0: it works)",
    )
    # Test builds and CI: check the spell checker (the bundle carries its own), print
    # what answered and exit (0: a misspelling was flagged and a right word was not).
    parser.add_argument("--self-test-spelling", action="store_true", help=argparse.SUPPRESS)
    # Test builds and CI: open the real window, type, take the ghost with Tab,
    # save into DIR/typed.txt, report in DIR/result.json, wait for DIR/release.
    parser.add_argument("--self-test-gui", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument(
        INSTALL_ARG,
        action="store_true",
        help="get the training tools (PyTorch, Transformers) into the app's data folder, "
        "as Train on My Writing offers to, and exit",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def create_application():
    """Return the QApplication (created if needed) with the app's names and style set."""
    from PySide6.QtWidgets import QApplication

    from writer_app.ui.settings import APPLICATION, ORGANIZATION

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("Writer")
    app.setStyle("Fusion")  # the same look, and the same light/dark palettes, everywhere
    return app


def main(argv: list[str] | None = None) -> int:
    """Run the app until its window closes (or the engine process, or a self-test);
    returns the process exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [ENGINE_HOST_ARG]:
        from writer_app.engine.host import main as engine_main

        return engine_main(argv[1:])
    if argv[:1] in ([RUN_MODULE_ARG], [RUN_PIP_ARG]):
        # Training's processes and the one-time install of its tools (see
        # writer_app/training/tools.py): the bundle has no other Python to run them.
        return (run_module if argv[0] == RUN_MODULE_ARG else run_pip)(argv[1:])
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.self_test:
        return self_test(args.model)
    if args.self_test_spelling:
        return self_test_spelling()
    if args.install_training_tools:
        return install()
    app = create_application()

    from writer_app.ui.main_window import MainWindow  # after QApplication: it queries fonts
    from writer_app.ui.settings import AppSettings, load_settings

    # The window test runs at confidence 0, so that the bundled model always has a ghost.
    settings = AppSettings(confidence=0.0) if args.self_test_gui else load_settings()
    window = MainWindow(settings, model_override=args.model)
    window.show()
    if args.self_test_gui:
        return GuiSelfTest(window, Path(args.self_test_gui)).run(app)
    window.reopen_last_project(args.file)  # unless a file was named
    if args.file:
        window.files.load_path(args.file)
    window.files.offer_recovery()
    window.maybe_show_welcome()
    return app.exec()


# ----- writer-app --self-test ----------------------------------------------------------------
def machine_summary() -> dict[str, str]:
    """Return the version, the OS, Python and the CPU's model and llama.cpp-relevant flags."""
    model_name, flags = "", set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and not model_name:
                    model_name = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return {
        "writer": __version__ + (" (bundle)" if getattr(sys, "frozen", False) else ""),
        "os": platform.platform(),
        "python": platform.python_version(),
        "cpu": model_name or platform.processor() or platform.machine(),
        "cpu flags": " ".join(f for f in CPU_FLAGS if f in flags) or "unknown",
    }


def self_test(model: str | None = None, out=None) -> int:
    """Load the model in an engine process, ask it for one suggestion and print a report.

    Returns 0 when a suggestion came back; otherwise prints a report to paste
    into a bug report (model, error, machine) and returns 1. Opens no window.
    """
    from gpt2gguf.constants import default_model_path
    from writer_app.core.spelling import self_check
    from writer_app.engine.client import EngineClient
    from writer_app.engine.config import EngineConfig

    out = out or sys.stdout
    path = Path(model) if model else default_model_path()
    report = {"model": str(path) if path else "none installed"}
    client = EngineClient()
    try:
        if path is None:
            raise FileNotFoundError("no model is installed (the bundle's model file is missing)")
        t0 = time.perf_counter()
        hello = client.start()
        t1 = time.perf_counter()
        # Confidence 0: the test is whether the engine answers, not whether the gate likes it.
        summary = client.load(EngineConfig(model_path=path, confidence=0.0))
        t2 = time.perf_counter()
        suggestion = client.request("suggest", SELF_TEST_TEXT)
        t3 = time.perf_counter()
        if suggestion is None or not suggestion.text.strip():
            raise RuntimeError("the engine answered, but with no suggestion")
        report |= {
            "engine process": f"pid {client.pid}, llama-cpp-python {hello.llama_cpp_version}",
            "backend": f"{summary['backend']}, {summary['n_threads']} threads, the softmax's "
            f"exp pass in {summary.get('softmax_pass', 'numpy')}",
            # As the engine process picked it: the app process never loads llama.cpp.
            "cpu variant": summary["cpu_variant"],
            "text": SELF_TEST_TEXT,
            "suggestion": suggestion.text,
            "timings": f"engine start {(t1 - t0) * 1000:.0f} ms, model load {(t2 - t1) * 1000:.0f} "
            f"ms, suggestion {(t3 - t2) * 1000:.1f} ms (first token "
            f"{suggestion.first_token_ms:.1f} ms)",
        }
    except Exception as err:  # any failure is the report's subject: print it whole
        report |= {"error": f"{type(err).__name__}: {err}", **machine_summary()}
        print("Writer self-test FAILED. Paste this into a bug report:\n", file=out)
        _print_report(report, out)
        return 1
    finally:
        client.dispose()
    print("Writer self-test passed.\n", file=out)
    spelling = self_check()[1]["spelling"]
    _print_report(report | {"spelling": spelling} | machine_summary(), out)
    return 0


def self_test_spelling(out=None) -> int:
    """Check the spell checker, print what answered (library, provider) and return 0 when
    it flagged the misspelling and passed the right word, else 1."""
    from writer_app.core.spelling import self_check

    out = out or sys.stdout
    passed, report = self_check()
    print(f"Writer spelling self-test {'passed' if passed else 'FAILED'}.\n", file=out)
    _print_report(report, out)
    return 0 if passed else 1


def _print_report(report: dict[str, str], out) -> None:
    width = max(len(k) for k in report) + 1
    for key, value in report.items():
        print(
            f"{key + ':':<{width}} {value!r}"
            if key in ("text", "suggestion")
            else f"{key + ':':<{width}} {value}",
            file=out,
        )
    out.flush()


# ----- writer-app --self-test-gui DIR (tests and CI) ---------------------------------------
class GuiSelfTest:
    """Drive the real window as a writer would: type, wait for the ghost, Tab, save.

    Writes DIR/result.json (what happened, the pids of the app and its engine
    process) and keeps the app running until DIR/release exists, so that a
    test can look at both processes from outside. Exit status 0 when the ghost
    was shown and Tab inserted it into the saved file.
    """

    def __init__(self, window, folder: Path):
        self.window, self.folder = window, folder
        self.result: dict = {"app_pid": os.getpid(), "executable": sys.executable}

    def run(self, app) -> int:
        """Run the test in `app`'s event loop; returns the exit status."""
        from PySide6.QtCore import QTimer

        self.folder.mkdir(parents=True, exist_ok=True)
        self.result["dialogs"] = []
        # A message box the app raises (a damaged file, an unwritable folder) is
        # recorded and answered with its default button, as a writer would click it.
        watcher = QTimer(app, interval=100)
        watcher.timeout.connect(self._answer_dialog)
        watcher.start()
        QTimer.singleShot(0, self._drive)
        return app.exec()

    def _answer_dialog(self) -> None:
        from PySide6.QtWidgets import QApplication, QMessageBox

        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox) and box.isVisible():
            self.result["dialogs"].append({"title": box.windowTitle(), "text": box.text()})
            button = box.defaultButton()
            if button is not None:
                button.click()
            else:
                box.accept()

    def _wait(self, condition, timeout_s: float) -> bool:
        from PySide6.QtTest import QTest

        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                return False
            QTest.qWait(20)
        return True

    def _status_text(self) -> str:
        from PySide6.QtWidgets import QLabel

        bar = self.window.statusBar()
        labels = [label.text() for label in bar.findChildren(QLabel) if label.text()]
        return " | ".join([bar.currentMessage(), *labels])

    def _drive(self) -> None:
        from PySide6.QtWidgets import QApplication

        try:
            status = self._steps()
        except Exception as err:  # reported, never left hanging: the caller waits for us
            self.result["error"] = f"{type(err).__name__}: {err}"
            (self.folder / "result.json").write_text(json.dumps(self.result), encoding="utf-8")
            status = 4
        self.window.editor.document().setModified(False)  # nothing to ask at close
        self.window.close()
        QApplication.instance().exit(status)

    def _steps(self) -> int:
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        w, editor = self.window, self.window.editor
        r = self.result
        # Wall-clock times (time.time()), so that packaging/bench_start.py can
        # measure from before it started this process.
        times = r["times"] = {}
        r["window_visible"] = QTest.qWaitForWindowExposed(w, 10_000) and w.isVisible()
        times["window_exposed"] = time.time()
        loaded = self._wait(lambda: w.engine_state in ("ready", "failed", "off"), GUI_TEST_WAIT_S)
        times["engine_ready"] = time.time()
        r["engine_state"] = w.engine_state
        r["status_message"] = self._status_text()
        r["engine_pid"] = w.worker.engine_pid
        ok = loaded and w.engine_state == "ready"
        if ok:
            target = self.folder / "typed.txt"
            w.files.load_path(target)
            editor.setFocus()
            QTest.keyClicks(editor, GUI_TEST_TEXT)
            times["typed"] = time.time()
            ok = self._wait(lambda: bool(editor.ghost_text), GUI_TEST_WAIT_S)
            times["ghost_shown"] = time.time()
            r["ghost"] = editor.ghost_text
            if ok:
                QTest.keyClick(editor, Qt.Key.Key_Tab)
                r["expected"] = GUI_TEST_TEXT + r["ghost"]
                w.files.autosave()  # the crash copy the pause would make (it may fail and say so)
                ok = w.files.save() and target.read_text(encoding="utf-8") == r["expected"]
                r["saved"] = str(target)
        r["passed"] = bool(ok)
        r["status_at_end"] = self._status_text()
        (self.folder / "result.json").write_text(json.dumps(r, indent=1), encoding="utf-8")
        self._wait(lambda: (self.folder / "release").exists(), GUI_TEST_HOLD_S)
        return 0 if ok else 3


if __name__ == "__main__":
    sys.exit(main())
