"""Retrieval metrics from gold substrings: recall@k and MRR@10, hand-checkable.

A retrieved passage is relevant to a question when its text contains one of the question's gold
substrings. recall@k is the share of a question's gold substrings found in its top k passages
(for one gold substring: 1 if found, else 0); MRR@10 is 1/rank of the first relevant passage in
the top 10 (0 if none); nDCG@10 gives a passage gain 1 when it holds a gold substring no
higher-ranked passage held, discounted by 1/log2(rank + 1), over the ideal (every gold substring
found at ranks 1, 2, ...). All are averaged over the answerable questions.

Chunk-level metrics reward big passages (a 1,200-character passage holds the gold more often than a
300-character one, while a small model reads only a few hundred characters), so retrieval is also scored
at a fixed character budget: ``gold@{N}chars`` is 1 when a gold substring lies wholly within the first N
characters of the retrieved passages' texts read in rank order (N = 400, 800, 1,600).
"""
from __future__ import annotations

import math
import time
from typing import Callable, Sequence

from rag.answering.excerpts import shown
from rag.core.schema import Hit
from rag_eval.datasets import EvalQuestion

SearchFn = Callable[[str], Sequence[Hit]]


def matched_gold(text: str, gold: Sequence[str]) -> set[int]:
    """Indexes of the gold substrings that occur in `text`."""
    return {index for index, substring in enumerate(gold) if substring in text}


def excerpts_hold_gold(text: str, gold: Sequence[str]) -> bool:
    """Whether the text the model read holds a gold substring; excerpts are shown without bold and code markers
    (`rag.answering.excerpts.shown`), so the gold is compared the same way."""
    return any(shown(substring) in text for substring in gold)


def recall_at_k(hits: Sequence[Hit], gold: Sequence[str], k: int) -> float:
    if not gold:
        return 0.0
    found: set[int] = set()
    for hit in hits[:k]:
        found |= matched_gold(hit.chunk.text, gold)
    return len(found) / len(gold)


def reciprocal_rank(hits: Sequence[Hit], gold: Sequence[str], k: int = 10) -> float:
    for rank, hit in enumerate(hits[:k], start=1):
        if matched_gold(hit.chunk.text, gold):
            return 1.0 / rank
    return 0.0


def ndcg_at_k(hits: Sequence[Hit], gold: Sequence[str], k: int = 10) -> float:
    """Binary-gain nDCG: a passage counts once, and only for gold substrings not found above it."""
    if not gold:
        return 0.0
    found: set[int] = set()
    dcg = 0.0
    for rank, hit in enumerate(hits[:k], start=1):
        new = matched_gold(hit.chunk.text, gold) - found
        if new:
            dcg += 1.0 / math.log2(rank + 1)
            found |= new
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(gold), k) + 1))
    return dcg / ideal


CHAR_BUDGETS = (400, 800, 1600)


def gold_within_chars(hits: Sequence[Hit], gold: Sequence[str], budget: int) -> float:
    """1.0 when a gold substring ends within the first `budget` characters of the hits' texts in rank order."""
    offset = 0
    for hit in hits:
        if offset >= budget:
            break
        text = hit.chunk.text
        if any(0 <= text.find(g) and offset + text.find(g) + len(g) <= budget for g in gold):
            return 1.0
        offset += len(text)
    return 0.0


class RetrievalEvaluator:
    """Scores a search function on the answerable questions of a set; returns a flat metric dict."""

    primary_metric = "mrr@10"

    def __init__(self, questions: Sequence[EvalQuestion], ks: Sequence[int] = (1, 5, 10)) -> None:
        self.questions = [q for q in questions if q.answerable and q.gold_substrings]
        self.ks = tuple(ks)
        self.depth = max(max(self.ks), 10)

    def __call__(self, search: SearchFn) -> dict[str, float]:
        return self.score({q.id: list(search(q.question))[: self.depth] for q in self.questions})

    def timed(self, search: SearchFn) -> dict[str, float]:
        """Like calling the evaluator, plus ``ms_per_query`` (mean wall time of `search`)."""
        started = time.perf_counter()
        metrics = self(search)
        metrics["ms_per_query"] = 1000 * (time.perf_counter() - started) / max(len(self.questions), 1)
        return metrics

    def score(self, results: dict[str, Sequence[Hit]]) -> dict[str, float]:
        """Metrics for precomputed results (question id -> ranked hits)."""
        n = len(self.questions)
        metrics: dict[str, float] = {"questions": float(n)}
        if not n:
            return metrics
        for k in self.ks:
            metrics[f"recall@{k}"] = sum(recall_at_k(results[q.id], q.gold_substrings, k) for q in self.questions) / n
        metrics["mrr@10"] = sum(reciprocal_rank(results[q.id], q.gold_substrings) for q in self.questions) / n
        metrics["ndcg@10"] = sum(ndcg_at_k(results[q.id], q.gold_substrings) for q in self.questions) / n
        for budget in CHAR_BUDGETS:
            metrics[f"gold@{budget}chars"] = sum(
                gold_within_chars(results[q.id], q.gold_substrings, budget) for q in self.questions
            ) / n
        return metrics


def abstention_counts(questions: Sequence[EvalQuestion], refused: dict[str, bool]) -> dict[str, float]:
    """Confusion counts of a refuse/answer decision against the questions' `answerable` labels."""
    unanswerable = [q for q in questions if not q.answerable]
    answerable = [q for q in questions if q.answerable]
    caught = sum(refused[q.id] for q in unanswerable)
    wrong = sum(refused[q.id] for q in answerable)
    return {
        "unanswerable": float(len(unanswerable)),
        "unanswerable_refused": float(caught),
        "answerable": float(len(answerable)),
        "answerable_refused": float(wrong),
        "refusal_recall": caught / len(unanswerable) if unanswerable else 0.0,
        "false_refusal_rate": wrong / len(answerable) if answerable else 0.0,
    }
