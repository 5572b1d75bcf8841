"""At start: offer the unsaved text that a crashed session left (core/recovery.py).

Each open document has its own recovery copy, so a project's chapters come
back as several. Those of chapters in the open project are offered in one
question, with the list, and each goes back into its own chapter (unsaved,
so that the writer decides to keep it); of the others, the newest is offered
as it always was, in place of the document shown (closing the project first).

A damaged copy is offered with what could be read and says what not; it is
deleted only when the writer says Discard, and a restored damaged one is
moved aside (NAME.bad-...) rather than deleted.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from writer_app.core.recovery import RecoveredText, find_recoverable
from writer_app.core.state_files import move_aside
from writer_app.core.text_io import TextFile, stamp_of

Button = QMessageBox.StandardButton
RESTORED_MS = 8_000
CHOICES = "Yes: restore it. Discard: delete it for good. Ignore: ask again next time."
CHOICES_MANY = "Yes: restore them. Discard: delete them for good. Ignore: ask again next time."


def offer(files) -> bool:
    """Offer what crashed sessions left to `files` (a DocumentFiles); return True when
    something was restored."""
    found = find_recoverable(files.recovery.folder, exclude=files.recovery.path)
    files.show_notices()
    root = files.project_root
    chapters = [r for r in found if root is not None and _inside(r.source_path, root)]
    others = [r for r in found if r not in chapters]
    restored = bool(chapters) and _offer_chapters(files, chapters)
    if others:
        restored = _offer_one(files, others[0]) or restored
    return restored


def _inside(source: str | None, root: Path) -> bool:
    return source is not None and Path(source).is_relative_to(root)


def _describe(rec: RecoveredText) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(rec.saved_at))
    damage = f"; damaged: {rec.damage}, what could be read is restored" if rec.damage else ""
    return f"autosaved {when}, {len(rec.text.split())} words{damage}"


def _offer_chapters(files, found: list[RecoveredText]) -> bool:
    listed = "\n".join(f"• {Path(r.source_path).name} ({_describe(r)})" for r in found)
    answer = QMessageBox.question(
        files.window,
        "Restore unsaved text?",
        f"Writer did not close properly last time. Restore the unsaved text of "
        f"{'this chapter' if len(found) == 1 else f'these {len(found)} chapters'}?\n\n"
        f"{listed}\n\n{CHOICES_MANY}",
        Button.Yes | Button.Discard | Button.Ignore,
        Button.Yes,
    )
    if answer == Button.Discard:
        for rec in found:
            rec.discard()
    if answer != Button.Yes:
        return False
    restored = 0
    for rec in found:
        doc = files.open_document(Path(rec.source_path))
        if doc is None:  # said why; the copy stays for the next start
            continue
        files.editor.set_text(rec.text)
        doc.document.setModified(True)
        files.autosave()  # now safe in this session's own file
        _done_with(rec)
        restored += 1
    if restored:
        files.flash.emit(
            f"Restored the unsaved text of {restored} chapter{'s' if restored != 1 else ''}. "
            "Save to keep it.",
            RESTORED_MS,
        )
    return restored > 0


def _offer_one(files, rec: RecoveredText) -> bool:
    what = Path(rec.source_path).name if rec.source_path else "an untitled document"
    answer = QMessageBox.question(
        files.window,
        "Restore unsaved text?",
        f"Writer did not close properly last time. Restore the unsaved text of {what} "
        f"({_describe(rec)})?\n\n{CHOICES}",
        Button.Yes | Button.Discard | Button.Ignore,
        Button.Yes,
    )
    if answer == Button.Discard:
        rec.discard()
    if answer != Button.Yes or not files.maybe_save():
        return False
    files.leave_project()
    source = Path(rec.source_path) if rec.source_path else None
    claim = files.claim(source) if source is not None else True
    files.replace_text(TextFile(rec.text), source, claim is True)
    files.current.stamp = stamp_of(source) if source is not None else None
    files.editor.document().setModified(True)
    files.autosave()  # now safe in this session's own file
    _done_with(rec)
    files.flash.emit("Restored the unsaved text. Save it to keep it.", RESTORED_MS)
    return True


def _done_with(rec: RecoveredText) -> None:
    if rec.damage:
        move_aside(rec.recovery_file)
    else:
        rec.discard()
