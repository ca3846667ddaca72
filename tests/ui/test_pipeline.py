"""The UI's settings reach `RAG.stream`, and every stage is timed."""
from __future__ import annotations

from pathlib import Path

import pytest

from rag.answering.answerer import Answer
from rag.api import RAG
from rag.core.config import Config
from rag.index.local import IndexStore
from rag_ingest.builder import IndexBuilder
from rag_ui.pipeline import AskSettings, answer_events


@pytest.fixture
def rag(tiny_corpus: Path, tmp_path: Path, keyword_embedder) -> RAG:
    IndexBuilder(Config(), keyword_embedder).build([tiny_corpus], tmp_path / "index", progress=False)
    config = Config()
    config.rerank.min_relevance = 0.0
    return RAG(IndexStore.open(tmp_path / "index"), config, keyword_embedder)


@pytest.mark.parametrize("k, rerank", [(1, True), (3, True), (3, False)])
def test_hits_equal_rag_retrieve(rag: RAG, k: int, rerank: bool) -> None:
    timings: dict[str, float] = {}
    (answer,) = answer_events(rag, "KV cache 有什么用？", AskSettings(mode="extractive", top_k=k, rerank=rerank))
    theirs = rag.retrieve("KV cache 有什么用？", k=k, rerank=rerank, timings=timings)
    assert [(h.chunk.id, h.scores) for h in answer.hits] == [(h.chunk.id, h.scores) for h in theirs]
    assert timings["retrieve_ms"] == pytest.approx(timings["first_stage_ms"] + timings["rerank_ms"])


def test_answer_events_end_with_a_timed_answer(rag: RAG) -> None:
    events = list(answer_events(rag, "什么是 LoRA？", AskSettings(mode="extractive", top_k=2)))
    (answer,) = events
    assert isinstance(answer, Answer) and answer.citations and len(answer.hits) == 2
    assert {"first_stage_ms", "rerank_ms", "retrieve_ms", "total_ms"} <= set(answer.timings)


def test_the_reading_line_names_each_passage_by_number_as_the_draft_will_cite_it() -> None:
    from rag.answering.answerer import Reading
    from rag.answering.excerpts import Excerpt
    from rag.core.schema import Chunk, Hit
    from rag_ui.chat_page import reading_line
    from rag_ui.render import escape_inline

    hits = (Hit(Chunk("c1", "a.md", "x", 0, 1, ()), 0.9, {}), Hit(Chunk("c2", "b*.md", "y", 0, 1, ()), 0.8, {}))
    line = reading_line(Reading((Excerpt(1, "LoRA 原理", "x"), Excerpt(2, "", "y")), hits))
    assert line == f"Reading: [1] {escape_inline('LoRA 原理')} · [2] {escape_inline('b*.md')}"  # no heading: the file


def test_the_progress_label_says_what_the_model_is_reading() -> None:
    from rag.answering.answerer import Progress
    from rag_ui.chat_page import progress_label

    assert progress_label(3, Progress(128, 350)) == "Reading 3 passages… 128 of 350 tokens"
    assert progress_label(1, Progress(0, 40)) == "Reading 1 passage… 0 of 40 tokens"
    assert progress_label(3, Progress(20, 40, attempt=2)).startswith("Reading the revision request")
    assert Progress(0, 0).share == 1.0 and Progress(35, 350).share == 0.1


def test_the_retelling_label_says_how_many_sentences_are_translated() -> None:
    from rag.answering.answerer import Retelling
    from rag_ui.chat_page import retelling_label

    assert retelling_label(Retelling(1, 2, "zh")) == "Retelling the answer in Chinese… 1 of 2 sentences"
    assert retelling_label(Retelling(0, 1, "zh")) == "Retelling the answer in Chinese… 0 of 1 sentence"
    assert Retelling(1, 4, "zh").share == 0.25 and Retelling(0, 0, "zh").share == 1.0
