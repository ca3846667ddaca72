"""Fit the relevance model (rag/relevance.py) on a question set and report how well it abstains.

    python -m eval.calibrate [--dataset FILE] [--index DIR]

Prints the fitted weights (to paste into DEFAULT_RELEVANCE), the threshold that wrongly refuses at most
5% of answerable questions, and leave-one-out confusion counts so the numbers are not in-sample only.
"""
from __future__ import annotations

import argparse

import numpy as np

from eval.datasets import DEV_SET, load_questions
from ingest.default_index import open_rag
from rag.api import RAG
from rag.config import Config
from rag.relevance import FEATURES, relevance_features

MAX_WRONG_REFUSALS = 0.05


def question_features(rag: RAG, question: str) -> list[float]:
    """Features of the best hit after the configured second stage."""
    hits = rag.retrieve(question, k=1)
    features = relevance_features(rag.evidence.hits(question, hits)[0], rag.evidence.question(question))
    return [features[name] for name in FEATURES]


def threshold_for(probabilities: np.ndarray, answerable: np.ndarray, max_wrong: float = MAX_WRONG_REFUSALS) -> float:
    """The highest threshold that refuses at most `max_wrong` of the answerable questions."""
    candidates = np.sort(np.unique(probabilities))
    ok = [t for t in candidates if np.mean(probabilities[answerable] < t) <= max_wrong]
    return float(max(ok)) if ok else 0.0


def main() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import LeaveOneOut, cross_val_predict

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default=str(DEV_SET))
    parser.add_argument("--index")
    args = parser.parse_args()
    rag = open_rag(args.index, config=Config.load(env={}), progress=False)
    questions = load_questions(args.dataset)
    X = np.array([question_features(rag, q.question) for q in questions])
    answerable = np.array([q.answerable for q in questions])
    mean, std = X.mean(axis=0), X.std(axis=0) + 1e-9
    model = LogisticRegression(C=0.3, class_weight="balanced")
    model.fit((X - mean) / std, answerable.astype(int))
    weights = model.coef_[0] / std
    bias = float(model.intercept_[0] - np.sum(model.coef_[0] * mean / std))
    fitted = model.predict_proba((X - mean) / std)[:, 1]
    threshold = threshold_for(fitted, answerable)
    held_out = cross_val_predict(model, (X - mean) / std, answerable.astype(int), cv=LeaveOneOut(), method="predict_proba")[:, 1]
    print("weights =", {name: round(float(w), 3) for name, w in zip(FEATURES, weights)}, "bias =", round(bias, 3))
    print(f"threshold = {threshold:.3f} (at most {MAX_WRONG_REFUSALS:.0%} of answerable questions refused, in sample)")
    for label, p in (("in-sample", fitted), ("leave-one-out", held_out)):
        t = threshold if label == "in-sample" else threshold_for(p, answerable)
        caught = int(np.sum(p[~answerable] < t))
        wrong = int(np.sum(p[answerable] < t))
        print(f"{label}: unanswerable refused {caught}/{int((~answerable).sum())}, "
              f"answerable wrongly refused {wrong}/{int(answerable.sum())} (threshold {t:.3f})")


if __name__ == "__main__":
    main()
