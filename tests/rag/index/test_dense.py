import faiss
import numpy as np

from rag.index.dense import FLAT, HNSW, DenseIndex


def _unit(rows: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_exact_below_threshold_and_hnsw_above() -> None:
    vectors = _unit(200)
    assert DenseIndex.build(vectors, hnsw_threshold=1000).kind == FLAT
    assert DenseIndex.build(vectors, hnsw_threshold=100).kind == HNSW


def test_hnsw_finds_the_same_neighbours_as_exact_search() -> None:
    vectors = _unit(500)
    exact = DenseIndex.build(vectors, hnsw_threshold=10_000)
    approximate = DenseIndex.build(vectors, hnsw_threshold=10)
    for query in _unit(10, seed=1):
        assert [r for r, _ in approximate.search(query, 5)] == [r for r, _ in exact.search(query, 5)]
        row, score = exact.search(query, 1)[0]
        assert np.isclose(score, float(vectors[row] @ query), atol=1e-5)


def test_k_larger_than_index_and_save_load(tmp_path) -> None:
    index = DenseIndex.build(_unit(3))
    assert len(index.search(_unit(1)[0], 10)) == 3
    index.save(tmp_path / "dense.faiss")
    loaded = DenseIndex.load(tmp_path / "dense.faiss", FLAT)
    assert len(loaded) == 3 and loaded.dim == 16
    assert DenseIndex.build(np.zeros((0, 4), np.float32)).search(np.ones(4, np.float32), 3) == []


def test_search_leaves_the_callers_openmp_thread_count_as_it_was() -> None:
    index = DenseIndex.build(_unit(200, dim=8, seed=3))
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(2)
    try:
        exact = index.search(index.index.reconstruct(5), 3)
        assert exact[0][0] == 5
        assert faiss.omp_get_max_threads() == 2
    finally:
        faiss.omp_set_num_threads(threads)
