"""How long a project's memory takes to build, and what it adds to the engine. Prints one JSON object.

Issue 23's goal: a 1M-word project loads in <= 2 s and takes <= 100 MB.

    .venv/bin/python benchmarks/project_load.py [--words 1000000] [--chapters 40]
        [--corpus ../shared/corpus/train-00.txt.xz] [--model M.gguf] [--folder F]

Writes the first --words words of --corpus (whole paragraphs, .txt or .txt.xz)
as --chapters chapter files in a temporary folder (or measures the project at
--folder as it is), then, in a fresh child process holding the engine with the
model loaded, builds the project memory as the app does (Engine.set_project,
then waits) and reports:
- build_seconds: the first build (reads, tokenizes and counts every file; it
  also loads the bundled tokenizer, as the app's first build does);
  build_cpu_seconds: the CPU time the engine process spent meanwhile, all
  threads (on a busy machine, the steadier figure; on a quiet one the wall
  time is at most this, less where the tokenizer ran on several cores);
- rss_growth_mb: the engine process's resident memory after the build minus
  before it; peak_growth_mb: its highest resident memory during the build
  (the kernel's high-water mark, reset just before) minus before it;
- held_mb: what ProjectMemory.nbytes() says it holds (counts + per-file tokens);
- rebuild_seconds: a build after one chapter changed on disk (only it is read;
  on the written project only, never on --folder).
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "train-00.txt.xz"


def write_project(corpus: Path, words: int, chapters: int, folder: Path) -> int:
    """Write the first `words` words of `corpus` (whole paragraphs) as `chapters` files
    in `folder`; return the number of words written."""
    opener = lzma.open if corpus.suffix == ".xz" else open
    paragraphs, count = [], 0
    with opener(corpus, "rt", encoding="utf-8") as f:
        for line in f:
            if count >= words:
                break
            paragraphs.append(line)
            count += len(line.split())
    per_file = -(-len(paragraphs) // chapters)
    for i in range(chapters):
        part = paragraphs[i * per_file : (i + 1) * per_file]
        if part:
            (folder / f"Chapter {i + 1}.md").write_text("".join(part), encoding="utf-8")
    return count


def _status_kb(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> bool:
    """Reset the kernel's high-water mark of this process (VmHWM); False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


def measure(folder: Path, model: str | None, touch: bool) -> dict:
    """Build `folder`'s project memory in this process's engine; return the figures
    (with `touch`, also those of a rebuild after one chapter is appended to)."""
    from gpt2gguf.constants import default_model_path
    from writer_app.core.project import scan_project
    from writer_app.engine import Engine, EngineConfig
    from writer_app.engine.project_memory import project_paths

    paths = [str(p) for p in project_paths(scan_project(folder))]
    with Engine(EngineConfig(model_path=model or default_model_path())) as engine:
        rss0 = _status_kb("VmRSS")
        peak_known = _reset_peak()
        t0, cpu0 = time.perf_counter(), time.process_time()
        engine.set_project(paths)
        engine.wait_for_project()
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        rss1, peak = _status_kb("VmRSS"), _status_kb("VmHWM")
        memory = engine.project_memory
        report = memory.last_report
        result = {
            "files": report.files,
            "tokens": report.tokens,
            "build_seconds": round(seconds, 2),
            "build_cpu_seconds": round(cpu, 2),
            "rss_growth_mb": round((rss1 - rss0) / 1024, 1),
            "peak_growth_mb": round((peak - rss0) / 1024, 1) if peak_known else None,
            "held_mb": round(memory.nbytes() / 2**20, 1),
        }
        if touch:
            changed = Path(paths[len(paths) // 2])
            changed.write_text(changed.read_text(encoding="utf-8") + "One more line.\n", "utf-8")
            t1 = time.perf_counter()
            engine.set_project(paths)
            engine.wait_for_project()
            result["rebuild_seconds"] = round(time.perf_counter() - t1, 2)
            result["rebuild_read"] = memory.last_report.read
        return result


def main() -> int:
    """Write the project (unless --folder), measure it in a child process; print the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--chapters", type=int, default=40)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--model", help="GGUF whose engine is measured (default: the bundled)")
    parser.add_argument("--folder", type=Path, help="measure this project instead of writing one")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--touch", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # the measuring process: nothing but the engine loaded before
        print(json.dumps(measure(args.folder, args.model, args.touch)))
        return 0
    with tempfile.TemporaryDirectory(prefix="project-load-") as tmp:
        folder, words = args.folder, None
        if folder is None:
            folder = Path(tmp)
            words = write_project(args.corpus, args.words, args.chapters, folder)
        child = [sys.executable, __file__, "--child", "--folder", str(folder)]
        if args.model:
            child += ["--model", args.model]
        if words is not None:
            child.append("--touch")
        out = subprocess.run(child, check=True, capture_output=True, text=True).stdout
    result = {"words": words, **json.loads(out.strip().splitlines()[-1])}
    result["command"] = shlex.join([os.path.relpath(sys.executable), *sys.argv])
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
