"""Whether the documents answer a question: the whole refusal decision, in one place.

Two signals:

1. **Evidence relevance, before any generation.** Every returned hit carries a calibrated 0..1
   ``relevance`` from :class:`rag.refusal.relevance.RelevanceModel` over evidence measures (best evidence
   sentence above the question's median similarity to the corpus, keyword coverage, by how much a
   passage that only *asks* the question outmatches the evidence, share of unseen terms, a name the
   corpus never mentions). It is the same model whichever reranker ordered the hits — a cross-encoder's
   score orders hits but is not a relevance on this scale — so one threshold means one thing.
   Questions the corpus only asks as bare questions land low: the ``asked_only`` measure pushes their
   relevance down.
2. **The model's own judgement, in LLM mode.** The prompt tells the model to reply with a fixed phrase
   when the passages don't answer; that reply, or an answer in which the model says so and no
   supported claim survives the citation check, is a refusal too.

The best hit's relevance falls in one of three bands:

- at or above ``threshold``: answered (by the LLM, or extractively when its draft fails the check);
- below ``model_threshold``: refused, and the LLM is never called;
- in between (LLM mode only): *doubtful* — only an LLM draft that passes the citation check answers;
  a draft that fails it is a refusal, not an extractive fallback. Without an LLM the band is refused.

``threshold`` is fitted on the tuning split from the evidence alone (``python -m rag_eval.calibrate``),
``model_threshold`` from an LLM run on the same split (``--llm-run``); ``rerank.min_relevance`` and
``rerank.min_relevance_llm`` override them.
"""
from __future__ import annotations

from typing import Sequence

from rag.core.schema import Hit
from rag.refusal.relevance import DEFAULT_RELEVANCE, RelevanceModel

NO_ANSWER: dict[str, str] = {"zh": "资料中没有答案。", "en": "The documents do not answer this."}
"""The fixed phrase a model is shown to use when the passages lack the answer."""


def is_no_answer(answer: str) -> bool:
    """True when a generated answer is (or starts with) the :data:`NO_ANSWER` phrase of either language."""
    text = answer.strip().lower()
    return any(text.startswith(phrase.rstrip("。.").lower()) for phrase in NO_ANSWER.values())


class RefusalPolicy:
    """Owns the relevance model, its two thresholds, and whether the LLM's own "no answer" is trusted."""

    def __init__(
        self,
        relevance: RelevanceModel = DEFAULT_RELEVANCE,
        threshold: float | None = None,
        trust_model: bool = True,
        model_threshold: float | None = None,
    ) -> None:
        self.relevance = relevance
        self.threshold = relevance.threshold if threshold is None else threshold
        """Best-hit relevance at or above which the evidence alone is enough to answer."""
        if model_threshold is None and threshold is None:
            model_threshold = relevance.model_threshold
        # An overridden threshold means what it says: no doubtful band unless one is asked for too.
        self.model_threshold = self.threshold if model_threshold is None else min(model_threshold, self.threshold)
        """Best-hit relevance below which even an LLM answer is not attempted (at most `threshold`)."""
        self.trust_model = trust_model

    def answerable(self, hits: Sequence[Hit]) -> bool:
        """Whether the best (first) hit is relevant enough to answer from, with or without a model."""
        return bool(hits) and self._best(hits) >= self.threshold

    def worth_drafting(self, hits: Sequence[Hit]) -> bool:
        """Whether an LLM may try: true for answerable hits, and for doubtful ones (between the two
        thresholds), where only a draft that passes the citation check may answer."""
        return bool(hits) and self._best(hits) >= self.model_threshold

    def model_declined(self, raw: str, says_no_answer: bool) -> bool:
        """Whether the LLM said the passages don't answer: its whole reply (`raw`), or its only content that
        survived the citation check (`says_no_answer`, from `CheckedAnswer.says_no_answer`)."""
        return self.trust_model and (is_no_answer(raw) or says_no_answer)

    @staticmethod
    def _best(hits: Sequence[Hit]) -> float:
        return hits[0].scores.get("relevance", 0.0)
