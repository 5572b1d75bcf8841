"""A laid-out QTextDocument as a Word document (.docx), the file agents and editors ask for.

Qt writes OpenDocument but not Word, so this writes the few parts of Office
Open XML (ECMA-376) a manuscript needs: paragraphs, headings (Word's own
Heading 1-3 styles, so Word's navigation pane lists the chapters), bold and
italic runs, and a page break before each chapter that starts one. Nothing
else of the editor's document goes in: no fonts or sizes (Word's Normal
style, which the writer or the publisher sets), no ghost, no margins.
"""

from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import escape

from PySide6.QtGui import QFont, QTextDocument, QTextFormat

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MAX_HEADING = 3  # Markdown's deeper headings are Heading 3 in Word
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    '<Override PartName="/word/styles.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>'
    "</Types>"
)
PACKAGE_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/>'
    "</Relationships>"
)
DOCUMENT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/styles" Target="styles.xml"/>'
    "</Relationships>"
)
# Heading n: bold, in points (half-points in the file), with space before and after.
HEADING_POINTS = {1: 20, 2: 16, 3: 13}


def _styles() -> str:
    headings = "".join(
        f'<w:style w:type="paragraph" w:styleId="Heading{n}"><w:name w:val="heading {n}"/>'
        f'<w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/>'
        f'<w:pPr><w:keepNext/><w:spacing w:before="240" w:after="120"/>'
        f'<w:outlineLvl w:val="{n - 1}"/></w:pPr>'
        f'<w:rPr><w:b/><w:sz w:val="{points * 2}"/></w:rPr></w:style>'
        for n, points in HEADING_POINTS.items()
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<w:styles xmlns:w="{W}">'
        '<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/>'
        '<w:pPr><w:spacing w:after="160" w:line="360" w:lineRule="auto"/></w:pPr></w:style>'
        f"{headings}</w:styles>"
    )


def _run(text: str, bold: bool, italic: bool) -> str:
    props = ("<w:b/>" if bold else "") + ("<w:i/>" if italic else "")
    return (
        f"<w:r>{f'<w:rPr>{props}</w:rPr>' if props else ''}"
        f'<w:t xml:space="preserve">{escape(text)}</w:t></w:r>'
    )


def _paragraph(block) -> str:
    fmt = block.blockFormat()
    level = min(fmt.headingLevel(), MAX_HEADING)
    props = f'<w:pStyle w:val="Heading{level}"/>' if level else ""
    if fmt.pageBreakPolicy() & QTextFormat.PageBreakFlag.PageBreak_AlwaysBefore:
        props += "<w:pageBreakBefore/>"
    text = block.text()
    runs = "".join(
        _run(
            text[r.start : r.start + r.length],
            bold=r.format.fontWeight() > QFont.Weight.Medium.value and not level,
            italic=r.format.fontItalic(),
        )
        for r in block.textFormats()
        if r.length
    )
    return f"<w:p>{f'<w:pPr>{props}</w:pPr>' if props else ''}{runs}</w:p>"


def docx_bytes(doc: QTextDocument) -> bytes:
    """Return `doc` (laid out by export.layout_document or layout_manuscript) as .docx bytes."""
    paragraphs = []
    block = doc.begin()
    while block.isValid():
        paragraphs.append(_paragraph(block))
        block = block.next()
    body = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<w:document xmlns:w="{W}"><w:body>{"".join(paragraphs)}</w:body></w:document>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", CONTENT_TYPES)
        package.writestr("_rels/.rels", PACKAGE_RELS)
        package.writestr("word/_rels/document.xml.rels", DOCUMENT_RELS)
        package.writestr("word/document.xml", body)
        package.writestr("word/styles.xml", _styles())
    return out.getvalue()
