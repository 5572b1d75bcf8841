"""File → Export and File → Print: the writer's text as a web page, an OpenDocument, a Word
document (docx.py) or a PDF. File → Export Manuscript: a project's chapters, in order, as
one such file.

The text is laid out by a QTextDocument of its own (Markdown when the file is
Markdown, so headings and emphasis come out as such; plain paragraphs
otherwise) in the editor's font, never the editor's document, so the ghost
suggestion and the editor's margins are never exported. Every file is written
whole or not at all: ODT, DOCX and HTML through atomic_write, PDF to a temporary
file renamed into place.

The manuscript takes each chapter as the window has it, unsaved changes
included, and the others from disk; story notes are left out. Each chapter
starts a new page (in the PDF, the OpenDocument and the Word document).
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF
from PySide6.QtGui import (
    QFont,
    QPageLayout,
    QPageSize,
    QTextBlockFormat,
    QTextCursor,
    QTextDocument,
    QTextDocumentWriter,
    QTextFormat,
)

from gpt2gguf.files import atomic_write
from writer_app.core.text_io import TextFileError, read_text_file
from writer_app.ui.editor.docx import docx_bytes

MARKDOWN_SUFFIXES = (".md", ".markdown")
# suffix -> (what the file dialog calls it, the writer)
EXPORT_FORMATS = {
    ".html": "Web page",
    ".odt": "OpenDocument text (LibreOffice, Word)",
    ".docx": "Word document",
    ".pdf": "PDF",
}
EXPORT_FILTER = ";;".join(f"{name} (*{suffix})" for suffix, name in EXPORT_FORMATS.items())


class ExportError(OSError):
    """The export could not be written; the message says why, in words."""


def layout_document(text: str, *, markdown: bool, font: QFont | None = None, title: str = ""):
    """Return a QTextDocument with `text` laid out for export or printing."""
    doc = QTextDocument()
    if font is not None:
        doc.setDefaultFont(font)
    if markdown:
        doc.setMarkdown(text)
    else:
        doc.setPlainText(text)
    if title:
        doc.setMetaInformation(QTextDocument.MetaInformation.DocumentTitle, title)
    return doc


def layout_manuscript(
    chapters: list[tuple[str, bool]], *, font: QFont | None = None, title: str = ""
) -> QTextDocument:
    """Return one QTextDocument of `chapters` ((text, is Markdown) each, in order), each
    chapter after the first starting a new page."""
    doc = layout_document("", markdown=False, font=font, title=title)
    cursor = QTextCursor(doc)
    page = QTextBlockFormat()
    page.setPageBreakPolicy(QTextFormat.PageBreakFlag.PageBreak_AlwaysBefore)
    for n, (text, markdown) in enumerate(chapters):
        if n:
            cursor.insertBlock(QTextBlockFormat())
            cursor.mergeBlockFormat(page)  # kept by a Markdown heading too
        if markdown:
            cursor.insertMarkdown(text)
        else:
            cursor.insertText(text)
    return doc


def export_text(
    text: str,
    path: str | os.PathLike,
    *,
    markdown: bool,
    font: QFont | None = None,
    title: str = "",
) -> Path:
    """Write `text` to `path` in the format its suffix names (.html, .odt, .pdf); return it.

    Raises ExportError for an unknown suffix or when the file can't be written.
    """
    path = Path(path)
    return write_document(
        layout_document(text, markdown=markdown, font=font, title=title or path.stem), path
    )


def write_document(doc: QTextDocument, path: str | os.PathLike) -> Path:
    """Write the laid-out `doc` to `path` in the format its suffix names; return it.

    Raises ExportError for an unknown suffix or when the file can't be written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        known = ", ".join(EXPORT_FORMATS)
        raise ExportError(f"Writer can export {known}; “{path.name}” is none of them.")
    try:
        if suffix == ".html":
            atomic_write(path, doc.toHtml().encode("utf-8"))
        elif suffix == ".odt":
            atomic_write(path, _odt_bytes(doc))
        elif suffix == ".docx":
            atomic_write(path, docx_bytes(doc))
        else:
            _write_pdf(doc, path)
    except OSError as err:
        raise ExportError(f"Could not write {path}: {err.strerror or err}") from err
    return path


def _odt_bytes(doc: QTextDocument) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QTextDocumentWriter(buffer, QByteArray(b"ODF"))
    if not writer.write(doc):
        raise OSError("Qt could not write the OpenDocument")
    buffer.close()
    return bytes(data.data())


def page_printer(printer) -> None:
    """Set up `printer` (a QPrinter) for prose: A4 or Letter as the locale has it, 2 cm margins."""
    layout = QPageLayout(
        printer.pageLayout().pageSize() or QPageSize(QPageSize.PageSizeId.A4),
        QPageLayout.Orientation.Portrait,
        QMarginsF(20, 20, 20, 20),
        QPageLayout.Unit.Millimeter,
    )
    printer.setPageLayout(layout)


def _write_pdf(doc: QTextDocument, path: Path) -> None:
    from PySide6.QtPrintSupport import QPrinter  # only when printing: a heavier module

    tmp = path.with_name(f".{path.name}.export.tmp")
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp))
    page_printer(printer)
    try:
        doc.print_(printer)
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise OSError(f"the folder {path.parent} could not take the PDF")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class ExportActions:
    """File → Export…, Export Manuscript… and Print… for the window's document or project."""

    def __init__(self, window, editor, files):
        self.window, self.editor, self.files = window, editor, files

    def _is_markdown(self) -> bool:
        path = self.files.path
        return path is not None and path.suffix.lower() in MARKDOWN_SUFFIXES

    def export(self, path: str | os.PathLike | None = None) -> Path | None:
        """Ask where (unless `path` is given) and export; returns the file, or None."""
        from PySide6.QtWidgets import QFileDialog, QMessageBox

        if path is None:
            start = str((self.files.path or Path.home() / "Untitled").with_suffix(".pdf"))
            path, _ = QFileDialog.getSaveFileName(self.window, "Export", start, EXPORT_FILTER)
            if not path:
                return None
        try:
            done = export_text(
                self.editor.toPlainText(),
                path,
                markdown=self._is_markdown(),
                font=self.editor.font(),
                title=Path(self.files.name).stem,
            )
        except ExportError as err:
            QMessageBox.warning(self.window, "Export", str(err))
            return None
        self.files.flash.emit(f"Exported to {done}.", 5000)
        return done

    def manuscript_chapters(self) -> list[tuple[str, bool]]:
        """Return the open project's chapters in order, as (text, is Markdown): an open
        chapter's text as the window has it (unsaved changes too), the others from disk.

        Raises ExportError when there is no project or no chapter, or a chapter can't be read.
        """
        index = self.window.projects.index
        if index is None or not index.chapters:
            raise ExportError("Open a project folder with chapters first (File → Open Folder).")
        chapters = []
        for chapter in index.chapters:
            doc = self.files.find(chapter.path)
            try:
                text = doc.document.toPlainText() if doc else read_text_file(chapter.path).text
            except TextFileError as err:
                raise ExportError(f"{err} The manuscript was not written.") from err
            chapters.append((text, chapter.path.suffix.lower() in MARKDOWN_SUFFIXES))
        return chapters

    def export_manuscript(self, path: str | os.PathLike | None = None) -> Path | None:
        """Ask where (unless `path` is given; beside the project folder at first) and write
        the project's chapters as one file; returns it, or None."""
        from PySide6.QtWidgets import QFileDialog, QMessageBox

        root = self.window.projects.root
        try:
            chapters = self.manuscript_chapters()
            if path is None:
                start = str(root.with_name(f"{root.name}.pdf"))
                path, _ = QFileDialog.getSaveFileName(
                    self.window, "Export Manuscript", start, EXPORT_FILTER
                )
                if not path:
                    return None
            doc = layout_manuscript(chapters, font=self.editor.font(), title=root.name)
            done = write_document(doc, path)
        except ExportError as err:
            QMessageBox.warning(self.window, "Export Manuscript", str(err))
            return None
        n = len(chapters)
        self.files.flash.emit(f"Exported {n} chapter{'s' if n != 1 else ''} to {done}.", 5000)
        return done

    def print_document(self) -> bool:
        """Show the print dialog and print the text; returns whether it was printed."""
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        page_printer(printer)
        if QPrintDialog(printer, self.window).exec() != QPrintDialog.DialogCode.Accepted:
            return False
        layout_document(
            self.editor.toPlainText(), markdown=self._is_markdown(), font=self.editor.font()
        ).print_(printer)
        return True
