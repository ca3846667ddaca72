"""Which section of its document a sentence sits in: its own heading path.

A passage often holds several small sections (a 1,200-character passage of interview notes holds
"5. 混合精度训练的优势是什么？" and "6. …挑战是什么？" with their lists), so the passage's heading path says
little about one sentence. The section tree is read from the index's stored document text with the same
parser the chunker uses (`rag.core.structure`), once per document, when first needed.
"""
from __future__ import annotations

import bisect
import re
import threading
from dataclasses import dataclass
from typing import Mapping

from rag.core.structure import Section, parse_structure

MAX_HEADING_CHARS = 200
"""Headings are shortened to this many characters in heading paths (as in passages' heading paths)."""
MAX_TITLE_CHARS = 100
"""A document's first line longer than this is prose, not its title."""
_SENTENCE_END = re.compile(r"[。！？；.!?;]\s*$")
_NON_SPACE = re.compile(r"\S")


@dataclass(frozen=True)
class SectionSpan:
    """A section's own text (its heading line up to its first sub-section or its end) and heading path."""

    start: int
    end: int
    heading_path: tuple[str, ...]

    @property
    def heading(self) -> str:
        return self.heading_path[-1] if self.heading_path else ""


class SectionMap:
    """Sections of an index's documents by character offset (thread-safe; each document parsed once)."""

    def __init__(self, documents: Mapping[str, str], formats: Mapping[str, str] | None = None) -> None:
        self.documents = documents
        self.formats = formats or {}
        self._parsed: dict[str, tuple[list[int], list[SectionSpan]]] = {}
        self._lock = threading.Lock()

    @classmethod
    def of(cls, store: object) -> "SectionMap":
        """The section map of a store (its documents and, from the manifest, each document's format)."""
        manifest = getattr(store, "manifest", {}) or {}
        formats = {d["doc_id"]: d.get("format", "markdown") for d in manifest.get("documents", []) if "doc_id" in d}
        return cls(getattr(store, "documents"), formats)

    def section_at(self, doc_id: str, offset: int) -> SectionSpan:
        """The innermost section whose own text holds `offset` (the untitled top part when none does)."""
        starts, spans = self._sections(doc_id)
        index = bisect.bisect_right(starts, offset) - 1
        return spans[max(index, 0)]

    def title(self, doc_id: str) -> str:
        """The document's first line, without Markdown heading marks, when it is short and does not end a sentence
        (a plain-text article starts with its name); "" otherwise."""
        first = self._first_line(doc_id)[0].strip().lstrip("#").strip()
        return first if len(first) <= MAX_TITLE_CHARS and not _SENTENCE_END.search(first) else ""

    def title_line_end(self, doc_id: str) -> int:
        """Where a plain-text document's title line (`title`) ends: a sentence before this offset is its name, not a
        statement. 0 for Markdown, whose headings are never sentences, and for documents without a title."""
        if self.formats.get(doc_id, "markdown") == "markdown" or not self.title(doc_id):
            return 0
        return self._first_line(doc_id)[1]

    def _first_line(self, doc_id: str) -> tuple[str, int]:
        """The document's first non-blank line and the offset where it ends, read without copying the document (it is
        asked for every passage ranked and every citation)."""
        document = self.documents.get(doc_id, "")
        found = _NON_SPACE.search(document)
        if found is None:
            return "", len(document)
        end = document.find("\n", found.start())
        end = len(document) if end < 0 else end
        return document[found.start():end], end

    def _sections(self, doc_id: str) -> tuple[list[int], list[SectionSpan]]:
        parsed = self._parsed.get(doc_id)
        if parsed is None:
            with self._lock:
                parsed = self._parsed.get(doc_id)
                if parsed is None:
                    parsed = self._parsed[doc_id] = _own_texts(
                        self.documents.get(doc_id, ""), self.formats.get(doc_id, "markdown") == "markdown"
                    )
        return parsed


def _own_texts(text: str, markdown: bool) -> tuple[list[int], list[SectionSpan]]:
    """Every section's own text as a span, in document order (a section's own text ends where its first
    sub-section starts), with start offsets for bisection."""
    spans: list[SectionSpan] = []

    def walk(section: Section, path: tuple[str, ...]) -> None:
        if section.heading:
            heading = section.heading
            path = (*path, heading if len(heading) <= MAX_HEADING_CHARS else heading[: MAX_HEADING_CHARS - 1] + "…")
        own_end = section.children[0].start if section.children else section.end
        spans.append(SectionSpan(section.start, own_end, path))
        for child in section.children:
            walk(child, path)

    walk(parse_structure(text, markdown=markdown).root, ())
    spans.sort(key=lambda span: span.start)
    return [span.start for span in spans], spans
