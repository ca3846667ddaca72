"""Markdown table rows read without their table: each cell under its column's header.

A row quoted or shown to the model on its own ("| **代表模型** | Word2Vec, GloVe | BERT, GPT |") says nothing about
what its columns are; under its headers it reads "类型: 代表模型; 静态词嵌入: Word2Vec, GloVe; 上下文词嵌入: BERT, GPT".
The separator row may hold dashes or nothing ("|---|---|", "|  |  |": editors and converters write both).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

_SEPARATOR_CELL = re.compile(r"\s*:?-*:?\s*")
_TABLE_ROW = re.compile(r"^\s*\|.*\|")


def is_table_row(line: str) -> bool:
    """Whether `line` is a Markdown table row: it opens with a pipe and holds another."""
    return bool(_TABLE_ROW.match(line))


@dataclass(frozen=True)
class TableRow:
    """A data row of a table with a header: its span (document offsets, without indentation or trailing space) and
    its non-empty cells, each as ``(header, value)`` in the source's markup."""

    start: int
    end: int
    cells: tuple[tuple[str, str], ...]

    def labelled(self, clean: Callable[[str], str] = str.strip) -> str:
        """The row as ``header: value; …``, each part passed through `clean` (markup removal), a value's closing full
        stop left out where another follows."""
        parts = [f"{clean(header)}: {clean(value)}" if clean(header) else clean(value) for header, value in self.cells]
        return "; ".join([part.rstrip("。.") for part in parts[:-1]] + parts[-1:])


def cells(line: str) -> list[str]:
    """The cells of a table row, without the outer pipes."""
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def is_separator(line: str) -> bool:
    """Whether `line` is a table's separator row: pipes between cells of dashes, colons or nothing."""
    return is_table_row(line) and all(_SEPARATOR_CELL.fullmatch(cell) for cell in cells(line))


def line_at(document: str, offset: int) -> tuple[int, str]:
    """The start and text of the line of `document` holding `offset`."""
    start = document.rfind("\n", 0, offset) + 1
    end = document.find("\n", offset)
    return start, document[start:end if end >= 0 else len(document)]


def _header_line(document: str, line_start: int) -> tuple[int, list[str]] | None:
    """The start of the header row of the table holding the line at `line_start`, and the table's lines from there
    (header, separator, ...); None when the table has no separator row after its first line."""
    first = line_start
    while first > 0:  # up to the table's first line
        previous = document.rfind("\n", 0, first - 1) + 1
        if not is_table_row(document[previous:first - 1]):
            break
        first = previous
    lines = document[first:].split("\n", 2)
    if len(lines) < 2 or not is_separator(lines[1]):
        return None
    return first, lines


def table_row(document: str, offset: int) -> TableRow | None:
    """The data row on the line holding `offset` of `document` under its table's headers; None for the header or
    separator row, a table without a header, or a row whose cells don't match the header's."""
    start, line = line_at(document, offset)
    if not is_table_row(line) or is_separator(line):
        return None
    found = _header_line(document, start)
    if found is None:
        return None
    first, lines = found
    if start <= first + len(lines[0]) + 1 + len(lines[1]):
        return None
    header, values = cells(lines[0]), cells(line)
    if len(header) != len(values):
        return None
    indent = len(line) - len(line.lstrip())
    labelled = tuple((name, value) for name, value in zip(header, values) if value)
    return TableRow(start + indent, start + len(line.rstrip()), labelled)


def is_header_row(document: str, offset: int) -> bool:
    """Whether the line holding `offset` is a table's header row (its column names: no statement of its own)."""
    start, line = line_at(document, offset)
    if not is_table_row(line):
        return False
    found = _header_line(document, start)
    return found is not None and found[0] == start


def as_read(text: str, start: int, end: int) -> str:
    """The sentence ``text[start:end]`` as it is read: a table data row under its column headers when its table's
    header lies within `text`, else as written."""
    sentence = text[start:end]
    if not is_table_row(sentence):
        return sentence
    row = table_row(text, start)
    return row.labelled() if row is not None else sentence
