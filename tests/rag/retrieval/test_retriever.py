from pathlib import Path

import pytest

from rag.core.config import Config, RetrievalConfig
from rag.core.errors import ConfigError
from rag.index.local import IndexStore
from rag.retrieval.retriever import Retriever
from rag_ingest.builder import IndexBuilder

QUESTION_ONLY_DOC = "# 7. RAG 系统\n\n★★★★★ **1. 什么是 KV cache 的作用？**\n\n★★★★☆ **2. 混合精度的优势？**\n"


@pytest.fixture
def retriever(tiny_corpus: Path, tmp_path: Path, keyword_embedder) -> Retriever:
    (tiny_corpus / "questions.md").write_text(QUESTION_ONLY_DOC, encoding="utf-8")
    IndexBuilder(Config(), keyword_embedder).build([tiny_corpus], tmp_path / "index", progress=False)
    return Retriever(IndexStore.open(tmp_path / "index"), keyword_embedder, RetrievalConfig(top_k=3))


def test_hybrid_hits_carry_every_retrievers_scores_and_ranks(retriever: Retriever) -> None:
    hits = retriever.retrieve("KV cache 有什么作用")
    assert "KV cache" in hits[0].chunk.text
    top = hits[0]
    assert set(top.scores) == {"dense", "sparse", "rrf"} and set(top.ranks) == {"dense", "sparse"}
    assert top.score == top.scores["rrf"]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len(hits) <= 3


@pytest.mark.parametrize("mode", ["dense", "sparse"])
def test_single_retriever_modes(retriever: Retriever, mode: str) -> None:
    hits = retriever.retrieve("混合精度 FP16", k=2, mode=mode)
    assert hits and set(hits[0].scores) == {mode} and hits[0].ranks == {mode: 1}
    assert "混合精度" in hits[0].chunk.text


def test_bare_questions_are_not_returned_unless_asked_for(retriever: Retriever) -> None:
    hits = retriever.retrieve("KV cache 的作用", k=10)
    assert all(not h.chunk.meta["question_only"] for h in hits)
    retriever.config.include_question_only = True
    assert any(h.chunk.meta["question_only"] for h in retriever.retrieve("KV cache 的作用", k=10))


def test_bad_mode_and_empty_question(retriever: Retriever) -> None:
    with pytest.raises(ConfigError, match="Unknown retrieval mode 'fuzzy'"):
        retriever.retrieve("x", mode="fuzzy")
    assert retriever.retrieve("   ") == []
