"""The rows an index holds for a set of documents: chunks, their vectors and their evidence sentences."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from rag.core.schema import Chunk
from rag.core.tables import as_read
from rag.core.text import evidence_spans, join_cjk_wraps


@dataclass
class IndexPart:
    """Chunks with their vectors, plus evidence sentences as ``(chunk position, start, end)`` spans
    (character offsets in the source document) with their vectors."""

    chunks: list[Chunk]
    vectors: np.ndarray | None
    sentences: np.ndarray
    sentence_vectors: np.ndarray | None

    @classmethod
    def unembedded(cls, chunks: list[Chunk]) -> "IndexPart":
        rows = [
            (position, start, end)
            for position, chunk in enumerate(chunks)
            if not chunk.meta.get("question_only")
            for start, end in evidence_spans(chunk.text, offset=chunk.start)
        ]
        return cls(chunks, None, np.array(rows, dtype=np.int64).reshape(-1, 3), None)

    def sentence_text(self, index: int) -> str:
        """What sentence `index` embeds as: its text, hard wraps inside Chinese sentences joined, a table row under its
        column headers (`as_read`)."""
        position, start, end = (int(v) for v in self.sentences[index])
        chunk = self.chunks[position]
        return join_cjk_wraps(as_read(chunk.text, start - chunk.start, end - chunk.start))

    def select_document(self, doc_id: str) -> "IndexPart":
        """The rows of one document, positions renumbered from 0."""
        positions = [i for i, chunk in enumerate(self.chunks) if chunk.doc_id == doc_id]
        remap = {old: new for new, old in enumerate(positions)}
        keep = np.array([int(p) in remap for p in self.sentences[:, 0]], dtype=bool)
        sentences = self.sentences[keep].copy()
        sentences[:, 0] = [remap[int(p)] for p in sentences[:, 0]]
        return IndexPart(
            [self.chunks[i] for i in positions],
            None if self.vectors is None else self.vectors[positions],
            sentences,
            None if self.sentence_vectors is None else self.sentence_vectors[keep],
        )

    @classmethod
    def concatenate(cls, parts: Sequence["IndexPart"], dim: int) -> "IndexPart":
        chunks: list[Chunk] = []
        rows = []
        for part in parts:
            shifted = part.sentences.copy()
            shifted[:, 0] += len(chunks)
            rows.append(shifted)
            chunks.extend(part.chunks)

        def stack(arrays: list[np.ndarray | None]) -> np.ndarray:
            present = [a.reshape(-1, dim) for a in arrays if a is not None and len(a)]
            return np.ascontiguousarray(np.vstack(present) if present else np.zeros((0, dim)), dtype=np.float32)

        return cls(
            chunks,
            stack([p.vectors for p in parts]),
            np.vstack(rows) if rows else np.zeros((0, 3), np.int64),
            stack([p.sentence_vectors for p in parts]),
        )


class MemoizedEmbedding:
    """Wraps a passage-embedding function so a text embedded twice (a sentence used both for semantic
    splitting and as evidence) is computed once."""

    def __init__(self, embed: Callable[[Sequence[str]], np.ndarray]) -> None:
        self.embed = embed
        self.cache: dict[str, np.ndarray] = {}

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if missing:
            for text, vector in zip(missing, self.embed(missing)):
                self.cache[text] = vector
        return np.array([self.cache[t] for t in texts], dtype=np.float32).reshape(len(texts), -1)
