"""Earlier turns: how many and how much is read, what an answer enumerates, and answers recognised by their text."""
from rag.conversation.history import Turn, bound, enumerated_items
from rag.conversation.memo import TurnMemo


def test_only_the_last_turns_are_read_and_each_is_cut() -> None:
    turns = [Turn(f"问题{i}", "答" * 50, transcript=({"role": "user", "content": "x" * 500},)) for i in range(5)]
    kept = bound(turns, max_turns=2, max_chars=20)
    assert [t.question for t in kept] == ["问题3", "问题4"]
    assert kept[0].answer == "答" * 19 + "…" and len(kept[0].answer) == 20
    assert kept[0].transcript == turns[3].transcript  # our own prompt, already fitted to the context: kept whole
    assert bound(turns, max_turns=0, max_chars=20) == []


def test_the_items_an_answer_lists_in_order() -> None:
    listed = "挑战主要有：\n* **精度损失**：性能下降[1]。\n* **计算复杂性**：编程难度[1]。\n* **稳定性问题**：不稳定[1]。"
    assert enumerated_items(listed) == ["精度损失", "计算复杂性", "稳定性问题"]
    inline = "主要包括以下几种：变分自编码器（VAE）、生成对抗网络（GAN）和流模型[1]。"
    assert enumerated_items(inline) == ["变分自编码器", "生成对抗网络", "流模型"]
    english = "Common kinds include dot-product attention, multi-head attention and self-attention [1]."
    assert enumerated_items(english) == ["dot-product attention", "multi-head attention", "self-attention"]
    assert enumerated_items("混合精度训练可以提高计算速度和降低内存占用[1]。") == []  # no enumeration announced


def test_a_turn_from_an_answer_json_keeps_its_cited_passages() -> None:
    record = {"question": "什么是 LoRA？", "answer": "LoRA 训练很少的参数[1]。", "abstained": False,
              "citations": [{"n": 1, "chunk_id": "abc", "doc_id": "d.md"}, {"n": 2, "chunk_id": "def"}, {"n": 3}]}
    turn = Turn.from_json(record)
    assert (turn.question, turn.answer, turn.cited) == ("什么是 LoRA？", "LoRA 训练很少的参数[1]。", ("abc", "def"))


def test_a_plain_turn_gets_back_what_a_recent_answer_with_the_same_text_had() -> None:
    memo = TurnMemo(size=2)
    transcript = ({"role": "user", "content": "passages"}, {"role": "assistant", "content": "LoRA 训练很少的参数[1]。"})
    memo.remember(Turn("什么是 LoRA？", "LoRA 训练很少的参数[1]。", "什么是 LoRA？", ("abc",), transcript=transcript))
    sent = Turn("什么是  LoRA？", "LoRA 训练很少的参数[1]。\n")  # as a client echoes it: whitespace differs
    completed = memo.complete(sent)
    assert completed.cited == ("abc",) and completed.transcript == transcript and completed.question == sent.question
    assert memo.complete(Turn("什么是 LoRA？", "另一个回答")).cited == ()  # the text must match
    memo.remember(Turn("q2", "a2"))
    memo.remember(Turn("q3", "a3"))  # the oldest answer is forgotten
    assert memo.complete(sent).cited == ()
