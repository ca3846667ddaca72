"""Calibration: the threshold rule, a fit that separates, and cross-validation that refits the threshold."""
import numpy as np

from rag.refusal.fitting import counts, probabilities, threshold_for
from rag.refusal.relevance import FEATURES
from rag_eval.calibrate import cross_validate, fit, model_threshold_for, refused_with_model


def test_threshold_refuses_at_most_the_allowed_share_of_answerable() -> None:
    p = np.array([0.9, 0.8, 0.2, 0.6, 0.1])
    answerable = np.array([True, True, True, False, False])
    # 0.2 refuses nothing answerable (0.1 only); 0.6 would refuse 0.2 (1 of 3 answerable > 5%)
    assert threshold_for(p, answerable) == 0.2
    assert threshold_for(p, answerable, max_wrong=0.34) == 0.8


def _separable(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    answerable = np.arange(n) % 4 != 0
    X = rng.normal(size=(n, len(FEATURES)))
    X[:, 0] += np.where(answerable, 2.0, -2.0)  # "evidence" separates the classes
    return X, answerable


def test_fit_learns_the_separating_feature_and_a_threshold() -> None:
    X, answerable = _separable(80, seed=1)
    model = fit(X, answerable)
    assert model.weights["evidence"] > 0
    refused = probabilities(model, X) < model.threshold
    result = counts(refused, answerable)
    assert result.answerable_refused <= 0.05 * result.answerable
    assert result.unanswerable_refused >= 0.8 * result.unanswerable


def test_cross_validation_counts_every_question_once_per_repeat() -> None:
    X, answerable = _separable(60, seed=2)
    result = cross_validate(X, answerable, folds=5, repeats=3)
    assert (result.unanswerable, result.answerable) == (15, 45)
    assert 0 <= result.answerable_refused <= 45 and 10 <= result.unanswerable_refused <= 15


def test_llm_mode_refusals_by_band() -> None:
    relevance = np.array([0.9, 0.5, 0.5, 0.2])
    declined = np.array([True, False, False, False])
    failed = np.array([False, True, False, False])
    # threshold 0.6, model threshold 0.3: 0.9 declined by the model; 0.5 failed on doubtful evidence;
    # 0.5 passed; 0.2 below the model threshold.
    assert refused_with_model(relevance, declined, failed, 0.6, 0.3).tolist() == [True, True, False, True]
    # A failed draft above the evidence threshold falls back to an extractive answer: not a refusal.
    assert not refused_with_model(np.array([0.9]), np.array([False]), np.array([True]), 0.6, 0.3)[0]


def test_model_threshold_opens_a_band_only_where_it_decides_more_questions_right() -> None:
    relevance = np.array([0.9, 0.5, 0.4, 0.3, 0.1, 0.35])
    answerable = np.array([True, True, True, True, False, False])
    declined = np.zeros(6, bool)
    failed = np.array([False, False, False, True, False, False])
    # No band (0.6): 0.9 answered, 0.5/0.4/0.3 wrongly refused, 0.35/0.1 refused: 3 right. Down to 0.4: the
    # drafts for 0.5 and 0.4 pass: 5 right. Lower, 0.35's draft passes (a wrong answer) and 0.3 failed: fewer.
    assert model_threshold_for(relevance, answerable, declined, failed, threshold=0.6) == 0.4
    # A band that trades one error for another is not opened: here 0.5's draft fails and 0.35's passes.
    failed = np.array([False, True, False, True, False, False])
    declined = np.array([False, False, True, False, False, False])
    assert model_threshold_for(relevance, answerable, declined, failed, threshold=0.6) == 0.6
