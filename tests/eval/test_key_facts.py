"""Key-fact recall by hand: markers, spacing and case don't matter; facts in other words are missed."""
import math

from rag_eval.key_facts import key_fact_recall


def test_key_fact_recall_by_hand() -> None:
    answer = "半精度计算速度更快[1]，显存占用更少【2】。Uses FP16 [1, 3]."
    # 计算速度 yes, 显存占用更少 yes (the marker between is removed), fp16 yes (case), 降低成本 no -> 3/4
    assert key_fact_recall(answer, ["计算速度", "显存占用更少", "fp16", "降低成本"]) == 0.75
    assert key_fact_recall("计算 速度", ["计算速度"]) == 1.0  # spacing is ignored
    assert math.isnan(key_fact_recall(answer, []))
