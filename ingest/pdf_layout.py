"""A PDF's text from its pages' texts, read as a person reads the document rather than as the pages lay it out.

Three things of the layout are not the document's text: a running header or footer repeated on every page
("维基百科条目选编", "第 3 页，共 12 页"), which would otherwise sit inside the passage of whatever paragraph a page
break cut; lines the page wrapped mid-sentence (`rag_ingest.line_wraps`); and a paragraph a page break parted,
whose halves would otherwise be two sentences.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Sequence

from rag_ingest.line_wraps import ends_mid_sentence, join_wrapped, starts_a_block, unwrap_lines

EDGE_LINES = 2
"""How many non-empty lines at the top and at the bottom of a page may be a running header or footer."""
RUNNING_SHARE = 0.5
"""A line at a page's edge is running furniture when it recurs (digits aside) at the edges of at least this share of
the pages, and of two pages at least."""
_DIGITS = re.compile(r"\d+")


def pdf_pages_text(pages: Sequence[str]) -> str:
    """The document text of a PDF whose pages extracted to `pages`: running headers and footers dropped, wrapped lines
    joined, a paragraph continued across a page break joined; pages otherwise separated by a blank line."""
    text, continues = "", False
    for page in drop_running_lines(pages):
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
