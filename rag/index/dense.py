"""Dense vector index on FAISS: exact inner product for small collections, HNSW past a threshold."""
from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

FLAT = "flat"
HNSW = "hnsw"


class DenseIndex:
    """Inner-product search over L2-normalised vectors (so scores are cosine similarities)."""

    def __init__(self, index: faiss.Index, kind: str) -> None:
        self.index = index
        self.kind = kind

    @classmethod
    def build(
        cls, vectors: np.ndarray, hnsw_threshold: int = 50_000, hnsw_m: int = 32, ef_search: int = 128
    ) -> "DenseIndex":
        """Exact search below `hnsw_threshold` vectors, approximate HNSW at or above it."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dim = vectors.shape[1]
        if len(vectors) >= hnsw_threshold:
            index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = max(2 * hnsw_m, 80)
            index.hnsw.efSearch = ef_search
            kind = HNSW
        else:
            index = faiss.IndexFlatIP(dim)
            kind = FLAT
        if len(vectors):
            index.add(vectors)
        return cls(index, kind)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The `k` nearest rows as ``(row, cosine)``, best first."""
        k = min(k, len(self))
        if k <= 0:
            return []
        # One query gains nothing from a second OpenMP thread, which only waits on the first: on 2 busy
        # cores that made a 100k-vector flat search 2.7x slower (bench/bench_scale.py). The setting is
        # per calling thread, so it is restored for this thread's later work (e.g. building an index).
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            scores, rows = self.index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
        finally:
            faiss.omp_set_num_threads(threads)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path, kind: str) -> "DenseIndex":
        return cls(faiss.read_index(str(path)), kind)
