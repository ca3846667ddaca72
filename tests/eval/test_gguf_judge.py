"""The packaged instruct model (Qwen2.5-Coder-1.5B) as the offline RAGAs judge (a few minutes; marker ``judge``).

Scores must mean something: a clearly faithful and a clearly unfaithful answer to the same question and
context have to come out in that order (a NaN on either side fails the test).
"""
import math

import pytest

from rag.core.config import JudgeConfig
from rag_eval.judge import make_judge
from tests.conftest import KeywordEmbedder

QUESTION = "混合精度训练有什么好处？"
CONTEXT = "混合精度训练同时使用 FP16 和 FP32 两种精度。半精度计算速度更快，显存占用更少，因此可以训练更大的模型。"
FAITHFUL = "混合精度训练的半精度计算速度更快，显存占用更少。"
UNFAITHFUL = "混合精度训练会让模型的准确率提高一倍。它只能在 CPU 上运行。"


@pytest.mark.judge
def test_packaged_instruct_judge_orders_faithful_above_unfaithful() -> None:
    pytest.importorskip("ragas")
    from rag_eval.ragas_judged import JudgedScorer

    judge = make_judge(JudgeConfig(gguf="packaged", max_tokens=384))
    scorer = JudgedScorer(judge, KeywordEmbedder(), metrics=("faithfulness",))  # each metric is minutes of 2-core LLM time
    faithful = scorer(QUESTION, FAITHFUL, [CONTEXT])
    unfaithful = scorer(QUESTION, UNFAITHFUL, [CONTEXT])
    assert set(faithful) == {"faithfulness"}
    assert not math.isnan(faithful["faithfulness"]) and not math.isnan(unfaithful["faithfulness"])
    assert faithful["faithfulness"] > unfaithful["faithfulness"], (faithful, unfaithful)
