"""Writing converted documents (.docx, .html) as Markdown-like text the chunker reads for structure.

Headings become ``#`` lines, tables Markdown tables (kept whole by the chunker), list items ``- `` lines;
every other line is escaped so that it can't be read as a heading, a code fence or a setext underline.
The result is the stored document text: citations point into it.
"""
from __future__ import annotations

import re
from typing import Iterable, Sequence

_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")
# Line openings Markdown would read as structure: headings, fences, setext underlines, block quotes,
# list markers, indented code and HTML blocks.
_STRUCTURAL = re.compile(r"^(?:#|```|~~~|>|[-+*]\s|\d{1,9}[.)]\s|[=\-]+\s*$|<)")


def inline(text: str) -> str:
    """`text` on one line with runs of spaces (NBSP and ideographic ones too) made one space."""
    return _SPACES.sub(" ", text.replace("\n", " ")).strip()


def inline_keep_breaks(text: str) -> str:
    """Like `inline`, but line breaks stay (for ``<br>``; the caller turns HTML's source newlines into spaces)."""
    return "\n".join(_SPACES.sub(" ", part).strip() for part in text.split("\n"))


def escape_line(line: str) -> str:
    """`line` with a backslash before an opening Markdown would read as structure."""
    line = line.strip()
    return "\\" + line if _STRUCTURAL.match(line) else line


def paragraph(text: str) -> str:
    """A paragraph: each of its lines stripped and escaped, blank lines dropped."""
    return "\n".join(escape_line(line) for line in text.split("\n") if line.strip())


def heading(level: int, text: str) -> str:
    return f"{'#' * min(max(level, 1), 6)} {inline(text)}"


def list_item(text: str, depth: int = 0) -> str:
    return f"{'  ' * depth}- {inline(text)}"


def table(rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table (the first row as header); rows padded to the widest one; empty rows dropped."""
    cells = [[inline(cell).replace("|", "\\|") for cell in row] for row in rows]
    cells = [row for row in cells if any(row)]
    if not cells:
        return ""
    width = max(len(row) for row in cells)
    cells = [row + [""] * (width - len(row)) for row in cells]
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + " --- |" * width]
    lines += ["| " + " | ".join(row) + " |" for row in cells[1:]]
    return "\n".join(lines)


def join_blocks(blocks: Iterable[str]) -> str:
    """Blocks separated by blank lines; consecutive list items stay in one list (single newlines)."""
    out: list[str] = []
    previous = ""
    for block in (b.rstrip() for b in blocks):
        if not block.strip():
            continue
        if out:
            out.append("\n" if previous.lstrip().startswith("- ") and block.lstrip().startswith("- ") else "\n\n")
        out.append(block)
        previous = block
    return "".join(out)
