"""The refusal decision: one policy, one relevance scale whichever reranker ordered the hits."""
from __future__ import annotations

from pathlib import Path

import pytest

from rag.answering.citations import CheckedAnswer, CheckedSentence
from rag.api import RAG
from rag.core.config import Config
from rag.core.schema import Chunk, Hit
from rag.index.local import IndexStore
from rag.refusal.policy import RefusalPolicy
from rag.refusal.relevance import DEFAULT_RELEVANCE, RelevanceModel
from rag_ingest.builder import IndexBuilder


def _hit(relevance: float) -> Hit:
    return Hit(Chunk("c", "d.md", "正文。", 0, 3), 1.0, {"relevance": relevance})


def test_threshold_defaults_to_the_relevance_model_and_can_be_overridden() -> None:
    assert RefusalPolicy().threshold == DEFAULT_RELEVANCE.threshold
    policy = RefusalPolicy(RelevanceModel(bias=0.0, threshold=0.7), threshold=0.2)
    assert policy.threshold == 0.2 and policy.answerable([_hit(0.2)]) and not policy.answerable([_hit(0.19)])
    assert not policy.answerable([])


def test_the_doubtful_band_lies_between_the_model_threshold_and_the_threshold() -> None:
    policy = RefusalPolicy(RelevanceModel(bias=0.0, threshold=0.5, model_threshold=0.3))
    assert (policy.threshold, policy.model_threshold) == (0.5, 0.3)
    assert policy.answerable([_hit(0.5)]) and policy.worth_drafting([_hit(0.5)])
    assert not policy.answerable([_hit(0.4)]) and policy.worth_drafting([_hit(0.4)])
    assert not policy.worth_drafting([_hit(0.29)]) and not policy.worth_drafting([])
    # An overridden threshold means no band unless one is asked for; a model threshold never exceeds it.
    assert RefusalPolicy(policy.relevance, threshold=0.6).model_threshold == 0.6
    assert RefusalPolicy(policy.relevance, threshold=0.6, model_threshold=0.2).model_threshold == 0.2
    assert RefusalPolicy(policy.relevance, model_threshold=0.9).model_threshold == 0.5
    assert RefusalPolicy(RelevanceModel(bias=0.0, threshold=0.5)).model_threshold == 0.5


def test_the_models_own_no_answer_is_a_refusal_unless_distrusted() -> None:
    said = CheckedAnswer("", (CheckedSentence("资料中没有提到。", (), "removed", 0.0, "no-answer"),), ())
    assert RefusalPolicy().model_declined("资料中没有答案。", CheckedAnswer("", (), ()).says_no_answer)
    assert RefusalPolicy().model_declined("资料中没有提到。", said.says_no_answer)
    assert not RefusalPolicy(trust_model=False).model_declined("资料中没有答案。", said.says_no_answer)
    assert not RefusalPolicy().model_declined("混合精度更快[1]。", CheckedAnswer("混合精度更快[1]。", (), ()).says_no_answer)


class OrderOnlyReranker:
    """A model reranker stand-in: reverses the order and scores 0.99/0.98/…, like a confident cross-encoder."""

    spec = "test:reverse"

    def warm_up(self) -> None:
        pass

    def rerank(self, question, hits):
        import dataclasses

        return [dataclasses.replace(h, score=0.99 - i / 100, scores={**h.scores, "rerank": 0.99 - i / 100})
                for i, h in enumerate(reversed(hits))]


@pytest.fixture
def rag(tiny_corpus: Path, tmp_path: Path, keyword_embedder) -> RAG:
    IndexBuilder(Config(), keyword_embedder).build([tiny_corpus], tmp_path / "index", progress=False)
    return RAG(IndexStore.open(tmp_path / "index"), Config(), keyword_embedder)


def test_relevance_is_the_same_scale_with_any_reranker_or_none(rag: RAG) -> None:
    question = "KV cache 有什么用？"
    plain = {h.chunk.id: h.scores["relevance"] for h in rag.retrieve(question, k=30, rerank=False)}
    fields = rag._view.__dataclass_fields__
    rag._view = rag._view.__class__(*[OrderOnlyReranker() if f == "reranker" else getattr(rag._view, f) for f in fields])
    reordered = rag.retrieve(question, k=3)
    assert reordered and [h.scores["rerank"] for h in reordered] == [0.99, 0.98, 0.97][: len(reordered)]
    for hit in reordered:  # the evidence model's relevance, not the reranker's score
        assert hit.scores["relevance"] == pytest.approx(plain[hit.chunk.id]) and hit.scores["relevance"] != hit.score
    assert rag.is_answerable(reordered) == (reordered[0].scores["relevance"] >= rag.refusal.threshold)
