"""The numpy fit behind `rag calibrate`: the same objective as scikit-learn's, and cross-validation by group."""
import numpy as np
import pytest

from rag.refusal.fitting import CountedQuantile, cross_validate, fit_relevance, group_folds, logistic, probabilities
from rag.refusal.relevance import FEATURES


def test_logistic_matches_scikit_learns_balanced_l2_fit() -> None:
    sklearn = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(96, 5))
    y = (X @ [1.0, 2.0, -1.0, 0.5, 0.0] + rng.normal(size=96) > 0.8).astype(int)
    reference = sklearn.LogisticRegression(C=0.3, class_weight="balanced", tol=1e-10, max_iter=10_000).fit(X, y)
    weights, intercept = logistic(X, y.astype(float), C=0.3)
    assert np.allclose(weights, reference.coef_[0], atol=1e-4) and intercept == pytest.approx(reference.intercept_[0], abs=1e-4)


def test_the_fitted_threshold_refuses_at_most_the_allowed_share_and_is_rounded_down() -> None:
    rng = np.random.default_rng(3)
    answerable = np.arange(100) % 3 != 0
    X = rng.normal(size=(100, len(FEATURES)))
    X[:, 0] += np.where(answerable, 1.5, -1.5)
    model = fit_relevance(X, answerable, CountedQuantile(0.05))
    refused = probabilities(model, X) < model.threshold
    assert np.sum(refused & answerable) <= 0.05 * np.sum(answerable)
    assert model.threshold == round(model.threshold, 3) and model.weights["evidence"] > 0


def test_a_groups_rows_are_held_out_together() -> None:
    groups = [0, 0, 1, 1, 2, 2, 3, 4, 5, 6]
    folds = group_folds(groups, 3, np.random.default_rng(0))
    assert sorted(np.concatenate(folds).tolist()) == list(range(10))
    for fold in folds:
        held = {groups[i] for i in fold}
        assert all(i in fold for i in range(10) if groups[i] in held)


def test_cross_validation_counts_every_example_once_per_repeat() -> None:
    rng = np.random.default_rng(2)
    answerable = np.arange(60) % 4 != 0
    X = rng.normal(size=(60, len(FEATURES)))
    X[:, 0] += np.where(answerable, 2.0, -2.0)
    result = cross_validate(X, answerable, groups=np.arange(60) // 2, folds=5, repeats=3)
    assert (result.unanswerable, result.answerable) == (15, 45)
    assert 10 <= result.unanswerable_refused <= 15 and result.answerable_refused <= 10


def test_the_smooth_threshold_is_the_normal_quantile_of_the_answerable_logits_and_ignores_the_unanswerable() -> None:
    from rag.refusal.fitting import smooth_threshold_for

    logits = np.array([-1.0, 0.0, 1.0, 2.0, 3.0])  # mean 1, population std sqrt(2)
    p = 1 / (1 + np.exp(-logits))
    answerable = np.array([True] * 5)
    t = smooth_threshold_for(np.append(p, 0.99), np.append(answerable, False), max_wrong=0.025)
    assert np.log(t / (1 - t)) == pytest.approx(1 - 1.959964 * np.sqrt(2), abs=1e-5)
    # one outlier moves it a little, not to the next question
    moved = smooth_threshold_for(np.append(p, 1e-4), np.append(answerable, True), max_wrong=0.025)
    assert 0 < moved < t


def test_a_prior_keeps_the_weight_of_a_feature_the_examples_cannot_teach() -> None:
    from rag.refusal.relevance import RelevanceModel

    rng = np.random.default_rng(5)
    answerable = np.arange(80) % 2 == 0
    X = rng.normal(size=(80, len(FEATURES)))
    X[:, 0] += np.where(answerable, 1.5, -1.5)
    unseen = FEATURES.index("unseen")
    X[:, unseen] = 0.0  # no generated question holds a term the documents lack
    prior = RelevanceModel(bias=0.0, weights={name: 0.5 for name in FEATURES} | {"unseen": -3.0})
    assert fit_relevance(X, answerable).weights["unseen"] == pytest.approx(0.0, abs=1e-6)
    assert fit_relevance(X, answerable, prior=prior).weights["unseen"] == pytest.approx(-3.0, abs=1e-6)
    # with a prior, an informative feature still follows the examples
    assert fit_relevance(X, answerable, prior=prior).weights["evidence"] > 0.5
    weights, _ = logistic(X[:, :1], answerable.astype(float), prior=np.zeros(1))
    assert np.allclose(weights, logistic(X[:, :1], answerable.astype(float))[0])


def _with_logits(answerable_logits: np.ndarray, off_topic_logits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    logits = np.concatenate([answerable_logits, off_topic_logits])
    answerable = np.arange(len(logits)) < len(answerable_logits)
    return 1 / (1 + np.exp(-logits)), answerable, ~answerable


def test_the_cost_threshold_is_where_the_weighted_normal_tails_balance() -> None:
    from rag.refusal.fitting import cost_threshold_for

    unit = np.array([-1.0, 1.0])  # mean 0, population std 1
    p, answerable, off_topic = _with_logits(2 + unit, -2 + unit)
    even = cost_threshold_for(p, answerable, off_topic, cost=1)
    assert np.log(even / (1 - even)) == pytest.approx(0.0, abs=0.01)
    # 4 φ(t - 2) = φ(t + 2)  ⇔  t = -ln(4) / 4: a wrong refusal costing more moves the threshold towards the off-topic
    costly = cost_threshold_for(p, answerable, off_topic, cost=4)
    assert np.log(costly / (1 - costly)) == pytest.approx(-np.log(4) / 4, abs=0.01)


def test_the_off_topic_rule_falls_back_to_the_answerable_quantile_with_few_off_topic_examples() -> None:
    from rag.refusal.fitting import NormalQuantile, OffTopicCost

    rule = OffTopicCost(cost=4, fallback=NormalQuantile(0.025), least=8)
    p, answerable, off_topic = _with_logits(np.linspace(0, 4, 20), np.full(7, -3.0))
    assert rule(p, answerable, off_topic) == NormalQuantile(0.025)(p, answerable, off_topic)
    p, answerable, off_topic = _with_logits(np.linspace(0, 4, 20), np.linspace(-4, -2, 8))
    assert rule(p, answerable, off_topic) != NormalQuantile(0.025)(p, answerable, off_topic)
