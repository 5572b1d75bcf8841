"""How long a project's memory takes to build, and what it adds to the engine. Prints one JSON object.

Issue 23's goal: a 1M-word project loads in <= 2 s and takes <= 100 MB.

    .venv/bin/python benchmarks/project_load.py [--words 1000000] [--chapters 40]
        [--corpus ../shared/corpus/train-00.txt.xz] [--model M.gguf] [--folder F]
        [--baseline REV [--repeats 3]]

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

With --baseline REV (a git revision, e.g. HEAD), project_tokens.py and
project_memory.py as they were at REV are measured too, in children that
alternate with the current code's (--repeats of each, on the same project):
the figures of each side are medians, and "ratio" divides the current
side's by the baseline's (a ratio taken side by side holds better on a busy
machine than either time). Both sides must build the same tokens and names
(the counts are made from the tokens): "same_result" says whether they did.
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types
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


# The modules --baseline takes from another revision: the whole of a build's own code.
BUILD_MODULES = ("writer_app.engine.project_tokens", "writer_app.engine.project_memory")


def use_build_code_from(revision: str) -> None:
    """Make this process's engine build with BUILD_MODULES as they were at git `revision`
    (the rest of the engine as it is now)."""
    from writer_app.engine import engine

    for name in BUILD_MODULES:
        path = name.replace(".", "/") + ".py"
        source = subprocess.run(
            ["git", "show", f"{revision}:{path}"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        module = types.ModuleType(name)
        module.__file__ = f"{revision}:{path}"
        # Registered before it runs: the old project_memory imports the old project_tokens.
        sys.modules[name] = module
        exec(compile(source, module.__file__, "exec"), module.__dict__)
    old = sys.modules[BUILD_MODULES[1]]
    engine.ProjectMemory, engine.LazyFastTokenizer = old.ProjectMemory, old.LazyFastTokenizer


def fingerprint(memory, folder: Path) -> str:
    """Return a digest of what a build made: each file's tokens and name counts, the
    frequent names (the n-gram counts are made from the tokens by code --baseline keeps)."""
    import hashlib

    digest = hashlib.sha256()
    for path, source in sorted(memory._sources.items()):
        name = path.relative_to(folder).as_posix()
        digest.update(name.encode() + source.tokens.astype("<i4").tobytes())
        names = (list(source.capitalised.items()), sorted(source.lower.items()))
        digest.update(repr(names).encode())
    digest.update(repr(memory.frequent_names).encode())
    return digest.hexdigest()


def measure(folder: Path, model: str | None, touch: bool, check: bool = False) -> dict:
    """Build `folder`'s project memory in this process's engine; return the figures
    (with `touch`, also those of a rebuild after one chapter is appended to; with
    `check`, a fingerprint of what the build made)."""
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
        if check:  # after the figures: the digest's own memory and time are not measured
            result["fingerprint"] = fingerprint(memory, folder)
        if touch:
            changed = Path(paths[len(paths) // 2])
            changed.write_text(changed.read_text(encoding="utf-8") + "One more line.\n", "utf-8")
            t1 = time.perf_counter()
            engine.set_project(paths)
            engine.wait_for_project()
            result["rebuild_seconds"] = round(time.perf_counter() - t1, 2)
            result["rebuild_read"] = memory.last_report.read
        return result


def run_child(folder: Path, args: argparse.Namespace, touch: bool, baseline: str | None) -> dict:
    """Measure `folder` in a fresh child process (with `baseline`, that revision's build code)."""
    child = [sys.executable, __file__, "--child", "--folder", str(folder)]
    if args.model:
        child += ["--model", args.model]
    if touch:
        child.append("--touch")
    if baseline is not None:
        child += ["--child-code", baseline]
    if args.baseline is not None:
        child.append("--check")
    out = subprocess.run(child, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def medians(runs: list[dict]) -> dict:
    """Return each figure's median over `runs` (the first run's, where not a number)."""
    return {
        key: round(statistics.median(r[key] for r in runs), 2)
        if isinstance(value, int | float) and not isinstance(value, bool)
        else value
        for key, value in runs[0].items()
    }


def compare(folder: Path, args: argparse.Namespace) -> dict:
    """Measure `folder` --repeats times with --baseline's build code and with the current,
    alternating; return both sides' medians and the ratios current / baseline."""
    runs: dict[str, list[dict]] = {"baseline": [], "current": []}
    for _ in range(args.repeats):
        # A copy of the project per run: the touched chapter would differ the next time.
        for side, code in (("baseline", args.baseline), ("current", None)):
            with tempfile.TemporaryDirectory(prefix="project-load-run-") as tmp:
                copy = Path(tmp) / "project"
                shutil.copytree(folder, copy, symlinks=True)
                runs[side].append(run_child(copy, args, args.folder is None, code))
    result: dict = {side: medians(r) for side, r in runs.items()}
    base, cur = result["baseline"], result["current"]
    result["ratio"] = {
        key: round(cur[key] / base[key], 3)
        for key in ("build_seconds", "build_cpu_seconds", "rss_growth_mb", "held_mb")
        if base.get(key)
    }
    result["same_result"] = len({r["fingerprint"] for r in runs["baseline"] + runs["current"]}) == 1
    return result


def main() -> int:
    """Write the project (unless --folder), measure it in a child process; print the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--chapters", type=int, default=40)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--model", help="GGUF whose engine is measured (default: the bundled)")
    parser.add_argument("--folder", type=Path, help="measure this project instead of writing one")
    parser.add_argument(
        "--baseline", metavar="REV", help="also measure the build code of this git revision"
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side (--baseline)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--touch", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--check", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-code", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # the measuring process: nothing but the engine loaded before
        if args.child_code:
            use_build_code_from(args.child_code)
        print(json.dumps(measure(args.folder, args.model, args.touch, args.check)))
        return 0
    with tempfile.TemporaryDirectory(prefix="project-load-") as tmp:
        folder, words = args.folder, None
        if folder is None:
            folder = Path(tmp)
            words = write_project(args.corpus, args.words, args.chapters, folder)
        if args.baseline is not None:
            measured = compare(folder, args)
        else:
            measured = run_child(folder, args, words is not None, None)
    result = {"words": words, **measured}
    result["command"] = shlex.join([os.path.relpath(sys.executable), *sys.argv])
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
