"""Whether the documents answer a question: the whole refusal decision, in one place.

Two signals, in order:

1. **Evidence relevance, before any generation.** Every returned hit carries a calibrated 0..1
   ``relevance`` from :class:`rag.relevance.RelevanceModel` over evidence measures (best evidence
   sentence above the question's median similarity to the corpus, keyword coverage, by how much a
   passage that only *asks* the question outmatches the evidence, share of unseen terms). It is the
   same model whichever reranker ordered the hits — a cross-encoder's score orders hits but is not a
   relevance on this scale — so one threshold means one thing. If the best hit's relevance is below
   the threshold the question is refused and the LLM is never called. Questions the corpus only asks
   as bare questions land here: the ``asked_only`` measure pushes their relevance down.
2. **The model's own judgement, in LLM mode.** The prompt tells the model to reply with a fixed phrase
   when the passages don't answer; that reply, or an answer in which the model says so and no
   supported claim survives the citation check, is a refusal too.

The threshold is fitted on the tuning split (``python -m eval.calibrate``); ``rerank.min_relevance``
overrides it.
"""
from __future__ import annotations

from typing import Sequence

from rag.citations import CheckedAnswer
from rag.prompts import is_no_answer
from rag.relevance import DEFAULT_RELEVANCE, RelevanceModel
from rag.schema import Hit


class RefusalPolicy:
    """Owns the relevance model, its threshold, and whether the LLM's own "no answer" is trusted."""

    def __init__(
        self, relevance: RelevanceModel = DEFAULT_RELEVANCE, threshold: float | None = None, trust_model: bool = True
    ) -> None:
        self.relevance = relevance
        self.threshold = relevance.threshold if threshold is None else threshold
        """Best-hit relevance below which the documents are taken not to answer."""
        self.trust_model = trust_model

    def answerable(self, hits: Sequence[Hit]) -> bool:
        """Whether the best (first) hit is relevant enough to answer from."""
        return bool(hits) and hits[0].scores.get("relevance", 0.0) >= self.threshold

    def model_declined(self, raw: str, checked: CheckedAnswer) -> bool:
        """Whether the LLM said the passages don't answer (its whole reply, or its only surviving content)."""
        return self.trust_model and (is_no_answer(raw) or checked.says_no_answer)
