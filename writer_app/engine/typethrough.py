"""Type-through: keep a shown suggestion alive while the writer types what it says.

The GUI calls this on every keystroke instead of asking the model again, so a
suggestion the writer agrees with costs nothing while they type it out.
"""

from __future__ import annotations


def type_through(suggestion_text: str, typed: str) -> str | None:
    """Return what is left of `suggestion_text` after the writer typed `typed`.

    Returns the remaining suggestion when `typed` is a prefix of it ("" when the
    writer typed all of it), or None when the typed text diverges from it (the
    suggestion is dead and a new request is due). Never raises.
    """
    if suggestion_text.startswith(typed):
        return suggestion_text[len(typed) :]
    return None
