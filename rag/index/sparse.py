"""BM25 over jieba tokens, on the `bm25s` sparse-matrix engine (rank-bm25 is its oracle in the tests)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Collection, Sequence

import bm25s
import numpy as np

from rag.core.text import tokenize

# bm25s logs every build at DEBUG through its own handler; keep that out of our users' terminals.
logging.getLogger("bm25s").setLevel(logging.WARNING)

# bm25s needs at least one token per document; an empty document gets this placeholder.
_EMPTY = "\u2205"


class SparseIndex:
    """Lexical BM25 index. Documents and queries go through the same `rag.core.text.tokenize`."""

    def __init__(self, engine: bm25s.BM25) -> None:
        self.engine = engine

    @classmethod
    def build(cls, texts: Sequence[str], k1: float = 1.5, b: float = 0.75, method: str = "lucene") -> "SparseIndex":
        return cls.from_tokens([tokenize(t) for t in texts], k1=k1, b=b, method=method)

    @classmethod
    def from_tokens(
        cls, corpus_tokens: Sequence[list[str]], k1: float = 1.5, b: float = 0.75, method: str = "lucene"
    ) -> "SparseIndex":
        engine = bm25s.BM25(k1=k1, b=b, method=method)
        engine.index([tokens or [_EMPTY] for tokens in corpus_tokens], show_progress=False)
        return cls(engine)

    def __len__(self) -> int:
        return int(self.engine.scores["num_docs"])

    def scores(self, query: str | list[str]) -> np.ndarray:
        """BM25 score of every document for a query (a string, or tokens already made)."""
        tokens = tokenize(query) if isinstance(query, str) else query
        known = [t for t in tokens if t in self.engine.vocab_dict]
        if not known:
            return np.zeros(len(self), dtype=np.float32)
        return np.asarray(self.engine.get_scores(known), dtype=np.float32)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """The `k` best documents with a positive score, as ``(row, score)``, best first."""
        scores = self.scores(query)
        k = min(k, int(np.count_nonzero(scores > 0)))
        if k <= 0:
            return []
        rows = np.argpartition(-scores, k - 1)[:k]
        rows = rows[np.argsort(-scores[rows], kind="stable")]
        return [(int(r), float(scores[r])) for r in rows]

    def document_frequency(self, token: str) -> int:
        """In how many documents `token` occurs (0 for a token the index has never seen)."""
        column = self.engine.vocab_dict.get(token)
        if column is None:
            return 0
        indptr = self.engine.scores["indptr"]
        return int(indptr[column + 1] - indptr[column])

    def terms_in(self, row: int, tokens: Collection[str]) -> frozenset[str]:
        """Which of `tokens` document `row` holds, read from the index's postings (no tokenizing)."""
        vocabulary, indptr, indices = self.engine.vocab_dict, self.engine.scores["indptr"], self.engine.scores["indices"]
        present = []
        for token in tokens:
            column = vocabulary.get(token)
            if column is not None and row in indices[indptr[column]:indptr[column + 1]]:
                present.append(token)
        return frozenset(present)

    def save(self, directory: Path) -> None:
        self.engine.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path) -> "SparseIndex":
        return cls(bm25s.BM25.load(str(directory), show_progress=False))
