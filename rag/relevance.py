"""A calibrated 0..1 relevance for a hit: how likely it is that the passage answers the question.

It combines four evidence measures (see `rag.evidence`) with a logistic model fitted on the dev set
(`python -m eval.calibrate`), so one threshold on the best hit's relevance decides when the documents
don't answer a question.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

from rag.evidence import HitEvidence, QuestionEvidence

FEATURES = ("evidence", "coverage", "asked_only", "unseen")


def relevance_features(hit: HitEvidence, question: QuestionEvidence) -> dict[str, float]:
    """The model's inputs.

    - ``evidence``: best evidence-sentence cosine above the question's median cosine to the corpus
      (e5 cosines are compressed into ~0.75-0.95, so the raw value says little on its own);
    - ``coverage``: IDF-weighted share of question terms in the passage;
    - ``asked_only``: by how much a bare question (no answer under it) outmatches this evidence;
    - ``unseen``: share of question terms the corpus never uses.
    """
    return {
        "evidence": hit.best_sentence - question.baseline,
        "coverage": hit.coverage,
        "asked_only": max(0.0, question.bare_question - hit.best_sentence),
        "unseen": question.unseen,
    }


@dataclass(frozen=True)
class RelevanceModel:
    """``sigmoid(bias + sum(weight * feature))``."""

    bias: float
    weights: Mapping[str, float] = field(default_factory=dict)
    threshold: float = 0.5
    """Below this best-hit relevance, the documents are taken not to answer the question."""

    def __call__(self, features: Mapping[str, float]) -> float:
        z = self.bias + sum(self.weights.get(name, 0.0) * value for name, value in features.items())
        return 1.0 / (1.0 + math.exp(-z))


# Fitted by `python -m eval.calibrate` on eval/data/dev.jsonl (see the README for its cross-validated
# confusion counts). The threshold keeps wrongly refused answerable questions at or below 5%.
DEFAULT_RELEVANCE = RelevanceModel(
    bias=-2.85,
    weights={"evidence": 55.296, "coverage": 3.931, "asked_only": -83.208, "unseen": -2.704},
    threshold=0.408,
)
