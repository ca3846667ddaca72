"""Judge-free scores of one answered question, as a flat dict (one record's ``scores``).

A score that does not apply is absent (retrieval metrics of an unanswerable question, grounding of a
refusal); a score that applies but could not be computed is NaN. Summaries count the two apart.
"""
from __future__ import annotations

from typing import Sequence

from rag.answering.answerer import Answer
from rag.answering.citations import CitationChecker
from rag_eval.answers import gold_citations
from rag_eval.datasets import EvalQuestion
from rag_eval.grounding import grounding, numbered_passages, share
from rag_eval.key_facts import key_fact_recall
from rag_eval.retrieval import ndcg_at_k, recall_at_k, reciprocal_rank

KS = (1, 5, 10)


def retrieval_scores(answer: Answer, gold: Sequence[str], ks: Sequence[int] = KS) -> dict[str, float]:
    """recall@k, MRR@10 and nDCG@10 of the answer's ranked hits against gold substrings."""
    scores = {f"recall@{k}": recall_at_k(answer.hits, gold, k) for k in ks}
    scores["mrr@10"] = reciprocal_rank(answer.hits, gold)
    scores["ndcg@10"] = ndcg_at_k(answer.hits, gold)
    return scores


def answer_scores(question: EvalQuestion, answer: Answer, checker: CitationChecker, passages: int) -> dict[str, float]:
    """All judge-free scores of one answer (see the module docstring for absent vs NaN)."""
    scores: dict[str, float] = {}
    if question.answerable and question.gold_substrings:
        scores.update(retrieval_scores(answer, question.gold_substrings))
    if answer.abstained:
        return scores
    numbered = numbered_passages(answer.hits, passages)
    scores["grounding"] = share(*grounding(answer.text, numbered, checker, answer.language, question.question))
    if answer.raw is not None:  # the LLM's unchecked draft, before the check removed anything
        scores["raw_grounding"] = share(*grounding(answer.raw, numbered, checker, answer.language, question.question))
    key_facts = getattr(question, "key_facts", ())
    if question.answerable and key_facts:
        scores["key_fact_recall"] = key_fact_recall(answer.text, key_facts)
    if question.answerable and question.gold_substrings and answer.citations:
        good, count = gold_citations(answer, question.gold_substrings)
        scores["gold_citation_share"] = good / count
    return scores
