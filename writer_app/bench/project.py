"""writer-bench --project FOLDER: TEXT typed as a new chapter of a project.

The engine learns the project as the app makes it learn (ui/suggest/project_sync.py):
scan_project, then Engine.set_project(project_paths(index)) and
Engine.set_names(name_rows(project_names(index))), the same functions;
writer-bench only waits for the build, where the app never does.

--paste is the baseline the issue compares with: the notes and the chapters
pasted before TEXT as one document (no project memory, no names).

`name_report` measures name completion: at every capitalised word of TEXT,
two letters typed, does the suggestion complete the word?
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from writer_app.bench.errors import BenchError
from writer_app.core.project import project_names, scan_project
from writer_app.core.text_io import TextFileError, read_text_file
from writer_app.engine import Engine
from writer_app.engine.names import MIN_PREFIX, NameIndex
from writer_app.engine.project_memory import name_rows, project_paths

CAPITALISED_WORD = re.compile(r"(?<![\w'’-])[A-Z][a-z]{2,}\b")
MAX_EXAMPLES = 10  # misses and wrong completions name_report quotes


def load_project(engine: Engine, folder: str | Path) -> dict:
    """Make `engine` learn the project at `folder` as the app does, and wait for it;
    return what it learnt. Raises BenchError when the folder can't be read."""
    try:
        index = scan_project(folder)
    except OSError as err:
        raise BenchError(str(err)) from err
    names = project_names(index)
    t0 = time.perf_counter()
    engine.set_project([str(p) for p in project_paths(index)])
    engine.set_names(name_rows(names))
    engine.wait_for_project()
    report = engine.project_memory.last_report
    return {
        "folder": str(folder),
        "chapters": len(index.chapters),
        "notes": len(index.notes),
        "names": len(names),
        "tokens": report.tokens,
        "load_seconds": round(time.perf_counter() - t0, 2),
        "memory_mb": round(engine.project_memory.nbytes() / 1e6, 1),
    }


def paste_of(folder: str | Path) -> str:
    """Return the notes, then the chapters, of the project at `folder` as one text
    ending in a paragraph break (the --paste baseline's start)."""
    try:
        index = scan_project(folder)
        texts = [read_text_file(f.path).text for f in [*index.notes, *index.chapters]]
    except (OSError, TextFileError) as err:
        raise BenchError(str(err)) from err
    return "\n\n".join(t.strip("\n") for t in texts if t.strip()) + "\n\n"


def known_words(folder: str | Path) -> set[str]:
    """Return the words of the names the project's notes define (what "known" means)."""
    return set(NameIndex(name_rows(project_names(scan_project(folder)))).words())


def name_report(engine: Engine, text: str, known: set[str], prefix: str = "") -> dict:
    """At each capitalised word of `text`, with its first two letters typed, ask for a
    suggestion; return how often the `known` names were completed, and how often a
    name completion (SuggestionExtra.stop "name") was wrong, with the first few of
    each miss ("...text|typed -> suggestion")."""
    occurrences = completed = completions = wrong = 0
    missed: list[str] = []
    wrongly: list[str] = []
    for m in CAPITALISED_WORD.finditer(text):
        word = m.group()
        before = prefix + text[: m.start() + MIN_PREFIX]
        engine.set_document(before)
        s = engine.suggest(before)
        rest = word[MIN_PREFIX:]
        got = s.text if s is not None else ""
        right = got.startswith(rest) and not got[len(rest) : len(rest) + 1].isalnum()
        seen = f"{before[-30:]}|{word} -> {got!r}".replace("\n", " ")
        if word in known:
            occurrences += 1
            completed += int(right)
            if not right and len(missed) < MAX_EXAMPLES:
                missed.append(seen)
        if s is not None and s.extra.stop == "name":
            completions += 1
            wrong += int(not right)
            if not right and len(wrongly) < MAX_EXAMPLES:
                wrongly.append(seen)
    print(f"names: {occurrences} known-name occurrences", file=sys.stderr)
    return {
        "known_name_occurrences": occurrences,
        "completed_correctly": completed,
        "completed_share": round(completed / occurrences, 4) if occurrences else None,
        "name_completions": completions,
        "wrong_completions": wrong,
        "wrong_share": round(wrong / completions, 4) if completions else None,
        "missed": missed,
        "wrong": wrongly,
    }
