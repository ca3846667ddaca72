"""Rejoin the lines a PDF page wrapped mid-sentence.

A PDF stores lines, not paragraphs: pypdf returns a page of Chinese text as lines of the page's width, most of them
ending mid-sentence and some mid-word ("…介乎海平" / "面至树线的…", "蚯" / "蚓"). Left as they are, every line is a
sentence of its own — the unit that is embedded, read by the model and cited — and the words cut by a line break
are lost to search and to the citation check. A line as wide as the page's full lines that does not end a sentence
goes on in the next line, so the two are joined: without a space between Chinese characters, with one between
Latin words. A short line (a title, a paragraph's last line) or one ending a sentence keeps its line break.
"""
from __future__ import annotations

import re
import unicodedata

from rag.core.text import LIST_BULLET

FULL_LINE_SHARE = 0.8
"""A line at least this share of the page's full line width (`_full_width`) was wrapped by the page, not ended."""
MIN_LINES = 3
"""Pages with fewer non-empty lines than this show no line width to compare with: left as they are."""
_ENDS_SENTENCE = re.compile(r"[。！？.!?；;：:]['\"”’」』）)\]]*$")
_CJK_PUNCTUATION = "，、。：；！？（）《》「」『』“”‘’…—"


def unwrap_lines(page: str) -> str:
    """`page` with each line wrapped mid-sentence joined to the line after it (see the module's docstring)."""
    lines = page.split("\n")
    full = _full_width(lines)
    if full is None:
        return page
    out = [lines[0]]
    for previous, line in zip(lines, lines[1:]):  # whether a line was wrapped is read from the line itself, not the
        if _wrapped(previous, full) and line.strip() and not starts_a_block(line):  # run it was already joined to
            out[-1] = join_wrapped(out[-1], line)
        else:
            out.append(line)
    return "\n".join(out)


def ends_mid_sentence(page: str) -> bool:
    """Whether `page`'s last line was wrapped by the page (its sentence goes on on the next page)."""
    lines = page.split("\n")
    full = _full_width(lines)
    last = next((line for line in reversed(lines) if line.strip()), "")
    return full is not None and _wrapped(last, full)


def join_wrapped(left: str, right: str) -> str:
    """`left` and `right`, two pieces of one sentence a line break had parted: without a space when either side is
    Chinese, with one between Latin words."""
    left, right = left.rstrip(), right.lstrip()
    if _is_cjk(left[-1]) or _is_cjk(right[0]):
        return left + right
    return f"{left} {right}"


def starts_a_block(line: str) -> bool:
    """A list item or heading mark opens its own line whatever the line before it."""
    return bool(LIST_BULLET.match(line)) or line.lstrip().startswith(("#", "|", "•", "●", "■", "▪"))


def display_width(text: str) -> int:
    """Columns `text` takes on a page: two for a wide (CJK) character, one for others."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _full_width(lines: list[str]) -> float | None:
    """The width of the page's full lines: the 90th percentile of its line widths (None: too few lines to tell)."""
    widths = sorted(display_width(line.strip()) for line in lines if line.strip())
    if len(widths) < MIN_LINES:
        return None
    return float(widths[int(0.9 * (len(widths) - 1))])


def _wrapped(line: str, full: float) -> bool:
    text = line.strip()
    return bool(text) and display_width(text) >= FULL_LINE_SHARE * full and not _ENDS_SENTENCE.search(text)


def _is_cjk(char: str) -> bool:
    return unicodedata.east_asian_width(char) in "WF" or char in _CJK_PUNCTUATION
