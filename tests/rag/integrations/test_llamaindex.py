"""A tiny LlamaIndex app retrieving and answering through this project (tiny corpus, keyword embedder)."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

pytest.importorskip("llama_index.core", reason="the [llamaindex] extra (llama-index-core) is not installed")

from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.postprocessor import SimilarityPostprocessor
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeRelationship, NodeWithScore
from llama_index.core.tools import QueryEngineTool, RetrieverTool

from rag.api import RAG
from rag.core.config import Config
from rag.index.local import IndexStore
from rag.integrations.llamaindex import RagQueryEngine, RagRetriever
from rag_ingest.builder import IndexBuilder
from tests.conftest import ScriptedGenerator

MORE_DOCS = {
    "regularization.md": "# 正则化\n\n## Dropout\n\nDropout 在训练时随机把一部分激活置零，减少过拟合。\n",
    "optimizers.md": "# 优化器\n\n## Adam\n\nAdam 结合动量和自适应学习率，是训练大模型最常用的优化器。\n",
    "serving.md": "# 部署\n\n## 量化\n\n量化把权重从 FP16 压缩到 INT4，推理时显存占用更少。\n",
}


@pytest.fixture
def rag(tiny_corpus: Path, tmp_path: Path, keyword_embedder) -> RAG:
    for name, text in MORE_DOCS.items():
        (tiny_corpus / name).write_text(text, encoding="utf-8")
    IndexBuilder(Config(), keyword_embedder).build([tiny_corpus], tmp_path / "index", progress=False)
    config = Config()
    config.rerank.min_relevance = 0.0
    config.answer.semantic_top_k = 0  # the keyword test embedder carries no meaning: lexical support only
    generator = ScriptedGenerator("KV cache 缓存历史的键和值，加速自回归生成。北京今天是晴天。")
    return RAG(IndexStore.open(tmp_path / "index"), config, keyword_embedder, generator=generator)


def _resolves(rag: RAG, node: NodeWithScore) -> None:
    """The node's text is exactly its span of the stored document."""
    meta = node.node.metadata
    assert (node.node.start_char_idx, node.node.end_char_idx) == (meta["start"], meta["end"])
    assert rag.store.documents[meta["doc_id"]][meta["start"]:meta["end"]] == node.node.get_content()
    assert node.node.relationships[NodeRelationship.SOURCE].node_id == meta["doc_id"]


def test_retriever_returns_passages_with_score_heading_and_span(rag: RAG) -> None:
    retriever = RagRetriever(rag, k=3)
    assert isinstance(retriever, BaseRetriever)
    nodes = retriever.retrieve("什么是 LoRA？")
    assert len(nodes) == 3
    top = nodes[0]
    assert top.node.metadata["doc_id"] == "mixed-precision.md"
    assert top.node.metadata["heading_path"] == ["训练技巧"] and top.node.metadata["heading"] == "训练技巧"
    assert "低秩矩阵" in top.node.get_content()
    assert [n.score for n in nodes] == sorted((n.score for n in nodes), reverse=True)
    assert all(0 <= n.node.metadata["relevance"] <= 1 and "rrf" in n.node.metadata["scores"] for n in nodes)
    for node in nodes:
        _resolves(rag, node)
    # the same passages, in the same order, as the project's own API
    assert [n.node.node_id for n in nodes] == [hit.chunk.id for hit in rag.retrieve("什么是 LoRA？", k=3)]
    # metadata for numbers stays out of what a LlamaIndex LLM reads; heading and document stay in
    shown = top.node.get_content(metadata_mode="llm")
    assert "什么是 LoRA" in shown and "mixed-precision.md" in shown and "relevance" not in shown


def test_async_retrieval_and_first_stage_modes(rag: RAG) -> None:
    nodes = asyncio.run(RagRetriever(rag, k=2, mode="sparse", rerank=False).aretrieve("KV cache 有什么用？"))
    assert nodes and "KV cache" in nodes[0].node.get_content()
    assert all(set(n.node.metadata["scores"]) >= {"sparse"} and "dense" not in n.node.metadata["scores"] for n in nodes)


def test_a_llamaindex_app_uses_the_retriever_and_the_query_engine(rag: RAG) -> None:
    """LlamaIndex's own parts around ours: a similarity cut-off on retrieved nodes, and both as agent tools."""
    retriever = RagRetriever(rag, k=4)
    nodes = retriever.retrieve("KV cache 有什么用？")
    cutoff = (nodes[0].score + nodes[-1].score) / 2
    kept = SimilarityPostprocessor(similarity_cutoff=cutoff).postprocess_nodes(nodes)
    assert 1 <= len(kept) < len(nodes) and kept[0].node.node_id == nodes[0].node.node_id

    search = RetrieverTool.from_defaults(retriever=retriever, name="search_docs", description="Search the documents.")
    found = search.call("KV cache 有什么用？")
    assert "KV cache 缓存历史的键和值" in found.content and len(found.raw_output) == 4

    engine = RagQueryEngine(rag=rag, mode="extractive")
    assert isinstance(engine, BaseQueryEngine)
    ask = QueryEngineTool.from_defaults(query_engine=engine, name="ask_docs", description="Answer with citations.")
    output = ask.call("KV cache 有什么用？")
    assert "KV cache" in output.content and output.raw_output.source_nodes


def test_query_engine_returns_the_checked_answer_with_cited_spans(rag: RAG) -> None:
    response = RagQueryEngine(rag=rag, mode="llm").query("KV cache 有什么用？")
    answer = rag.ask("KV cache 有什么用？", mode="llm")
    assert response.response == answer.text and "晴天" not in response.response  # the citation check removed it
    assert response.metadata["mode"] == "llm" and response.metadata["abstained"] is False
    assert response.metadata["citations"] == [c.to_json() for c in answer.citations]
    assert [n.node.get_content() for n in response.source_nodes] == [c.text for c in answer.citations]
    for node in response.source_nodes:
        _resolves(rag, node)
        assert f"[{node.node.metadata['n']}]" in response.response and node.score is not None


def test_unanswerable_question_is_an_abstention_with_the_nearest_sources(rag: RAG) -> None:
    rag.refusal.threshold = 1.01  # nothing is relevant enough
    response = RagQueryEngine(rag=rag, mode="extractive").query("北京今天天气怎么样？")
    assert response.metadata["abstained"] is True and response.source_nodes
    for node in response.source_nodes:
        _resolves(rag, node)


def test_the_library_loads_neither_llama_index_nor_openai_until_asked() -> None:
    import subprocess
    import sys

    script = (
        "import sys, rag.api, rag.generation.llama_cpp, rag.generation.openai_compatible, rag.integrations, ingest.builder\n"
        "print(sorted(m for m in ('llama_index', 'openai') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=root, check=True)
    assert result.stdout.strip() == "[]"
