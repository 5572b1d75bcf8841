"""The document's word count, kept current per edit at the cost of the edit, not the document.

Counting a whole novel (`len(text.split())`) takes longer than a keystroke may,
so the count is kept per paragraph (QTextBlock) and only the paragraphs an
edit touched are counted again. QTextDocument.contentsChange gives the
changed range in the new text; the blocks before it are unchanged, and the
blocks after it only moved by the change in the block count.
"""

from __future__ import annotations

import re
from contextlib import contextmanager

from PySide6.QtCore import QObject
from PySide6.QtGui import QTextBlock, QTextDocument

# What QTextDocument.setPlainText starts a new block at.
_BLOCK_BREAK = re.compile("[\n\r\u2029]")


def count_words(text: str) -> int:
    """Return the number of words in `text`: runs of non-whitespace, as str.split sees them."""
    return len(text.split())


class WordCounter(QObject):
    """Counts the words of `document` and keeps `total` current as it is edited."""

    def __init__(self, document: QTextDocument, parent: QObject | None = None):
        super().__init__(parent)
        self._doc = document
        self._counts: list[int] = []  # words per block, by block number
        self._paused = 0
        self.total = 0
        document.contentsChange.connect(self._on_change)
        self.reset()

    @contextmanager
    def paused(self):
        """Ignore changes inside the block (formatting, or a reset() to follow)."""
        self._paused += 1
        try:
            yield
        finally:
            self._paused -= 1

    def reset(self, text: str | None = None) -> None:
        """Count the whole document again; `text`, its plain text, if the caller has it."""
        if text is not None:
            counts = [count_words(p) for p in _BLOCK_BREAK.split(text)]
        if text is None or len(counts) != self._doc.blockCount():
            counts = [count_words(b.text()) for b in _blocks(self._doc.begin(), None)]
        self._counts = counts
        self.total = sum(counts)

    def _on_change(self, position: int, removed: int, added: int) -> None:
        if self._paused:
            return
        doc = self._doc
        first = doc.findBlock(position)
        last = doc.findBlock(position + added)
        if not last.isValid():
            last = doc.lastBlock()
        start = first.blockNumber()
        old_stop = last.blockNumber() + 1 - (doc.blockCount() - len(self._counts))
        if not first.isValid() or old_stop < start:  # cannot happen; stay right regardless
            self.reset()
            return
        new = [count_words(b.text()) for b in _blocks(first, last)]
        self.total += sum(new) - sum(self._counts[start:old_stop])
        self._counts[start:old_stop] = new


def _blocks(block: QTextBlock, last: QTextBlock | None):
    """Yield `block` and the blocks after it, up to `last` (or the end) included."""
    while block.isValid():
        yield block
        if last is not None and block == last:
            return
        block = block.next()
