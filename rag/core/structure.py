"""Markdown structure of a document: a tree of heading sections whose bodies are lists of blocks.

Parsing uses markdown-it-py (CommonMark + tables), so ``#`` lines inside fenced code are not
headings and code blocks and tables are known as units that must never be cut.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

ATOMIC_KINDS = frozenset({"fence", "code_block", "table", "hr", "html_block"})
_RATING_STARS = re.compile(r"[★☆]+")
_BOLD_QUESTION = re.compile(r"\*\*[^*\n]{2,200}[？?]\*\*")


@dataclass(frozen=True)
class Block:
    """A top-level block of a section body, as a character span of the document."""

    start: int
    end: int
    kind: str
    """``paragraph``, ``list_item``, ``blockquote`` or one of ATOMIC_KINDS."""

    @property
    def atomic(self) -> bool:
        return self.kind in ATOMIC_KINDS


@dataclass
class Section:
    """A heading and everything under it until the next heading of the same or a higher level."""

    heading: str | None
    level: int
    start: int
    """Start of the heading line (0 for the untitled part before the first heading)."""
    body_start: int
    end: int
    pseudo: bool = False
    """True for a bold question line that acts as a heading (see `_is_pseudo_heading`)."""
    blocks: list[Block] = field(default_factory=list)
    """Blocks of this section's own body, before its first sub-section."""
    children: list["Section"] = field(default_factory=list)


@dataclass(frozen=True)
class DocumentStructure:
    root: Section
    protected: tuple[tuple[int, int], ...]
    """Spans of every code block and table at any depth (also inside list items): never cut inside them."""


@lru_cache(maxsize=2)
def _parser(indented_code: bool) -> MarkdownIt:
    parser = MarkdownIt("commonmark").enable("table")
    if not indented_code:
        # Plain text and PDF text are often indented; that is layout, not code.
        parser.disable("code")
    return parser


def parse_structure(text: str, markdown: bool = True) -> DocumentStructure:
    """Parse `text` into a section tree. With ``markdown=False`` indentation is not read as code."""
    tokens = _parser(markdown).parse(text)
    line_starts = _line_starts(text)

    def span(token: Token) -> tuple[int, int]:
        first, last = token.map  # type: ignore[misc]
        start = line_starts[first]
        end = line_starts[last] if last < len(line_starts) else len(text)
        while end > start and text[end - 1].isspace():
            end -= 1
        return start, end

    root = Section(heading=None, level=0, start=0, body_start=0, end=len(text))
    stack = [root]
    protected: list[tuple[int, int]] = []
    last_rated_level = 0
    for index, token in enumerate(tokens):
        if token.map is None or token.nesting == -1:
            continue
        kind = _block_kind(token)
        if kind in {"fence", "code_block", "table"}:
            protected.append(span(token))
        if token.level == 0 and (token.type == "heading_open" or _is_pseudo_heading(token, tokens, index)):
            inline = tokens[index + 1]
            rated = bool(_RATING_STARS.match(inline.content.lstrip()))
            if token.type == "heading_open":
                level = int(token.tag[1])
            elif rated and last_rated_level:
                level = last_rated_level  # a sibling of the other rated questions
            else:
                level = stack[-1].level if stack[-1].pseudo else stack[-1].level + 1
            if rated:
                last_rated_level = level
            while stack[-1].level >= level:
                stack.pop()
            start, heading_end = span(token)
            section = Section(_clean_heading(inline), level, start, heading_end, len(text), token.type != "heading_open")
            stack[-1].children.append(section)
            stack.append(section)
            continue
        parent_level = 1 if token.type == "list_item_open" else 0
        if token.level != parent_level or kind is None:
            continue
        if kind in {"bullet_list", "ordered_list"}:
            continue  # its items (level 1) are the blocks
        owner = stack[-1]
        if not owner.children:
            owner.blocks.append(Block(*span(token), kind))
    _close_sections(root, len(text))
    return DocumentStructure(root, tuple(protected))


def _block_kind(token: Token) -> str | None:
    kinds = {
        "paragraph_open": "paragraph",
        "list_item_open": "list_item",
        "bullet_list_open": "bullet_list",
        "ordered_list_open": "ordered_list",
        "blockquote_open": "blockquote",
        "table_open": "table",
        "fence": "fence",
        "code_block": "code_block",
        "hr": "hr",
        "html_block": "html_block",
    }
    return kinds.get(token.type)


def _is_pseudo_heading(token: Token, tokens: list[Token], index: int) -> bool:
    """A one-line paragraph that is a rated question (``★★★★☆ **7. ...**``) or wholly a bold question.

    Interview-style documents use these instead of Markdown headings; treating them as headings keeps
    the question with its answer in the heading path rather than with the previous answer.
    """
    if token.type != "paragraph_open":
        return False
    line = tokens[index + 1].content.strip()
    if "\n" in line:
        return False
    if _RATING_STARS.match(line):
        return "**" in line
    return bool(_BOLD_QUESTION.fullmatch(line))


def _close_sections(section: Section, end: int) -> None:
    """Each section ends where its next sibling (or its parent) ends."""
    section.end = end
    for child, following in zip(section.children, section.children[1:] + [None]):
        _close_sections(child, following.start if following else end)


def _clean_heading(inline: Token) -> str:
    """Heading text without emphasis markers or star ratings (``★★★★☆ **1. 什么是 LoRA？**`` → ``1. 什么是 LoRA？``)."""
    parts = [child.content for child in inline.children or [] if child.type in {"text", "code_inline"}]
    text = "".join(parts) or inline.content
    text = _RATING_STARS.sub("", text).replace("**", "")
    return " ".join(text.split())


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for index, char in enumerate(text):
        if char == "\n":
            starts.append(index + 1)
    return starts
