"""The cost of running the engine in its own process. Prints one JSON object.

The app runs the engine in a child process so that a crash in llama.cpp cannot
take the writer's document with it; this measures what that safety costs.

    .venv/bin/python benchmarks/engine_process.py [--model M.gguf] [--text FILE] [--threads 2]

Two measurements, each with the command that made it:
- latency: `writer-bench latency --process both` on the same text: p50 first
  token and p95 suggestion in-process and through the engine process, their
  difference, and the boundary's own cost per request (round trip minus the
  engine's time);
- memory: the real app (offscreen) with the model loaded and one suggestion
  made: the resident memory of the app's process and of its engine process.

Defaults: the bundled model, 2 threads, the story of engine_latency.py.
Run it on an idle machine: the figures are latencies.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_latency import STORY  # noqa: E402

from gpt2gguf.constants import default_model_path  # noqa: E402

# Runs in a child: the app's window, the model loaded, one suggestion, then the RSS of both.
APP_PROBE = """
import json, os, sys
from PySide6.QtCore import QTimer
from PySide6.QtGui import QTextCursor
from writer_app.ui.app import create_application
from writer_app.ui.main_window import MainWindow
from writer_app.ui.settings import AppSettings

def rss_mb(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)

app = create_application()
window = MainWindow(AppSettings(model_path=sys.argv[1], n_threads=int(sys.argv[2])))
window.show()
text = open(sys.argv[3], encoding="utf-8").read()[:1500]
done = {}

def report(suggestion, shown):
    if done:
        return
    done["yes"] = True
    pid = window.worker.engine_pid
    print(json.dumps({"app_rss_mb": rss_mb(os.getpid()), "engine_rss_mb": rss_mb(pid),
                      "state": window.engine_state}))
    window.suggestions.shutdown()
    app.quit()

def start():
    if window.engine_state == "loading":
        return
    timer.stop()
    window.editor.set_text(text)
    window.editor.moveCursor(QTextCursor.MoveOperation.End)
    window.request_suggestion()

window.suggestion_handled.connect(report)
timer = QTimer(interval=50)
timer.timeout.connect(start)
timer.start()
QTimer.singleShot(120_000, app.quit)
app.exec()
"""


def run(cmd: list[str], env: dict | None = None) -> dict:
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", default=str(default_model_path()), help="GGUF (default: bundled)"
    )
    parser.add_argument("--text", default=None, help="text the writer types (default: STORY)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-requests", type=int, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        text = args.text
        if text is None:
            text = os.path.join(tmp, "story.txt")
            Path(text).write_text(STORY, encoding="utf-8")
        bench = [sys.executable, "-m", "writer_app.bench", "latency", "--model", args.model,
                 "--text", text, "--threads", str(args.threads), "--process", "both", "--json"]  # fmt: skip
        if args.max_requests:
            bench += ["--max-requests", str(args.max_requests)]
        latency = run(bench)
        env = {
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "XDG_CONFIG_HOME": os.path.join(tmp, "config"),  # not the writer's own settings
            "WRITER_APP_RECOVERY_DIR": os.path.join(tmp, "recovery"),
            "WRITER_APP_DATA_DIR": os.path.join(tmp, "data"),  # statistics, trained models
        }
        probe = [sys.executable, "-c", APP_PROBE, args.model, str(args.threads), text]
        memory = run(probe, env)
    result = {
        "benchmark": "engine_process",
        "model": args.model,
        "threads": args.threads,
        "first_token_ms_p50": latency["first_token_ms_p50"],
        "suggestion_ms_p95": latency["suggestion_ms_p95"],
        "overhead_ms": latency["overhead_ms"],
        "bench_rss_mb": latency["rss_mb"],
        "app_rss_mb": memory["app_rss_mb"],
        "engine_rss_mb": memory["engine_rss_mb"],
        "latency": latency,
        "commands": [" ".join(bench), "python -c APP_PROBE (benchmarks/engine_process.py)"],
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
