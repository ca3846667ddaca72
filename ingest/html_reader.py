"""Text of an HTML page (.html, .htm), through lxml's HTML parser: headings as ``#`` lines, list items
as ``- `` items, tables as Markdown tables, ``<pre>`` as fenced code (see `rag_ingest.markup`).

The page is untrusted: scripts, styles, templates, embedded frames and objects, forms' controls and
comments are dropped without being read, nothing is fetched (no links, images or external entities),
and only text reaches the index. Every part of the body is kept: these are documents, not web pages to
strip of boilerplate (trafilatura's main-content extraction lost the headings and split sentences of
short documents).
"""
from __future__ import annotations

import codecs
import re

from rag_ingest import markup
from rag_ingest.loaders import UnreadableFile, decode_text

DROPPED = frozenset({
    "script", "style", "noscript", "template", "iframe", "frame", "frameset", "object", "embed", "applet",
    "svg", "math", "canvas", "audio", "video", "head", "button", "select", "textarea", "input", "option",
})
BLOCKS = frozenset({
    "p", "div", "section", "article", "main", "header", "footer", "nav", "aside", "blockquote", "figure",
    "figcaption", "address", "dl", "dt", "dd", "ul", "ol", "form", "fieldset", "details", "summary", "center",
    "body", "html", "caption", "hr",
})
HEADINGS = {f"h{n}": n for n in range(1, 7)}
_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def html_text(raw: bytes) -> str:
    """The page's text as Markdown-like text (the ``<title>`` as a top heading when the body has no
    ``<h1>``); UnreadableFile when it has none."""
    import lxml.html
    from lxml.etree import LxmlError, ParserError

    source = _decode(raw)
    try:
        root = lxml.html.document_fromstring(
            source, parser=lxml.html.HTMLParser(remove_comments=True, remove_pis=True, no_network=True, huge_tree=False)
        )
    except (ParserError, LxmlError, ValueError) as exc:
        raise UnreadableFile(f"unreadable HTML ({type(exc).__name__}: {exc}); save the page again or convert it to .md") from exc
    title = markup.inline(root.findtext(".//title") or "")
    for element in list(root.iter(*DROPPED)):
        element.drop_tree()  # keeps the text after the element (its tail)
    writer = _Writer()
    writer.walk(root)
    blocks = writer.finish()
    if title and not any(element.tag == "h1" for element in root.iter("h1")):
        blocks.insert(0, markup.heading(1, title))
    text = markup.join_blocks(blocks)
    if not text.strip():
        raise UnreadableFile("HTML page has no text")
    return text


def _decode(raw: bytes) -> str:
    """The page as text: its declared ``<meta charset>`` when Python knows it, else the same detection
    as plain text files (BOMs, UTF-8, GB18030, ...)."""
    declared = _CHARSET.search(raw[:4096])
    if declared and not raw.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        try:
            return _XML_DECLARATION.sub("", raw.decode(codecs.lookup(declared.group(1).decode("ascii")).name, errors="replace"))
        except LookupError:
            pass  # an unknown charset name: detect instead
    return _XML_DECLARATION.sub("", decode_text(raw)[0])


class _Writer:
    """Collects blocks while walking the tree; inline text accumulates until a block boundary."""

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.line: list[str] = []
        self.list_depth = 0
        self.item_open = False
        """The pending text starts a list item (``<li>``)."""

    def flush(self) -> None:
        text = markup.inline_keep_breaks("".join(self.line))
        self.line = []
        if not text.strip():
            return
        if self.item_open:
            self.blocks.append(markup.list_item(text, max(self.list_depth - 1, 0)))
            self.item_open = False
        else:
            self.blocks.append(markup.paragraph(text))

    def walk(self, element) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in HEADINGS:
            self.flush()
            self.blocks.append(markup.heading(HEADINGS[tag], element.text_content()))
        elif tag == "pre":
            self.flush()
            code = element.text_content().strip("\n")
            fence = "````" if "```" in code else "```"
            self.blocks.append(f"{fence}\n{code}\n{fence}")
        elif tag == "table":
            self.flush()
            self.blocks.append(markup.table([
                [cell.text_content() for cell in row if cell.tag in ("td", "th")] for row in element.iter("tr")
            ]))
        elif tag == "li":
            self.flush()
            self.list_depth += 1
            self.item_open = True
            self._children(element)
            self.flush()
            self.list_depth -= 1
            self.item_open = False
        elif tag == "br":
            self.line.append("\n")
        elif tag in BLOCKS:
            self.flush()
            self._children(element)
            self.flush()
        else:
            self._children(element)
        if element.tail:
            self.line.append(element.tail.replace("\n", " "))  # source line breaks are spaces in HTML

    def _children(self, element) -> None:
        if element.text:
            self.line.append(element.text.replace("\n", " "))
        for child in element:
            self.walk(child)

    def finish(self) -> list[str]:
        self.flush()
        return self.blocks
