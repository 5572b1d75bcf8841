"""Typing speed of the editor on a short file, a 3 MB novel, a 30 MB document and a 10 MB line.

Prints one JSON object (with the command that made it): for each document the
time to open it (read, decode, lay out, count), and the time per keystroke to
insert a character at the end and repaint (p50, p95, max), plus the work the
app does in the pauses between keys (word count, recovery autosave, prompt).

    .venv/bin/python benchmarks/editor_keystrokes.py                 # short, 3 MB, 30 MB, 10 MB line
    .venv/bin/python benchmarks/editor_keystrokes.py --sizes-mb 3 --keys 500
    .venv/bin/python benchmarks/editor_keystrokes.py --sizes-mb --one-line-mb 10 1 --compare

It runs the real MainWindow without a model (suggestions run off the UI
thread) on Qt's offscreen platform unless QT_QPA_PLATFORM says otherwise, with
settings and recovery files in a temporary folder. The goal: p95 of at most
16 ms (one frame at 60 Hz, so typing never stutters) on the 3 MB novel, as on
the short file, and on a file of one 10 MB line (one paragraph: a file without
line breaks) too. --compare types the one-line files a second time with the
editor's long-paragraph fast path off (every paragraph counted whole per edit,
as before it), to show what it saves; Qt lays the whole paragraph out again on
every key either way (QTextEngine: line breaks, itemizing, shaping).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

from isolated_app import isolated_app

WORDS = (
    "the keeper climbed stairs and counted them as he went while the lamp turned above "
    "her father said mainland was a noisy place full of carts bells people who talked "
    "too fast she watched boat come through rocks with patched sail letter in his hand "
    "morning evening wind smelled of cut hay woodsmoke across eleven miles water"
).split()
MISSPELLED = "wich recieve lamplite definately seperate".split()  # one word in MISSPELL_EVERY
MISSPELL_EVERY = 40
TYPED = "And then, at last, the light went out. "  # cycled through, one key at a time
SHORT_BYTES = 3_000  # a short story's opening, the baseline the novel must match


def make_document(path: Path, size_bytes: int, seed: int = 0, one_line: bool = False) -> None:
    """Write prose paragraphs (40 to 160 words) of about size_bytes to path; with one_line,
    the sentences run on in one paragraph, without a line break."""
    rng = random.Random(seed)
    paragraphs, total = [], 0
    while total < size_bytes:
        words = [
            rng.choice(MISSPELLED if rng.randrange(MISSPELL_EVERY) == 0 else WORDS)
            for _ in range(rng.randint(40, 160))
        ]
        paragraph = " ".join(words).capitalize() + "."
        paragraphs.append(paragraph)
        total += len(paragraph) + 1
    path.write_text((" " if one_line else "\n").join(paragraphs), encoding="utf-8")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _spread(times: list[float]) -> dict | None:
    """p50, p95 and max of `times` (ms), rounded; None when there are none."""
    if not times:
        return None
    return {
        "p50": round(statistics.median(times), 2),
        "p95": round(percentile(times, 0.95), 2),
        "max": round(max(times), 2),
    }


def measure(window, app, path: Path, name: str, keys: int, pause_every: int) -> dict:
    """Open path in the window, type `keys` characters at its end, pausing for the
    spelling refresh every `pause_every` keys (0: never); return the figures."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    editor = window.editor
    app.processEvents()

    start = time.perf_counter()
    assert window.files.load_path(path), f"could not open {path}"
    app.processEvents()
    open_s = time.perf_counter() - start

    start = time.perf_counter()
    QTest.keyClick(editor, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    app.processEvents()
    editor.viewport().repaint()
    ctrl_end_ms = (time.perf_counter() - start) * 1000
    # The cursor in view, and truly at the end: past Qt's layout limit it only seems so.
    ctrl_end_works = not editor.layout_overflows() and editor.viewport().rect().contains(
        editor.cursorRect()
    )

    spelling = window.spelling
    checking = spelling.enabled and spelling.checker.available
    refreshes = []

    def refresh_spelling() -> None:
        start = time.perf_counter()
        spelling.refresh()
        refreshes.append((time.perf_counter() - start) * 1000)

    if checking:
        refresh_spelling()  # the words on screen underlined, as after opening
    underlined = len(spelling.misspelled_ranges()) if checking else 0
    times = []
    for i in range(keys):
        start = time.perf_counter()
        QTest.keyClick(editor, TYPED[i % len(TYPED)])
        app.processEvents()
        editor.viewport().repaint()  # synchronous: the key is on screen when this returns
        times.append((time.perf_counter() - start) * 1000)
        if checking and pause_every and (i + 1) % pause_every == 0:
            spelling.timer.stop()  # the pause: its refresh now, not SPELL_DELAY_MS later
            refresh_spelling()

    pause = {}
    for job, run in (
        ("word_count_ms", window.status.update_word_count),
        ("autosave_ms", window.files.autosave),
        ("prompt_ms", lambda: editor.text_before_cursor(16_000)),
    ):
        start = time.perf_counter()
        run()
        pause[job] = round((time.perf_counter() - start) * 1000, 2)

    doc = editor.document()
    report = {
        "name": name,
        "mb": round(path.stat().st_size / 1e6, 3),
        "paragraphs": doc.blockCount(),
        "words": editor.words.total,
        "open_s": round(open_s, 3),
        "keystroke_ms": _spread(times),
        "spelling": {
            "on": checking,
            "underlined_on_screen": underlined,
            "refreshes": len(refreshes),
            "refresh_ms": _spread(refreshes),
        },
        "ctrl_end_ms": round(ctrl_end_ms, 1),
        "ctrl_end_shows_cursor": ctrl_end_works,
        **pause,
    }
    editor.document().setModified(False)  # the next open must not ask to save
    return report


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON report; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mb", type=float, nargs="*", default=[3.0, 30.0])
    parser.add_argument("--keys", type=int, default=200, help="keystrokes per document")
    parser.add_argument("--one-line-mb", type=float, nargs="*", default=[10.0])
    parser.add_argument(
        "--one-line-keys", type=int, default=20, help="keystrokes per one-line document"
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="type the one-line documents again with the long-paragraph fast path off",
    )
    parser.add_argument("--no-spelling", action="store_true", help="type with spelling off")
    parser.add_argument(
        "--pause-every", type=int, default=10, help="keys between the spelling refreshes (0: none)"
    )
    args = parser.parse_args(argv)

    with isolated_app("editor-bench-") as (app, folder, warnings):
        from PySide6 import __version__ as pyside_version

        from writer_app.ui.main_window import MainWindow
        from writer_app.ui.settings import AppSettings

        window = MainWindow(AppSettings(), load_model=False)
        window.show()
        if args.no_spelling:
            window.spelling.set_checker(window.spelling.checker, False)
        elif not window.spelling.checker.available:
            print(f"spelling: {window.spelling.checker.problem}", file=sys.stderr)
        fast = window.editor.words.long_paragraph_chars
        # (name, bytes, one line, keys, the word counter's long-paragraph threshold)
        documents = [("short", SHORT_BYTES, False, args.keys, fast)]
        documents += [(f"{mb:g} MB", int(mb * 1e6), False, args.keys, fast) for mb in args.sizes_mb]
        for mb in args.one_line_mb:
            documents.append((f"{mb:g} MB one line", int(mb * 1e6), True, args.one_line_keys, fast))
            if args.compare:
                name = f"{mb:g} MB one line, fast path off"
                documents.append((name, int(mb * 1e6), True, args.one_line_keys, float("inf")))
        results = []
        for name, size, one_line, keys, long_paragraph in documents:
            path = folder / f"{name.replace(' ', '').replace(',', '')}.txt"
            make_document(path, size, one_line=one_line)
            print(f"{name}: opening and typing {keys} keys...", file=sys.stderr)
            warnings.clear()
            window.editor.words.long_paragraph_chars = long_paragraph
            report = measure(window, app, path, name, keys, args.pause_every)
            report["warnings"] = list(warnings)
            results.append(report)
            window.files.new_file()  # frees the document before the next one
            path.unlink()
        window.editor.words.long_paragraph_chars = fast
        window.shutdown()

    print(
        json.dumps(
            {
                "benchmark": "editor_keystrokes",
                "keys_per_document": args.keys,
                "keys_per_one_line_document": args.one_line_keys,
                "documents": results,
                "machine": {
                    "cpus": os.cpu_count(),
                    "load_average_1min": round(os.getloadavg()[0], 2),
                    "qt_platform": os.environ["QT_QPA_PLATFORM"],
                    "pyside6": pyside_version,
                    "python": sys.version.split()[0],
                    "spelling_language": window.settings.spelling_language,
                },
                "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
