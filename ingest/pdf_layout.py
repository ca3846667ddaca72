"""A PDF's text from its pages' texts, read as a person reads the document rather than as the pages lay it out.

Three things of the layout are not the document's text: a running header or footer repeated on every page
("维基百科条目选编", "第 3 页，共 12 页"), which would otherwise sit inside the passage of whatever paragraph a page
break cut; lines the page wrapped mid-sentence (`rag_ingest.line_wraps`); and a paragraph a page break parted,
whose halves would otherwise be two sentences. One thing of the layout is structure the text alone loses: a line set
in a larger type than the body is a heading, and becomes a Markdown heading, so the document has sections (what
passages are cut along, and what heads excerpts and citations) as a Word or Markdown document has.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from rag_ingest.line_wraps import ends_mid_sentence, join_wrapped, starts_a_block, unwrap_lines

EDGE_LINES = 2
"""How many non-empty lines at the top and at the bottom of a page may be a running header or footer."""
RUNNING_SHARE = 0.5
"""A line at a page's edge is running furniture when it recurs (digits aside) at the edges of at least this share of
the pages, and of two pages at least."""
_DIGITS = re.compile(r"\d+")

HEADING_SIZE_RATIO = 1.15
"""A line whose type is at least this many times the body's size is a heading."""
MAX_HEADING_CHARS = 80
"""A longer line in a larger type is emphasised text (a pull quote, a caption), not a heading."""
MAX_HEADING_LEVEL = 4
"""Sizes below the fourth-largest heading size are all ``####``."""


@dataclass(frozen=True)
class PdfPage:
    """A page's extracted text and, piece by piece in extraction order, the type size it was set in."""

    text: str
    pieces: tuple[tuple[str, float], ...] = ()
    """``(text, size)``; their texts joined are `text` (sizes in points; none known: empty)."""

    def line_sizes(self) -> list[float]:
        """Each line's size (that of most of its characters; 0.0 when not known)."""
        if not self.pieces:
            return [0.0] * len(self.text.split("\n"))
        sizes: list[Counter[float]] = [Counter()]
        for text, size in self.pieces:
            for index, part in enumerate(text.split("\n")):
                if index:
                    sizes.append(Counter())
                sizes[-1][round(size * 2) / 2] += len(part.strip())
        return [line.most_common(1)[0][0] if line and line.most_common(1)[0][1] else 0.0 for line in sizes]


def rendered_size(cm: Sequence[float], tm: Sequence[float], font_size: float) -> float:
    """The height in points of text set at `font_size` under the text matrix `tm` and the graphics matrix `cm`."""
    return font_size * math.hypot(tm[1] * cm[0] + tm[3] * cm[2], tm[1] * cm[1] + tm[3] * cm[3])


def with_headings(pages: Sequence[PdfPage]) -> list[str]:
    """The pages' texts with each line set larger than the body (`HEADING_SIZE_RATIO`; the body is the size most
    characters are set in) written as a Markdown heading, the largest size ``#``, the next ``##``…"""
    sized = [(page.text.split("\n"), page.line_sizes()) for page in pages]
    weight: Counter[float] = Counter()
    for lines, sizes in sized:
        for line, size in zip(lines, sizes):
            weight[size] += len(line.strip())
    weight.pop(0.0, None)
    if not weight:
        return [page.text for page in pages]
    body = weight.most_common(1)[0][0]

    def heading(line: str, size: float) -> bool:
        text = line.strip()
        return size >= HEADING_SIZE_RATIO * body and 0 < len(text) <= MAX_HEADING_CHARS and not starts_a_block(text)

    levels = sorted({size for lines, sizes in sized for line, size in zip(lines, sizes) if heading(line, size)}, reverse=True)
    level_of = {size: min(index + 1, MAX_HEADING_LEVEL) for index, size in enumerate(levels)}
    return [
        "\n".join(f"{'#' * level_of[size]} {line.strip()}" if heading(line, size) else line for line, size in zip(lines, sizes))
        for lines, sizes in sized
    ]


def pdf_pages_text(pages: Sequence[PdfPage | str]) -> str:
    """The document text of a PDF whose pages extracted to `pages`: headings marked (`with_headings`), running headers
    and footers dropped, wrapped lines joined, a paragraph continued across a page break joined; pages otherwise
    separated by a blank line."""
    texts = with_headings([page if isinstance(page, PdfPage) else PdfPage(page) for page in pages])
    text, continues = "", False
    for page in drop_running_lines(texts):
        page = page.strip()
        if not page:
            continue
        unwrapped = unwrap_lines(page)
        if continues and not starts_a_block(unwrapped):
            text = join_wrapped(text, unwrapped)
        else:
            text = f"{text}\n\n{unwrapped}" if text else unwrapped
        continues = ends_mid_sentence(page)
    return text


def drop_running_lines(pages: Sequence[str]) -> list[str]:
    """`pages` without the lines at their edges (`EDGE_LINES`) that recur, numbers aside, at the edges of other pages
    (`RUNNING_SHARE`): page headers, footers and page numbers."""
    split = [page.split("\n") for page in pages]
    edges = [_edge_indices(lines) for lines in split]
    counts = Counter(key for lines, edge in zip(split, edges) for key in {_key(lines[i]) for i in edge})
    running = {key for key, count in counts.items() if count >= max(2, RUNNING_SHARE * len(pages))}
    if not running:
        return list(pages)
    return [
        "\n".join(line for i, line in enumerate(lines) if not (i in edge and _key(line) in running))
        for lines, edge in ((lines, set(edge)) for lines, edge in zip(split, edges))
    ]


def _edge_indices(lines: list[str]) -> list[int]:
    filled = [i for i, line in enumerate(lines) if line.strip()]
    return filled if len(filled) <= 2 * EDGE_LINES else filled[:EDGE_LINES] + filled[-EDGE_LINES:]


def _key(line: str) -> str:
    return _DIGITS.sub("#", "".join(line.split()))
