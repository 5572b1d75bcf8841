"""`writer-finetune`: a thin argparse layer over the finetune package.

Each subcommand lives in its own module, which provides
`add_arguments(parser)` and `run(args) -> int`. Modules are imported only
when their command runs, so `--help` stays fast and the app's light install
can still print it.

Whatever goes wrong is one line on stderr, never a traceback (`--debug`, before
or after the command, shows one), and the exit status says how it ended
(finetune.outputs.ExitCode): a bad flag or setting 2, another run in the
output folder 3, Ctrl+C or SIGTERM 130, any other failure 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from finetune.errors import FinetuneError
from finetune.outputs import ExitCode

# command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "train": (
        "finetune.pipeline",
        "train or fine-tune a GPT-2 on a folder of books, then export a GGUF",
    ),
    "export": ("finetune.export", "convert a GPT-2 checkpoint to a (quantized) GGUF and verify it"),
    "verify": (
        "finetune.verify",
        "compare a GGUF with its checkpoint: logits error, top-1, perplexity",
    ),
    "eval": ("finetune.evaluate", "perplexity of a GGUF on a text, through llama.cpp (JSON)"),
}


class Parser(argparse.ArgumentParser):
    """argparse, with a bad flag reported as one line (not the usage and a line)."""

    def error(self, message: str):
        self.exit(ExitCode.REFUSED, f"error: {message} ({self.prog} --help lists the options)\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of `writer-finetune` and its commands."""
    parser = Parser(
        prog="writer-finetune",
        description="Turn a corpus of books into the GGUF model the writing app runs.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        # Also after the command; SUPPRESS keeps the top-level value when it is not given.
        p.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
        p.set_defaults(_module=module)
        try:
            importlib.import_module(module).add_arguments(p)
        except ImportError as exc:  # e.g. torch missing in the light install
            p.set_defaults(_import_error=exc)
    return parser


def one_line(text: object) -> str:
    """Return `text` with its line breaks and runs of spaces made single spaces."""
    return " ".join(str(text).split())


def main(argv: list[str] | None = None) -> int:
    """Run a command; return its exit status (an ExitCode), printing why it failed."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # a bad flag (said in one line), or --help
        return exc.code if isinstance(exc.code, int) else ExitCode.REFUSED
    if getattr(args, "_import_error", None) is not None:
        print(
            f"writer-finetune {args.command}: {args._import_error}. "
            "Install the training extra: pip install -e '.[finetune]'",
            file=sys.stderr,
        )
        return ExitCode.REFUSED
    try:
        return importlib.import_module(args._module).run(args)
    except FinetuneError as exc:
        if args.debug:
            raise
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except Exception as exc:  # a fault of ours, or an input no check foresaw
        if args.debug:
            raise
        print(
            f"error: {type(exc).__name__}: {one_line(exc)} "
            "(writer-finetune --debug shows where; please report it)",
            file=sys.stderr,
        )
        return ExitCode.FAILED


if __name__ == "__main__":
    sys.exit(main())
