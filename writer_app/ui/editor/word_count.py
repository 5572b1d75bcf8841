"""The document's word count, kept current per edit at the cost of the edit, not the document.

Counting a whole novel (`len(text.split())`) takes longer than a keystroke may,
so the count is kept per paragraph (QTextBlock) and only the paragraphs an
edit touched are counted again. QTextDocument.contentsChange gives the
changed range in the new text; the blocks before it are unchanged, and the
blocks after it only moved by the change in the block count.

A paragraph can be a whole 10 MB file without a line break, and counting it
costs more than a keystroke may. Within such a long paragraph, text typed is
counted from the few characters around it; a deletion marks the paragraph to
be counted again when `total` is next read (the status bar reads it once
typing pauses).
"""

from __future__ import annotations

import re
from contextlib import contextmanager

from PySide6.QtCore import QObject
from PySide6.QtGui import QTextBlock, QTextCursor, QTextDocument

# What QTextDocument.setPlainText starts a new block at.
_BLOCK_BREAK = re.compile("[\n\r\u2029]")
LONG_PARAGRAPH_CHARS = 20_000  # longer paragraphs are never counted whole per edit


def count_words(text: str) -> int:
    """Return the number of words in `text`: runs of non-whitespace, as str.split sees them."""
    return len(text.split())


class WordCounter(QObject):
    """Counts the words of `document` and keeps `total` current as it is edited."""

    def __init__(self, document: QTextDocument, parent: QObject | None = None):
        super().__init__(parent)
        self._doc = document
        self._counts: list[int | None] = []  # words per block, by block number; None: stale
        self._stale = 0  # how many counts are None
        self._paused = 0
        self._total = 0  # the sum of the counts that are not None
        self.long_paragraph_chars = LONG_PARAGRAPH_CHARS
        document.contentsChange.connect(self._on_change)
        self.reset()

    @property
    def total(self) -> int:
        """The number of words in the document (first counting the stale paragraphs)."""
        if self._stale:
            for number, count in enumerate(self._counts):
                if count is None:
                    block = self._doc.findBlockByNumber(number)
                    self._counts[number] = count_words(block.text())
                    self._total += self._counts[number]
            self._stale = 0
        return self._total

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
        self._total, self._stale = sum(counts), 0

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
        if first == last and old_stop == start + 1 and first.length() > self.long_paragraph_chars:
            self._in_long_paragraph(first, position, removed, added)
            return
        new = [count_words(b.text()) for b in _blocks(first, last)]
        self._replace(start, old_stop, new)

    def _replace(self, start: int, stop: int, new: list[int | None]) -> None:
        old = self._counts[start:stop]
        self._total += sum(c for c in new if c is not None) - sum(c for c in old if c is not None)
        self._stale += new.count(None) - old.count(None)
        self._counts[start:stop] = new

    def _in_long_paragraph(self, block: QTextBlock, position: int, removed: int, added: int):
        # An edit inside one long paragraph. Only typing (nothing removed) can be counted
        # from its neighbourhood: the deleted text is gone, and with it what it held.
        number = block.blockNumber()
        start = block.position()
        end = start + block.length() - 1
        if removed or position + added > end or self._counts[number] is None:
            self._replace(number, number + 1, [None])
            return
        # A word starts where a non-space follows a space or the paragraph's start. Typing
        # changes that only for the typed characters and the one after them, so the
        # paragraph's count changes as the count of the text from the character before
        # the typed ones to the one after them does (the first one is counted alike
        # in both, whatever precedes it).
        before = self._text(max(start, position - 1), position)
        typed = self._text(position, position + added)
        after = self._text(position + added, min(end, position + added + 1))
        change = count_words(before + typed + after) - count_words(before + after)
        self._replace(number, number + 1, [self._counts[number] + change])

    def _text(self, start: int, end: int) -> str:
        cursor = QTextCursor(self._doc)
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        return cursor.selectedText()


def _blocks(block: QTextBlock, last: QTextBlock | None):
    """Yield `block` and the blocks after it, up to `last` (or the end) included."""
    while block.isValid():
        yield block
        if last is not None and block == last:
            return
        block = block.next()
