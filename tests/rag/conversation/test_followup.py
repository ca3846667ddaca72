"""The cheap rule that decides whether a question needs the turns before it."""
import pytest

from rag.conversation.followup import ORDINAL, is_followup, names_new_topic, ordinal_position


@pytest.mark.parametrize("question", [
    "它有什么缺点？", "第三个是怎么实现的？", "缺点呢？", "那少样本呢？", "有什么缺点？", "怎么解决？", "为什么？",
    "这个方法的代价是什么？", "上述方法哪个最好？", "How does it differ from QLoRA?", "What about the drawbacks?",
    "Why are they important?", "What does the second one do?", "Tell me more.", "Can you give an example?",
])
def test_questions_that_lean_on_the_turn_before_are_follow_ups(question: str) -> None:
    assert is_followup(question)


@pytest.mark.parametrize("question", [
    "混合精度训练有什么缺点？", "今天北京天气怎么样？", "LoRA 是什么？", "What is the capital of France?",
    "尤其是注意力机制有什么作用？", "什么是梯度检查点？", "Python 的 GIL 是什么？", "",
])
def test_questions_that_name_their_topic_stand_alone(question: str) -> None:
    assert not is_followup(question)


@pytest.mark.parametrize(("question", "position"), [
    ("第三个是怎么实现的？", 3), ("第 2 种呢？", 2), ("第十二条", 12), ("最后一个是什么？", -1),
    ("What does the second one do?", 2), ("the 3rd item", 3), ("And the last one?", -1),
])
def test_ordinal_references_name_a_position(question: str, position: int) -> None:
    match = ORDINAL.search(question)
    assert match is not None and ordinal_position(match) == position


def test_a_follow_up_about_something_the_index_never_mentions_is_a_new_topic() -> None:
    known = {"lora": 3, "qlora": 2, "混合": 5, "精度": 5, "样本": 4, "少": 12, "调度": 4, "关系": 9, "训练": 20}
    df = lambda token: known.get(token, 0)  # noqa: E731
    assert names_new_topic("那比特币现在多少钱？", df)  # every topic word unknown
    assert names_new_topic("它和 Kubernetes 的调度器有什么关系？", df)  # a Latin word no passage uses
    assert names_new_topic("What about GPT-5?", df)  # a name no passage uses
    assert not names_new_topic("它和 QLoRA 有什么区别？", df)
    assert not names_new_topic("那少样本呢？", df)  # the ellipsis word is not a topic word
    assert not names_new_topic("第三个是怎么实现的？", df)  # nor are "第三个" and aspect words
    assert not names_new_topic("What about its drawbacks?", df)  # English words are unknown to a Chinese index
    english_index = lambda: "en"  # noqa: E731
    assert not names_new_topic("那比特币现在多少钱？", df, english_index)  # Chinese words are unknown to an English one
    assert names_new_topic("它和 Kubernetes 的调度器有什么关系？", df, english_index)  # names still count
