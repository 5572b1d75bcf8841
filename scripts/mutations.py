"""Try the hand-made mutations of docs/mutations.md: each must turn a test red.

    .venv/bin/python scripts/mutations.py            # all of them
    .venv/bin/python scripts/mutations.py autosave   # those whose name contains "autosave"

Each mutation replaces one exact piece of source text, runs the tests that
should catch it, and puts the file back (also on Ctrl+C). A mutation whose
source text is gone (the code moved on) is reported as STALE, so the table
is kept true. Prints one line per mutation and a JSON summary; exits 1 if a
mutation survived (its tests stayed green) or went stale.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str  # relative to the repository root
    old: str  # exact source text, found once
    new: str
    tests: tuple[str, ...]  # pytest node ids that must fail with the mutation in


FILES = "tests/ui/test_files_and_recovery.py"
MUTATIONS: tuple[Mutation, ...] = (
    Mutation(
        "autosave interval 30 s -> 60 s",
        "writer_app/ui/editor/document_files.py",
        "AUTOSAVE_INTERVAL_MS = 30_000",
        "AUTOSAVE_INTERVAL_MS = 60_000",
        (f"{FILES}::test_the_window_autosaves_every_30_seconds",),
    ),
    Mutation(
        "recovery deadline 4 s -> 5 s",
        "writer_app/ui/editor/document_files.py",
        "RECOVERY_MAX_DELAY_MS = 4_000",
        "RECOVERY_MAX_DELAY_MS = 5_000",
        (
            f"{FILES}::test_unsaved_text_reaches_the_recovery_file_4_seconds_after_the_first_keystroke",
        ),
    ),
    Mutation(
        "recovery deadline 4 s -> 3 s",
        "writer_app/ui/editor/document_files.py",
        "RECOVERY_MAX_DELAY_MS = 4_000",
        "RECOVERY_MAX_DELAY_MS = 3_000",
        (
            f"{FILES}::test_unsaved_text_reaches_the_recovery_file_4_seconds_after_the_first_keystroke",
        ),
    ),
    Mutation(
        "best weights saved at every evaluation, not only the best",
        "finetune/validation.py",
        "            if improved:\n"
        "                run.best_val, run.bad_evals = loss, 0\n"
        "                self.ckpt.save_best()\n",
        "            self.ckpt.save_best()\n"
        "            if improved:\n"
        "                run.best_val, run.bad_evals = loss, 0\n",
        (
            "tests/finetune/test_best_weights.py::"
            "test_best_weights_are_those_of_the_lowest_validation_loss_not_the_last",
        ),
    ),
    Mutation(
        "the editor shows a ghost made for another cursor position",
        "writer_app/ui/editor/ghost_editor.py",
        "if not text or position != cursor.position() or cursor.hasSelection():",
        "if not text or cursor.hasSelection():",
        (
            "tests/ui/test_keystrokes.py::test_a_ghost_made_for_another_cursor_position_is_not_shown",
        ),
    ),
    Mutation(
        "AMX hosts keep llama.cpp's extra buffer types (SIGILL)",
        "gpt2gguf/cpu.py",
        "return not has_amx(",
        "return True or not has_amx(",
        ("tests/gpt2gguf/test_cpu_rules.py",),
    ),
    Mutation(
        "Replace All as many undo steps",
        "writer_app/ui/dialogs/find_replace.py",
        "    edit.beginEditBlock()\n",
        "",
        (
            "tests/ui/test_find_replace.py::test_replace_all_is_one_undo_step_and_never_touches_the_ghost",
        ),
    ),
    Mutation(
        "spelling flags the word being typed",
        "writer_app/ui/editor/spelling.py",
        "                if qe == typing_at:  # still being typed\n                    continue\n",
        "",
        (
            "tests/ui/test_spelling_underlines.py::"
            "test_misspelled_words_are_underlined_but_not_the_word_being_typed",
        ),
    ),
    Mutation(
        "spelling flags project names",
        "writer_app/core/spelling.py",
        "            if folded in self.project_words or folded in self.personal:",
        "            if folded in self.personal:",
        (
            "tests/core/test_spell_checker.py::"
            "test_project_names_and_their_possessives_are_never_flagged",
        ),
    ),
    Mutation(
        "focus mode without room below the last line",
        "writer_app/ui/editor/focus.py",
        "                maximum + self.editor.viewport().height() // 2\n",
        "                maximum\n",
        (
            "tests/ui/test_focus_mode.py::"
            "test_the_last_lines_come_up_to_the_middle_without_touching_the_text",
        ),
    ),
    Mutation(
        "a training run not taken up after a restart",
        "writer_app/ui/training/dock.py",
        "    restored = TrainingRun.restore(parent=window)\n",
        "    restored = None\n",
        (
            "tests/ui/test_training_restore.py::"
            "test_a_run_stopped_by_quitting_is_back_at_the_next_start_and_goes_on",
        ),
    ),
    Mutation(
        "a restored run from an older folder when the newest cannot resume",
        "writer_app/ui/training/run.py",
        "        run_dir = runs[-1]\n",
        "        run_dir = next((r for r in reversed(runs) if (r / 'train/checkpoint').is_dir()), runs[-1])\n",
        (
            "tests/ui/test_training_restore.py::"
            "test_only_the_newest_run_is_taken_up_and_only_if_it_can_resume",
        ),
    ),
    Mutation(
        "a save keeps no earlier version",
        "writer_app/ui/editor/document_files.py",
        "            keep_version(path, encode_text(text, cur.newline, cur.bom))\n",
        "            pass\n",
        (
            "tests/ui/test_earlier_versions.py::"
            "test_each_save_keeps_what_it_replaces_and_restore_is_one_undo_step",
        ),
    ),
    Mutation(
        "an opened text counts as written today",
        "writer_app/ui/stats/today.py",
        "        self.files.replacing.connect(self._new_text)\n",
        "",
        (
            "tests/ui/test_status_bar.py::"
            "test_the_words_written_today_count_toward_the_daily_goal_and_survive_a_restart",
        ),
    ),
)


def run_tests(tests: tuple[str, ...]) -> int:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True).returncode


def try_mutation(m: Mutation) -> str:
    """Return "killed", "SURVIVED" or "STALE" for one mutation; the file is restored."""
    path = ROOT / m.path
    source = path.read_text(encoding="utf-8")
    if source.count(m.old) != 1:
        return "STALE"
    try:
        path.write_text(source.replace(m.old, m.new), encoding="utf-8")
        return "killed" if run_tests(m.tests) != 0 else "SURVIVED"
    finally:
        path.write_text(source, encoding="utf-8")


def main(argv: list[str]) -> int:
    chosen = [m for m in MUTATIONS if not argv or any(a in m.name for a in argv)]
    results = {}
    for m in chosen:
        results[m.name] = try_mutation(m)
        print(f"{results[m.name]:9} {m.name}  ({m.path})", flush=True)
    print(json.dumps({"command": "python scripts/mutations.py " + " ".join(argv), **results}))
    return 0 if all(r == "killed" for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
