"""What the stages read from an index: the `Store` interface both index stores implement.

`rag.index.local.IndexStore` (a local folder, the default) and `rag.index.milvus.store.MilvusStore` (Milvus Lite
or a Milvus server) satisfy it; `rag.index.stores.open_store` opens either from a location string.
Rows are positions in `chunks`: every search returns ``(row, score)`` pairs, best first.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Collection, Protocol

import numpy as np

from rag.core.schema import Chunk


class DenseSearch(Protocol):
    """Nearest passages by inner product of L2-normalised vectors (cosine)."""

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]: ...

    def __len__(self) -> int: ...


class SparseSearch(Protocol):
    """BM25 over the project's jieba tokens (`rag.core.text.tokenize`)."""

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """The `k` best rows with a positive score."""
        ...

    def document_frequency(self, token: str) -> int: ...

    def terms_in(self, row: int, tokens: Collection[str]) -> frozenset[str] | None:
        """Which of `tokens` the passage at `row` holds, or None when the index can't tell without tokenizing the
        passage again (the caller then does)."""
        ...

    def __len__(self) -> int: ...


class Store(Protocol):
    """An opened index: one generation's passages, vectors, evidence sentences and documents."""

    path: Path | str
    """Where the index is, as named (a folder, or a store URI)."""
    manifest: dict[str, Any]
    """Embedder, chunker and BM25 settings, sources with hashes, counts (see `rag_ingest.builder`)."""
    chunks: list[Chunk]
    dense: DenseSearch
    sparse: SparseSearch
    embeddings: np.ndarray
    """Passage vectors; row i belongs to chunks[i]."""
    sentences: np.ndarray
    """``(chunk row, start, end)`` per evidence sentence, sorted by chunk row."""
    sentence_embeddings: np.ndarray
    documents: dict[str, str]
    """Full text of each source document by doc id (citations resolve against it)."""

    @property
    def location(self) -> str:
        """`path` as text: what `rag.index.stores.open_store` takes to open this index again."""
        ...

    @property
    def embedder_spec(self) -> str: ...

    @property
    def generation(self) -> str:
        """A token naming the build this store was opened from."""
        ...

    def latest_generation(self) -> str:
        """The token of the index's current build now (differs from `generation` after a rebuild)."""
        ...
