"""RAGAs' non-LLM context metrics: NonLLMContextRecall and NonLLMContextPrecisionWithReference.

Both compare the retrieved passages (those numbered for the answerer) with reference contexts by
Levenshtein similarity (a match at > 0.5 for recall, >= 0.5 for precision). A question set may give
``reference_contexts``; when it does not (the bundled dev set gives gold substrings instead), the
reference contexts are *derived*: every passage of the index that contains one of the question's gold
substrings. With derived contexts a retrieved passage matches when it is (nearly) one of those
passages, so the scores are passage-level recall and average precision against gold-bearing passages.
Questions with neither (unanswerable ones) are not scored.
"""
from __future__ import annotations

import asyncio
import math
from typing import Sequence

from rag.core.schema import Chunk
from rag_eval.ragas_support import import_ragas

METRICS = ("non_llm_context_recall", "non_llm_context_precision")


def derived_reference_contexts(gold: Sequence[str], chunks: Sequence[Chunk]) -> list[str]:
    """Texts of the passages that contain any gold substring (in index order, no repeats)."""
    return list(dict.fromkeys(c.text for c in chunks if any(g in c.text for g in gold)))


class NonLLMContextScorer:
    """Scores one question's retrieved contexts against its reference contexts with RAGAs."""

    def __init__(self) -> None:
        import_ragas()
        from ragas.metrics import (
            NonLLMContextPrecisionWithReference,
            NonLLMContextRecall,
        )

        self._recall = NonLLMContextRecall()
        self._precision = NonLLMContextPrecisionWithReference()

    def __call__(self, retrieved: Sequence[str], reference: Sequence[str]) -> dict[str, float]:
        """``{metric: score}``; empty when there is nothing to compare, NaN for a metric that raised."""
        if not retrieved or not reference:
            return {}
        from ragas.dataset_schema import SingleTurnSample

        sample = SingleTurnSample(retrieved_contexts=list(retrieved), reference_contexts=list(reference))
        scores = {}
        for name, metric in zip(METRICS, (self._recall, self._precision)):
            try:
                scores[name] = float(asyncio.run(metric.single_turn_ascore(sample)))
            except Exception:  # counted as NaN in the summary, never a silent zero
                scores[name] = math.nan
        return scores
