"""`writer-finetune`: a thin argparse layer over the finetune package.

Each subcommand lives in its own module, which provides
`add_arguments(parser)` and `run(args) -> int`. Modules are imported only
when their command runs, so `--help` stays fast and the app's light install
can still print it.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from finetune.errors import FinetuneError

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="writer-finetune",
        description="Turn a corpus of books into the GGUF model the writing app runs.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        try:
            importlib.import_module(module).add_arguments(p)
        except ImportError as exc:  # e.g. torch missing in the light install
            p.set_defaults(_import_error=exc)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "_import_error", None) is not None:
        print(
            f"writer-finetune {args.command}: {args._import_error}. "
            "Install the training extra: pip install -e '.[finetune]'",
            file=sys.stderr,
        )
        return 2
    try:
        return importlib.import_module(args._module).run(args)
    except FinetuneError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
