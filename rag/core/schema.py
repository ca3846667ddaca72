"""The two records every stage shares: a `Chunk` of a source document and a retrieval `Hit`."""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

from rag.core.text import join_cjk_wraps

HEADING_SEPARATOR = " > "


@dataclass(frozen=True)
class Chunk:
    """A passage of one source document.

    `text` is exactly `document_text[start:end]`, so a citation can point at the source.
    `heading_path` lists the Markdown headings above the passage, outermost first.
    """

    id: str
    doc_id: str
    text: str
    start: int
    end: int
    heading_path: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def heading(self) -> str:
        """The heading path as one line, e.g. ``3. 数据准备 > 2. 分词``."""
        return HEADING_SEPARATOR.join(self.heading_path)

    @property
    def indexed_text(self) -> str:
        """What gets embedded and BM25-indexed: the heading path, then the passage (hard wraps inside Chinese sentences
        joined: "梯\n度" is the word 梯度)."""
        text = join_cjk_wraps(self.text)
        return f"{self.heading}\n{text}" if self.heading_path else text

    def to_json(self) -> dict[str, Any]:
        record = asdict(self)
        record["heading_path"] = list(self.heading_path)
        return record

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> "Chunk":
        return cls(**{**record, "heading_path": tuple(record.get("heading_path", ()))})


def chunk_id(doc_id: str, start: int, end: int, text: str) -> str:
    """A content-derived id: the same passage of the same document always gets the same id."""
    digest = hashlib.sha1(f"{doc_id}\x00{start}\x00{end}\x00{text}".encode("utf-8")).hexdigest()
    return digest[:16]


@dataclass(frozen=True)
class Hit:
    """A chunk returned for a query.

    `score` is the score of the stage that produced the final order; `scores` keeps every
    stage's score (``dense``, ``sparse``, ``rrf``...) and `ranks` every retriever's 1-based rank.
    """

    chunk: Chunk
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    ranks: dict[str, int] = field(default_factory=dict)

    def to_json(self, rank: int) -> dict[str, Any]:
        """The stable JSON shape used by `rag search --json`."""
        return {
            "rank": rank,
            "chunk_id": self.chunk.id,
            "doc_id": self.chunk.doc_id,
            "heading": self.chunk.heading,
            "text": self.chunk.text,
            "start": self.chunk.start,
            "end": self.chunk.end,
            "score": round(float(self.score), 6),
            "scores": {name: round(float(value), 6) for name, value in self.scores.items()},
            "ranks": dict(self.ranks),
        }
