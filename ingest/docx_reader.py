"""Text of a Word document (.docx), through python-docx: paragraphs in order, headings as ``#`` lines,
list paragraphs as ``- `` items and tables as Markdown tables (see `rag_ingest.markup`)."""
from __future__ import annotations

import io
import re
import zipfile

from rag_ingest import markup
from rag_ingest.loaders import UnreadableFile

_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)


def docx_text(raw: bytes, max_decompressed_bytes: int = 50_000_000) -> str:
    """The document's text as Markdown-like text; UnreadableFile when it is not a readable .docx, when
    its parts would decompress past `max_decompressed_bytes` (a zip bomb), or when it has no text."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise UnreadableFile(f"not a .docx file (not a zip archive: {exc}); re-save it as .docx from Word or LibreOffice") from exc
    if unpacked > max_decompressed_bytes:
        raise UnreadableFile(
            f".docx unpacks to {unpacked:,} bytes, more than limits.max_pdf_decompressed_bytes = "
            f"{max_decompressed_bytes:,} (which bounds .docx archives too); skipped"
        )
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from lxml.etree import LxmlError

    try:
        document = docx.Document(io.BytesIO(raw))
        blocks = [_table(item) if isinstance(item, Table) else _paragraph(item) for item in document.iter_inner_content()]
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, LxmlError, AttributeError, TypeError,
            IndexError, NotImplementedError, RecursionError) as exc:
        raise UnreadableFile(
            f"unreadable .docx ({type(exc).__name__}: {exc}); re-save it from Word or LibreOffice, or convert it to .pdf or .md"
        ) from exc
    text = markup.join_blocks(blocks)
    if not text.strip():
        raise UnreadableFile(".docx has no text (only images or objects?)")
    return text


def _paragraph(paragraph) -> str:
    text = paragraph.text
    if not text.strip():
        return ""
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    level = _HEADING_STYLE.match(style.strip())
    if level:
        return markup.heading(int(level.group(1)), text)
    if style == "Title":
        return markup.heading(1, text)
    if style.startswith("List"):
        return markup.list_item(text)
    return markup.paragraph(text)


def _table(table) -> str:
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:  # a merged cell appears once per grid column it spans; keep it once
            if cell._tc in seen:  # lxml keeps one proxy per element while it is referenced (here: in `seen`)
                continue
            seen.add(cell._tc)
            cells.append(cell.text)
        rows.append(cells)
    return markup.table(rows)
