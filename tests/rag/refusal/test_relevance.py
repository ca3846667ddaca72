import math

import pytest

from rag.core.config import Config
from rag.core.schema import Hit
from rag.index.local import IndexStore
from rag.refusal.relevance import (
    DEFAULT_RELEVANCE,
    FEATURES,
    RelevanceModel,
    RelevanceScorer,
    relevance_features,
)
from rag.retrieval.evidence import EvidenceScorer, HitEvidence, QuestionEvidence
from rag.retrieval.retriever import Retriever
from rag_ingest.builder import IndexBuilder


def test_features_by_hand() -> None:
    hit = HitEvidence(dense=0.85, best_sentence=0.90, sentence_span=(0, 5), coverage=0.5)
    question = QuestionEvidence(baseline=0.80, bare_question=0.95, unseen=0.25, unseen_name=1.0)
    features = relevance_features(hit, question)
    assert features == pytest.approx(
        {"evidence": 0.10, "coverage": 0.5, "asked_only": 0.05, "unseen": 0.25, "unseen_name": 1.0}
    )
    assert set(features) == set(FEATURES)
    # A bare question that matches worse than the evidence does not count against it.
    assert relevance_features(hit, QuestionEvidence(0.8, 0.7, 0.0))["asked_only"] == 0.0


def test_logistic_model_by_hand() -> None:
    model = RelevanceModel(bias=-1.0, weights={"evidence": 10.0, "coverage": 2.0})
    # z = -1 + 10 * 0.1 + 2 * 0.5 = 1  ->  sigmoid(1) = 0.731
    assert model({"evidence": 0.1, "coverage": 0.5, "unseen": 3.0}) == pytest.approx(1 / (1 + math.exp(-1)))


def test_default_model_prefers_evidence_and_penalises_bare_questions() -> None:
    strong = {"evidence": 0.12, "coverage": 0.8, "asked_only": 0.0, "unseen": 0.0, "unseen_name": 0.0}
    asked_only = {**strong, "asked_only": 0.05}
    names_the_unknown = {**strong, "unseen_name": 1.0}
    off_topic = {"evidence": 0.03, "coverage": 0.1, "asked_only": 0.0, "unseen": 0.7, "unseen_name": 0.0}
    assert DEFAULT_RELEVANCE(strong) > DEFAULT_RELEVANCE.threshold
    assert DEFAULT_RELEVANCE(asked_only) < DEFAULT_RELEVANCE(strong)
    assert DEFAULT_RELEVANCE(names_the_unknown) < DEFAULT_RELEVANCE(strong)
    assert DEFAULT_RELEVANCE(off_topic) < DEFAULT_RELEVANCE.threshold


def test_relevance_scorer_adds_the_models_relevance_and_keeps_the_order(tiny_corpus, tmp_path, keyword_embedder) -> None:
    IndexBuilder(Config(), keyword_embedder).build([tiny_corpus], tmp_path / "index", progress=False)
    retriever = Retriever(IndexStore.open(tmp_path / "index"), keyword_embedder)
    scorer = EvidenceScorer(retriever.store, retriever.query_vector)
    hits = [Hit(chunk, 0.5, scores={"rrf": 0.5}) for chunk in reversed(retriever.store.chunks)]
    model = RelevanceModel(bias=0.3, weights={"evidence": 2.0, "coverage": -1.0}, threshold=0.4)
    scored = RelevanceScorer(scorer, model).score("KV cache 加速生成", hits)
    assert [h.chunk.id for h in scored] == [h.chunk.id for h in hits] and all(h.scores["rrf"] == 0.5 for h in scored)
    asked = scorer.question("KV cache 加速生成")
    expected = [model(relevance_features(evidence, asked)) for evidence in scorer.hits("KV cache 加速生成", hits)]
    assert [h.scores["relevance"] for h in scored] == pytest.approx(expected)
    assert RelevanceScorer(scorer, model).score("KV cache", []) == []
