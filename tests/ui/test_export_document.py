"""File → Export: a readable .odt, .pdf and .html of the writer's text, never the ghost."""

import re
import zipfile

import pytest

from writer_app.ui.editor.export import ExportError, export_text

TEXT = "# Chapter One\n\nMara met *Tobin* at the forge.\n\nThe end."


def test_odt_is_a_real_opendocument_with_the_text(qapp, tmp_path):
    out = export_text(TEXT, tmp_path / "book.odt", markdown=True)
    with zipfile.ZipFile(out) as odt:
        assert odt.read("mimetype") == b"application/vnd.oasis.opendocument.text"
        content = odt.read("content.xml").decode("utf-8")
    assert "Chapter One" in content and "at the forge." in content
    assert "# Chapter" not in content  # Markdown was laid out, not printed raw


def test_pdf_is_laid_out_on_pages(qapp, tmp_path):
    out = export_text(TEXT * 60, tmp_path / "book.pdf", markdown=False)
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page\b", data)) >= 2  # a long text spans pages
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def test_html_keeps_markdown_structure_and_plain_text_stays_plain(qapp, tmp_path):
    md = export_text(TEXT, tmp_path / "a.html", markdown=True).read_text("utf-8")
    assert "<h1" in md and "font-style:italic" in md
    plain = export_text(TEXT, tmp_path / "b.html", markdown=False).read_text("utf-8")
    assert "<h1" not in plain and "# Chapter One" in plain


def test_unknown_format_and_unwritable_folder_are_refused_in_words(qapp, tmp_path):
    with pytest.raises(ExportError, match="can export"):
        export_text(TEXT, tmp_path / "book.docx", markdown=False)
    with pytest.raises(ExportError, match="Could not write"):
        export_text(TEXT, tmp_path / "missing" / "book.odt", markdown=False)


def test_export_from_the_window_uses_the_document_not_the_ghost(make_window, tmp_path):
    window = make_window(load_model=False)
    source = tmp_path / "story.md"
    source.write_text(TEXT, encoding="utf-8")
    window.files.load_path(source)
    cursor = window.editor.textCursor()
    cursor.movePosition(cursor.MoveOperation.End)
    window.editor.setTextCursor(cursor)
    window.editor.show_ghost(" GHOSTWORDS", cursor.position())
    out = window.export.export(tmp_path / "story.odt")
    with zipfile.ZipFile(out) as odt:
        content = odt.read("content.xml").decode("utf-8")
    assert "The end." in content and "GHOSTWORDS" not in content
    assert "Export…" in window.menu.actions and "Print…" in window.menu.actions
