"""Retrieval: the first stage (dense + sparse, fused with reciprocal-rank fusion), the second stage that
re-orders the fused hits (`rerankers`), and the evidence measures both the re-ranker and later stages
read from the index's sentences (`evidence`).

May import: `rag.core`, `rag.embedding`, `rag.index`, `rag.generation` (the `llm` re-ranker).
"""
