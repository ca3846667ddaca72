"""Client-side BM25 vectors: their inner products are bm25s's scores (`rag.index.sparse`), for each method."""
import json
import random

import numpy as np
import pytest

from rag.index.milvus.bm25 import Bm25Stats
from rag.index.sparse import SparseIndex


def _dot(a: dict[int, float], b: dict[int, float]) -> float:
    return sum(weight * b.get(key, 0.0) for key, weight in a.items())


@pytest.fixture
def corpus() -> list[list[str]]:
    rng = random.Random(7)
    words = [f"w{i}" for i in range(40)] + ["混合", "精度", "训练"]
    docs = [[rng.choice(words) for _ in range(rng.randint(1, 30))] for _ in range(60)]
    docs[5] = []  # an empty passage counts as one placeholder token, as in rag.index.sparse
    return docs


@pytest.mark.parametrize("method, k1, b", [("lucene", 1.5, 0.75), ("robertson", 1.2, 0.75), ("atire", 1.2, 0.5)])
def test_inner_products_equal_bm25s_scores(corpus: list[list[str]], method: str, k1: float, b: float) -> None:
    oracle = SparseIndex.from_tokens(corpus, k1=k1, b=b, method=method)
    stats = Bm25Stats.build(corpus, k1=k1, b=b, method=method)
    documents = [stats.document_vector(tokens) for tokens in corpus]
    for query in (["w1", "w2"], ["混合", "精度", "精度", "w3"], ["w7", "unknown"], ["unknown"]):
        ours = np.array([_dot(stats.query_vector(query), d) for d in documents])
        assert np.allclose(ours, oracle.scores(query), rtol=1e-5, atol=1e-6)
    for token in ("w1", "混合", "unknown"):
        assert stats.document_frequency(token) == oracle.document_frequency(token)


def test_unknown_query_tokens_give_an_empty_vector(corpus: list[list[str]]) -> None:
    stats = Bm25Stats.build(corpus, k1=1.5, b=0.75)
    assert stats.query_vector(["nothing", "here"]) == {}
    assert stats.document_vector([]) != {}, "an empty passage still has a (placeholder) vector"


def test_statistics_survive_json(corpus: list[list[str]]) -> None:
    stats = Bm25Stats.build(corpus, k1=1.5, b=0.75)
    again = Bm25Stats.from_json(json.loads(json.dumps(stats.to_json(), ensure_ascii=False)))
    assert again == stats
    assert again.query_vector(["w1", "混合"]) == stats.query_vector(["w1", "混合"])


def test_methods_without_a_sparse_form_are_refused() -> None:
    with pytest.raises(ValueError, match="BM25 method 'bm25l'"):
        Bm25Stats.build([["a"]], k1=1.5, b=0.75, method="bm25l")


def test_a_rebuild_keeps_the_dimensions_of_known_tokens(corpus: list[list[str]]) -> None:
    first = Bm25Stats.build(corpus, k1=1.5, b=0.75)
    grown = corpus[10:] + [["aaa-new", "w1"], ["zzz-new"]]
    second = Bm25Stats.build(grown, k1=1.5, b=0.75, previous=first)
    for token, (dimension, _) in second.vocabulary.items():
        if token in first.vocabulary:
            assert dimension == first.vocabulary[token][0]
    fresh = {second.vocabulary[t][0] for t in ("aaa-new", "zzz-new")}
    assert len(fresh) == 2 and not fresh & {d for d, _ in first.vocabulary.values()}
    oracle = SparseIndex.from_tokens(grown, k1=1.5, b=0.75)
    documents = [second.document_vector(tokens) for tokens in grown]
    ours = np.array([_dot(second.query_vector(["w1", "aaa-new"]), d) for d in documents])
    assert np.allclose(ours, oracle.scores(["w1", "aaa-new"]), rtol=1e-5, atol=1e-6)
