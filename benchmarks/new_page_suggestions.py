"""Suggestions on a new page: how often one shows at a word end, and how often it is right.

    .venv/bin/python benchmarks/new_page_suggestions.py [--corpus ../shared/corpus] [--words 200]

Types the first --words words of a val text into a new, empty document in the
real window (Qt offscreen unless QT_QPA_PLATFORM says otherwise), with the
bundled model (or --model) and the app's default settings: word by word as a
writer does, the keys of a word and the space after it (Return between
paragraphs), then a pause until the debounce has fired and the answer has come.
The text is the val book's passage that benchmarks/val_texts.py cuts (from
the middle of val.txt.xz, at a paragraph start), read at run time; val is
never trained on.

At each word end it records whether a ghost shows and whether it is right:
the text typed next starts with all of it ("accepted": Tab would have been
right) or with its first word. Two passes (issue 27):
  before: today's behaviour, automatic suggestions only, gated;
  after:  the same, plus, where none shows, what Ctrl+Space shows (ungated,
          marked as less sure), counted apart; Esc puts it away and typing goes on.
Shares for the first 50 words and for the rest. Prints one JSON object with
the command that made it. The shares hardly depend on the machine's speed
(each pause waits for its answer); the seconds do.
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import re
import statistics
import sys
import time
from pathlib import Path

from isolated_app import isolated_app
from PySide6.QtCore import QEvent, QObject, Qt, Slot
from PySide6.QtGui import QKeyEvent
from PySide6.QtTest import QTest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
FIRST_WORDS = 50  # "the first 50 words": a new page
ANSWER_TIMEOUT_S = 30.0  # a pause waits this long at most for its answer (a busy machine)
BINS = {"first_50": slice(0, FIRST_WORDS), "after_50": slice(FIRST_WORDS, None)}


class CorpusMissing(SystemExit):
    """The corpus is not where the script looks: say where it looked."""


def val_words(corpus: Path, n: int) -> tuple[list[str], dict]:
    """Return the first `n` word ends of the val passage as typed pieces ("word " or
    "word\\n" at a paragraph's end), and where they come from.

    Raises CorpusMissing when val.txt.xz is not in `corpus`.
    """
    path = corpus / "val.txt.xz"
    if not path.is_file():
        raise CorpusMissing(
            f"new_page_suggestions: {path} is not there. This benchmark types a val text "
            "and needs the shared corpus (../shared/corpus next to the repository, or "
            "--corpus FOLDER)."
        )
    from gpt2gguf.constants import EOS_TEXT  # between the books of the corpus files

    with lzma.open(path, "rt", encoding="utf-8") as f:
        text = f.read().replace(EOS_TEXT, "")
    start = text.find("\n\n", len(text) // 2) + 2  # as benchmarks/val_texts.py cuts it
    pieces = []
    for match in re.finditer(r"(\S+)(\s*)", text[start:]):
        word, gap = match.groups()
        pieces.append(word + ("\n" if "\n\n" in gap else " "))  # one Return per paragraph
        if len(pieces) == n:
            break
    return pieces, {"file": str(path), "start_char": start, "words": len(pieces)}


class Typist(QObject):
    """Types into a MainWindow with keys and waits out the pauses."""

    def __init__(self, window, app):
        super().__init__()
        self.window, self.app = window, app
        self.controller = window.suggestions
        self.last_answer = -1
        self.timeouts = 0
        # Queued to this (the UI) thread after the controller's own slot, connected
        # first: when it runs, the controller has handled the answer.
        self.controller.worker.worker.suggestion_ready.connect(self._answered)

    @Slot(int, int, int, object, bool)
    def _answered(self, request_id: int, *rest) -> None:
        self.last_answer = request_id

    def type_piece(self, piece: str) -> None:
        editor = self.window.editor
        for ch in piece.rstrip("\n"):
            self.type_char(ch)
        if piece.endswith("\n"):
            QTest.keyClick(editor, Qt.Key.Key_Return)

    def type_char(self, ch: str) -> None:
        """One key press and release carrying `ch` (QTest.keyClicks knows only ASCII)."""
        if ch.isascii():
            QTest.keyClicks(self.window.editor, ch)
            return
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            event = QKeyEvent(kind, Qt.Key.Key_unknown, Qt.KeyboardModifier.NoModifier, ch)
            self.app.sendEvent(self.window.editor, event)

    def ctrl_space(self) -> None:
        modifier = Qt.KeyboardModifier.ControlModifier
        QTest.keyClick(self.window.editor, Qt.Key.Key_Space, modifier)

    def escape(self) -> None:
        QTest.keyClick(self.window.editor, Qt.Key.Key_Escape)

    def pause(self, sent_before: int) -> None:
        """Wait until the debounce has fired and the answer to the latest request came."""
        c, deadline = self.controller, time.monotonic() + ANSWER_TIMEOUT_S
        while time.monotonic() < deadline:
            waiting = c.debounce.isActive() or (
                c.requests_sent > sent_before and self.last_answer != c.worker.latest_id
            )
            if not waiting:
                return
            QTest.qWait(5)
        self.timeouts += 1


def ghost_record(editor, typed_next: str) -> dict | None:
    """Return what the ghost showing now offers against what is typed next, or None."""
    ghost = editor.ghost_text
    if not ghost:
        return None
    first = re.match(r"\s*\S+", ghost)
    return {
        "words": len(ghost.split()),
        "accepted": typed_next.startswith(ghost),
        "first_word": bool(first) and typed_next.startswith(first.group()),
        "unsure": editor.ghost_unsure,
    }


def type_text(typist: Typist, pieces: list[str], ask: bool) -> tuple[list, list]:
    """Type the pieces; return, per word end, the automatic ghost's record (or None) and,
    with `ask`, what Ctrl+Space showed where none did (or None)."""
    window, c = typist.window, typist.controller
    editor = window.editor
    typed = "".join(pieces)
    automatic, asked = [], []
    pos = 0
    for piece in pieces:
        sent = c.requests_sent
        typist.type_piece(piece)
        pos += len(piece)
        typist.pause(sent)
        record = ghost_record(editor, typed[pos:])
        automatic.append(record)
        if ask and record is None:
            sent = c.requests_sent
            typist.ctrl_space()
            typist.pause(sent)
            shown = ghost_record(editor, typed[pos:])
            asked.append(shown)
            if shown is not None:
                typist.escape()  # the writer reads it and types on
        else:
            asked.append(None)
    if editor.toPlainText() != typed:
        raise RuntimeError("the editor does not hold the text typed: the benchmark is broken")
    return automatic, asked


def shares(records: list[dict | None]) -> dict:
    """Return the share of word ends with a ghost, and how right the ghosts were."""
    shown = [r for r in records if r is not None]
    n = len(records)
    return {
        "word_ends": n,
        "shown": len(shown),
        "shown_share": round(len(shown) / n, 3) if n else None,
        "accepted_share_of_shown": round(sum(r["accepted"] for r in shown) / len(shown), 3)
        if shown
        else None,
        "first_word_right_share_of_shown": round(
            sum(r["first_word"] for r in shown) / len(shown), 3
        )
        if shown
        else None,
        "mean_words": round(statistics.mean(r["words"] for r in shown), 2) if shown else None,
    }


def either(automatic: list, asked: list) -> list:
    return [a if a is not None else b for a, b in zip(automatic, asked, strict=True)]


def run_pass(app, pieces: list[str], ask: bool, model: str | None, confidence: float | None):
    """Type `pieces` into a new window; return the figures of one pass (a dict)."""
    from writer_app.ui.main_window import MainWindow
    from writer_app.ui.settings import AppSettings

    values = {} if confidence is None else {"confidence": confidence}
    if model:
        values["model_path"] = model
    window = MainWindow(AppSettings(**values), load_model=True)
    window.show()
    deadline = time.monotonic() + 120
    while window.engine_state == "loading" and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    if window.engine_state != "ready":
        raise RuntimeError(f"the model did not load: {window.status.message_label.text()}")
    window.editor.setFocus()
    typist = Typist(window, app)
    start = time.perf_counter()
    automatic, asked = type_text(typist, pieces, ask)
    seconds = time.perf_counter() - start
    settings = window.settings
    window.editor.document().setModified(False)
    window.shutdown()
    result = {"automatic": {name: shares(automatic[cut]) for name, cut in BINS.items()}}
    if ask:
        result["ctrl_space_where_none_showed"] = {
            name: shares(asked[cut]) for name, cut in BINS.items()
        }
        result["automatic_or_ctrl_space"] = {
            name: shares(either(automatic, asked)[cut]) for name, cut in BINS.items()
        }
        unsure = [r["unsure"] for r in asked if r is not None]
        result["ctrl_space_marked_less_sure"] = sum(unsure)
    result["answer_timeouts"] = typist.timeouts
    result["seconds"] = round(seconds, 1)
    result["settings"] = {
        "confidence": settings.engine_config().confidence,  # None: the model's choice
        "debounce_ms": settings.debounce_ms,
        "model": settings.model_path or "bundled",
    }
    return result


def main(argv: list[str] | None = None) -> int:
    """Run both passes and print the JSON; return 0. Raises CorpusMissing without the corpus."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="holds val.txt.xz")
    parser.add_argument("--words", type=int, default=200, help="words to type")
    parser.add_argument("--model", default=None, help="a GGUF file (default: the bundled model)")
    parser.add_argument("--confidence", type=float, default=None, help="default: the app's")
    args = parser.parse_args(argv)
    pieces, source = val_words(args.corpus, args.words)

    # The writer's own settings, recovery files and statistics stay untouched.
    with isolated_app("new-page-bench-") as (app, _folder, warnings):
        before = run_pass(app, pieces, False, args.model, args.confidence)
        after = run_pass(app, pieces, True, args.model, args.confidence)
    report = {
        "text": source,
        "before": before,
        "after": after,
        "qt_platform": os.environ["QT_QPA_PLATFORM"],
        "warnings": warnings,
        "command": " ".join(
            [
                "python",
                "benchmarks/new_page_suggestions.py",
                *(sys.argv[1:] if argv is None else argv),
            ]
        ),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
