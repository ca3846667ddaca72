"""Hand-checkable harness metrics: nDCG, grounding, percentiles, NaN accounting, compare."""
import math

import pytest

from rag.answering.citations import CitationChecker
from rag.core.errors import ConfigError
from rag.core.schema import Chunk, Hit
from rag_eval.compare import metric_deltas, worse_questions
from rag_eval.configs import parse_configs
from rag_eval.grounding import grounding, share
from rag_eval.judge import repair_json
from rag_eval.retrieval import ndcg_at_k
from rag_eval.stats import mean_with_failures, percentile
from rag_eval.summary import summarize


def _hits(*texts: str) -> list[Hit]:
    return [Hit(Chunk(str(i), "d", text, 0, len(text)), 1.0 / (i + 1)) for i, text in enumerate(texts)]


def test_ndcg_binary_gain_for_new_gold_only() -> None:
    # one gold at rank 2: DCG = 1/log2(3) = 0.6309; ideal = 1/log2(2) = 1
    assert ndcg_at_k(_hits("无关", "含 甲", "无关"), ["甲"]) == pytest.approx(1 / math.log2(3))
    # gold 甲 at rank 1 and again at rank 2 (no new gold: gain 0), 乙 at rank 3:
    # DCG = 1 + 1/log2(4) = 1.5; ideal = 1 + 1/log2(3) = 1.6309 -> 0.9197
    assert ndcg_at_k(_hits("甲", "甲", "乙"), ["甲", "乙"]) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    assert ndcg_at_k(_hits("甲乙"), ["甲", "乙"]) == pytest.approx(1 / (1 + 1 / math.log2(3)))  # one passage, one gain
    assert ndcg_at_k(_hits("无关"), ["甲"]) == 0.0
    assert ndcg_at_k(_hits("甲"), ["甲"], k=1) == 1.0


def test_grounding_counts_sentences_their_own_citations_support() -> None:
    p1 = Chunk("a", "d", "混合精度训练使用半精度计算，速度更快，显存占用更少。", 0, 26)
    p2 = Chunk("b", "d", "LoRA 通过低秩矩阵适配预训练模型。", 0, 20)
    checker = CitationChecker()
    text = "混合精度训练使用半精度计算，速度更快[1]。LoRA 通过低秩矩阵适配预训练模型[1]。"
    # sentence 1 is held by passage 1 (kept); sentence 2 cites 1 but only passage 2 holds it (attached): 1 of 2
    assert grounding(text, {1: p1, 2: p2}, checker) == (1, 2)
    assert grounding("LoRA 通过低秩矩阵适配预训练模型[2]。", {1: p1, 2: p2}, checker) == (1, 1)
    assert grounding("月亮是奶酪做的，大家都知道[1]。", {1: p1}, checker) == (0, 1)
    assert grounding("", {1: p1}, checker) == (0, 0)
    assert math.isnan(share(0, 0)) and share(1, 2) == 0.5


def test_percentile_is_nearest_rank() -> None:
    assert percentile([4, 1, 3, 2], 50) == 2          # ceil(0.5*4)=2nd smallest
    assert percentile([4, 1, 3, 2], 95) == 4          # ceil(0.95*4)=4th
    assert percentile(range(1, 101), 95) == 95
    assert math.isnan(percentile([], 50))


def test_nan_is_counted_apart_never_as_zero() -> None:
    assert mean_with_failures([1.0, math.nan, 0.5]) == {"mean": 0.75, "n": 2, "nan": 1}
    stats = mean_with_failures([math.nan])
    assert math.isnan(stats["mean"]) and stats["n"] == 0 and stats["nan"] == 1


def _record(config, qid, answerable, abstained, scores, total_ms=10.0):
    return {"config": config, "id": qid, "question": qid, "answerable": answerable, "abstained": abstained,
            "fallback": None, "scores": scores, "timings": {"total_ms": total_ms}}


def test_summary_per_config() -> None:
    records = [
        _record("a", "q1", True, False, {"mrr@10": 1.0, "grounding": 1.0}, 10),
        _record("a", "q2", True, True, {"mrr@10": 0.5}, 30),
        _record("a", "q3", False, True, {}, 20),
        _record("a", "q4", False, False, {"grounding": None, "faithfulness": math.nan}, 40),  # None: NaN read from JSON
    ]
    s = summarize(records)["a"]
    assert s["metrics"]["mrr@10"] == {"mean": 0.75, "n": 2, "nan": 0}
    assert s["metrics"]["grounding"] == {"mean": 1.0, "n": 1, "nan": 1}
    assert s["metrics"]["faithfulness"]["nan"] == 1
    assert s["abstention"] == {"unanswerable": 2, "unanswerable_refused": 1, "answerable": 2, "answerable_refused": 1}
    assert s["latency_ms"]["total_ms"] == {"p50": 20, "p95": 40, "n": 4}


def test_compare_deltas_and_worse_questions() -> None:
    a = {"configs": {"x": {"metrics": {"mrr@10": {"mean": 0.5}}}}}
    b = {"configs": {"x": {"metrics": {"mrr@10": {"mean": 0.75}}}, "y": {"metrics": {}}}}
    assert metric_deltas(a, b) == [("x", "mrr@10", 0.5, 0.75, 0.25)]
    ra = [_record("x", "q1", True, False, {"mrr@10": 1.0}), _record("x", "q2", False, True, {})]
    rb = [_record("x", "q1", True, False, {"mrr@10": 0.5}), _record("x", "q2", False, False, {})]
    assert worse_questions(ra, rb) == [("x", "q1", "mrr@10", 1.0, 0.5), ("x", "q2", "abstained", 1.0, 0.0)]


def test_configs_parse_and_reject_unknown() -> None:
    assert [c.name for c in parse_configs("hybrid, llm,hybrid")] == ["hybrid", "llm"]
    assert parse_configs("no-rerank")[0].rerank is False
    with pytest.raises(ConfigError, match="bogus"):
        parse_configs("hybrid,bogus")


@pytest.mark.parametrize(("text", "expected"), [
    ('Sure! ```json\n{"a": [1, 2]}\n``` done', '{"a": [1, 2]}'),
    ('Here you go: {"s": "中文 {x}"} trailing', '{"s": "中文 {x}"}'),
    ('{"a": 1,}', '{"a": 1}'),
    ('{"q": "say \\"hi\\" {"}', '{"q": "say \\"hi\\" {"}'),
    ("no json here", "no json here"),
])
def test_repair_json(text: str, expected: str) -> None:
    assert repair_json(text) == expected
