"""Markdown that is safe to show: a passage's, a draft's or an answer's own structure renders, the rest is text.

Headings (as bold lines: popovers and chat messages are small), lists, quotes, **bold**, `inline code` and code
blocks render; LaTeX formulas (``$…$``, ``$$…$$``, ``$$`` blocks) are shown as code, never as raw dollar signs.
Every other character that Markdown, HTML or Streamlit directives act on is backslash-escaped, so HTML, links,
images and ``:color[…]`` in the text show as text; code is fenced with more backticks than it holds, so it
can't close its own fence. Ranges of a passage can be highlighted (the sentences a citation quotes). Nothing
here uses ``unsafe_allow_html``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from rag.core.text import LIST_BULLET, code_span

HIGHLIGHT = "orange-background"
Ranges = Sequence[tuple[int, int]]
"""``(start, end)`` character ranges of a text."""
LEAD_CHARS = 160
LEAD_LINES = 4
"""A quoted passage opens at most this many characters and lines (blank ones included) above its first highlighted
range (see `opening_offset`)."""
ELLIPSIS = "…"
QUOTED_BLOCK = {kind: f":{HIGHLIGHT}[**quoted {what}:**]" for kind, what in (("code", "code"), ("math", "formula"))}
"""The highlighted line above a code block or formula a highlighted range overlaps (code itself can't be highlighted)."""

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&^=\"'@%])")
_BLOCK = re.compile(r"^(?P<indent>[ \t]*)(?P<mark>#{1,6}\s+|[-*+]\s+|\d{1,3}[.)]\s+|>\s?)?")
_FENCE_OPEN = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_MATH_FENCE = re.compile(r"^\s*\$\$\s*$")
_MATH_LINE = re.compile(r"^\s*\$\$(?P<formula>[^$]*[^$\s][^$]*)\$\$\s*$")
_LANGUAGE = re.compile(r"[\w+#.-]{1,20}")
_INLINE = re.compile(
    r"(?P<ticks>`+)(?P<code>.+?)(?<!`)(?P=ticks)(?!`)"                        # `code`, ``co`de``
    r"|\$\$(?P<display>[^$\n]+?)\$\$"                                       # $$x$$ inside a line
    r"|(?<![\\$0-9A-Za-z])\$(?P<math>[^\s$](?:[^$\n]*?[^\s$\\])?)\$(?![0-9$])"  # $x$, but not "$5 and $6"
    r"|\*\*(?P<bold>.+?)\*\*|__(?P<bold2>.+?)__"
)


def escape_inline(text: str) -> str:
    """`text` (one line) with every character Markdown, HTML or Streamlit directives use escaped."""
    return _SPECIAL.sub(r"\\\1", text)


def escape_markdown(text: str) -> str:
    """Multi-line `text` shown literally by ``st.markdown``: escaped, line breaks and indentation kept."""
    return "  \n".join(_escape_line(line) for line in text.split("\n"))


def _escape_line(line: str) -> str:
    body = line.lstrip(" \t")
    indent = "\u00a0" * (len(line) - len(body))  # leading spaces would start a code block
    return indent + escape_inline(body)


def code_block(lines: Sequence[str], language: str = "") -> list[str]:
    """`lines` as a fenced code block whose fence is longer than any backtick run inside it."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    info = language if _LANGUAGE.fullmatch(language) else ""
    return [fence + info, *lines, fence]


@dataclass(frozen=True)
class _Run:
    """A piece of one line: plain text, bold text (markers removed) or code (a code span or a formula)."""

    text: str
    style: str
    start: int
    end: int
    """Where `text` lies in the passage."""


def _inline_runs(line: str, offset: int) -> list[_Run]:
    """The runs of one line's inline text; offsets in the passage (`offset` is where the line starts)."""
    runs, cursor = [], 0
    for match in _INLINE.finditer(line):
        if match.start() > cursor:
            runs.append(_Run(line[cursor:match.start()], "text", offset + cursor, offset + match.start()))
        group = next(name for name in ("code", "display", "math", "bold", "bold2") if match.group(name) is not None)
        style = "bold" if group.startswith("bold") else "code"
        runs.append(_Run(match.group(group), style, offset + match.start(group), offset + match.end(group)))
        cursor = match.end()
    if cursor < len(line):
        runs.append(_Run(line[cursor:], "text", offset + cursor, offset + len(line)))
    return runs


def _render_text(text: str, bold: bool, marked: bool) -> str:
    """Escaped `text`, bold and/or highlighted (the markers hug the text: ``** x**`` would not be bold)."""
    if not text.strip():
        return text
    lead, core, trail = text[: len(text) - len(text.lstrip())], text.strip(), text[len(text.rstrip()):]
    body = escape_inline(core)
    if bold or marked:
        body = f"**{body}**"
    if marked:
        body = f":{HIGHLIGHT}[{body}]"
    return lead + body + trail


def _marked(start: int, end: int, marks: Ranges) -> bool:
    return start < end and any(s <= start and end <= e for s, e in marks)


def inline_markdown(line: str, offset: int = 0, marks: Ranges = ()) -> str:
    """One line's inline text as safe Markdown: bold and code kept, formulas as code, the rest escaped, the parts
    inside `marks` (passage offsets; the line starts at `offset`) highlighted."""
    pieces = []
    for run in _inline_runs(line, offset):
        if run.style == "code":
            pieces.append(code_span(run.text))
            continue
        cuts = sorted({run.start, run.end, *(c for mark in marks for c in mark if run.start < c < run.end)})
        for a, b in zip(cuts, cuts[1:]):
            pieces.append(_render_text(run.text[a - run.start:b - run.start], run.style == "bold", _marked(a, b, marks)))
    return "".join(pieces)


@dataclass
class _Block:
    """One line of text, or a code or formula block (its fence lines included in `start`..`end`)."""

    kind: str
    """``line``, ``code`` or ``math``."""
    start: int
    end: int
    line: str = ""
    lines: list[str] = field(default_factory=list)
    info: str = ""
    closing: str = ""
    """What closes the block (a code fence's characters, or ``$$``)."""


def _blocks(text: str) -> list[_Block]:
    """`text` split into lines of text and code / formula blocks (an unclosed block runs to the end)."""
    blocks: list[_Block] = []
    cursor, open_block = 0, None
    for line in text.split("\n"):
        start, cursor = cursor, cursor + len(line) + 1
        if open_block is not None:
            open_block.end = start + len(line)
            if _closes(open_block, line):
                open_block = None
            else:
                open_block.lines.append(line)
            continue
        fence, math, formula = _FENCE_OPEN.match(line), _MATH_FENCE.match(line), _MATH_LINE.match(line)
        if fence:
            open_block = _Block("code", start, start + len(line), info=fence.group("info").strip(), closing=fence.group("fence"))
        elif math:
            open_block = _Block("math", start, start + len(line), closing="$$")
        elif formula:
            blocks.append(_Block("math", start, start + len(line), lines=[formula.group("formula").strip()]))
            continue
        else:
            blocks.append(_Block("line", start, start + len(line), line=line))
            continue
        blocks.append(open_block)
    return blocks


def _closes(block: _Block, line: str) -> bool:
    if block.kind == "math":
        return bool(_MATH_FENCE.match(line))
    stripped = line.strip()
    return len(stripped) >= len(block.closing) and set(stripped) == {block.closing[0]}


def _line_markdown(block: _Block, marks: Ranges) -> str:
    """A line of text: its heading (shown bold), list or quote mark kept, its inline text made safe."""
    if not block.line.strip():
        return ""
    found = _BLOCK.match(block.line)
    mark = (found.group("mark") or "").strip()
    body = inline_markdown(block.line[found.end():].rstrip(), block.start + found.end(), marks)
    if mark.startswith("#"):
        return body if body.startswith("**") else f"**{body}**"  # a popover is small
    if mark:
        indent = " " * min(len(found.group("indent").expandtabs(4)), 8)
        return f"{indent}{mark} {body}"
    return body


def passage_markdown(text: str, marks: Ranges = ()) -> str:
    """`text` (a passage, a draft) as safe Markdown with the ranges in `marks` (offsets in `text`) highlighted."""
    lines: list[tuple[str, bool]] = []  # (markdown, is code)
    for block in _blocks(text):
        if block.kind == "line":
            lines.append((_line_markdown(block, marks), False))
        else:
            if any(start < block.end and block.start < end for start, end in marks):
                lines.append((QUOTED_BLOCK[block.kind], False))  # code can't be highlighted: say it is quoted
            language = "latex" if block.kind == "math" else block.info.split(" ")[0]
            lines.extend((line, True) for line in code_block(block.lines, language))
    # A line break inside a paragraph is a hard break; blank lines, list items and code keep their own meaning.
    out = []
    for i, (line, code) in enumerate(lines):
        following, following_code = lines[i + 1] if i + 1 < len(lines) else ("", True)
        hard = not code and not following_code and line and following and not _BLOCK.match(following).group("mark")
        out.append(line + ("  " if hard else ""))
    return "\n".join(out)


def close_open_markup(text: str) -> str:
    """`text` with bold and code left open on its last line closed (a draft mid-stream: ``**缺点`` shows bold,
    not as ``**缺点``). Inside an open code block nothing is added."""
    blocks = _blocks(text)
    if not blocks or blocks[-1].kind != "line":
        return text
    last = blocks[-1].line
    ticks = "`" if len(re.findall(r"`+", last)) % 2 else ""
    bold = "**" if last.count("**") % 2 else ""
    return text + ticks + bold


def opening_offset(text: str, first: int) -> int:
    """Where to start showing `text` so that offset `first` sits near the top: the start of its line or block,
    or of the few lines just above it (up to the nearest heading) within `LEAD_LINES` and `LEAD_CHARS` of it; in
    a long paragraph, `first` itself."""
    blocks = _blocks(text)
    holding = max((i for i, block in enumerate(blocks) if block.start <= first), default=0)
    if blocks[holding].kind == "line" and first - blocks[holding].start > LEAD_CHARS:
        return first
    i = holding
    while i > max(0, holding - LEAD_LINES) and first - blocks[i - 1].start <= LEAD_CHARS and not _is_heading(blocks[i]):
        i -= 1
    return blocks[i].start


def _is_heading(block: _Block) -> bool:
    return block.kind == "line" and block.line.lstrip().startswith("#")


def quoted_passage_markdown(text: str, marks: Ranges) -> str:
    """`passage_markdown` of `text` opened at its first highlighted range (Streamlit popovers don't scroll by
    themselves); a leading ``…`` says that text above was left out."""
    if not marks:
        return passage_markdown(text)
    cut = opening_offset(text, min(start for start, _ in marks))
    shifted = [(start - cut, end - cut) for start, end in marks]
    shown = passage_markdown(text[cut:], shifted)
    return f"{ELLIPSIS}\n\n{shown}" if cut > 0 else shown


def answer_markdown(text: str) -> str:
    """An answer as safe Markdown: its list items (one per line) render as a list, bold and code as such."""
    lines = []
    for line in text.split("\n"):
        bullet = LIST_BULLET.match(line)
        if bullet:
            marker = bullet.group(0).strip()
            mark = marker.rstrip(".)、") + "." if marker[0].isdigit() else "-"
            lines.append(f"{mark} {inline_markdown(line[bullet.end():])}")
        else:
            lines.append(inline_markdown(line) + "  ")
    return "\n".join(lines).rstrip()
