import math

import pytest

from rag.core.schema import Chunk, Hit
from rag_eval.datasets import EvalQuestion
from rag_eval.retrieval import RetrievalEvaluator, gold_within_chars, recall_at_k, reciprocal_rank


def _hits(*texts: str) -> list[Hit]:
    return [Hit(Chunk(str(i), "d", text, 0, len(text)), 1.0 / (i + 1)) for i, text in enumerate(texts)]


def test_recall_counts_gold_substrings_found_in_the_top_k() -> None:
    hits = _hits("无关", "含有 甲 的段落", "无关", "含有 乙 的段落")
    assert recall_at_k(hits, ["甲", "乙"], 1) == 0.0
    assert recall_at_k(hits, ["甲", "乙"], 2) == 0.5   # 甲 found at rank 2
    assert recall_at_k(hits, ["甲", "乙"], 4) == 1.0   # 乙 found at rank 4
    assert recall_at_k(hits, [], 4) == 0.0


def test_reciprocal_rank_of_the_first_relevant_passage() -> None:
    assert reciprocal_rank(_hits("x", "x", "甲"), ["甲"]) == pytest.approx(1 / 3)
    assert reciprocal_rank(_hits(*["x"] * 10, "甲"), ["甲"]) == 0.0   # rank 11 is outside MRR@10


def test_evaluator_averages_over_answerable_questions_only() -> None:
    questions = [
        EvalQuestion("a", "问甲", gold_substrings=("甲",)),
        EvalQuestion("b", "问乙", gold_substrings=("乙",)),
        EvalQuestion("c", "天气", answerable=False),
    ]
    results = {"问甲": _hits("甲"), "问乙": _hits("x", "乙"), "天气": _hits("甲")}
    metrics = RetrievalEvaluator(questions, ks=(1, 5))(lambda q: results[q])
    # a: rank 1, b: rank 2 -> recall@1 = (1 + 0) / 2, MRR = (1 + 1/2) / 2, nDCG@10 = (1 + 1/log2(3)) / 2
    assert metrics == pytest.approx(
        {"questions": 2.0, "recall@1": 0.5, "recall@5": 1.0, "mrr@10": 0.75, "ndcg@10": (1 + 1 / math.log2(3)) / 2,
         "gold@400chars": 1.0, "gold@800chars": 1.0, "gold@1600chars": 1.0}
    )


def test_gold_within_a_character_budget_reads_the_passages_in_rank_order() -> None:
    hits = _hits("x" * 300, "前言" + "y" * 90 + "金标准" + "z" * 500, "金标准")
    # the gold ends at 300 + 2 + 90 + 3 = 395 characters into the text read in rank order
    assert gold_within_chars(hits, ["金标准"], 395) == 1.0
    assert gold_within_chars(hits, ["金标准"], 394) == 0.0  # a gold cut at the budget does not count
    assert gold_within_chars(hits[:1], ["金标准"], 1600) == 0.0
    assert gold_within_chars(_hits("y" * 900, "金标准"), ["金标准"], 800) == 0.0  # the second passage starts past 800
    assert gold_within_chars(_hits("y" * 900, "金标准"), ["其他", "金标准"], 1600) == 1.0


def test_abstention_counts_by_hand() -> None:
    from rag_eval.retrieval import abstention_counts

    questions = [
        EvalQuestion("a", "q", gold_substrings=("x",)),
        EvalQuestion("b", "q", gold_substrings=("x",)),
        EvalQuestion("c", "q", answerable=False),
        EvalQuestion("d", "q", answerable=False),
    ]
    counts = abstention_counts(questions, {"a": False, "b": True, "c": True, "d": False})
    # one of two unanswerable refused, one of two answerable wrongly refused
    assert counts == {"unanswerable": 2.0, "unanswerable_refused": 1.0, "answerable": 2.0,
                      "answerable_refused": 1.0, "refusal_recall": 0.5, "false_refusal_rate": 0.5}
