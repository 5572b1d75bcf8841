"""Alt+] / Alt+[: the other suggestions for the same place, computed on first use.

Alternatives remembers the list for one (revision, cursor) anchor, which one
shows, and the "2/3" label; it asks the engine through the controller's
worker and shows through the controller's ghost signals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from writer_app.ui.suggest.controller import SuggestionController

COMPUTING = "alternatives…"


class Alternatives:
    """The alternatives of one SuggestionController."""

    def __init__(self, controller: SuggestionController):
        self.c = controller
        self.texts: list[str] = []
        self.index = 0
        self.anchor: tuple[int, int] | None = None
        self.direction = 1
        self.request_id = 0
        self.label = ""

    def cycle(self, direction: int) -> None:
        """Show the next (+1) or previous (-1) alternative, computing them on first use."""
        c, editor = self.c, self.c.editor
        if not c.suggestions_possible() or editor.textCursor().hasSelection():
            return
        anchor = (editor.revision, editor.textCursor().position())
        if self.anchor == anchor and self.texts:
            self.index = (self.index + direction) % len(self.texts)
            if editor.ghost_text:
                c.ghost_ready.emit(self.texts[self.index], anchor[1])
            else:
                c.show_new(None, self.texts[self.index], anchor[1])
            return
        revision, cursor, text = c.prompt()
        if not text.strip():
            return
        self.direction = direction
        c.debounce.stop()
        self.set_label(COMPUTING)
        self.request_id = c.ask(c.worker.alternatives, revision, cursor, text)

    def on_ready(self, request_id: int, revision: int, cursor: int, suggestions) -> None:
        """The engine's alternatives: show the next one, unless the document moved on."""
        c, editor = self.c, self.c.editor
        if not c.accept_answer(request_id, revision, cursor):
            self.update_label()
            return
        showing = bool(editor.ghost_text)
        texts = [editor.ghost_text] if showing else []
        for s in suggestions:
            if s.text and s.text not in texts:
                texts.append(s.text)
        if not texts:
            self.update_label()
            return
        self.texts, self.anchor = texts, (revision, cursor)
        start = 0 if showing else -self.direction
        self.index = (start + self.direction) % len(texts)
        if showing:
            c.ghost_ready.emit(texts[self.index], cursor)
        else:
            c.show_new(request_id, texts[self.index], cursor)
        self.update_label()

    def update_label(self) -> None:
        """Show "2/3" while an alternative of the list shows, and nothing otherwise."""
        editor = self.c.editor
        anchor = (editor.revision, editor.ghost_position)
        if self.texts and anchor == self.anchor and editor.ghost_text == self.texts[self.index]:
            self.set_label(f"{self.index + 1}/{len(self.texts)}")
        elif self.label != COMPUTING or self.request_id != self.c.worker.latest_id:
            self.set_label("")

    def set_label(self, text: str) -> None:
        self.label = text
        self.c.alt_text.emit(text)
