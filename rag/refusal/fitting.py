"""Fitting the relevance model and its threshold from labelled questions (numpy only, no scikit-learn).

Used by ``rag calibrate`` (labels made from the user's own documents, `rag_ingest.calibration`) and by
``python -m rag_eval.calibrate`` (the bundled tuning part's hand labels, which gave `DEFAULT_RELEVANCE`).

The model is L2-regularised logistic regression on standardised features with balanced class weights
(scikit-learn's ``LogisticRegression(C=0.3, class_weight="balanced")`` objective, solved here by Newton's
method), mapped back to raw feature units; the threshold comes from a `ThresholdRule`:
`CountedQuantile` (the highest that wrongly refuses at most a share of the answerable questions, counted: the
hand-labelled fit), `NormalQuantile` (the same share estimated from a normal fit of their relevance logits:
generated questions include a few outliers, between which the counted quantile jumps) or `OffTopicCost`
(``rag calibrate``: the threshold that best separates the answerable questions from the off-topic ones, both
normal fits, with a wrongly refused answerable question costing more than an answered off-topic one).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Protocol, Sequence

import numpy as np

from rag.refusal.relevance import FEATURES, RelevanceModel

MAX_WRONG_REFUSALS = 0.05
"""Share of answerable questions the fitted threshold may refuse (the rule `DEFAULT_RELEVANCE` was fitted by)."""
REGULARISATION = 0.3
"""Inverse L2 strength (scikit-learn's ``C``), as for `DEFAULT_RELEVANCE`."""


def logistic(
    X: np.ndarray, y: np.ndarray, C: float = REGULARISATION, iterations: int = 100, prior: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Weights and intercept minimising ``0.5 |w - prior|^2 + C * sum_i s_i * logloss_i`` with balanced weights
    ``s_i = n / (2 n_class(i))`` (`prior` defaults to zeros: plain L2); the intercept is not penalised."""
    n, d = X.shape
    positives = float(np.sum(y))
    if positives in (0, n):
        raise ValueError("fitting needs both answerable and unanswerable questions")
    s = np.where(y == 1, n / (2 * positives), n / (2 * (n - positives)))
    A = np.hstack([X, np.ones((n, 1))])
    centre = np.append(np.zeros(d) if prior is None else np.asarray(prior, dtype=float), 0.0)
    theta = centre.copy()
    penalty = np.eye(d + 1) / C
    penalty[d, d] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(A @ theta)))
        gradient = A.T @ (s * (p - y)) + penalty @ (theta - centre)
        hessian = (A * (s * p * (1 - p))[:, None]).T @ A + penalty + 1e-10 * np.eye(d + 1)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    return theta[:d], float(theta[d])


def threshold_for(probabilities: np.ndarray, answerable: np.ndarray, max_wrong: float = MAX_WRONG_REFUSALS) -> float:
    """The highest threshold that refuses at most `max_wrong` of the answerable questions."""
    candidates = np.sort(np.unique(probabilities))
    ok = [t for t in candidates if np.mean(probabilities[answerable] < t) <= max_wrong]
    return float(max(ok)) if ok else 0.0


def smooth_threshold_for(probabilities: np.ndarray, answerable: np.ndarray, max_wrong: float = MAX_WRONG_REFUSALS) -> float:
    """The threshold below which a normal distribution fitted to the answerable questions' relevance, on the logit
    scale, puts `max_wrong` of them: a quantile that moves smoothly with the sample, where `threshold_for` jumps
    from one outlying question to the next."""
    mean, std = _normal_fit(probabilities[answerable])
    return _sigmoid(mean + NormalDist().inv_cdf(max_wrong) * std)


def cost_threshold_for(
    probabilities: np.ndarray, answerable: np.ndarray, off_topic: np.ndarray, cost: float, steps: int = 2001,
) -> float:
    """The threshold minimising ``cost`` × (share of answerable questions refused) + (share of off-topic questions
    answered), both shares from normal fits of the relevance logits, searched between the two means (beyond them a
    wide distribution's tail can make an extreme threshold look cheapest)."""
    answerable_mean, answerable_std = _normal_fit(probabilities[answerable])
    off_mean, off_std = _normal_fit(probabilities[off_topic])
    if off_mean >= answerable_mean:
        return _sigmoid(answerable_mean)
    cuts = np.linspace(off_mean, answerable_mean, steps)
    normal = NormalDist()
    refused = np.array([normal.cdf((c - answerable_mean) / answerable_std) for c in cuts])
    answered = np.array([1 - normal.cdf((c - off_mean) / off_std) for c in cuts])
    return _sigmoid(float(cuts[int(np.argmin(cost * refused + answered))]))


def _normal_fit(probabilities: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of the relevance logits (a floor on the deviation for identical values)."""
    p = np.clip(probabilities, 1e-9, 1 - 1e-9)
    logits = np.log(p / (1 - p))
    return float(logits.mean()), max(float(logits.std()), 1e-3)


def _sigmoid(logit: float) -> float:
    return float(1.0 / (1.0 + math.exp(-logit)))


class ThresholdRule(Protocol):
    """Chooses the refusal threshold from the examples' relevance (`off_topic` marks the off-topic examples)."""

    def __call__(self, probabilities: np.ndarray, answerable: np.ndarray, off_topic: np.ndarray) -> float: ...


@dataclass(frozen=True)
class CountedQuantile:
    """`threshold_for`: at most `max_wrong` of the answerable examples refused, counted."""

    max_wrong: float = MAX_WRONG_REFUSALS

    def __call__(self, probabilities: np.ndarray, answerable: np.ndarray, off_topic: np.ndarray) -> float:
        return threshold_for(probabilities, answerable, self.max_wrong)


@dataclass(frozen=True)
class NormalQuantile:
    """`smooth_threshold_for`: `max_wrong` of the answerable examples refused, by a normal fit."""

    max_wrong: float = MAX_WRONG_REFUSALS

    def __call__(self, probabilities: np.ndarray, answerable: np.ndarray, off_topic: np.ndarray) -> float:
        return smooth_threshold_for(probabilities, answerable, self.max_wrong)


@dataclass(frozen=True)
class OffTopicCost:
    """`cost_threshold_for` against the off-topic examples; `fallback` with fewer than `least` of them."""

    cost: float
    fallback: ThresholdRule = NormalQuantile()
    least: int = 8

    def __call__(self, probabilities: np.ndarray, answerable: np.ndarray, off_topic: np.ndarray) -> float:
        if int(np.sum(off_topic)) < self.least:
            return self.fallback(probabilities, answerable, off_topic)
        return cost_threshold_for(probabilities, answerable, off_topic, self.cost)


def probabilities(model: RelevanceModel, X: np.ndarray) -> np.ndarray:
    return np.array([model(dict(zip(FEATURES, row))) for row in X])


def fit_relevance(
    X: np.ndarray, answerable: np.ndarray, rule: ThresholdRule = CountedQuantile(), C: float = REGULARISATION,
    prior: RelevanceModel | None = None, off_topic: np.ndarray | None = None,
) -> RelevanceModel:
    """Logistic weights (in the raw feature units of `FEATURES`, one column each) and the threshold `rule` sets,
    both from `X` (`off_topic` marks the rows of off-topic questions, for `OffTopicCost`).

    With `prior`, the weights are pulled towards the prior model's instead of towards zero: a feature the examples
    say little about (generated questions rarely hold terms the documents never use) keeps the prior's weight."""
    mean, std = X.mean(axis=0), X.std(axis=0) + 1e-9
    centre = None if prior is None else np.array([prior.weights.get(name, 0.0) for name in FEATURES]) * std
    coef, intercept = logistic((X - mean) / std, answerable.astype(float), C, prior=centre)
    weights = coef / std
    bias = float(intercept - np.sum(coef * mean / std))
    fitted = RelevanceModel(bias=bias, weights={n: float(w) for n, w in zip(FEATURES, weights)})
    off_topic = np.zeros(len(X), dtype=bool) if off_topic is None else np.asarray(off_topic, dtype=bool)
    threshold = rule(probabilities(fitted, X), answerable, off_topic)
    return RelevanceModel(bias=fitted.bias, weights=fitted.weights, threshold=math.floor(threshold * 1000) / 1000)


@dataclass(frozen=True)
class Counts:
    """Refusals on a question set: unanswerable refused and answerable wrongly refused (means when cross-validated)."""

    unanswerable_refused: float
    unanswerable: int
    answerable_refused: float
    answerable: int

    @property
    def refused_share(self) -> float:
        return self.unanswerable_refused / max(self.unanswerable, 1)

    @property
    def wrongly_refused_share(self) -> float:
        return self.answerable_refused / max(self.answerable, 1)

    def __str__(self) -> str:
        return (f"unanswerable refused {self.unanswerable_refused:g}/{self.unanswerable} ({self.refused_share:.0%}), "
                f"answerable wrongly refused {self.answerable_refused:g}/{self.answerable} ({self.wrongly_refused_share:.1%})")


def counts(refused: np.ndarray, answerable: np.ndarray) -> Counts:
    return Counts(float(np.sum(refused & ~answerable)), int(np.sum(~answerable)),
                  float(np.sum(refused & answerable)), int(np.sum(answerable)))


def group_folds(groups: Sequence[int], folds: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Row indices of `folds` folds, every group's rows in one fold (groups dealt at random)."""
    groups = np.asarray(groups)
    unique = rng.permutation(np.unique(groups))
    fold_of = {int(g): i % folds for i, g in enumerate(unique)}
    assignment = np.array([fold_of[int(g)] for g in groups])
    return [np.flatnonzero(assignment == f) for f in range(folds)]


def cross_validate(
    X: np.ndarray, answerable: np.ndarray, groups: Sequence[int] | None = None, folds: int = 5, repeats: int = 10,
    seed: int = 0, rule: ThresholdRule = CountedQuantile(), prior: RelevanceModel | None = None,
    off_topic: np.ndarray | None = None,
) -> Counts:
    """Held-out refusal counts with weights and threshold refitted on every training fold (means over `repeats`).

    Rows of one group (questions written from the same passage) are always held out together."""
    groups = np.arange(len(X)) if groups is None else np.asarray(groups)
    off_topic = np.zeros(len(X), dtype=bool) if off_topic is None else np.asarray(off_topic, dtype=bool)
    rng = np.random.default_rng(seed)
    refused = np.zeros(len(X))
    for _ in range(repeats):
        for held_out in group_folds(groups, folds, rng):
            train = np.setdiff1d(np.arange(len(X)), held_out)
            if len(held_out) == 0 or len(set(answerable[train].tolist())) < 2:
                continue
            model = fit_relevance(X[train], answerable[train], rule, prior=prior, off_topic=off_topic[train])
            refused[held_out] += probabilities(model, X[held_out]) < model.threshold
    mean = refused / repeats
    return Counts(float(np.round(np.sum(mean[~answerable]), 2)), int(np.sum(~answerable)),
                  float(np.round(np.sum(mean[answerable]), 2)), int(np.sum(answerable)))
