"""File → Export: a readable .odt, .pdf and .html of the writer's text, never the ghost."""

import re
import zipfile
from xml.etree import ElementTree

import pytest
from PySide6.QtGui import QTextCursor

from tests.ui.conftest import write_project
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
        export_text(TEXT, tmp_path / "book.rtf", markdown=False)
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


def pdf_pages(path) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", path.read_bytes()))


def test_the_manuscript_is_the_chapters_in_order_as_the_window_has_them_without_notes(
    make_window, tmp_path, qtbot
):
    root = write_project(
        tmp_path / "Novel",
        {
            "01 Arrival.md": "# Arrival\n\nMara came down from the hills.",
            "02 Storm.md": "## Storm\n\nThe storm broke over the harbour.",
            "10 End.txt": "And that was all.",
            "notes.md": "# Mara\n\nSECRETNOTE: she is the heir.",
        },
    )
    window = make_window(load_model=False)
    assert not window.menu.manuscript_action.isEnabled()  # no project yet
    assert window.projects.open_folder(root)
    assert window.menu.manuscript_action.isEnabled()
    window.projects.open_file(root / "02 Storm.md")
    window.editor.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClicks(window.editor, " UNSAVEDWORDS")  # not saved: the manuscript has them

    odt = window.export.export_manuscript(tmp_path / "Novel.odt")
    with zipfile.ZipFile(odt) as archive:
        content = archive.read("content.xml").decode("utf-8")
    order = [content.index(s) for s in ("Arrival", "Storm", "The storm", "And that was all")]
    assert order == sorted(order)  # 10 after 02: the panel's natural order
    assert "UNSAVEDWORDS" in content and "#" not in content  # Markdown laid out
    assert "SECRETNOTE" not in content  # story notes stay out
    # Chapters 2 and 3 start a page: their first paragraphs, the heading "Storm" included.
    breaks = re.findall(
        r'style:name="(\w+)"[^>]*>\s*<style:paragraph-properties fo:break-before="page"', content
    )
    starts = re.findall(r'<text:p text:style-name="(\w+)">(?:<[^>]+>)*([^<]+)', content)
    assert [text for style, text in starts if style in breaks] == ["Storm", "And that was all."]

    docx = window.export.export_manuscript(tmp_path / "Novel.docx")
    body, _ = docx_parts(docx)
    paragraphs = re.findall(r"<w:p>(.*?)</w:p>", body)
    assert [re.sub(r"<[^>]+>", "", p) for p in paragraphs if "pageBreakBefore" in p] == [
        "Storm",
        "And that was all.",
    ]

    pdf = window.export.export_manuscript(tmp_path / "Novel.pdf")
    assert pdf_pages(pdf) == 3  # three short chapters, a page each
    assert window.files.path == root / "02 Storm.md" and window.editor.document().isModified()
    assert window.statusBar().currentMessage() == f"Exported 3 chapters to {pdf}."


def test_a_chapter_that_cannot_be_read_stops_the_manuscript_and_says_which(
    make_window, tmp_path, dialogs
):
    root = write_project(tmp_path / "Novel", {"01.txt": "One.", "02.txt": "Two."})
    window = make_window(load_model=False)
    assert window.projects.open_folder(root)
    (root / "02.txt").unlink()  # gone since the panel listed it
    assert window.export.export_manuscript(tmp_path / "Novel.pdf") is None
    assert "02.txt" in dialogs.texts("warning")[-1]
    assert "not written" in dialogs.texts("warning")[-1]
    assert not (tmp_path / "Novel.pdf").exists()


def docx_parts(path) -> tuple[str, set[str]]:
    with zipfile.ZipFile(path) as docx:
        return docx.read("word/document.xml").decode("utf-8"), set(docx.namelist())


def test_docx_is_a_word_document_with_headings_emphasis_and_the_text(qapp, tmp_path):
    out = export_text(TEXT, tmp_path / "book.docx", markdown=True)
    body, names = docx_parts(out)
    assert {"[Content_Types].xml", "word/document.xml", "word/styles.xml"} <= names
    ElementTree.fromstring(body)  # well-formed XML, the text escaped
    assert '<w:pStyle w:val="Heading1"/>' in body and ">Chapter One<" in body
    assert re.search(r"<w:rPr><w:i/></w:rPr><w:t[^>]*>Tobin</w:t>", body)  # *Tobin*
    assert "# Chapter" not in body and "The end." in body
    plain_text = TEXT + '\n\nA <tag> & a "quote".'
    plain, _ = docx_parts(export_text(plain_text, tmp_path / "plain.docx", markdown=False))
    ElementTree.fromstring(plain)
    assert "Heading1" not in plain and "# Chapter One" in plain and "*Tobin*" in plain
    assert "A &lt;tag&gt; &amp; a" in plain  # escaped, never markup
