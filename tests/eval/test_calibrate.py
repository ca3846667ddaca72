"""Calibration: the threshold rule, a fit that separates, and cross-validation that refits the threshold."""
import numpy as np

from eval.calibrate import counts, cross_validate, fit, probabilities, threshold_for
from rag.relevance import FEATURES


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
