"""BM25 as sparse vectors: the same scores as `rag.index.sparse.SparseIndex` (bm25s), computed client-side.

A document's vector holds, per token, bm25s's term-frequency component (which needs the collection's
average length); a question's vector holds each token's IDF times its count. Their inner product is the
document's BM25 score, so any engine with sparse inner-product search ranks exactly as bm25s does.
The statistics (vocabulary with document frequencies, document count, average length) are stored with
the collection so a query process can build question vectors.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

EMPTY_TOKEN = "\u2205"
"""Stands in for the tokens of an empty passage (as `rag.index.sparse` does for bm25s)."""
METHODS = ("lucene", "robertson", "atire")


def _idf(method: str, df: int, n: int) -> float:
    if method == "lucene":
        return math.log(1 + (n - df + 0.5) / (df + 0.5))
    if method == "robertson":
        return math.log(max((n - df + 0.5) / (df + 0.5), 1.0))
    return math.log(n / df)  # atire


@dataclass
class Bm25Stats:
    """Collection statistics for BM25: token ids and document frequencies, document count, mean length."""

    k1: float
    b: float
    method: str
    documents: int
    mean_length: float
    vocabulary: dict[str, tuple[int, int]] = field(default_factory=dict)
    """token -> (sparse dimension, document frequency)."""

    @classmethod
    def build(
        cls, corpus_tokens: Sequence[list[str]], k1: float, b: float, method: str = "lucene",
        previous: "Bm25Stats | None" = None,
    ) -> "Bm25Stats":
        """Statistics of a corpus given as token lists (an empty list counts as one placeholder token).

        Tokens of `previous` keep their sparse dimensions and new tokens get unused ones, so a reader
        still holding the previous statistics builds question vectors that match the new passages.
        """
        if method not in METHODS:
            raise ValueError(f"BM25 method '{method}' has no sparse-vector form here; use one of {', '.join(METHODS)}")
        docs = [tokens or [EMPTY_TOKEN] for tokens in corpus_tokens]
        frequencies: Counter[str] = Counter(token for tokens in docs for token in set(tokens))
        known = previous.vocabulary if previous is not None else {}
        next_id = max((entry[0] for entry in known.values()), default=-1) + 1
        vocabulary = {}
        for token in sorted(frequencies):
            if token in known:
                vocabulary[token] = (known[token][0], frequencies[token])
            else:
                vocabulary[token] = (next_id, frequencies[token])
                next_id += 1
        mean = sum(len(tokens) for tokens in docs) / len(docs) if docs else 1.0
        return cls(k1, b, method, len(docs), mean, vocabulary)

    def document_frequency(self, token: str) -> int:
        entry = self.vocabulary.get(token)
        return entry[1] if entry else 0

    def document_vector(self, tokens: list[str]) -> dict[int, float]:
        """The term-frequency components of one passage (its sparse vector)."""
        tokens = tokens or [EMPTY_TOKEN]
        norm = self.k1 * (1 - self.b + self.b * len(tokens) / self.mean_length)
        vector = {}
        for token, tf in Counter(tokens).items():
            weight = tf * (self.k1 + 1) / (tf + norm) if self.method == "atire" else tf / (tf + norm)
            vector[self.vocabulary[token][0]] = float(weight)
        return vector

    def query_vector(self, tokens: list[str]) -> dict[int, float]:
        """IDF times count per known token of a question (empty when no token is known)."""
        vector: dict[int, float] = {}
        for token, count in Counter(tokens).items():
            entry = self.vocabulary.get(token)
            if entry is not None:
                weight = count * _idf(self.method, entry[1], self.documents)
                if weight > 0:
                    vector[entry[0]] = weight
        return vector

    def to_json(self) -> dict[str, Any]:
        return {
            "k1": self.k1, "b": self.b, "method": self.method, "documents": self.documents,
            "mean_length": self.mean_length, "vocabulary": {t: list(v) for t, v in self.vocabulary.items()},
        }

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> "Bm25Stats":
        vocabulary = {t: (int(v[0]), int(v[1])) for t, v in record["vocabulary"].items()}
        return cls(float(record["k1"]), float(record["b"]), str(record["method"]), int(record["documents"]),
                   float(record["mean_length"]), vocabulary)
