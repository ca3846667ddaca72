"""The packaged Gemma 3 270M GGUF as a RAGAs judge on 2 questions (about two minutes; marker ``judge``).

A 270M base model is a poor judge; this proves the local path runs end to end and that whatever it
writes becomes a score in [0, 1] or a counted NaN, never a crash or a fake zero.
"""
import math

import pytest

from eval.judge import JudgeSettings, make_judge
from tests.conftest import KeywordEmbedder


@pytest.mark.judge
def test_packaged_gguf_judge_on_two_questions() -> None:
    pytest.importorskip("ragas")
    from eval.ragas_judged import JudgedScorer

    judge = make_judge(JudgeSettings(gguf="packaged", max_tokens=256))
    scorer = JudgedScorer(judge, KeywordEmbedder())
    for question, answer, context in [
        ("混合精度训练有什么好处？", "半精度计算速度更快，显存占用更少[1]。", "混合精度训练使用 FP16 和 FP32。半精度计算速度更快，显存占用更少。"),
        ("What is LoRA?", "LoRA adapts a pretrained model with low-rank matrices [1].", "LoRA 通过低秩矩阵适配预训练模型。"),
    ]:
        scores = scorer(question, answer, [context])
        assert set(scores) == {"faithfulness", "answer_relevancy"}
        assert all(math.isnan(v) or 0.0 <= v <= 1.0 for v in scores.values())
