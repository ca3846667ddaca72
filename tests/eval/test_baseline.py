"""The plain baseline: windows stay inside Markdown sections, keep the heading line, and it retrieves."""
from pathlib import Path

from rag_eval.baseline import (
    BaselineIndex,
    BaselineRetriever,
    fit_min_score,
    markdown_sections,
    windows,
)
from tests.conftest import TINY_DOCS, KeywordEmbedder

DOC = TINY_DOCS["mixed-precision.md"]


def test_sections_follow_headings_but_not_hashes_in_code() -> None:
    headings = [heading for heading, _, _ in markdown_sections(DOC)]
    assert headings == ["# 训练技巧", "## 1. 混合精度训练的优势是什么？", "## 2. 什么是 LoRA？"]


def test_windows_are_exact_spans_within_a_section_with_its_heading_line() -> None:
    long_doc = "# 标题\n\n" + "这是一个很长的句子，用来填满窗口。" * 60 + "\n\n## 下一节\n\n短句。\n"
    chunks = windows("d", long_doc, size=100)
    for chunk in chunks:
        assert chunk.text == long_doc[chunk.start:chunk.end]
        assert len(chunk.text) <= 100
        assert chunk.indexed_text.startswith(chunk.heading_path[0] + "\n")
    assert {c.heading_path[0] for c in chunks} == {"# 标题", "## 下一节"}
    assert all("下一节" not in c.text for c in chunks if c.heading_path[0] == "# 标题")
    assert len([c for c in chunks if c.heading_path[0] == "# 标题"]) > 1


def test_a_heading_without_text_is_a_heading_only_window() -> None:
    chunks = windows("d", "# 问题一？\n\n# 问题二？\n\n答案在这里。\n")
    assert [(c.heading_path, c.text) for c in chunks] == [(("# 问题一？",), ""), (("# 问题二？",), "答案在这里。")]


def test_retrieves_the_section_that_answers_and_caches_its_build(tmp_path: Path) -> None:
    embedder = KeywordEmbedder()
    documents = sorted(TINY_DOCS.items())
    index = BaselineIndex.cached(documents, embedder, tmp_path)
    calls = embedder.passage_calls
    again = BaselineIndex.cached(documents, embedder, tmp_path)
    assert embedder.passage_calls == calls  # loaded from the cache, nothing re-embedded
    assert [c.id for c in again.chunks] == [c.id for c in index.chunks]
    retriever = BaselineRetriever(index, lambda q: embedder.embed_queries([q])[0])
    hits = retriever.retrieve("LoRA 低秩矩阵", k=3)
    assert "低秩矩阵" in hits[0].chunk.text
    assert {"dense", "sparse", "rrf", "rerank"} <= set(hits[0].scores)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_fitted_threshold_refuses_at_most_five_percent_of_answerable() -> None:
    scores = [0.9, 0.8, 0.85, 0.7, 0.3, 0.75]
    answerable = [True, True, True, True, False, False]
    # highest threshold refusing no answerable question (0 of 4 <= 5%) is 0.7: refuses 0.3 only
    assert fit_min_score(scores, answerable) == 0.7
