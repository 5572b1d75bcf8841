"""`writer-app [FILE]`: start the desktop editor."""

from __future__ import annotations

import argparse
import logging
import sys

from PySide6.QtWidgets import QApplication

from writer_app import __version__
from writer_app.ui.settings import APPLICATION, ORGANIZATION, load_settings


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
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def create_application() -> QApplication:
    """Return the QApplication (created if needed) with the app's names and style set."""
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("Writer")
    app.setStyle("Fusion")  # the same look, and the same light/dark palettes, everywhere
    return app


def main(argv: list[str] | None = None) -> int:
    """Run the app until its window closes; returns the process exit status."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = create_application()

    from writer_app.ui.main_window import MainWindow  # after QApplication: it queries fonts

    window = MainWindow(load_settings(), model_override=args.model)
    window.show()
    if args.file:
        window.files.load_path(args.file)
    window.files.offer_recovery()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
