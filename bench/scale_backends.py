"""The retrieval backends `bench_scale.py` compares, each behind one small interface.

Every backend indexes the same chunks (texts, their vectors and their jieba BM25 tokens, made once by
the bench) and answers dense, sparse and hybrid queries with the row numbers of its top `k` chunks.
Hybrid retrieval takes `DEPTH` candidates from each side and fuses them with reciprocal rank fusion.

- `RetrieverBackend`: this project's `rag.retrieval.retriever.Retriever` over an in-memory `IndexStore`, so the
  bench times the real query path (jieba, bm25s, FAISS, RRF, `Hit`s). `local_store` builds today's
  store (FAISS flat or HNSW + bm25s); a store built by another factory (e.g. the Milvus store) plugs in
  the same way.
- `LlamaIndexBackend`: the peer, LlamaIndex's hybrid recipe (`VectorStoreIndex` on its default
  `SimpleVectorStore` + `BM25Retriever` + `QueryFusionRetriever` in reciprocal-rerank mode).
- `MilvusLiteBackend`: pymilvus `MilvusClient` on a Milvus Lite file: FLAT inner product for dense,
  client-side BM25 weights as sparse vectors (inner product = BM25), `hybrid_search` with `RRFRanker`.
"""
from __future__ import annotations

import math
import tempfile
from collections import Counter
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from rag.core.config import IndexConfig, RetrievalConfig
from rag.core.schema import Chunk
from rag.core.text import tokenize
from rag.index.dense import DenseIndex
from rag.index.local import IndexStore
from rag.index.sparse import SparseIndex
from rag.retrieval.retriever import Retriever

DEPTH = RetrievalConfig().candidates
"""Candidates each side contributes to hybrid fusion (the project's default, 50), for every backend."""
BM25_K1 = IndexConfig().bm25_k1
BM25_B = IndexConfig().bm25_b


class Backend(Protocol):
    """What the bench needs from a backend. Queries return row numbers (positions in `build`'s input)."""

    name: str
    slow: bool
    """True for backends whose queries the bench caps at large sizes (seconds per query)."""

    def warm_up(self) -> None:
        """Import what the backend needs (kept out of build time and memory)."""

    def build(self, chunks: Sequence[Chunk], vectors: np.ndarray, tokens: Sequence[list[str]]) -> None: ...

    def dense(self, question: str, vector: np.ndarray, k: int) -> list[int]: ...

    def sparse(self, question: str, k: int) -> list[int]: ...

    def hybrid(self, question: str, vector: np.ndarray, k: int) -> list[int]: ...

    def close(self) -> None: ...


# -- this project's retriever ------------------------------------------------------------------

StoreFactory = Callable[[Sequence[Chunk], np.ndarray, Sequence[list[str]]], IndexStore]


def local_store(hnsw_threshold: int) -> StoreFactory:
    """Builds today's local store in memory: FAISS (flat, or HNSW at `hnsw_threshold` rows) + bm25s."""
    defaults = IndexConfig()

    def build(chunks: Sequence[Chunk], vectors: np.ndarray, tokens: Sequence[list[str]]) -> IndexStore:
        dense = DenseIndex.build(vectors, hnsw_threshold, defaults.hnsw_m, defaults.hnsw_ef_search)
        sparse = SparseIndex.from_tokens(tokens, k1=BM25_K1, b=BM25_B)
        return IndexStore(Path("<memory>"), {}, list(chunks), dense, sparse)

    return build


class _QueryVectors:
    """The `Embedder` the bench hands the retriever: it returns the vector given with each question.

    Every backend gets the same precomputed query vectors, so no model runs inside the timings.
    """

    spec = "bench-precomputed"

    def __init__(self, dim: int) -> None:
        self._dim = dim
        self.table: dict[str, np.ndarray] = {}

    @property
    def dim(self) -> int:
        return self._dim

    def warm_up(self) -> None:
        pass

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self.table[text] for text in texts])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError("the scale bench indexes precomputed vectors")


class RetrieverBackend:
    """`rag.retrieval.retriever.Retriever` (default retrieval config) over a store from `make_store`."""

    slow = False

    def __init__(self, name: str, make_store: StoreFactory) -> None:
        self.name = name
        self.make_store = make_store
        self.retriever: Retriever | None = None
        self._vectors: _QueryVectors | None = None

    def warm_up(self) -> None:
        tokenize("预热")  # jieba's dictionary

    def build(self, chunks: Sequence[Chunk], vectors: np.ndarray, tokens: Sequence[list[str]]) -> None:
        self._vectors = _QueryVectors(vectors.shape[1])
        self.retriever = Retriever(self.make_store(chunks, vectors, tokens), self._vectors, RetrievalConfig())

    def _retrieve(self, question: str, vector: np.ndarray | None, k: int, mode: str) -> list[int]:
        assert self.retriever is not None and self._vectors is not None, "build() first"
        if vector is not None:
            self._vectors.table[question] = vector
        return [hit.chunk.meta["row"] for hit in self.retriever.retrieve(question, k=k, mode=mode)]

    def dense(self, question: str, vector: np.ndarray, k: int) -> list[int]:
        return self._retrieve(question, vector, k, "dense")

    def sparse(self, question: str, k: int) -> list[int]:
        return self._retrieve(question, None, k, "sparse")

    def hybrid(self, question: str, vector: np.ndarray, k: int) -> list[int]:
        return self._retrieve(question, vector, k, "hybrid")

    def close(self) -> None:
        self.retriever = None


# -- the peer: LlamaIndex ------------------------------------------------------------------------


class LlamaIndexBackend:
    """LlamaIndex hybrid retrieval as its docs show it, made to run offline on precomputed vectors.

    - Dense: `VectorStoreIndex` over `TextNode`s that already carry their embedding, in the default
      `SimpleVectorStore`; queries are `QueryBundle(embedding=...)`, so no embedding model is called
      (the index is given one that raises if it ever is).
    - Sparse: `BM25Retriever` (bm25s, lucene, k1 1.5, b 0.75 as ours). Its API takes only a regex and a
      PyStemmer stemmer, which cannot segment Chinese; so its bm25s index is built from the same jieba
      tokens as ours (`existing_bm25`, with the node corpus it would store itself) and each question is
      cut with the same jieba `tokenize` and handed to its own query path as space-separated tokens.
    - Hybrid: `QueryFusionRetriever(mode="reciprocal_rerank", num_queries=1)`: no query generation, so
      no LLM is called (LlamaIndex's LLM is disabled with `Settings.llm = None`).
    """

    slow = True

    def __init__(self, name: str = "llamaindex") -> None:
        self.name = name

    def warm_up(self) -> None:
        import llama_index.core.retrievers  # noqa: F401
        import llama_index.retrievers.bm25  # noqa: F401
        from llama_index.core import Settings

        Settings.llm = None  # LlamaIndex's own switch: a placeholder LLM that num_queries=1 never calls
        tokenize("预热")

    def build(self, chunks: Sequence[Chunk], vectors: np.ndarray, tokens: Sequence[list[str]]) -> None:
        import bm25s
        from llama_index.core import VectorStoreIndex
        from llama_index.core.retrievers import QueryFusionRetriever
        from llama_index.core.schema import TextNode
        from llama_index.core.vector_stores.utils import node_to_metadata_dict

        nodes = [
            TextNode(id_=str(row), text=chunk.indexed_text, embedding=vector.tolist())
            for row, (chunk, vector) in enumerate(zip(chunks, vectors))
        ]
        index = VectorStoreIndex(nodes, embed_model=_no_embedding(vectors.shape[1]))
        self.vector_retriever = index.as_retriever(similarity_top_k=DEPTH)
        engine = bm25s.BM25(k1=BM25_K1, b=BM25_B, method="lucene")
        engine.index([list(t) for t in tokens], show_progress=False)
        engine.corpus = [node_to_metadata_dict(node) | {"node_id": node.node_id} for node in nodes]
        self.bm25_retriever = _jieba_bm25_retriever(engine)
        self.fusion = QueryFusionRetriever(
            [self.vector_retriever, self.bm25_retriever], similarity_top_k=DEPTH, num_queries=1,
            mode="reciprocal_rerank", use_async=False,
        )

    @staticmethod
    def _rows(nodes: list) -> list[int]:
        return [int(node.node.node_id) for node in nodes]

    def dense(self, question: str, vector: np.ndarray, k: int) -> list[int]:
        from llama_index.core.schema import QueryBundle

        return self._rows(self.vector_retriever.retrieve(QueryBundle(question, embedding=vector.tolist())))[:k]

    def sparse(self, question: str, k: int) -> list[int]:
        from llama_index.core.schema import QueryBundle

        return self._rows(self.bm25_retriever.retrieve(QueryBundle(question)))[:k]

    def hybrid(self, question: str, vector: np.ndarray, k: int) -> list[int]:
        from llama_index.core.schema import QueryBundle

        return self._rows(self.fusion.retrieve(QueryBundle(question, embedding=vector.tolist())))[:k]

    def close(self) -> None:
        self.vector_retriever = self.bm25_retriever = self.fusion = None


def _no_embedding(dim: int):
    """An embed model that refuses to embed: proves the peer only ever uses the given vectors."""
    from llama_index.core.embeddings import BaseEmbedding

    class NoEmbedding(BaseEmbedding):
        def _refuse(self, *args, **kwargs):
            raise RuntimeError(f"the scale bench gives every node and query its {dim}-d vector")

        _get_query_embedding = _get_text_embedding = _refuse

        async def _aget_query_embedding(self, query: str):
            self._refuse()

    return NoEmbedding(model_name="none")


def _jieba_bm25_retriever(engine):
    from llama_index.core.schema import QueryBundle
    from llama_index.retrievers.bm25 import BM25Retriever

    class JiebaBM25Retriever(BM25Retriever):
        """BM25Retriever whose questions are cut by jieba first (its regex then splits on spaces)."""

        def _retrieve(self, query_bundle: QueryBundle):
            return super()._retrieve(QueryBundle(" ".join(tokenize(query_bundle.query_str))))

    return JiebaBM25Retriever(existing_bm25=engine, similarity_top_k=DEPTH, skip_stemming=True, token_pattern=r"\S+")


# -- Milvus Lite ---------------------------------------------------------------------------------


class MilvusLiteBackend:
    """Milvus Lite through `MilvusClient`: FLAT/IP dense, client-side BM25 sparse vectors, RRF hybrid.

    Document weights ``tf·(k1+1)/(tf + k1·(1−b+b·dl/avgdl))``, query weights IDF (lucene form, as
    bm25s), so a sparse inner product is the BM25 score. The same code reaches a Milvus server.
    """

    slow = True
    COLLECTION = "scale"

    def __init__(self, name: str = "milvus-lite", rrf_k: float = RetrievalConfig().rrf_k) -> None:
        self.name = name
        self.rrf_k = rrf_k
        self._folder: tempfile.TemporaryDirectory | None = None

    def warm_up(self) -> None:
        import milvus_lite  # noqa: F401
        import pymilvus  # noqa: F401

        tokenize("预热")

    def build(self, chunks: Sequence[Chunk], vectors: np.ndarray, tokens: Sequence[list[str]]) -> None:
        from pymilvus import DataType, MilvusClient

        self._folder = tempfile.TemporaryDirectory(prefix="bench-scale-milvus-")
        self.client = MilvusClient(str(Path(self._folder.name) / "scale.db"))
        schema = self.client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=int(vectors.shape[1]))
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        index_params = self.client.prepare_index_params()
        index_params.add_index("dense", index_type="FLAT", metric_type="IP")
        index_params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
        self.client.create_collection(self.COLLECTION, schema=schema, index_params=index_params)

        counts = [Counter(t) for t in tokens]
        self.vocab: dict[str, int] = {}
        df: Counter = Counter()
        for count in counts:
            df.update(count.keys())
        for token in df:
            self.vocab[token] = len(self.vocab)
        n = len(counts)
        self.idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        avgdl = sum(len(t) for t in tokens) / max(n, 1)
        batch = 2000
        for start in range(0, n, batch):
            rows = []
            for row in range(start, min(start + batch, n)):
                norm = BM25_K1 * (1 - BM25_B + BM25_B * len(tokens[row]) / avgdl)
                weights = {self.vocab[t]: tf * (BM25_K1 + 1) / (tf + norm) for t, tf in counts[row].items()}
                rows.append({"id": row, "dense": vectors[row].tolist(), "sparse": weights})
            self.client.insert(self.COLLECTION, rows)
        self.client.flush(self.COLLECTION)

    def _query_weights(self, question: str) -> dict[int, float]:
        weights: dict[int, float] = {}
        for token in tokenize(question):
            if token in self.vocab:
                weights[self.vocab[token]] = weights.get(self.vocab[token], 0.0) + self.idf[token]
        return weights

    def _search(self, data: list, field: str, k: int) -> list[int]:
        found = self.client.search(
            self.COLLECTION, data=data, anns_field=field, limit=k, search_params={"metric_type": "IP"}
        )
        return [int(hit["id"]) for hit in found[0]]

    def dense(self, question: str, vector: np.ndarray, k: int) -> list[int]:
        return self._search([vector.tolist()], "dense", max(k, DEPTH))[:k]

    def sparse(self, question: str, k: int) -> list[int]:
        weights = self._query_weights(question)
        return self._search([weights], "sparse", max(k, DEPTH))[:k] if weights else []

    def hybrid(self, question: str, vector: np.ndarray, k: int) -> list[int]:
        from pymilvus import AnnSearchRequest, RRFRanker

        requests = [AnnSearchRequest([vector.tolist()], "dense", {"metric_type": "IP"}, DEPTH)]
        weights = self._query_weights(question)
        if weights:
            requests.append(AnnSearchRequest([weights], "sparse", {"metric_type": "IP"}, DEPTH))
        found = self.client.hybrid_search(self.COLLECTION, requests, RRFRanker(self.rrf_k), limit=k)
        return [int(hit["id"]) for hit in found[0]]

    def close(self) -> None:
        if self._folder is not None:
            self.client.close()
            self._folder.cleanup()
            self._folder = None


def make_backends(names: Sequence[str]) -> list[Backend]:
    """Backends by name: local-flat, local-hnsw, llamaindex, milvus-lite."""
    known: dict[str, Callable[[], Backend]] = {
        "local-flat": lambda: RetrieverBackend("local-flat", local_store(hnsw_threshold=2**62)),
        "local-hnsw": lambda: RetrieverBackend("local-hnsw", local_store(hnsw_threshold=1)),
        "llamaindex": LlamaIndexBackend,
        "milvus-lite": MilvusLiteBackend,
    }
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"Unknown backend(s) {', '.join(unknown)}; choose from: {', '.join(known)}")
    return [known[name]() for name in names]
