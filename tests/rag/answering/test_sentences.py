"""The sentence ranking both the excerpts and the extractive answer use: section headings and question kinds."""
from pathlib import Path

import pytest

from rag.answering.sentences import SentenceRanker, asks_for_a_list, kind_agreement, question_kind
from rag.core.config import Config
from rag.core.schema import Hit
from rag.index.local import IndexStore
from rag.retrieval.evidence import EvidenceScorer
from rag.retrieval.retriever import Retriever
from rag_ingest.builder import IndexBuilder

NOTES = """# 混合精度

## 5. 混合精度训练的优势是什么？

* 训练速度更快。

## 6. 混合精度训练的挑战是什么？

* 训练更慢。
"""


@pytest.mark.parametrize(("question", "kind"), [
    ("混合精度训练有什么好处？", "benefits"), ("What are the advantages of LoRA?", "benefits"),
    ("全量微调最主要的坏处有哪些？", "drawbacks"), ("What are the challenges of RLHF?", "drawbacks"),
    ("如何进行混合精度训练？", "steps"), ("什么是 LoRA？", None), ("优缺点各有哪些？", None),
])
def test_the_kind_a_question_asks_for(question: str, kind: str | None) -> None:
    assert question_kind(question) == kind


def test_a_heading_agrees_with_the_kind_or_names_its_opposite() -> None:
    assert kind_agreement("benefits", "5. 混合精度训练的优势是什么？") == 1
    assert kind_agreement("benefits", "6. 混合精度训练的挑战是什么？") == -1
    assert kind_agreement("steps", "6. 混合精度训练的挑战是什么？") == 0  # steps have no opposite
    assert kind_agreement(None, "优势") == 0 and kind_agreement("benefits", "") == 0


def test_list_questions() -> None:
    assert asks_for_a_list("混合精度训练有什么好处？") and asks_for_a_list("What are the steps of RLHF?")
    assert not asks_for_a_list("什么是 KV cache？") and not asks_for_a_list("Who proposed BERT?")


@pytest.fixture
def ranker(tmp_path: Path, keyword_embedder) -> SentenceRanker:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.md").write_text(NOTES, encoding="utf-8")
    IndexBuilder(Config(), keyword_embedder).build([tmp_path / "docs"], tmp_path / "index", progress=False)
    retriever = Retriever(IndexStore.open(tmp_path / "index"), keyword_embedder)
    return SentenceRanker(EvidenceScorer(retriever.store, retriever.query_vector), keyword_embedder.embed_passages)


def test_sentences_under_the_heading_the_question_asks_about_rank_first(ranker: SentenceRanker) -> None:
    (chunk,) = ranker.scorer.store.chunks  # both sub-sections fit one passage
    hits = [Hit(chunk, 1.0)]
    ranked = ranker.rank("混合精度训练有什么好处", hits)
    # Word for word the challenge item matches a little better (a shorter sentence holding 训练), but the
    # question asks for benefits and the other heading names them.
    assert ranked[0].section.heading == "5. 混合精度训练的优势是什么？"
    assert {s.section.heading for s in ranked} == {"5. 混合精度训练的优势是什么？", "6. 混合精度训练的挑战是什么？"}
    unweighted = SentenceRanker(ranker.scorer, ranker._embed_passages, polarity_weight=0.0)
    assert unweighted.rank("混合精度训练有什么好处", hits)[0].section.heading == "6. 混合精度训练的挑战是什么？"
    # The heading's own similarity counts too: asking about 挑战 ranks the challenge item first.
    assert ranker.rank("混合精度训练的挑战", hits)[0].section.heading == "6. 混合精度训练的挑战是什么？"
    assert all(s.is_list_item for s in ranked) and ranked[0].passage == 0
