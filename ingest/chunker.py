"""Structure-aware chunking: heading sections first, semantic splits only for sections over budget.

A section that fits the budget (with its sub-sections) is one chunk. A longer one yields its own body,
split where adjacent sentences are least similar, and then each sub-section in turn. Code blocks and
tables are never cut. Every chunk keeps its heading path and its exact character span.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from rag.core.config import ChunkingConfig
from rag.core.schema import Chunk, chunk_id
from rag.core.structure import Block, DocumentStructure, Section, parse_structure
from rag.core.text import is_bare_question, is_lead_in, join_cjk_wraps, split_sentences
from rag_ingest.loaders import SourceDocument

log = logging.getLogger(__name__)

EmbedFn = Callable[[Sequence[str]], np.ndarray]

# Bump when chunking logic changes: indexes built by another version are re-chunked on the next ingest.
CHUNKER_VERSION = 9  # 9: a list number and a table row end no sentence; 8: a Chinese line break mid-sentence ends no sentence; 7: PDF and .txt wrapped lines joined

MAX_HEADING_CHARS = 200
"""Headings longer than this are shortened in heading paths (they are repeated in every passage below)."""
# Where a hard cut prefers to fall: after whitespace or punctuation, in the last half of the window.
_BREAK = re.compile(r"[\s。！？；，、：,.;:!?)）\]」』]")

# Cutting between two blocks (paragraphs, list items) is preferred over cutting between two sentences
# of one paragraph when the semantic evidence is close; this is that preference, in cosine distance.
BLOCK_BOUNDARY_BONUS = 0.05
LEAD_IN_PENALTY = 3.0
"""Taken off the cut right after a sentence announcing a list ("By default, load_dotenv() will:"): more than any
cosine distance (at most 2) plus the block bonus, so the lead-in stays with its list unless there is nowhere else
to cut."""


@dataclass(frozen=True)
class _Unit:
    """The smallest piece the splitter moves around: a sentence, or a whole code block/table."""

    start: int
    end: int
    atomic: bool
    block_start: bool
    """True when this unit begins a new block (a cut before it falls between blocks)."""


class Chunker:
    """Cuts a `SourceDocument` into `Chunk`s. `embed` (passage embeddings) enables semantic splits."""

    def __init__(self, config: ChunkingConfig | None = None, embed: EmbedFn | None = None) -> None:
        self.config = config if config is not None else ChunkingConfig()
        self.embed = embed if self.config.semantic else None

    def chunk(self, document: SourceDocument) -> list[Chunk]:
        text = document.text
        structure = parse_structure(text, markdown=document.format == "markdown")
        spans: list[tuple[int, int, tuple[str, ...], bool]] = []
        self._walk(structure.root, (), text, structure, spans)
        limit = self.config.hard_max_chars
        spans = [
            (start, end, path, heading_only)
            for span_start, span_end, path, heading_only in spans
            for start, end in hard_split(text, span_start, span_end, limit)
        ]
        chunks = []
        for part, (start, end, path, heading_only) in enumerate(spans):
            passage = text[start:end]
            chunks.append(
                Chunk(
                    id=chunk_id(document.doc_id, start, end, passage),
                    doc_id=document.doc_id,
                    text=passage,
                    start=start,
                    end=end,
                    heading_path=path,
                    meta={"position": part, "question_only": heading_only or _only_questions(passage)},
                )
            )
        return chunks

    def _walk(
        self,
        section: Section,
        path: tuple[str, ...],
        text: str,
        structure: DocumentStructure,
        out: list[tuple[int, int, tuple[str, ...], bool]],
    ) -> None:
        """Append ``(start, end, heading path, heading only)`` for each chunk of `section`."""
        if section.heading:
            heading = section.heading
            path = (*path, heading if len(heading) <= MAX_HEADING_CHARS else heading[:MAX_HEADING_CHARS - 1] + "…")
        whole = _trim(text, section.body_start, section.end)
        if whole and section.heading and section.children and whole[1] - whole[0] <= self.config.max_chars:
            out.append((*whole, path, False))
            return
        if section.blocks:
            for start, end in self._split_blocks(section.blocks, text, structure):
                out.append((start, end, path, False))
        elif not section.children and section.heading:
            # A heading with nothing under it (a bare question): keep its line so it can be listed as a
            # near source, flagged question_only so it is never used as evidence.
            out.append((section.start, section.body_start, path, True))
        for child in section.children:
            self._walk(child, path, text, structure, out)

    def _split_blocks(
        self, blocks: list[Block], text: str, structure: DocumentStructure
    ) -> list[tuple[int, int]]:
        start, end = blocks[0].start, blocks[-1].end
        if end - start <= self.config.max_chars:
            return [(start, end)]
        units = _units(blocks, text, structure, self.config.hard_max_chars)
        distances = self._boundary_distances(units, text)
        pieces = self._bisect(units, distances, 0, len(units))
        return self._with_overlap(units, pieces)

    def _boundary_distances(self, units: list[_Unit], text: str) -> np.ndarray:
        """Distance before each unit (index i: between unit i-1 and i); larger means a better place to cut."""
        distances = np.zeros(len(units), dtype=np.float32)
        if self.embed is not None and len(units) > 1:
            vectors = self.embed([join_cjk_wraps(text[u.start:u.end]) for u in units])
            distances[1:] = 1.0 - np.sum(vectors[1:] * vectors[:-1], axis=1)
        for index, unit in enumerate(units):
            if index and unit.block_start:
                distances[index] += BLOCK_BOUNDARY_BONUS
            if index and is_lead_in(text[units[index - 1].start:units[index - 1].end]):
                distances[index] -= LEAD_IN_PENALTY
        return distances

    def _bisect(self, units: list[_Unit], distances: np.ndarray, lo: int, hi: int) -> list[tuple[int, int]]:
        """Split units[lo:hi] at the best boundary, again and again, until every piece fits the budget.

        Iterative (an explicit stack), so a section of thousands of sentences can't exhaust recursion.
        """
        pieces: list[tuple[int, int]] = []
        stack = [(lo, hi)]
        while stack:
            lo, hi = stack.pop()
            length = units[hi - 1].end - units[lo].start
            if length <= self.config.max_chars or hi - lo == 1:
                pieces.append((lo, hi))
                continue
            boundaries = range(lo + 1, hi)
            balanced = [
                b for b in boundaries
                if units[b - 1].end - units[lo].start >= self.config.min_chars
                and units[hi - 1].end - units[b].start >= self.config.min_chars
            ]
            candidates = balanced or list(boundaries)
            if self.embed is None:
                # No semantic signal: cut at a block boundary nearest the middle.
                middle = units[lo].start + length / 2
                cut = min(candidates, key=lambda b: (-distances[b], abs(units[b].start - middle)))
            else:
                cut = max(candidates, key=lambda b: distances[b])
            stack.append((cut, hi))
            stack.append((lo, cut))
        return pieces

    def _with_overlap(self, units: list[_Unit], pieces: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Start each piece with whole trailing sentences of the previous one, up to `overlap_chars`."""
        spans = []
        for index, (lo, hi) in enumerate(pieces):
            first = lo
            if index:
                while first > pieces[index - 1][0] + 1:
                    candidate = units[first - 1]
                    if candidate.atomic or units[lo].start - candidate.start > self.config.overlap_chars:
                        break
                    first -= 1
            spans.append((units[first].start, units[hi - 1].end))
        return spans


def hard_split(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """`text[start:end]` as spans of at most `limit` characters (one span when it fits).

    Each cut falls after the last whitespace or punctuation in the second half of the window, or at the
    limit when there is none (a run of text without breaks); whitespace at a piece's start is skipped.
    """
    spans = []
    while end - start > limit:
        window = text[start + limit // 2:start + limit]
        last = None
        for last in _BREAK.finditer(window):
            pass
        cut = start + limit // 2 + last.end() if last is not None else start + limit
        spans.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        spans.append((start, end))
    return spans


def _units(blocks: list[Block], text: str, structure: DocumentStructure, limit: int) -> list[_Unit]:
    """Sentences of the blocks, with code blocks and tables (also ones nested in list items) kept whole
    up to `limit` characters (longer units are cut with `hard_split`)."""
    units: list[_Unit] = []
    for block in blocks:
        if block.atomic:
            units.append(_Unit(block.start, block.end, True, True))
            continue
        for index, (start, end) in enumerate(split_sentences(text[block.start:block.end], offset=block.start)):
            touched = [span for span in structure.protected if span[0] < end and start < span[1]]
            if touched:
                start, end = min(start, touched[0][0]), max(end, touched[-1][1])
            units.append(_Unit(start, end, bool(touched), index == 0))
    capped = []
    for unit in _merge_overlapping(units):
        for number, (start, end) in enumerate(hard_split(text, unit.start, unit.end, limit)):
            capped.append(_Unit(start, end, unit.atomic, unit.block_start and number == 0))
    return capped


def _merge_overlapping(units: list[_Unit]) -> list[_Unit]:
    merged: list[_Unit] = []
    for unit in units:
        if merged and unit.start < merged[-1].end:
            last = merged.pop()
            merged.append(_Unit(last.start, max(last.end, unit.end), True, last.block_start))
        else:
            merged.append(unit)
    return merged


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None


def _only_questions(passage: str) -> bool:
    """True when every non-empty line of the passage only asks a question (no answer content)."""
    lines = [line for line in passage.splitlines() if line.strip()]
    return bool(lines) and all(is_bare_question(line) for line in lines)
