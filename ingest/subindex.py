"""An index without some of its passages, built in memory from the full one (no embedding, nothing written).

Calibration asks questions about passages it hid; the index they are asked against is the knowledge base
minus those passages, with its own dense and BM25 indexes (document frequencies change when passages go).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from rag.core.config import IndexConfig
from rag.index.dense import DenseIndex
from rag.index.local import IndexStore
from rag.index.protocol import Store
from rag.index.sparse import SparseIndex


def without_rows(store: Store, hidden: Sequence[int], settings: IndexConfig) -> IndexStore:
    """`store` without the chunks at rows `hidden` (their evidence sentences go too; rows are renumbered)."""
    hidden_set = set(int(r) for r in hidden)
    kept = [row for row in range(len(store.chunks)) if row not in hidden_set]
    renumber = np.full(len(store.chunks), -1, dtype=np.int64)
    renumber[kept] = np.arange(len(kept))
    sentences = np.asarray(store.sentences)
    keep_sentences = renumber[sentences[:, 0]] >= 0 if len(sentences) else np.zeros(0, dtype=bool)
    kept_sentences = sentences[keep_sentences].copy()
    kept_sentences[:, 0] = renumber[kept_sentences[:, 0]]
    chunks = [store.chunks[row] for row in kept]
    embeddings = np.ascontiguousarray(np.asarray(store.embeddings)[kept], dtype=np.float32)
    doc_ids = {chunk.doc_id for chunk in chunks}
    manifest = {
        **store.manifest,
        "documents": [d for d in store.manifest.get("documents", []) if d["doc_id"] in doc_ids],
        "counts": {"documents": len(doc_ids), "chunks": len(chunks), "sentences": len(kept_sentences)},
    }
    manifest.pop("calibration", None)
    return IndexStore(
        path=Path(str(store.path)),
        manifest=manifest,
        chunks=chunks,
        dense=DenseIndex.build(embeddings, settings.hnsw_threshold, settings.hnsw_m, settings.hnsw_ef_search),
        sparse=SparseIndex.build([c.indexed_text for c in chunks], k1=settings.bm25_k1, b=settings.bm25_b),
        embeddings=embeddings,
        sentences=kept_sentences,
        sentence_embeddings=np.ascontiguousarray(np.asarray(store.sentence_embeddings)[keep_sentences], dtype=np.float32),
        documents={doc_id: text for doc_id, text in store.documents.items() if doc_id in doc_ids},
    )
