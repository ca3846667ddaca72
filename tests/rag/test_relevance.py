import math

import pytest

from rag.evidence import HitEvidence, QuestionEvidence
from rag.relevance import DEFAULT_RELEVANCE, FEATURES, RelevanceModel, relevance_features


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
