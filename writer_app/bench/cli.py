"""writer-bench's command line: flags onto a config, one call per command, the JSON out.

Every option is declared once, in OPTIONS, with its range (`number`); each
command in COMMANDS lists the ones it takes. Progress goes to stderr, the JSON
to stdout (pretty; one line with --json). Whatever goes wrong is one line
after "writer-bench: ", never a traceback (--debug shows one): a bad option
with exit status 2, a problem worded for people (a text with nothing to type,
a model that does not load) or an unforeseen fault with 1.
"""

from __future__ import annotations

import argparse
import json
import lzma
import math
import os
import sys
from pathlib import Path

from writer_app.bench.calibrate import PASSAGE_CHARS, calibrate_report
from writer_app.bench.errors import BenchError
from writer_app.bench.ksr import ksr_report
from writer_app.bench.latency import LatencySettings, boundary_report, latency_report
from writer_app.bench.project import load_project, paste_of
from writer_app.bench.quality import STRIDE, WINDOW, ppl_report, quality_report
from writer_app.engine import Engine, EngineConfig, EngineError
from writer_app.engine.config import DEFAULT_CONFIDENCE


def number(kind: type = int, low: float | None = None, high: float | None = None):
    """Return an argparse type: a `kind` (int or float) from `low` to `high` (inclusive;
    None: unbounded), finite."""

    def parse(value: str):
        n = kind(value)  # ValueError: argparse says "invalid int value"
        if not math.isfinite(n):
            raise argparse.ArgumentTypeError(f"must be a finite number, not {value}")
        if low is not None and n < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, not {n}")
        if high is not None and n > high:
            raise argparse.ArgumentTypeError(f"must be at most {high}, not {n}")
        return n

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


class Parser(argparse.ArgumentParser):
    """argparse, with a bad option reported as one line (not the usage and a line)."""

    def error(self, message: str):
        self.exit(2, f"writer-bench: {message} ({self.prog} --help lists the options)\n")


# Every option once: its add_argument keywords.
OPTIONS: dict[str, dict] = {
    "--model": {"required": True, "help": "GGUF model file"},
    "--text": {
        "required": True,
        "help": "UTF-8 text the simulated writer types (.xz: compressed)",
    },
    "--threads": {"type": number(int, 1), "help": "CPU threads (default: physical cores)"},
    "--n-ctx": {
        "type": number(int, 16),
        "default": EngineConfig.n_ctx,
        "help": "context size in tokens (default %(default)s)",
    },
    "--gpu-layers": {
        "type": number(int, -1),  # -1: all, as llama.cpp
        "help": "layers to offload (default: all if a GPU backend exists)",
    },
    "--json": {"action": "store_true", "help": "print the JSON on one line"},
    "--confidence": {
        "type": number(float, 0, 1),
        "help": "suggestion confidence, 0 to show everything; for quality, the gated "
        "settings' threshold (default: the model's calibrated value, else "
        f"{DEFAULT_CONFIDENCE}; the report's confidence_source says which)",
    },
    "--no-cache": {
        "action": "store_true",
        "help": "turn the document cache off: the model alone (default on)",
    },
    "--fast": {
        "action": "store_true",
        "help": "stop each suggestion once it disagrees with the text (same keystrokes and "
        "acceptance; words_shown counts only the words generated)",
    },
    "--baseline": {
        "choices": ["transformers"],
        "help": "also time PyTorch fp32 generate on the CPU (needs --checkpoint)",
    },
    "--checkpoint": {"help": "HF checkpoint dir with the same weights (for --baseline)"},
    "--max-requests": {
        "type": number(int, 1),
        "metavar": "N",
        "help": "spread at most N pauses over the text",
    },
    "--baseline-requests": {
        "type": number(int, 1),
        "metavar": "N",
        "default": LatencySettings.baseline_requests,
        "help": "requests (spread evenly) also run by the baseline (default %(default)s)",
    },
    "--process": {
        "choices": ["in", "child", "both"],
        "default": LatencySettings.process,
        "help": "run the engine in this process, in an engine process as the app does, "
        "or both on the same text (default %(default)s)",
    },
    "--window": {
        "type": number(int, 2),
        "default": WINDOW,
        "help": "tokens per perplexity window (default %(default)s)",
    },
    "--stride": {
        "type": number(int, 1),
        "default": STRIDE,
        "help": "tokens between perplexity windows (default %(default)s)",
    },
    "--no-ppl": {"action": "store_true", "help": "skip the perplexity"},
    "--write": {
        "action": "store_true",
        "help": "store the chosen confidence in the model file (its GGUF metadata)",
    },
    "--chars": {
        "type": number(int, 100),
        "default": PASSAGE_CHARS,
        "help": "type about this many characters of TEXT (default %(default)s)",
    },
    "--no-refine": {
        "action": "store_true",
        "help": "measure the coarse grid only, not the midpoints beside the best",
    },
    "--project": {
        "metavar": "FOLDER",
        "help": "type TEXT as a new chapter of this project folder: the engine learns its "
        "chapters and notes as the app does",
    },
    "--paste": {
        "action": "store_true",
        "help": "with --project: paste the notes and chapters before TEXT as one document "
        "instead (the baseline)",
    },
}
COMMON = ("--model", "--text", "--threads", "--n-ctx", "--gpu-layers", "--json")
# command -> (what it measures, the options it takes)
COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "latency": (
        "suggestion latency while a simulated writer types",
        (
            *COMMON,
            "--confidence",
            "--no-cache",
            "--baseline",
            "--checkpoint",
            "--max-requests",
            "--baseline-requests",
            "--process",
        ),
    ),  # fmt: skip
    "ksr": (
        "keystroke-savings rate",
        (*COMMON, "--confidence", "--no-cache", "--fast", "--project", "--paste"),
    ),
    "ppl": (
        "perplexity of the engine's distribution, cache included",
        (*COMMON, "--no-cache", "--window", "--stride", "--project", "--paste"),
    ),
    "quality": (
        "ksr, acceptance and ppl for off, gate only, cache only and both",
        (
            *COMMON,
            "--confidence",
            "--fast",
            "--no-ppl",
            "--window",
            "--stride",
            "--project",
            "--paste",
        ),
    ),
    "calibrate": (
        "the suggestion confidence that suits the model: the most ksr_word with acceptance "
        "at least 0.45",
        (*COMMON, "--no-cache", "--chars", "--no-refine", "--write"),
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """Return writer-bench's argument parser."""
    from writer_app import bench

    parser = Parser(
        prog="writer-bench",
        description=bench.__doc__.split("\n\n")[0],
        epilog="writer-bench COMMAND --help describes a command.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for command, (what, options) in COMMANDS.items():
        p = sub.add_parser(command, help=what, description=f"writer-bench {command}: {what}.")
        p.add_argument("--debug", action="store_true", help="show a traceback on errors")
        for option in options:
            p.add_argument(option, **OPTIONS[option])
    return parser


def read_text(path: str) -> str:
    """Return the text at `path` (UTF-8; .xz is decompressed), the same for every command.

    Raises BenchError if it cannot be read or has nothing to type (empty or only whitespace).
    """
    try:
        if path.endswith(".xz"):
            with lzma.open(path, "rt", encoding="utf-8") as f:
                text = f.read()
        else:
            text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, lzma.LZMAError) as exc:
        raise BenchError(f"cannot read {path}: {exc}") from exc
    if not text.strip():
        raise BenchError(f"{path} has nothing to type: it is empty or only whitespace")
    return text


def engine_config(args: argparse.Namespace) -> EngineConfig:
    """Return the EngineConfig the parsed flags ask for (defaults for what the command lacks)."""
    return EngineConfig(
        model_path=Path(args.model),
        n_threads=args.threads,
        n_ctx=args.n_ctx,
        n_gpu_layers=args.gpu_layers,
        confidence=getattr(args, "confidence", None),
        document_cache=not getattr(args, "no_cache", False),
    )


def run(args: argparse.Namespace) -> dict:
    """Run the parsed command; return its report. Raises BenchError or EngineError."""
    text = read_text(args.text)
    config = engine_config(args)
    project, paste = getattr(args, "project", None), getattr(args, "paste", False)
    if paste and project is None:
        raise BenchError("--paste needs --project FOLDER (the project to paste)")
    if args.command == "ksr":
        with Engine(config) as engine:
            if project is not None and not paste:
                learnt = load_project(engine, project)
            prefix = paste_of(project) if paste else ""
            report = ksr_report(engine, text, fast=args.fast, prefix=prefix)
            if project is not None:
                report["project"] = learnt if not paste else None
                report["paste"] = paste
            return report
    if args.command == "calibrate":
        return calibrate_report(
            config, text, chars=args.chars, refine=not args.no_refine, write=args.write
        )
    if args.command == "ppl":
        return ppl_report(
            config, text, window=args.window, stride=args.stride, project=project, paste=paste
        )
    if args.command == "quality":
        return quality_report(
            config,
            text,
            fast=args.fast,
            with_ppl=not args.no_ppl,
            window=args.window,
            stride=args.stride,
            project=project,
            paste=paste,
        )
    if args.baseline and args.checkpoint is None:
        raise BenchError("--baseline transformers needs --checkpoint DIR (the same weights)")
    settings = LatencySettings(
        process=args.process,
        max_requests=args.max_requests,
        baseline_checkpoint=Path(args.checkpoint) if args.baseline else None,
        baseline_requests=args.baseline_requests,
    )
    if settings.process == "both":
        return boundary_report(config, text, settings)
    return latency_report(config, text, settings)


def main(argv: list[str] | None = None) -> int:
    """Entry point of writer-bench: print the command's report as JSON and return 0,
    or print why it cannot measure to stderr and return 1 (2 for a bad option)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # a bad option (said in one line), or --help
        return exc.code if isinstance(exc.code, int) else 2
    try:
        report = run(args)
    except (BenchError, EngineError) as exc:
        if args.debug:
            raise
        print(f"writer-bench: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("writer-bench: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a fault of ours, or an input no check foresaw
        if args.debug:
            raise
        print(
            f"writer-bench: {type(exc).__name__}: {' '.join(str(exc).split())} "
            "(--debug shows where; please report it)",
            file=sys.stderr,
        )
        return 1
    report["command"] = " ".join(["writer-bench", *(argv if argv is not None else sys.argv[1:])])
    report["cpu_count"] = os.cpu_count()
    print(json.dumps(report) if args.json else json.dumps(report, indent=2))
    return 0
