"""Dense, sparse and hybrid (RRF-fused) retrieval over an opened index."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from rag.core.config import RetrievalConfig
from rag.core.errors import ConfigError
from rag.core.schema import Hit
from rag.embedding.embedders import Embedder
from rag.index.protocol import Store
from rag.retrieval.fusion import reciprocal_rank_fusion

MODES = ("hybrid", "dense", "sparse")


class Retriever:
    """Finds the chunks of an index that best match a question.

    ``dense`` ranks by cosine similarity of embeddings, ``sparse`` by BM25, ``hybrid`` fuses the two
    candidate lists with reciprocal rank fusion. Every hit carries each retriever's score and rank.
    """

    def __init__(self, store: Store, embedder: Embedder, config: RetrievalConfig | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.config = config if config is not None else RetrievalConfig()

    def warm_up(self) -> None:
        self.embedder.warm_up()

    def query_vector(self, question: str) -> np.ndarray:
        """The question's embedding, memoised so later stages (re-ranking, relevance) reuse it."""
        return self._query_vector(question)

    @lru_cache(maxsize=256)  # noqa: B019 - one cache per retriever is what we want; retrievers are few
    def _query_vector(self, question: str) -> np.ndarray:
        vector = self.embedder.embed_queries([question])[0]
        vector.setflags(write=False)
        return vector

    def retrieve(self, question: str, k: int | None = None, mode: str | None = None) -> list[Hit]:
        """The top `k` hits for `question` (defaults from the retrieval config)."""
        k = self.config.top_k if k is None else k
        mode = self.config.mode if mode is None else mode
        if mode not in MODES:
            raise ConfigError(f"Unknown retrieval mode '{mode}'; use one of: {', '.join(MODES)}.")
        if k <= 0 or not question.strip():
            return []
        depth = max(k, self.config.candidates)
        rankings = {}
        if mode in ("hybrid", "dense"):
            rankings["dense"] = self.store.dense.search(self.query_vector(question), depth)
        if mode in ("hybrid", "sparse"):
            rankings["sparse"] = self.store.sparse.search(question, depth)
        if not self.config.include_question_only:
            rankings = {name: self._evidence_only(ranking) for name, ranking in rankings.items()}
        if mode != "hybrid":
            name = mode
            return [
                Hit(self.store.chunks[row], score, {name: score}, {name: rank})
                for rank, (row, score) in enumerate(rankings[name][:k], start=1)
            ]
        weights = {"dense": self.config.dense_weight, "sparse": self.config.sparse_weight}
        fused = reciprocal_rank_fusion(rankings, k=self.config.rrf_k, weights=weights)
        return [
            Hit(self.store.chunks[f.row], f.score, {**f.scores, "rrf": f.score}, f.ranks)
            for f in fused[:k]
        ]

    def _evidence_only(self, ranking: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """Drop passages that only state a question: they match questions closely but answer nothing."""
        return [(row, score) for row, score in ranking if not self.store.chunks[row].meta.get("question_only")]
