"""When the file on disk is not what the editor read: another program (or another
Writer) changed it, or another window has it open.

The questions are module-level functions (`ask_conflict`, `ask_already_open`,
`show_diff`) so that tests answer them as they answer QMessageBox: by
monkeypatching. `check` and `resolve` act on the current document of a
DocumentFiles (editor/document_files.py), which does the writing.

What each answer does (neither side is ever lost):
- Reload Theirs: the writer's text is saved beside the file as
  "NAME (mine).EXT", and the editor shows the file as it now is on disk.
- Keep Mine: the writer's text is saved as "NAME (mine).EXT", and the editor
  goes on with it there: later saves go to the (mine) file; the other
  program's version stays untouched under the original name.
- Compare: a unified diff of the two, then the question again.
- Cancel: nothing is written; the next save asks again.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QDialog, QMessageBox, QPlainTextEdit, QVBoxLayout, QWidget

from writer_app.core.documents import TextFileError, changed_on_disk, read_text_file, text_diff
from writer_app.core.text_io import stamp_of

RELOAD = "Reload Theirs"
KEEP = "Keep Mine"
COMPARE = "Compare"
CANCEL = "Cancel"
READ_ONLY = "Open Read-Only"
ANYWAY = "Open Anyway"
PROBLEM_MS = 15_000  # status-bar time of what the writer must read
LONG_NOTE_MS = 8_000


def check(files) -> None:
    """Compare the current file of `files` (a DocumentFiles) on disk with the editor's text.

    Unchanged: nothing. Changed and no unsaved edits here: reloaded. Changed
    with unsaved edits: the writer is asked, once per version on disk (the
    next save asks again). Gone: said once; saving writes it again.
    """
    doc = files.current
    if doc.path is None or not changed_on_disk(doc.path, doc.stamp):
        return
    now = stamp_of(doc.path)
    seen = now.digest if now is not None else "gone"
    if seen == doc.asked_about:
        return
    doc.asked_about = seen
    if now is None:
        files.flash.emit(
            f"{doc.name} was deleted, moved or replaced on disk; "
            "File → Save writes your text there again.",
            PROBLEM_MS,
        )
    elif not doc.modified:
        if reload(files):
            files.flash.emit(f"{doc.name} changed on disk; reloaded.", LONG_NOTE_MS)
    else:
        resolve(files)


def resolve(files) -> bool:
    """Ask what to do about the current file of `files`, changed on disk, until the writer
    decides; both texts survive every answer but Cancel, which writes nothing. Returns
    whether the writer's text is now saved."""
    path, mine = files.path, files.editor.toPlainText()
    while True:
        answer = ask_conflict(files.window, path.name)
        if answer == COMPARE:
            try:
                theirs = read_text_file(path).text
            except TextFileError as err:
                theirs = f"(the version on disk cannot be read: {err})"
            show_diff(
                files.window, f"{path.name}: on disk → yours", unified_diff(theirs, mine, path.name)
            )
            continue
        if answer not in (RELOAD, KEEP):
            return False
        break
    mine_at = mine_path(path)
    if not files.write_to(mine_at):
        return False
    kept = f"Your text is saved as {mine_at.name}"
    if answer == RELOAD and reload(files, path):
        files.flash.emit(f"Reloaded {path.name} from disk. {kept}.", PROBLEM_MS)
        return True
    files.claim(mine_at)
    files.path = mine_at
    files.flash.emit(f"{kept}; {path.name} keeps the other version.", PROBLEM_MS)
    return True


def reload(files, path: Path | None = None) -> bool:
    """Show `path` (default: the current file of `files`) as it is on disk now, in the
    current document; returns False (said to the writer) when it can't be read."""
    path = path or files.path
    try:
        doc = read_text_file(path)
    except TextFileError as err:
        QMessageBox.critical(files.window, "Could not reload", str(err))
        return False
    if path != files.path:
        files.claim(path)
    files.replace_text(doc, path, not files.read_only)
    files.editor.document().setModified(False)
    return True


def ask_conflict(parent: QWidget, name: str) -> str:
    """Ask what to do about `name` changed on disk; return RELOAD, KEEP, COMPARE or CANCEL."""
    return _ask(
        parent,
        "Changed by another program",
        f"{name} was changed on disk by another program since you opened or saved it.\n\n"
        f"{RELOAD}: show the version on disk; your text is saved beside it as "
        f"“{mine_path(Path(name)).name}”.\n"
        f"{KEEP}: save your text as “{mine_path(Path(name)).name}” and go on writing there; "
        "the other version stays as it is.\n"
        f"{COMPARE}: see what differs first.",
        (RELOAD, KEEP, COMPARE, CANCEL),
        KEEP,
    )


def ask_already_open(parent: QWidget, name: str, pid: int) -> str:
    """Say `name` is open elsewhere (process `pid`; 0: unknown); return READ_ONLY, ANYWAY or CANCEL."""
    where = f"another Writer window (process {pid})" if pid else "another Writer window"
    return _ask(
        parent,
        "Already open",
        f"{name} is already open in {where}. Two windows saving one file would overwrite "
        f"each other's changes.\n\n{READ_ONLY}: read it here without saving over it.\n"
        f"{ANYWAY}: edit it here too (Writer still asks before overwriting a change "
        "made elsewhere).",
        (READ_ONLY, ANYWAY, CANCEL),
        READ_ONLY,
    )


def show_diff(parent: QWidget, title: str, diff: str) -> None:
    """Show `diff` (a unified diff) in a simple modal, read-only dialog."""
    dialog = QDialog(parent)
    dialog.setWindowTitle(title)
    view = QPlainTextEdit(diff or "The two versions are the same text.", dialog)
    view.setReadOnly(True)
    view.setFont(QFont("monospace"))
    QVBoxLayout(dialog).addWidget(view)
    dialog.resize(800, 600)
    dialog.exec()


def unified_diff(theirs: str, mine: str, name: str) -> str:
    """Return the unified diff from the version on disk to the writer's (cut, text_diff)."""
    return text_diff(theirs, mine, f"{name} (on disk)", f"{name} (yours)")


def mine_path(path: Path) -> Path:
    """Return "NAME (mine).EXT" beside `path`, or "NAME (mine 2).EXT"... when that exists."""
    candidate = path.with_name(f"{path.stem} (mine){path.suffix}")
    n = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem} (mine {n}){path.suffix}")
        n += 1
    return candidate


def _ask(parent: QWidget, title: str, text: str, choices: tuple[str, ...], default: str) -> str:
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.NoButton)
    box.setParent(parent, box.windowFlags())
    buttons = {}
    for choice in choices:
        role = (
            QMessageBox.ButtonRole.RejectRole
            if choice == CANCEL
            else QMessageBox.ButtonRole.AcceptRole
        )
        buttons[box.addButton(choice, role)] = choice
    box.setDefaultButton(next(b for b, c in buttons.items() if c == default))
    box.exec()
    return buttons.get(box.clickedButton(), CANCEL)
